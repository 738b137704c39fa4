import { pullLimitMax } from '@outpost/core';
import type { Schema } from '@outpost/core';
import type { NetworkQuality } from '../network/network-monitor';
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
    poorLink?: PoorLinkSizes | false;
    collections?: readonly string[];
    recordFilter?: RecordFilters;
  },
): void {
  const { batchSize, pullLimit, collections, poorLink } = options;
  checkSizes('', batchSize, pullLimit);
  if (poorLink) checkSizes('poorLink.', poorLink.batchSize, poorLink.pullLimit);
  const unknown = (collections ?? []).filter((name) => schema.collection(name) === undefined);
  if (unknown.length > 0) {
    throw new RangeError(
      `collections names what the schema "${schema.name}" does not have: ${unknown.join(', ')}`,
    );
  }
  checkRecordFilter(schema, options.recordFilter);
}

/**
 * Smaller requests while the network monitor finds the link poor (its probe slow to answer): a
 * request lost on a weak signal takes less with it, and the next that goes through carries
 * something (seed 002's features adapting to the connection; seed 000: "slow sync: reduce batch
 * size"). Each is the most used then: a smaller `batchSize` or `pullLimit` of the client's stays.
 */
export interface PoorLinkSizes {
  /** Ops per push request on a poor link. Default 10. */
  batchSize?: number;
  /** Changes per pull page on a poor link. Default 200. */
  pullLimit?: number;
}

const poorLinkDefaults = { batchSize: 10, pullLimit: 200 } as const;

/** Ops per push request and changes per pull page. */
export interface RequestSizes {
  batchSize: number;
  pullLimit: number;
}

/**
 * The sizes of the client's requests on a link of each quality: `batchSize` and `pullLimit`
 * (default 50 and 1000), and on a poor link the smaller of those and `poorLink`'s. Worked out
 * once; the engine asks for the link it has as each push starts and for each pull page.
 */
export function requestSizes(options: {
  batchSize?: number;
  pullLimit?: number;
  poorLink?: PoorLinkSizes | false;
}): (quality: NetworkQuality) => RequestSizes {
  const usual: RequestSizes = { batchSize: options.batchSize ?? 50, pullLimit: options.pullLimit ?? 1000 };
  if (options.poorLink === false) return () => usual;
  const poorLink = { ...poorLinkDefaults, ...options.poorLink };
  const poor: RequestSizes = {
    batchSize: Math.min(usual.batchSize, poorLink.batchSize),
    pullLimit: Math.min(usual.pullLimit, poorLink.pullLimit),
  };
  return (quality) => (quality === 'poor' ? poor : usual);
}

function checkSizes(prefix: string, batchSize: number | undefined, pullLimit: number | undefined): void {
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new RangeError(`${prefix}batchSize must be a whole number from 1, got ${batchSize}`);
  }
  if (
    pullLimit !== undefined &&
    !(Number.isInteger(pullLimit) && pullLimit >= 1 && pullLimit <= pullLimitMax)
  ) {
    throw new RangeError(
      `${prefix}pullLimit must be a whole number from 1 to ${pullLimitMax}, got ${pullLimit}`,
    );
  }
}
