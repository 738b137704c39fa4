// What the pushing device knows about every op it ever sent: the record it touches, the version
// it must give that record when applied exactly once, whether a response to it was ever lost,
// and the first outcome the server reported. The final checks compare the server against this.
import type { PushOp, PushResult, RecordData } from '@outpost/core';

export interface LocalRecord {
  collection: string;
  /** The id the device made: a UUIDv7, or a temp id whose real id the server assigns. */
  localId: string;
  /** The server's id: the local id for device-made ids; for a temp id, null until an answer maps it. */
  realId: string | null;
  /** The version the record has once every op sent for it is applied exactly once. */
  version: number;
  /** Its data at that point; reference fields hold the referenced record's local id. */
  data: RecordData;
}

export interface LedgerOp {
  op: PushOp;
  record: LocalRecord;
  /** The version this op gives its record: 1 for the create, one more for each update after it. */
  version: number;
  /** The first outcome the server reported; a duplicate's originalStatus stands in for its status. */
  first: PushResult | null;
}

/** One push as the device composed it; a retry resends exactly these ops, with the same opIds. */
export interface Batch {
  ops: LedgerOp[];
  /** Requests that never brought a response back (the server was killed, or refused the connection). */
  lostAttempts: number;
  /** After a lost response: whether the acknowledging retry found the ops applied earlier. */
  retryAnswer: 'applied' | 'duplicate' | null;
}

/** The records a device created, in creation order, and every batch it composed. */
export class OpLedger {
  readonly records: LocalRecord[] = [];
  readonly batches: Batch[] = [];

  add(ops: LedgerOp[]): Batch {
    const batch: Batch = { ops, lostAttempts: 0, retryAnswer: null };
    this.batches.push(batch);
    return batch;
  }

  ops(): LedgerOp[] {
    return this.batches.flatMap((b) => b.ops);
  }
}
