import type { RecordData, Schema } from '@outpost/core';
import { isRefused } from '../local-state';
import type { LocalState } from '../local-state';

/** A record as the server holds it, as a `recordFilter` predicate is given it. */
export interface ServerRecord<D extends RecordData = RecordData> {
  readonly id: string;
  readonly data: D;
  readonly version: number;
  readonly updatedAt: string;
}

/** Whether the device keeps a record of the server's: false leaves it on the server only. */
export type RecordFilter = (record: ServerRecord) => boolean;

/**
 * A filter whose reach comes from values outside its text: `keep` is the predicate, `reach` a text
 * the app derives from every outside value `keep` reads (`village=${village}`). The device cannot
 * see a closure's values; a nurse moved to another village's clinic changes `reach`, and the
 * device reads the collection again to get that village's patients.
 */
export interface RecordFilterWithReach {
  readonly keep: RecordFilter;
  readonly reach: string;
}

/** What `recordFilter` holds for one collection: a predicate, or one with the reach it reads from outside. */
export type RecordFilterOption = RecordFilter | RecordFilterWithReach;

/** `recordFilter` of the client options: a filter per collection; collections not named keep everything. */
export type RecordFilters = Readonly<Record<string, RecordFilterOption>>;

/** Record meta: the text of each filter the device pulled with (filterText), to see one widened or removed. */
export const filtersKey = 'pull.recordFilter';
/** Record meta: collections to read again from the start, their filter widened or removed. */
export const readAgainKey = 'pull.readAgain';

/**
 * The predicate of one collection, whichever form the app gave, or undefined when the device keeps
 * all of it. Everything that judges a record asks here, so both forms judge alike.
 */
export function filterOf(filters: RecordFilters | undefined, collection: string): RecordFilter | undefined {
  if (filters === undefined || !Object.hasOwn(filters, collection)) return undefined;
  const filter = filters[collection]!;
  return typeof filter === 'function' ? filter : filter.keep;
}

/**
 * The text the device stores for a filter, to see it changed at the next open. A plain predicate
 * is its source text exactly, as stored before `reach` existed: a tablet updated with the same
 * filter reads nothing again. With a reach, the source text and the reach, so a change of either
 * reads the collection again; the first open in this form after a plain one reads it again once.
 */
export function filterText(filter: RecordFilterOption): string {
  return typeof filter === 'function' ? String(filter) : `${String(filter.keep)}\n// reach: ${filter.reach}`;
}

/**
 * Whether the device keeps this state of a record. A filter that throws keeps it: a record held
 * needlessly costs space, one dropped by a bug in a predicate costs a screen its patient, and a
 * throw out of a pull would fail every sync to come.
 */
export function keeps(filters: RecordFilters | undefined, collection: string, record: ServerRecord): boolean {
  const filter = filterOf(filters, collection);
  if (filter === undefined) return true;
  try {
    return filter(record) !== false;
  } catch {
    return true;
  }
}

/**
 * Whether the device holds something of its own on a record that a person must still see, so no
 * filter removes it: a change not confirmed by the server (waiting, in flight, stopped, refused
 * and shown), a refusal kept beside the server's content, or a conflict waiting for review.
 */
export function holdsWorkOn(state: LocalState, collection: string, id: string): boolean {
  if (state.pendingFor(collection, id).length > 0 || state.awaitsReview(collection, id)) return true;
  return state.opsFor(collection, id).some(isRefused);
}

/**
 * Whether the device holds every record of a collection that the server has (for what the role
 * reads): it pulls the collection (`collections`), and keeps all of it (no `recordFilter` for it).
 * Only then does a record's absence say the record does not exist.
 */
export function heldWhole(
  collections: readonly string[] | undefined,
  filters: RecordFilters | undefined,
): (collection: string) => boolean {
  const pulls = pulledBy(collections);
  return (collection) => pulls(collection) && filterOf(filters, collection) === undefined;
}

/** Whether the device pulls a collection: every one without `collections`, else those named. */
export function pulledBy(collections: readonly string[] | undefined): (collection: string) => boolean {
  return (collection) => collections === undefined || collections.includes(collection);
}

/** A record by its collection and id. */
export interface RecordRef {
  readonly collection: string;
  readonly id: string;
}

/**
 * Record meta: the records the device did not hold and read from the server to take a change
 * (`update` or `delete` of a record its filter left out, or of a collection it does not pull),
 * until the prune after that work is done. A collection not pulled is never followed: without this
 * list, such a record, once its change is confirmed, would stay on the device for ever and go stale
 * with no sign. A filtered collection needs no list (its filter judges the record as any other),
 * but is listed alike, so the rule is one.
 */
export const takenInKey = 'records.takenIn';

/** The records taken in for a change and not yet let go (`takenInKey`). */
export function takenIn(meta: Readonly<Record<string, unknown>>): RecordRef[] {
  return (meta[takenInKey] ?? []) as RecordRef[];
}

/** What `prune` writes: the records that go, and the list of records taken in as it is left. */
export interface Pruning {
  readonly deleteRecords: RecordRef[];
  /** The new `takenInKey` list (undefined: removed), or absent when it is left as it is. */
  readonly meta?: Record<string, RecordRef[] | undefined>;
}

/**
 * What `prune` removes. The records a filter now rejects (ageing: six months passed since they
 * arrived), but for those the device holds work of its own on and those the server never had. Only
 * live records whose data is the server's: a record with changes shown on it is kept whole by
 * holdsWorkOn. And the records taken in for a change (`takenInKey`) in a collection the device does
 * not pull, once no work of the device's is left on them: nothing would bring their changes. Those
 * of a collection it pulls leave the list and stay only if the filter keeps them (a date corrected
 * into the last six months: the record is now the device's to follow like any other).
 */
export function prunable(
  state: LocalState,
  filters: RecordFilters | undefined,
  pulled: (collection: string) => boolean,
): Pruning {
  const deleteRecords: RecordRef[] = [];
  if (filters !== undefined) {
    for (const r of state.records.values()) {
      if (r.deleted || r.version === 0 || filterOf(filters, r.collection) === undefined) continue;
      if (holdsWorkOn(state, r.collection, r.id)) continue;
      const seen: ServerRecord = { id: r.id, data: r.data, version: r.version, updatedAt: r.updatedAt };
      if (!keeps(filters, r.collection, seen)) deleteRecords.push({ collection: r.collection, id: r.id });
    }
  }
  const listed = takenIn(state.meta);
  if (listed.length === 0) return { deleteRecords };
  const left: RecordRef[] = [];
  for (const ref of listed) {
    const rec = state.record(ref.collection, ref.id);
    if (!rec) continue;
    if (holdsWorkOn(state, ref.collection, ref.id)) left.push(ref);
    else if (
      !pulled(ref.collection) &&
      !deleteRecords.some((d) => d.collection === ref.collection && d.id === ref.id)
    )
      deleteRecords.push(ref);
  }
  if (left.length === listed.length) return { deleteRecords };
  return { deleteRecords, meta: { [takenInKey]: left.length > 0 ? left : undefined } };
}

/**
 * Refuses, before the store opens, a filter of a collection the schema lacks, or one that is neither
 * a function nor `{ keep, reach }` with `keep` a function and `reach` a string. Let through, a
 * reach that is not text would be stored as "undefined" or "[object Object]", and a change of
 * village would never be seen.
 */
export function checkRecordFilter(schema: Schema, filters: RecordFilters | undefined): void {
  if (filters === undefined) return;
  if (typeof filters !== 'object' || filters === null) {
    throw new TypeError('recordFilter must be an object of one predicate per collection');
  }
  const names = Object.keys(filters);
  const unknown = names.filter((name) => schema.collection(name) === undefined);
  if (unknown.length > 0) {
    throw new RangeError(
      `recordFilter names what the schema "${schema.name}" does not have: ${unknown.join(', ')}`,
    );
  }
  const given = (name: string): unknown => filters[name];
  const withReach = (name: string): boolean => typeof given(name) === 'object' && given(name) !== null;
  const neither = names.filter((name) => typeof given(name) !== 'function' && !withReach(name));
  if (neither.length > 0) {
    throw new TypeError(
      `recordFilter of ${neither.join(', ')} must be a function of the record, or { keep, reach }`,
    );
  }
  const objects = names.filter(withReach);
  const keepNotFunction = objects.filter(
    (name) => typeof (given(name) as { keep?: unknown }).keep !== 'function',
  );
  if (keepNotFunction.length > 0) {
    throw new TypeError(
      `recordFilter of ${keepNotFunction.join(', ')}: keep must be a function of the record`,
    );
  }
  const reachNotString = objects.filter(
    (name) => typeof (given(name) as { reach?: unknown }).reach !== 'string',
  );
  if (reachNotString.length > 0) {
    throw new TypeError(
      `recordFilter of ${reachNotString.join(', ')}: reach must be a string (the outside values keep reads)`,
    );
  }
}

/**
 * The record meta to store as the client opens with `filters`, or null when nothing changed.
 *
 * A record a filter rejected was never stored, and the cursor moved past it: should the filter
 * later keep more (six months became twelve in an app update, or it was removed), the device
 * would never receive those records until they next changed. So the device keeps the source text
 * of each filter it pulled with; a collection whose filter text changed or went is read again
 * from the start at the next pull (`readAgainKey`), through the current filter. A filter newly
 * set needs nothing: the prune after the next pull removes what it rejects. The text (filterText)
 * is the source text plus the `reach` the app gave: a nurse moved from Ntcheu to Dedza reopens with
 * the same closure and another reach, and gets Dedza's patients. Any change is read again, a
 * narrowing too (one collection read once more, never a record lost; its prune drops the rest).
 * A closure reading an outside value with no reach given is still not seen widened: the device
 * cannot see the value.
 */
export function filterMeta(
  meta: Readonly<Record<string, unknown>>,
  filters: RecordFilters | undefined,
  pulled: (collection: string) => boolean,
  hasPulled: boolean,
): Record<string, unknown> | null {
  const before = (meta[filtersKey] ?? {}) as Record<string, string>;
  const now: Record<string, string> = {};
  for (const [name, filter] of Object.entries(filters ?? {})) now[name] = filterText(filter);
  const widened = hasPulled
    ? Object.keys(before).filter((name) => before[name] !== now[name] && pulled(name))
    : [];
  const waiting = (meta[readAgainKey] ?? []) as string[];
  const readAgain = [...new Set([...waiting, ...widened])];
  const sameFilters =
    Object.keys(before).length === Object.keys(now).length &&
    Object.keys(now).every((name) => before[name] === now[name]);
  if (sameFilters && readAgain.length === waiting.length) return null;
  return {
    [filtersKey]: Object.keys(now).length > 0 ? now : undefined,
    [readAgainKey]: readAgain.length > 0 ? readAgain : undefined,
  };
}
