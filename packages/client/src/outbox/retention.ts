/**
 * How long the outbox keeps what the server acknowledged (`done` ops), and the time of the last
 * good sync, both kept in the store's meta (decisions/0029). Pure: it reads the device's state and
 * returns the write; each sync's end and the client's opening commit it.
 */
import type { LocalState } from '../local-state';
import type { LocalConflict, OutboxEntry, WriteBatch } from '../stores/local-store';
import { keptDeletionsAfter, keptDeletionsKey } from './kept-deletions';

/**
 * The default of `keepCompletedMs`: a day. The queue view still shows what the last day's syncs
 * delivered (a device that syncs once a day shows the day before), and a tablet holds at most a
 * day of copies of patient data the server already has.
 */
export const DEFAULT_KEEP_COMPLETED_MS = 24 * 60 * 60 * 1000;

/** Meta key: the `finishedAt` of the last sync that ended well for the whole device. */
export const lastSyncedKey = 'sync.lastSyncedAt';

/**
 * `keepCompletedMs` as the client uses it: a number of ms from 0, `Infinity` to keep every done op
 * (until `queue.clearCompleted()`), absent for the default. Anything else is refused before the
 * store opens: a negative or NaN retention would remove nothing, or everything, by accident.
 */
export function checkKeepCompleted(value: number | undefined): number {
  return checkRetention('keepCompletedMs', value, DEFAULT_KEEP_COMPLETED_MS);
}

/** A retention option (`option`) as the client uses it: `fallback` when absent, else ms from 0 or `Infinity`. */
export function checkRetention(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `${option} must be a number of ms from 0, or Infinity to keep them all, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Whether something kept since `at` (ISO) is over at `now` (epoch ms) under a retention of
 * `keepMs`: with 0 always, whatever the clocks say; with `Infinity` never. An unreadable time
 * counts as over: NaN is never later than now.
 */
export function retentionOver(at: string, now: number, keepMs: number): boolean {
  if (keepMs === Infinity) return false;
  return keepMs === 0 || !(Date.parse(at) + keepMs > now);
}

/**
 * When the server acknowledged an op: `completedAt`, set as the op is marked done. A done op stored
 * by an older version has none and counts from when it was made, which is earlier: it may go
 * sooner than the retention says, never later, and the copies an older version piled up go at once.
 */
export function completedAtOf(op: OutboxEntry): string {
  return op.completedAt ?? op.createdAt;
}

/**
 * The done ops whose retention is over at `now` (epoch ms), in seq order: acknowledged `keepMs`
 * ago or longer; with 0 every one, whatever the clocks say; with `Infinity` none. Only done ops,
 * never one pending, in flight, stopped, refused, held or in conflict. One done op stays past its
 * time: an op of a record the device still holds at version 0. The device has not learnt the
 * server's version of it yet (a record to read again after a late "duplicate" answer), and that op
 * is what tells it the server has the record, so the id is not taken for a new create meanwhile.
 */
export function expiredDone(
  state: Pick<LocalState, 'outbox' | 'record'>,
  now: number,
  keepMs: number,
): OutboxEntry[] {
  if (keepMs === Infinity) return [];
  const out: OutboxEntry[] = [];
  for (const op of state.outbox.values()) {
    if (op.status !== 'done') continue;
    if (state.record(op.collection, op.id)?.version === 0) continue;
    if (!retentionOver(completedAtOf(op), now, keepMs)) continue;
    out.push(op);
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * The write that removes the done ops whose retention is over, or null when nothing is to change.
 * It also:
 * - keeps what a give-back needs of each acknowledged delete that goes (kept-deletions.ts), and
 *   lets go of the kept deletions older than `keepDeletionsMs` (absent: none goes), in the same
 *   write: no moment holds neither the op nor the kept deletion;
 * - stores the outbox's seq high-water mark (`outbox.lastSeq`), as `clearCompleted` always did:
 *   the next seq is the highest of the ops held and that mark, and a store written by an older
 *   version may lack the mark. Removing its last op would then hand that seq out again after a
 *   reopen, and a seq names an op to a person's screen (withdraw, discard, retry by seq) and to
 *   other ops (`supersededBy`): it must never name a second one;
 * - gives a conflict stored before conflicts kept their op's kind (`opType`) the kind of the op
 *   that goes: the conflict dialog read it from the outbox, and shows an update over the server's
 *   version, a delete as nothing.
 */
export function retentionBatch(
  state: LocalState,
  now: number,
  keepMs: number,
  keepDeletionsMs?: number,
): WriteBatch | null {
  const gone = expiredDone(state, now, keepMs);
  const deletions = keptDeletionsAfter(state.meta, gone, now, keepDeletionsMs, (collection, id) =>
    state.record(collection, id),
  );
  if (gone.length === 0 && deletions === null) return null;
  const batch: WriteBatch =
    deletions !== null ? { meta: { [keptDeletionsKey]: deletions.length > 0 ? deletions : undefined } } : {};
  if (gone.length === 0) return batch;
  const byOpId = new Map(gone.map((o) => [o.opId, o]));
  const putConflicts: LocalConflict[] = [];
  for (const c of state.conflicts.values()) {
    const op = c.opType === undefined ? byOpId.get(c.opId) : undefined;
    if (op) putConflicts.push({ ...c, opType: op.type });
  }
  return {
    deleteOps: gone.map((o) => o.seq),
    ...(putConflicts.length > 0 ? { putConflicts } : {}),
    meta: { ...batch.meta, 'outbox.lastSeq': state.seqHighWater },
  };
}

/** The time of the last good sync kept in meta, or null before the first. */
export function lastSyncedAt(meta: Readonly<Record<string, unknown>>): string | null {
  const at = meta[lastSyncedKey];
  return typeof at === 'string' ? at : null;
}
