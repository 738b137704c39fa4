/**
 * The deletions the server acknowledged, kept after their op leaves the outbox (decision 0050,
 * "Deletions"). A deleted record leaves nothing on the device but its `done` delete op, which the
 * outbox keeps `keepCompletedMs` (a day). A server restored from a backup older than that brings the
 * record back alive, and without the deletion no device would delete it again: the clinician's
 * deletion would be undone on every device, unseen. So each delete op that leaves the outbox leaves
 * what a give-back needs (collection, id, the delete's HLC, when it was acknowledged), never the
 * record's data, which is patient data the device should not keep after a deletion.
 *
 * Kept in the store's meta under one key (`deletions.kept`), as one list, written in the same write
 * that removes the ops: one value, so an encrypted store seals it whole (encrypted-store.ts) and
 * says no more than that some deletions are kept, where keyed by record it would name in clear,
 * for weeks, which patients' records were deleted.
 */
import { compareHlc } from '@outpost/core';
import { keyOf } from '../local-state';
import type { LocalState } from '../local-state';
import type { OutboxEntry } from '../stores/local-store';
import { checkRetention, completedAtOf, retentionOver } from './retention';

/** Meta key of the kept deletions. */
export const keptDeletionsKey = 'deletions.kept';

/**
 * The default of `keepDeletionsMs`: 30 days. Long enough for a restore from an older backup than
 * last night's (a damaged one skipped, a weekly one, a restore made days after the failure); a
 * deletion older than the backup is on the restored server already. Small: a few dozen bytes a
 * deletion, and a clinic deletes tens a day at most.
 */
export const DEFAULT_KEEP_DELETIONS_MS = 30 * 24 * 60 * 60 * 1000;

/** What a give-back needs of a deletion the server acknowledged. */
export interface KeptDeletion {
  collection: string;
  id: string;
  /** The delete's HLC: the give-back carries it, so the server weighs it by when it was made. */
  hlc: string;
  /** When the server's acknowledgement was stored (ISO): kept `keepDeletionsMs` from then. */
  completedAt: string;
}

/**
 * `keepDeletionsMs` as the client uses it: a number of ms from 0, `Infinity` to keep them all,
 * absent for the default; anything else is refused before the store opens.
 */
export function checkKeepDeletions(value: number | undefined): number {
  return checkRetention('keepDeletionsMs', value, DEFAULT_KEEP_DELETIONS_MS);
}

function isKept(value: unknown): value is KeptDeletion {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  return (
    typeof d.collection === 'string' &&
    typeof d.id === 'string' &&
    typeof d.hlc === 'string' &&
    typeof d.completedAt === 'string'
  );
}

/** The kept deletions stored in meta; none before the first, and anything unreadable is skipped. */
export function keptDeletions(meta: Readonly<Record<string, unknown>>): KeptDeletion[] {
  const list = meta[keptDeletionsKey];
  return Array.isArray(list) ? list.filter(isKept) : [];
}

/**
 * Whether the record of `deletion` came back alive since: a state of it made after the deletion
 * (a later HLC), which the server kept over the deletion (a colleague's change that won, a conflict
 * settled for the record). Its deletion is no longer one to give back: given to a restored server
 * whose backup had the record alive from before, it would delete what the clinic revived.
 */
export function revivedSince(
  deletion: Pick<KeptDeletion, 'hlc'>,
  state: { deleted: boolean; hlc: string } | undefined,
): boolean {
  return state !== undefined && !state.deleted && compareHlc(state.hlc, deletion.hlc) > 0;
}

/**
 * The kept deletions once the done ops `gone` have left the outbox and those kept `keepMs` are
 * over at `now`: each done delete among `gone` joins the list (one per record, the latest), unless
 * the device holds its record alive again (`held`, revivedSince), and the list's entries whose time
 * is over go. Null when the list stays as it is. `keepMs` undefined: nothing goes (removing one op
 * by hand, `queue.removeOperation`; the next sync's end prunes).
 */
export function keptDeletionsAfter(
  meta: Readonly<Record<string, unknown>>,
  gone: readonly OutboxEntry[],
  now: number,
  keepMs?: number,
  held: (collection: string, id: string) => { deleted: boolean; hlc: string } | undefined = () => undefined,
): KeptDeletion[] | null {
  const before = keptDeletions(meta);
  const byRecord = new Map(before.map((d) => [keyOf(d.collection, d.id), d]));
  // Something unreadable stored is written over.
  const stored = meta[keptDeletionsKey];
  let changed = stored !== undefined && (!Array.isArray(stored) || stored.length !== before.length);
  for (const op of gone) {
    if (!standingDelete(op) || revivedSince(op, held(op.collection, op.id))) continue;
    const completedAt = completedAtOf(op);
    const key = keyOf(op.collection, op.id);
    const already = byRecord.get(key);
    if (already !== undefined && already.completedAt >= completedAt) continue;
    byRecord.set(key, { collection: op.collection, id: op.id, hlc: op.hlc, completedAt });
    changed = true;
  }
  const kept = [...byRecord.values()].filter(
    (d) => keepMs === undefined || !retentionOver(d.completedAt, now, keepMs),
  );
  if (kept.length !== byRecord.size) changed = true;
  return changed ? kept : null;
}

/**
 * The kept deletions without those whose record `changes` bring back alive (revivedSince); null
 * when none of them does. Applied with the server's changes, in the same write.
 */
export function keptDeletionsRevived(
  meta: Readonly<Record<string, unknown>>,
  changes: ReadonlyArray<{ collection: string; id: string; deleted: boolean; hlc: string }>,
): KeptDeletion[] | null {
  const index = keptIndex(meta);
  if (index.size === 0) return null;
  const revived = new Set<string>();
  for (const change of changes) {
    const key = keyOf(change.collection, change.id);
    const deletion = index.get(key);
    if (deletion !== undefined && revivedSince(deletion, change)) revived.add(key);
  }
  if (revived.size === 0) return null;
  return [...index].filter(([key]) => !revived.has(key)).map(([, d]) => d);
}

/** A `done` delete op whose deletion stands: the server has not brought its record back alive since. */
function standingDelete(op: OutboxEntry): boolean {
  return op.type === 'delete' && op.status === 'done' && op.undone !== true;
}

/**
 * The `done` delete ops the outbox still keeps (a day, decision 0029) of a record `change` brings
 * back alive (revivedSince), marked `undone`: written with the change, as the kept deletions are
 * let go (keptDeletionsRevived). Unmarked, a give-back would read the deletion from them
 * (acknowledgedDeletion) while the outbox has them, and keep it after them (keptDeletionsAfter,
 * which sees the record alive only while the device holds it: not once a record filter let it go).
 */
export function deletesUndone(
  state: Pick<LocalState, 'opsFor'>,
  change: { collection: string; id: string; deleted: boolean; hlc: string },
): OutboxEntry[] {
  return state
    .opsFor(change.collection, change.id)
    .filter((o) => standingDelete(o) && revivedSince(o, change))
    .map((o) => ({ ...o, undone: true }));
}

/**
 * The deletion this device made of `collection/id` that the server acknowledged, as a give-back
 * reads it: the last `done` delete op while the outbox keeps it, the kept deletion after. Undefined
 * when there is none. One rule for deleteAgain, deletionOf and deletionsGivenBack.
 */
export function acknowledgedDeletion(
  state: Pick<LocalState, 'opsFor' | 'meta'>,
  collection: string,
  id: string,
): Pick<KeptDeletion, 'collection' | 'id' | 'hlc'> | undefined {
  const op = state.opsFor(collection, id).filter(standingDelete).at(-1);
  if (op !== undefined) return op;
  return keptIndex(state.meta).get(keyOf(collection, id));
}

/** Every record with an acknowledged deletion (acknowledgedDeletion), each once. */
export function acknowledgedDeletions(
  state: Pick<LocalState, 'outbox' | 'meta'>,
): Array<{ collection: string; id: string }> {
  const out = new Map<string, { collection: string; id: string }>();
  for (const op of state.outbox.values()) {
    if (standingDelete(op)) out.set(keyOf(op.collection, op.id), op);
  }
  for (const [key, d] of keptIndex(state.meta)) if (!out.has(key)) out.set(key, d);
  return [...out.values()];
}

// Read once per list stored, not once per record of a re-read.
const indexes = new WeakMap<object, Map<string, KeptDeletion>>();
function keptIndex(meta: Readonly<Record<string, unknown>>): Map<string, KeptDeletion> {
  const list = meta[keptDeletionsKey];
  if (!Array.isArray(list)) return new Map();
  let index = indexes.get(list);
  if (index === undefined) {
    index = new Map(keptDeletions(meta).map((d) => [keyOf(d.collection, d.id), d]));
    indexes.set(list, index);
  }
  return index;
}
