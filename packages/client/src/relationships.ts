import type { RecordData, Schema } from '@outpost/core';
import type { LocalState } from './local-state';

export interface Orphan {
  collection: string;
  id: string;
  field: string;
  /** The record the reference names, which the device does not hold (or holds deleted). */
  missing: { collection: string; id: string };
}

/**
 * What to do with orphans (seed 003's relationship manager):
 * - `delete`: drop them from the device, with any op of theirs not yet sent;
 * - `keep`: leave them as they are (the server checks references on push);
 * - `queue`: hold their ops back until the record they reference exists.
 */
export type OrphanStrategy = 'delete' | 'keep' | 'queue';

export interface MissingReference {
  field: string;
  collection: string;
  id: string;
}

/**
 * The references of `data` (a record's or an op's, in `collection`) to records the device does
 * not hold, or holds deleted. One rule for selective sync and record filters: a reference to a
 * collection the device does not hold whole (`whole`: false when it does not pull the collection,
 * or keeps only the records its `recordFilter` passes) is missing only when the device holds the
 * record deleted. Any other absence says nothing (a patient of 2019 filtered out still exists on
 * the server), so its children are not orphans to delete or to hold back for good.
 * `present`: references to count as held whatever the store says (creates about to be sent).
 */
export function missingReferences(
  schema: Schema,
  state: LocalState,
  collection: string,
  data: RecordData | undefined,
  whole: (collection: string) => boolean = () => true,
  present: (collection: string, id: string) => boolean = () => false,
): MissingReference[] {
  const mappings = (state.meta['tempIds'] ?? {}) as Record<string, string>;
  const missing: MissingReference[] = [];
  for (const [field, target] of Object.entries(schema.collection(collection)?.references ?? {})) {
    const value = data?.[field];
    if (typeof value !== 'string' || present(target, value)) continue;
    const parent = state.record(target, mappings[value] ?? value);
    if (parent ? parent.deleted : whole(target)) missing.push({ field, collection: target, id: value });
  }
  return missing;
}

/**
 * Live local records whose reference fields name a record the device does not hold (`whole`: as
 * for missingReferences, the collections of which the device holds every record).
 */
export function findOrphans(
  schema: Schema,
  state: LocalState,
  whole: (collection: string) => boolean = () => true,
): Orphan[] {
  const orphans: Orphan[] = [];
  for (const rec of state.records.values()) {
    if (rec.deleted) continue;
    for (const m of missingReferences(schema, state, rec.collection, rec.data, whole)) {
      orphans.push({
        collection: rec.collection,
        id: rec.id,
        field: m.field,
        missing: { collection: m.collection, id: m.id },
      });
    }
  }
  return orphans;
}
