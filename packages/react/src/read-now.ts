import type { ClientRecord, Collection, FindQuery } from '@outpost/client';
import type { RecordData } from '@outpost/core';
import { sameFields } from './equality';

/**
 * A query's records at this moment. The collection has no synchronous read, but its `subscribe`
 * answers at once with the current records: subscribe, take them, stop.
 */
export function readNow<D extends RecordData>(
  collection: Collection<D>,
  query: FindQuery<D>,
): ClientRecord<D>[] {
  let records: ClientRecord<D>[] = [];
  const stop = collection.subscribe((current) => {
    records = current;
  }, query);
  stop();
  return records;
}

/** Two reads of a record are the same while every field is (the store replaces `data` on change). */
export function sameRecord<D extends RecordData>(
  a: ClientRecord<D> | null,
  b: ClientRecord<D> | null,
): boolean {
  return a === null || b === null ? a === b : sameFields(a, b);
}

export function sameRecords<D extends RecordData>(
  a: readonly ClientRecord<D>[],
  b: readonly ClientRecord<D>[],
): boolean {
  return a.length === b.length && a.every((r, i) => sameRecord(r, b[i] ?? null));
}
