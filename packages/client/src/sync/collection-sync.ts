import { outpostError, withPrerequisites } from '@outpost/core';
import type { Schema } from '@outpost/core';
import { keyOf } from '../local-state';
import type { LocalState } from '../local-state';
import { stillToGo } from '../outbox/withdraw';
import type { OutboxEntry } from '../stores/local-store';

/**
 * Syncing named collections only (`client.sync({ collections })`, seed 003's `syncEntityType`): a
 * pharmacist's "sync prescriptions" on a slow link. This module says which names a call may give,
 * which records' ops go with them, and when a running sync already does what a call asks. The engine
 * sends and pulls (sync-engine.ts): the push through its usual batches, the pull through the
 * priority pass's tier pull, whose cursor is never saved (decisions/0028).
 */

/**
 * Why a named collection's changes were not pulled: the device does not pull it (its `collections`
 * option), the role may not read it (403), or the device is reading everything again after a 410
 * (the next whole sync carries that on; a tier read meanwhile would mix with the re-read's notes).
 */
export type NotPulledReason = 'not-pulled' | 'forbidden' | 'reading-again';

/** What a sync of named collections did beyond what every SyncResult says. */
export interface CollectionSyncScope {
  /** The collections asked for, each once, in the schema's order. */
  collections: string[];
  /**
   * Records of other collections whose waiting ops went too, in the order they went: ops of the
   * named ones need them first (a patient registered offline, named by its prescription), or must
   * come after them (a patient's delete, after a visit still to go that names it). Empty when none.
   */
  dependencies: Array<{ collection: string; id: string }>;
  /** The named collections whose server changes were not pulled, and why. Empty when all were. */
  notPulled: Array<{ collection: string; reason: NotPulledReason }>;
}

/**
 * The names a sync of named collections may take, each once, in the schema's order; refused before
 * anything is sent: a misspelt name would otherwise sync nothing and look like success.
 */
export function checkCollectionNames(schema: Schema, names: readonly string[]): string[] {
  if (!Array.isArray(names) || names.length === 0) {
    throw outpostError('VALIDATION_FAILED', 'name at least one collection to sync', {
      collections: names,
    });
  }
  const unknown = names.filter((name) => schema.collection(name) === undefined);
  if (unknown.length > 0) {
    throw outpostError(
      'NOT_FOUND',
      `the schema "${schema.name}" has no collection named ${unknown.map((n) => `"${n}"`).join(', ')}`,
      { collections: unknown },
    );
  }
  return schema.collectionNames.filter((name) => names.includes(name));
}

/**
 * The records whose ops a sync of `named` sends, as keys (local-state's keyOf): every record of the
 * named collections with an op still to go, and the records the dependency order puts before them
 * (core's withPrerequisites: a patient registered offline that a prescription names, a visit still
 * to go that names a patient being deleted). Everything else stays as it is.
 */
export function recordsToSend(schema: Schema, state: LocalState, named: readonly string[]): Set<string> {
  const toGo = [...state.outbox.values()].filter(stillToGo);
  const wanted = new Set(named);
  const going = withPrerequisites(toGo, schema, (op) => wanted.has(op.collection));
  return new Set(going.map((op) => keyOf(op.collection, op.id)));
}

/** The records of other collections among the ops a sync of `named` sends, each once. */
export function dependenciesIn(
  ops: readonly OutboxEntry[],
  named: readonly string[],
): Array<{ collection: string; id: string }> {
  const out = new Map<string, { collection: string; id: string }>();
  for (const o of ops) {
    if (!named.includes(o.collection))
      out.set(keyOf(o.collection, o.id), { collection: o.collection, id: o.id });
  }
  return [...out.values()];
}

/**
 * Whether a running sync of `running` (null: every collection) covers a call for `asked` (null:
 * every collection), as far as which collections go: a whole sync covers any call, a sync of named
 * collections only a call for some of them.
 */
export function covers(running: readonly string[] | null, asked: readonly string[] | null): boolean {
  if (running === null) return true;
  return asked !== null && asked.every((name) => running.includes(name));
}

/**
 * Of the named collections, those the device pulls (its `collections` option, absent: all), and the
 * others, not pulled: a sync of named collections pushes what the device made in them, as a whole
 * sync does, and pulls only what a whole sync would.
 */
export function pulledOf(
  named: readonly string[],
  pulled: readonly string[] | undefined,
): { pull: string[]; notPulled: CollectionSyncScope['notPulled'] } {
  const pull = pulled === undefined ? [...named] : named.filter((name) => pulled.includes(name));
  const notPulled = named
    .filter((name) => !pull.includes(name))
    .map((collection) => ({ collection, reason: 'not-pulled' as const }));
  return { pull, notPulled };
}
