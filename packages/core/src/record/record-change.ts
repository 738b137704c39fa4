import { stableStringify } from '../stable-hash';
import type { RecordData } from '../schema/define-schema';

/** Per field: the record version and HLC of its last change. Field-level conflict rules read this. */
export type FieldMeta = Record<string, { v: number; hlc: string }>;

/**
 * Applies an update's changed fields to a record's data. `null` clears a field: JSON has no
 * undefined, so null is how a client says "this field is now empty".
 */
export function applyPatch(data: RecordData, patch: RecordData): RecordData {
  const next: RecordData = { ...data };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete next[field];
    else next[field] = value;
  }
  return next;
}

/** The fields whose values differ between two versions of a record (compared as stable JSON). */
export function changedFields(before: RecordData | null, after: RecordData | null): string[] {
  const a = before ?? {};
  const b = after ?? {};
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  const changed: string[] = [];
  for (const field of fields) {
    if (stableStringify(a[field]) !== stableStringify(b[field])) changed.push(field);
  }
  return changed.sort();
}

export function stampFields(
  meta: FieldMeta,
  fields: readonly string[],
  version: number,
  hlc: string,
): FieldMeta {
  const next: FieldMeta = { ...meta };
  for (const field of fields) next[field] = { v: version, hlc };
  return next;
}
