import { pullLimitMax } from '@outpost/core';
import type { Schema } from '@outpost/core';
import { checkRecordFilter } from './record-filter';
import type { RecordFilters } from './record-filter';

/**
 * Refuses, before the store is opened, sync settings that cannot work: a batch of no ops would
 * never end its push (the tab hangs), a page over the protocol's limit or a collection the schema
 * lacks would be refused by the server at every sync, and the device would never pull again.
 */
export function checkSyncOptions(
  schema: Schema,
  options: {
    batchSize?: number;
    pullLimit?: number;
    collections?: readonly string[];
    recordFilter?: RecordFilters;
  },
): void {
  const { batchSize, pullLimit, collections } = options;
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new RangeError(`batchSize must be a whole number from 1, got ${batchSize}`);
  }
  if (
    pullLimit !== undefined &&
    !(Number.isInteger(pullLimit) && pullLimit >= 1 && pullLimit <= pullLimitMax)
  ) {
    throw new RangeError(`pullLimit must be a whole number from 1 to ${pullLimitMax}, got ${pullLimit}`);
  }
  const unknown = (collections ?? []).filter((name) => schema.collection(name) === undefined);
  if (unknown.length > 0) {
    throw new RangeError(
      `collections names what the schema "${schema.name}" does not have: ${unknown.join(', ')}`,
    );
  }
  checkRecordFilter(schema, options.recordFilter);
}
