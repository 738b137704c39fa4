import { applyPatch } from '@outpost/core';
import type { OutboxEntry } from '../stores/local-store';

/** Only ops the server has never seen may be folded together: a sent op must keep its exact content. */
export function foldable(entry: OutboxEntry): boolean {
  return (
    entry.status === 'pending' &&
    entry.attempts === 0 &&
    entry.sent !== true &&
    entry.heldReason === undefined
  );
}

/**
 * Whether a record's ops fold to nothing at the next push (a create and a delete the server never
 * heard of, with whatever came between): then the server never hears of the record. Not when a
 * change between asked for another conflict rule than the rest: those ops stay apart (below).
 */
export function foldsToNothing(entries: readonly OutboxEntry[]): boolean {
  if (!entries.every(foldable)) return false;
  const removed = new Set(coalesceOutbox(entries).remove);
  return entries.every((e) => removed.has(e.seq));
}

/**
 * Folds consecutive unsent ops on the same record into as few as possible (seed 004), so a
 * record edited ten times offline travels once:
 * - create + update -> one create with the merged data, unless the update was made on a server
 *   copy pulled beneath the unsent create (it has a base version);
 * - update + update -> one update with both sets of fields, when both were made on the same
 *   base version (never across a pull that brought a newer one);
 * - update + delete -> one delete, likewise on the same base version;
 * - create + delete -> nothing at all: the server never hears of the record. Unless the server
 *   has a record of that id after all (`serverVersion` above 0: another device made one under the
 *   same id, as intake forms are named after their patient, and this device has pulled it): then
 *   one delete of the version the device saw, so the person's delete reaches it. Folded to
 *   nothing, the device would show the record gone and the server keep it, for good.
 * Ops that asked for different conflict rules (`strategy`, "my change wins") stay apart, so each
 * change is settled by the rule its person chose: folded, one person's override would spread to
 * an edit made without it, or be dropped from theirs (decision 0031). Ops that asked for the same
 * rule, or none, fold as above and keep it. A create + delete that folds to nothing sends nothing,
 * so no rule is lost; folded to one delete, that delete keeps the delete's own rule.
 * Returns the entries to rewrite and the seqs to remove.
 */
export function coalesceOutbox(
  entries: readonly OutboxEntry[],
  /** The version of the server's copy this device holds of a record; 0 when it has none. */
  serverVersion: (collection: string, id: string) => number = () => 0,
): { put: OutboxEntry[]; remove: number[] } {
  const ordered = [...entries].sort((a, b) => a.seq - b.seq);
  const last = new Map<string, OutboxEntry>();
  const changed = new Map<number, OutboxEntry>();
  const removed = new Set<number>();
  for (const entry of ordered) {
    if (entry.status === 'done') continue;
    const key = `${entry.collection}\u0000${entry.id}`;
    const prev = last.get(key);
    if (!prev || !foldable(prev) || !foldable(entry)) {
      last.set(key, entry);
      continue;
    }
    const merged = fold(prev, entry, serverVersion(entry.collection, entry.id));
    if (merged === 'both-gone') {
      removed.add(prev.seq);
      removed.add(entry.seq);
      changed.delete(prev.seq);
      last.delete(key);
    } else if (merged === null) {
      last.set(key, entry);
    } else {
      removed.add(entry.seq);
      changed.set(merged.seq, merged);
      last.set(key, merged);
    }
  }
  return { put: [...changed.values()], remove: [...removed] };
}

function fold(prev: OutboxEntry, next: OutboxEntry, serverVersion: number): OutboxEntry | 'both-gone' | null {
  // A change made on a newer server version than `prev` was (a pull came in between, or brought a
  // copy under an unsent create) stays apart: folded, it would travel on `prev`'s older base, and
  // the server would count the fields others changed in between against the person's later change
  // too: a conflict holding back both changes for review, where the two ops alone would each apply.
  // (create + delete has its own rule below.)
  const needsSameBase = !(prev.type === 'create' && next.type === 'delete');
  if (needsSameBase && next.baseVersion !== prev.baseVersion) return null;
  // Changes to a record the server has, sent with no base version (what a device gives back to a
  // restored server, restore-recovery.ts), are weighed by their HLC: folded, the earlier one's fields
  // would be weighed at the later one's, and a field changed on the server between the two would
  // be written over instead of being in conflict.
  if (prev.type !== 'create' && prev.baseVersion === undefined && next.hlc !== prev.hlc) return null;
  // Each change keeps the conflict rule its person asked for: only the same rule folds.
  if (needsSameBase && next.strategy !== prev.strategy) return null;
  if (prev.type === 'create' && next.type === 'update') {
    return { ...prev, data: applyPatch(prev.data ?? {}, next.data ?? {}), hlc: next.hlc };
  }
  if (prev.type === 'update' && next.type === 'update') {
    return { ...prev, data: { ...prev.data, ...next.data }, hlc: next.hlc };
  }
  if (prev.type === 'update' && next.type === 'delete') {
    const { data: _data, ...rest } = prev;
    return { ...rest, type: 'delete', hlc: next.hlc };
  }
  if (prev.type === 'create' && next.type === 'delete') {
    if (serverVersion <= 0) return 'both-gone';
    // What goes is the person's delete: with the rule asked for it, if any.
    const { data: _data, strategy: _strategy, ...rest } = prev;
    return {
      ...rest,
      type: 'delete',
      baseVersion: serverVersion,
      hlc: next.hlc,
      ...(next.strategy !== undefined ? { strategy: next.strategy } : {}),
    };
  }
  return null;
}
