import { uuidv7 } from '@outpost/core';
import type { ConflictStrategy, RandomBytes, RecordData } from '@outpost/core';
import type { LocalState } from '../local-state';
import type { OutboxEntry } from '../stores/local-store';

/** What an op says; the rest of a new entry is made here. */
export interface NewOp {
  collection: string;
  type: OutboxEntry['type'];
  id: string;
  /** All fields for a create, the changed fields for an update, none for a delete. */
  data?: RecordData;
  /**
   * The server version the op was made on, sent as it is (0 included: a version no record has, so
   * the server takes every field it holds for changed since). Absent, none is sent: a create, a
   * change of a record the server has not seen, and a change the server is to weigh by its HLC.
   */
  baseVersion?: number | undefined;
  hlc: string;
  strategy?: ConflictStrategy;
  /** The number a restored server's lost database gave the record this create or delete gives back. */
  restoredFrom?: string;
  /** A deletion given back to a restored server that may never have had the record. */
  givenBack?: true;
}

/**
 * A new op at the end of the outbox, waiting to be sent: the next seq, a fresh opId made at `now`,
 * never tried. The one place a device's change becomes an outbox entry (a person's create, update
 * or delete; what a device gives back to a restored server).
 */
export function newEntry(state: LocalState, now: number, op: NewOp, randomBytes?: RandomBytes): OutboxEntry {
  const { data, baseVersion, strategy, ...rest } = op;
  return {
    seq: state.nextSeq(),
    opId: uuidv7(now, randomBytes),
    ...rest,
    ...(data !== undefined ? { data } : {}),
    ...(baseVersion !== undefined ? { baseVersion } : {}),
    ...(strategy !== undefined ? { strategy } : {}),
    status: 'pending',
    attempts: 0,
    createdAt: new Date(now).toISOString(),
  };
}
