import type { Schema } from '@outpost/core';
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

/** Live local records whose reference fields name a record the device does not hold. */
export function findOrphans(schema: Schema, state: LocalState): Orphan[] {
  const mappings = (state.meta['tempIds'] ?? {}) as Record<string, string>;
  const orphans: Orphan[] = [];
  for (const rec of state.records.values()) {
    if (rec.deleted) continue;
    const refs = schema.collection(rec.collection)?.references ?? {};
    for (const [field, target] of Object.entries(refs)) {
      const value = rec.data[field];
      if (typeof value !== 'string') continue;
      const parent = state.record(target, mappings[value] ?? value);
      if (!parent || parent.deleted) {
        orphans.push({
          collection: rec.collection,
          id: rec.id,
          field,
          missing: { collection: target, id: value },
        });
      }
    }
  }
  return orphans;
}
