import { sameValue } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import type { FieldTimes, LocalRecord, OutboxEntry } from './stores/local-store';

/**
 * When the server wrote each field of the state a device holds of a record (`LocalRecord.fieldTimes`),
 * kept by the device alone from what it pulls: a server restored from a backup gets back only the
 * fields written after the backup (giveBackNewer, decision 0050), the others holding the backup's
 * values. The times are the server's clock (`updatedAt` of the pulled state that brought a field's
 * value), comparable with the backup's time, which the device's clock is not.
 */

/** A server state of a record as the device held it, with the times of its fields. */
export interface TimedState {
  readonly data: RecordData | null;
  readonly updatedAt: string;
  readonly version: number;
  readonly fieldTimes?: FieldTimes;
}

/**
 * The server state a device holds of a record, with its times: the record itself when no change of
 * the device's waits on it, else the server's copy kept beneath them (null when not kept, or for a
 * record the device holds deleted).
 */
export function heldServerState(rec: LocalRecord | undefined, changesWaiting: boolean): TimedState | null {
  if (rec === undefined) return null;
  if (!changesWaiting) return rec.deleted ? null : rec;
  const copy = rec.server;
  if (copy === undefined || copy.deleted) return null;
  return {
    data: copy.data,
    updatedAt: copy.updatedAt,
    version: copy.version,
    ...(rec.fieldTimes ? { fieldTimes: rec.fieldTimes } : {}),
  };
}

/** The key of the fields whose time is not known yet (set by an acknowledged change of the device's). */
const unknownTime = '';

/** Each field's time, null where not known yet; undefined when the record keeps none. */
export function timesByField(times: FieldTimes | undefined): Record<string, string | null> | undefined {
  if (times === undefined) return undefined;
  const out: Record<string, string | null> = {};
  for (const [at, fields] of Object.entries(times)) {
    for (const field of fields) out[field] = at === unknownTime ? null : at;
  }
  return out;
}

/** Grouped by time, as stored; undefined when every field is of `data` and got it at `updatedAt`. */
function grouped(
  byField: ReadonlyMap<string, string | null>,
  data: RecordData,
  updatedAt: string | null,
): FieldTimes | undefined {
  const all = [...byField].every(([field, at]) => at === updatedAt && Object.hasOwn(data, field));
  if (all && updatedAt !== null) return undefined;
  const out: FieldTimes = {};
  for (const [field, at] of [...byField].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    (out[at ?? unknownTime] ??= []).push(field);
  }
  return out;
}

/**
 * The times of a server state the device takes in place of `before` (null: a record it did not
 * hold), stamped `updatedAt` (null: not known, as for the server's side of a push's conflict): a
 * field whose value differs from `before`'s, or is removed, got it then; one whose value is the same
 * keeps its time, and one whose time was not known gets this state's, which includes it (the next
 * state the device pulls after its own change was acknowledged). Records stored before times were
 * kept count every field at their `updatedAt`. Undefined when every field is at `updatedAt`, which
 * is what a record without times means: nothing stored for a record first seen.
 *
 * A state more than one version after `before` follows changes the device never saw: a field may
 * have been changed and changed back among them (a status set inactive, then active again after the
 * backup), so no field keeps an older time then. Later rather than earlier: a field taken for one
 * written after the backup goes back, weighed by its HLC (a conflict at worst, which a person
 * sees); one taken for older would not, and a write the backup lacks would be lost unseen.
 */
export function pulledTimes(
  before: TimedState | null,
  after: { data: RecordData | null; updatedAt: string | null; version: number },
): FieldTimes | undefined {
  if (after.data === null) return undefined;
  const missed = before !== null && after.version > before.version + 1;
  const held = before?.data ?? null;
  const kept = held !== null ? timesByField(before?.fieldTimes) : undefined;
  const fields = new Set([
    ...Object.keys(after.data),
    ...Object.keys(held ?? {}),
    ...Object.keys(kept ?? {}),
  ]);
  const byField = new Map<string, string | null>();
  for (const field of fields) {
    const inAfter = Object.hasOwn(after.data, field);
    const inHeld = held !== null && Object.hasOwn(held, field);
    const same = inAfter === inHeld && (!inAfter || sameValue(after.data[field], held?.[field]));
    const was =
      kept !== undefined && Object.hasOwn(kept, field)
        ? kept[field]
        : inHeld
          ? (before?.updatedAt ?? null)
          : undefined;
    if (!same || was === null || missed) {
      if (inAfter || inHeld) byField.set(field, after.updatedAt);
    } else if (was !== undefined) {
      // Never later than the state that holds it (a restored server's older state, say).
      const later = after.updatedAt !== null && Date.parse(was) > Date.parse(after.updatedAt);
      byField.set(field, later ? after.updatedAt : was);
    }
  }
  return grouped(byField, after.data, after.updatedAt);
}

/**
 * The times of a record once the server acknowledged `op` on it: the fields the op set got their
 * value on the server then, at a time the answer does not say (it carries a version only), so not
 * known until the next state the device pulls of the record (pulledTimes); the others keep theirs,
 * those of the server's copy the op went on, unless the answer's `version` says others changed the
 * record between that copy and the op. Undefined (every field at the record's `updatedAt`,
 * as before times were kept) when the device knows neither that copy's times nor the copy itself.
 */
export function ackedTimes(rec: LocalRecord, op: OutboxEntry, version: number): FieldTimes | undefined {
  if (op.type === 'delete') return rec.fieldTimes;
  let byField: Map<string, string | null>;
  if (op.type === 'create') byField = new Map();
  else if (version > rec.version + 1 && rec.server?.data != null) {
    // Applied over changes the device never saw (pulledTimes says why no field keeps its time).
    const fields = new Set([
      ...Object.keys(rec.server.data),
      ...Object.keys(timesByField(rec.fieldTimes) ?? {}),
    ]);
    byField = new Map([...fields].map((f) => [f, null]));
  } else if (rec.fieldTimes !== undefined)
    byField = new Map(Object.entries(timesByField(rec.fieldTimes) ?? {}));
  else if (rec.server?.data != null) {
    const at = rec.server.updatedAt;
    byField = new Map(Object.keys(rec.server.data).map((f) => [f, at]));
  } else return undefined;
  for (const field of Object.keys(op.data ?? {})) byField.set(field, null);
  return grouped(byField, {}, null);
}

/** The record with `times`, or with none (every field at its `updatedAt`). */
export function withTimes(rec: LocalRecord, times: FieldTimes | undefined): LocalRecord {
  const { fieldTimes: _old, ...rest } = rec;
  return times === undefined ? rest : { ...rest, fieldTimes: times };
}
