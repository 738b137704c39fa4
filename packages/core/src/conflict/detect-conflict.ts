import { compareHlc } from '../hlc';
import { stableHash, stableStringify } from '../stable-hash';
import type { ConflictKind } from '../protocol/conflicts';
import type { OpType } from '../protocol/push';
import { applyPatch } from '../record/record-change';
import type { FieldMeta } from '../record/record-change';
import type { RecordData } from '../schema/define-schema';

/** What the conflict engine needs to know of a stored record. Tombstones keep their last data. */
export interface RecordState {
  readonly data: RecordData;
  readonly version: number;
  readonly deleted: boolean;
  readonly fieldMeta: FieldMeta;
  /** The HLC of the record's latest change. */
  readonly hlc: string;
}

/** One change as a client sent it. `data` is every field for a create, the changed fields for an update. */
export interface IncomingChange {
  readonly type: OpType;
  readonly data?: RecordData | null;
  /** The server version the change was made on. */
  readonly baseVersion?: number;
  /** The stable hash of the data the change was made on. */
  readonly baseHash?: string;
  /** The change's HLC as the client sent it; absent for clients that send none. */
  readonly hlc?: string;
}

export interface Detection {
  readonly kind: ConflictKind;
  /** The fields the change would set to a value other than the stored one. */
  readonly clientFields: readonly string[];
  /** The fields the server changed since the change's base, as far as the base is known. */
  readonly serverFields: readonly string[];
  /** The fields in dispute: changed on both sides, to different values. */
  readonly fields: readonly string[];
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return stableStringify(a) === stableStringify(b);
}

/** The fields of a patch whose value differs from the record's (null clears, so it differs from a set field). */
export function fieldsChangedBy(data: RecordData, patch: RecordData): string[] {
  const changed: string[] = [];
  for (const [field, value] of Object.entries(patch)) {
    const stored = data[field];
    if (value === null ? stored !== undefined : !sameValue(stored, value)) changed.push(field);
  }
  return changed.sort();
}

/** The fields whose values differ between two complete versions of a record. */
function differingFields(a: RecordData, b: RecordData): string[] {
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...fields].filter((f) => !sameValue(a[f], b[f])).sort();
}

function intersect(a: readonly string[], b: readonly string[]): string[] {
  const set = new Set(b);
  return a.filter((f) => set.has(f));
}

function allFields(current: RecordState): string[] {
  return [...new Set([...Object.keys(current.data), ...Object.keys(current.fieldMeta)])].sort();
}

/**
 * Which fields the server changed after the change's base, and whether the record moved on at all.
 * Three methods (seed 003), by what the client sent:
 * - version: baseVersion is behind the stored version; the fields are those whose last change has
 *   a higher version than the base (per-field metadata).
 * - hash: baseHash is not the hash of the stored data; the fields are those changed after the
 *   change's HLC when it has one, otherwise every field (the base data is unknown).
 * - timestamp: for clients that only send times: the record's last change is later than the
 *   change's HLC; the fields are those changed after it.
 * With none of them, the change applies on top of whatever is stored.
 */
function serverMovedOn(
  change: IncomingChange,
  current: RecordState,
): { kind: 'version' | 'hash' | 'timestamp'; serverFields: string[] } | null {
  const changedAfterHlc = (hlc: string) =>
    Object.entries(current.fieldMeta)
      .filter(([, m]) => compareHlc(m.hlc, hlc) > 0)
      .map(([f]) => f)
      .sort();
  if (change.baseVersion !== undefined) {
    if (change.baseVersion === current.version) return null;
    const base = change.baseVersion;
    const serverFields = Object.entries(current.fieldMeta)
      .filter(([, m]) => m.v > base)
      .map(([f]) => f)
      .sort();
    return { kind: 'version', serverFields };
  }
  if (change.baseHash !== undefined) {
    if (change.baseHash === stableHash(current.data)) return null;
    return {
      kind: 'hash',
      serverFields: change.hlc !== undefined ? changedAfterHlc(change.hlc) : allFields(current),
    };
  }
  if (change.hlc !== undefined && compareHlc(current.hlc, change.hlc) > 0) {
    return { kind: 'timestamp', serverFields: changedAfterHlc(change.hlc) };
  }
  return null;
}

/**
 * Detects whether a change conflicts with the stored record, and on which fields.
 *
 * - create of an id that exists: the device did not know the record (`version`, or
 *   `delete-update` over a tombstone). A create identical to the stored data is no conflict.
 * - update of a tombstone: `delete-update`. Delete of a tombstone: nothing to do, no conflict.
 * - delete of a record the server changed since the base (update-delete): `delete-update`.
 * - update of a record the server changed since the base: `version`, `hash` or `timestamp`, by
 *   the method above. A change whose result equals the stored data is no conflict.
 */
export function detectConflict(change: IncomingChange, current: RecordState | null): Detection | null {
  if (current === null) return null;
  const data = change.data ?? {};

  if (change.type === 'create') {
    // Compared as the record the create would make: a null field is an empty one, as in a patch.
    const differing = differingFields(current.data, applyPatch({}, data));
    if (current.deleted) {
      return { kind: 'delete-update', clientFields: differing, serverFields: [], fields: [] };
    }
    if (differing.length === 0) return null;
    return {
      kind: 'version',
      clientFields: fieldsChangedBy(current.data, data),
      serverFields: allFields(current),
      fields: differing,
    };
  }

  if (current.deleted) {
    if (change.type === 'delete') return null;
    const clientFields = Object.keys(data).sort();
    return { kind: 'delete-update', clientFields, serverFields: [], fields: clientFields };
  }

  const moved = serverMovedOn(change, current);
  if (moved === null) return null;
  if (change.type === 'delete') {
    return {
      kind: 'delete-update',
      clientFields: [],
      serverFields: moved.serverFields,
      fields: moved.serverFields,
    };
  }
  const clientFields = fieldsChangedBy(current.data, data);
  if (clientFields.length === 0) return null;
  return {
    kind: moved.kind,
    clientFields,
    serverFields: moved.serverFields,
    fields: intersect(clientFields, moved.serverFields),
  };
}
