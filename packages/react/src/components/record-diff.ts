import { stableStringify } from '@outpost/core';
import type { RecordData } from '@outpost/core';

/** How a field of this device's version differs from the server's. */
export type FieldStatus = 'added' | 'removed' | 'changed' | 'same';

/**
 * Which version a field is taken from when merging: this device's, the server's as the conflict
 * found it, or the record's as it stands now (after an edit made since the conflict).
 */
export type Side = 'local' | 'server' | 'current';

/** Per field, the version chosen for a merge; a field not named here keeps the local value. */
export type FieldChoices = Readonly<Record<string, Side>>;

export interface FieldDiff {
  readonly field: string;
  /** The field names from the record down to this field (one name for a top-level field). */
  readonly path: readonly string[];
  /**
   * Relative to the server: `added` is only on this device, `removed` only on the server,
   * `changed` on both with different values, `same` on both (or on neither) alike.
   */
  readonly status: FieldStatus;
  /** The value on this device; undefined when the field is absent (or null). */
  readonly local: unknown;
  /** The value on the server; undefined when the field is absent (or null). */
  readonly server: unknown;
  /** For a field holding an object on either side: its own fields, compared the same way. */
  readonly children?: readonly FieldDiff[];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field's value, or undefined when absent: null is how records say "cleared". */
function valueOf(data: Readonly<Record<string, unknown>> | null, field: string): unknown {
  if (data === null || !Object.hasOwn(data, field)) return undefined;
  const value = data[field];
  return value === null ? undefined : value;
}

function fieldsOf(...versions: Array<Readonly<Record<string, unknown>> | null>): string[] {
  return [...new Set(versions.flatMap((data) => (data === null ? [] : Object.keys(data))))];
}

/**
 * The field-by-field difference between this device's version of a record and the server's, in
 * the server's field order with fields only on this device after them. Objects are compared
 * field by field as well.
 */
export function diffRecords(
  local: Readonly<Record<string, unknown>> | null,
  server: Readonly<Record<string, unknown>> | null,
  path: readonly string[] = [],
): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  for (const field of fieldsOf(server, local)) {
    const l = valueOf(local, field);
    const s = valueOf(server, field);
    if (l === undefined && s === undefined) continue;
    const status: FieldStatus =
      s === undefined
        ? 'added'
        : l === undefined
          ? 'removed'
          : stableStringify(l) === stableStringify(s)
            ? 'same'
            : 'changed';
    const fieldPath = [...path, field];
    const nested =
      isPlainObject(l) || isPlainObject(s)
        ? diffRecords(isPlainObject(l) ? l : null, isPlainObject(s) ? s : null, fieldPath)
        : undefined;
    diffs.push({
      field,
      path: fieldPath,
      status,
      local: l,
      server: s,
      ...(nested ? { children: nested } : {}),
    });
  }
  return diffs;
}

/** The top-level fields the two versions disagree on: the ones a person chooses between. */
export function disputedFields(diffs: readonly FieldDiff[]): string[] {
  return diffs.filter((d) => d.status !== 'same').map((d) => d.field);
}

/**
 * The `mergedData` of a merge: every field of either version, each with the value of the version
 * chosen for it (local unless chosen otherwise), and null where that version lacks the field, so
 * the merge clears it on the server. `current` is the record as it stands now, for fields chosen
 * `current`; fields only it has are left out, so the merge leaves them as they are.
 */
export function mergeChoices(
  local: RecordData | null,
  server: RecordData | null,
  choices: FieldChoices,
  current: RecordData | null = null,
): RecordData {
  const versions: Readonly<Record<Side, RecordData | null>> = { local, server, current };
  const merged: RecordData = {};
  for (const field of fieldsOf(server, local)) {
    const value = valueOf(versions[choices[field] ?? 'local'], field);
    merged[field] = value === undefined ? null : value;
  }
  return merged;
}
