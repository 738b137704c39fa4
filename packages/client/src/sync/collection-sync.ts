import { OutpostError } from '@outpost/core';
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
    throw new OutpostError('VALIDATION_FAILED', 'name at least one collection to sync', {
      collections: names,
    });
  }
  const unknown = names.filter((name) => schema.collection(name) === undefined);
  if (unknown.length > 0) {
    throw new OutpostError(
      'NOT_FOUND',
      `the schema "${schema.name}" has no collection named ${unknown.map((n) => `"${n}"`).join(', ')}`,
      { collections: unknown },
    );
  }
  return schema.collectionNames.filter((name) => names.includes(name));
}

/**
 * The records whose ops a sync of `named` sends, as keys (local-state's keyOf): every record of the
 * named collections with an op still to go, and, down the chain, the records the dependency order
 * (core's orderOps) puts before them:
 * - a record they name whose create is still to go: sent later, its create would come after a
 *   change naming it, and the server refuses a reference to a record it does not hold, for good;
 * - a record still to go that names one of them whose delete goes now: sent after that delete,
 *   it would name a deleted record, refused the same way (decision 0016).
 * A record goes whole, its ops in their order, so none of a record's changes is left behind a later
 * one. Everything else stays as it is.
 */
export function recordsToSend(schema: Schema, state: LocalState, named: readonly string[]): Set<string> {
  const toGo = [...state.outbox.values()].filter(stillToGo);
  const creating = new Set<string>();
  const deleting = new Set<string>();
  /** The records each record's ops name, and the reverse. */
  const names = new Map<string, Set<string>>();
  const namedBy = new Map<string, Set<string>>();
  for (const op of toGo) {
    const key = keyOf(op.collection, op.id);
    if (op.type === 'create') creating.add(key);
    if (op.type === 'delete') deleting.add(key);
    for (const target of referencesOf(schema, op)) {
      addTo(names, key, target);
      addTo(namedBy, target, key);
    }
  }
  const wanted = new Set(named);
  const out = new Set<string>();
  const queue = toGo.filter((o) => wanted.has(o.collection)).map((o) => keyOf(o.collection, o.id));
  while (queue.length > 0) {
    const key = queue.pop() as string;
    if (out.has(key)) continue;
    out.add(key);
    for (const target of names.get(key) ?? []) if (creating.has(target)) queue.push(target);
    if (deleting.has(key)) queue.push(...(namedBy.get(key) ?? []));
  }
  return out;
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

function referencesOf(schema: Schema, op: OutboxEntry): string[] {
  if (op.data === undefined) return [];
  const out: string[] = [];
  for (const [field, target] of Object.entries(schema.collection(op.collection)?.references ?? {})) {
    const value = op.data[field];
    if (typeof value === 'string') out.push(keyOf(target, value));
  }
  return out;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}
