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
  const changed: string[] = [];
  for (const field of Object.keys(a)) {
    if (differs(a[field], b[field])) changed.push(field);
  }
  for (const field of Object.keys(b)) {
    if (!Object.hasOwn(a, field) && differs(undefined, b[field])) changed.push(field);
  }
  return changed.sort();
}

/**
 * Whether two field values differ as stable JSON, answering without serialising what needs none:
 * the same value; two different strings (JSON text of a string is one-to-one); an absent field
 * (undefined and null are both `null`) against a string, boolean, object or array, none of whose
 * JSON is `null`. That covers most fields of most changes, and every field of a create.
 */
function differs(x: unknown, y: unknown): boolean {
  if (x === y) return false;
  if (typeof x === 'string' && typeof y === 'string') return true;
  const xAbsent = x === undefined || x === null;
  if (xAbsent || y === undefined || y === null) {
    if (xAbsent && (y === undefined || y === null)) return false;
    const other = typeof (xAbsent ? y : x);
    if (other === 'string' || other === 'boolean' || other === 'object') return true;
  }
  return stableStringify(x) !== stableStringify(y);
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
