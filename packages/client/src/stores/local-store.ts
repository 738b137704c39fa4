import type { ConflictStrategy, ConflictSummary, OpType, RecordData } from '@outpost/core';

/**
 * A record as the device holds it: its current local data (pending edits included) and what the
 * device last knew of the server's version of it.
 */
export interface LocalRecord {
  collection: string;
  /** The real id, or a temp id (`temp_...`) until the server assigns one. */
  id: string;
  data: RecordData;
  /** True once deleted locally (kept until the delete is acknowledged) or pulled as a tombstone. */
  deleted: boolean;
  /** The server version this record is based on; 0 for a record the server has not seen. */
  version: number;
  /** HLC of the record's latest change (local or pulled). */
  hlc: string;
  updatedAt: string;
  /**
   * The server's copy beneath the device's changes, kept while the record has changes the server
   * has not confirmed (absent otherwise, for a record the server never had, and on records stored
   * before it was kept). A change withdrawn before it is sent (`queue.withdraw`) then shows the
   * record as the server has it without asking the server: offline, where a clinician works.
   */
  server?: ServerState;
  /**
   * When the server wrote each field of its state beneath the device's changes (the record itself
   * with none waiting, `server` with some), by the server's clock: fields removed included, those
   * set by the device's acknowledged changes under `''` until the next pull of the record tells
   * (field-times.ts). A server restored from a backup gets back only the fields written after the
   * backup (decision 0050). Absent: every field at the state's `updatedAt`, which is what a record
   * first seen has (nothing stored then) and how records stored before times were kept read.
   */
  fieldTimes?: FieldTimes;
}

/**
 * Server-clock times (ISO) and the fields that got their value at each; `''` for those whose time
 * is not known yet. Grouped by time, as a record's fields mostly share a few times.
 */
export type FieldTimes = Record<string, string[]>;

/** A record as the server last told the device, before the device's own pending changes. */
export interface ServerState {
  data: RecordData | null;
  deleted: boolean;
  version: number;
  hlc: string;
  updatedAt: string;
}

export type OutboxStatus = 'pending' | 'in-flight' | 'failed' | 'conflict' | 'done';

/** One queued op. Its opId never changes, so a retry is recognised by the server as the same op. */
export interface OutboxEntry {
  /** Local order of the op: ops are sent in this order within their dependency rank. */
  seq: number;
  opId: string;
  collection: string;
  type: OpType;
  id: string;
  /** All fields for a create, the changed fields for an update, absent for a delete. */
  data?: RecordData;
  baseVersion?: number;
  hlc: string;
  /**
   * The conflict rule the person asked for this change (`update(id, patch, { strategy })`), sent as
   * the op's `strategy`. The server honours it only for a role allowed to `override` the
   * collection, and settles the change by the collection's own rule otherwise (decision 0031).
   */
  strategy?: ConflictStrategy;
  /**
   * On the create that gives back a record a restored server had numbered after its backup: that
   * number, sent as the op's `restoredFrom`, so the record comes back once whichever devices give
   * it back (decision 0051).
   */
  restoredFrom?: string;
  /**
   * On a delete that gives back a deletion to a restored server with no trace of the record (its
   * lost database created it after the backup), sent as the op's `givenBack`: the server keeps it
   * as a tombstone, which a colleague's give-back create of the record then meets (decision 0050).
   */
  givenBack?: true;
  status: OutboxStatus;
  attempts: number;
  /**
   * When the person made the change (ISO). Folding later edits of the record into it keeps it, so
   * `queue.stats().oldestPendingAt` says how long the first unsent edit has waited.
   */
  createdAt: string;
  /**
   * When the server's acknowledgement was stored (ISO), set as the op is marked `done`: the outbox
   * keeps it `keepCompletedMs` from then (outbox/retention.ts). Absent on ops stored done by an
   * older version, which count from `createdAt`.
   */
  completedAt?: string;
  /** Epoch ms before which the op is not retried (backoff). */
  nextAttemptAt?: number;
  lastError?: { code: string; message: string; details?: unknown };
  /** Why the op is held back instead of sent, e.g. a reference to a record that exists nowhere. */
  heldReason?: string;
  /** True once the op may have reached the server: from then on its content is fixed under its opId. */
  sent?: boolean;
  /**
   * The pull cursor when the op was first sent ('' before any pull). A "duplicate" answer (applied
   * earlier, the answer lost) carries the server's version of back then; if the device has pulled
   * since, what it shows of the record may be newer or gone, so it reads the record afresh.
   */
  cursorWhenSent?: string;
  /**
   * Fields of this failed update that a later change on the device set again. The op stays as it
   * was sent; the device no longer shows these fields from it, or a refusal kept on screen would
   * bring back a value the person has since replaced.
   */
  superseded?: string[];
  /**
   * For each field of `superseded`, the seq of the first later change that set it again. A
   * withdrawal of that change (`queue.withdraw`) shows the field from this op again. Absent in ops
   * marked by an older version: their fields stay superseded.
   */
  supersededBy?: Record<string, number>;
  /**
   * On a `done` delete: true once the server brought its record back alive since (a state made
   * after it, at a later HLC: a colleague's change that won, a conflict settled for the record).
   * The deletion no longer stands, so a server restored from an older backup is not given it back,
   * and it leaves no kept deletion (outbox/kept-deletions.ts). The op stays in the queue view.
   */
  undone?: true;
  /**
   * True once the server refused the op for good. Its answer is journaled under the opId, so a
   * retry gets the same answer: nothing waits for it, and the server's rejection archive has it.
   */
  rejected?: boolean;
}

/** A conflict the server reported for one of this device's ops, with both versions. */
export interface LocalConflict {
  /** The server's conflict id. */
  id: string;
  opId: string;
  /** What the device sent: the summary's client data is every field (create), the changed ones (update) or null (delete). */
  opType?: OpType;
  collection: string;
  recordId: string;
  summary: ConflictSummary;
  detectedAt: string;
  resolvedAt?: string;
  /** Who raised it, for a conflict fetched from the server's archive (it may be another device's). */
  raisedBy?: { userId: string; deviceId: string };
}

/** Everything a store holds, as loaded when the client opens it. */
export interface StoreSnapshot {
  records: LocalRecord[];
  outbox: OutboxEntry[];
  conflicts: LocalConflict[];
  meta: Record<string, unknown>;
}

/**
 * One atomic set of writes. Either all of it is stored or none of it: a local edit and its outbox
 * op, a pulled page and the cursor after it, a temp-id mapping and every rewritten reference.
 * Within a batch every store applies deletes before puts, so a key both deleted and put ends up
 * holding the put value.
 */
export interface WriteBatch {
  putRecords?: LocalRecord[];
  /** The records to remove, by collection and id. */
  deleteRecords?: Array<{ collection: string; id: string }>;
  putOps?: OutboxEntry[];
  deleteOps?: number[];
  putConflicts?: LocalConflict[];
  deleteConflicts?: string[];
  /** Meta keys to set; a value of `undefined` removes the key. */
  meta?: Record<string, unknown>;
}

/**
 * Where a client keeps its data. Deliberately small: the client reads the whole snapshot once
 * when it opens and serves every read from memory after that, and writes through with atomic
 * batches. That keeps each store a thin adapter (IndexedDB, memory, ...) and lets encryption at
 * rest wrap any store, since nothing asynchronous besides the store's own I/O runs inside its
 * transaction (IndexedDB commits a transaction as soon as it waits on anything else).
 */
export interface LocalStore {
  /** A short name for logs and errors: 'memory', 'indexeddb', ... */
  readonly kind: string;
  load(): Promise<StoreSnapshot>;
  commit(batch: WriteBatch): Promise<void>;
  /** Removes every record, op, conflict and meta key (sign-out, tests). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** True when a batch writes nothing: stores skip the transaction, the client skips the commit. */
export function isEmptyBatch(batch: WriteBatch): boolean {
  return (
    !batch.putRecords?.length &&
    !batch.deleteRecords?.length &&
    !batch.putOps?.length &&
    !batch.deleteOps?.length &&
    !batch.putConflicts?.length &&
    !batch.deleteConflicts?.length &&
    Object.keys(batch.meta ?? {}).length === 0
  );
}
