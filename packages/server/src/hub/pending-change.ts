/**
 * What a hub owes its upstream for one record, and what its own copy becomes when it learns how the
 * upstream now has the record. Pure: the hub's push and pull (hub-sync.ts) call these with what
 * they read under the tenant lock.
 *
 * The rule both follow: a local change the upstream has not had is never dropped by news from the
 * upstream. It is sent, and the upstream's own conflict rules settle it there; until the upstream
 * has answered for a field, the hub keeps its local value of that field.
 */
import { changedFields } from '@outpost/core';
import type { FieldMeta, RecordData } from '@outpost/core';

/** A record as one side has it. */
export interface RecordSide {
  readonly deleted: boolean;
  readonly data: RecordData;
}

/** A record as the upstream last had it, as far as the hub knows. */
export interface UpstreamSide extends RecordSide {
  readonly version: number;
}

export type PendingChange =
  | { readonly type: 'create'; readonly data: RecordData; readonly fields: readonly string[] }
  | { readonly type: 'update'; readonly data: RecordData; readonly fields: readonly string[] }
  | { readonly type: 'delete'; readonly fields: readonly string[] };

/**
 * The change the upstream has not had, as one op's worth: the whole record for one it never had,
 * the fields whose values differ (null clears one) for one it has, or its deletion. Null when the
 * two agree, and for a record made and deleted here before it ever went up.
 */
export function pendingChange(upstream: UpstreamSide | null, local: RecordSide): PendingChange | null {
  if (upstream === null) {
    if (local.deleted) return null;
    return { type: 'create', data: local.data, fields: Object.keys(local.data).sort() };
  }
  if (local.deleted) return upstream.deleted ? null : { type: 'delete', fields: [] };
  // A record the upstream deleted while this side still changed it goes up as an update: the
  // upstream's delete-update rule decides whether the edit or the deletion stands.
  const fields = changedFields(upstream.deleted ? {} : upstream.data, local.data);
  if (fields.length === 0 && !upstream.deleted) return null;
  const data: RecordData = {};
  for (const field of fields) data[field] = local.data[field] ?? null;
  return { type: 'update', data, fields };
}

/**
 * The HLC an op carries: when its newest field last changed here, so the upstream's last-write-wins
 * weighs the edit by when it was made, not when the hub forwarded it.
 */
export function changeHlc(change: PendingChange, fieldMeta: FieldMeta, recordHlc: string): string {
  let latest = '';
  for (const field of change.fields) {
    const hlc = fieldMeta[field]?.hlc;
    if (hlc !== undefined && hlc > latest) latest = hlc;
  }
  return change.type === 'delete' || latest === '' ? recordHlc : latest;
}

/**
 * The hub's record once the upstream's state `next` is known. `baseline` is what the hub's record
 * would be had nothing changed here since: the upstream as the hub knew it, with the op just
 * answered (if any) applied as sent. Whatever the hub's record differs from that baseline by was
 * changed here since, and stays on top of the upstream's state, to go up with the next push;
 * everything else follows the upstream, whose rules answered for it.
 */
export function rebase(
  baseline: UpstreamSide | null,
  next: UpstreamSide,
  local: RecordSide | null,
): RecordSide {
  const upstreamCopy: RecordSide = { deleted: next.deleted, data: next.data };
  if (local === null) return upstreamCopy;
  const pending = pendingChange(baseline, local);
  if (pending === null) return upstreamCopy;
  // A deletion made here and not answered yet stands until it is; so does an edit made here of a
  // record the upstream deleted: its push lets the upstream's delete-update rule decide.
  if (pending.type === 'delete' || next.deleted) return local;
  const data: RecordData = { ...next.data };
  for (const field of pending.fields) {
    const value = local.data[field];
    if (value === undefined || value === null) delete data[field];
    else data[field] = value;
  }
  return { deleted: false, data };
}

/** Whether two sides hold the same record: both deleted, or both live with the same fields. */
export function sameSide(a: RecordSide, b: RecordSide): boolean {
  if (a.deleted !== b.deleted) return false;
  return a.deleted || changedFields(a.data, b.data).length === 0;
}
