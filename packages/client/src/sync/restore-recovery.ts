import {
  deleteAgainBase,
  fieldsChangedBy,
  giveBackNewer,
  givesDeletionBack,
  makeTempId,
  numberedAfterBackup,
  parseTempId,
  writtenAfterBackup,
} from '@outpost/core';
import type { Change, HeldState, RandomBytes, RecordData, RestoreMark, Schema } from '@outpost/core';
import { timesByField } from '../field-times';
import { heldServerCopy, keyOf, viewOf } from '../local-state';
import type { LocalState } from '../local-state';
import type { LocalConflict, LocalRecord, OutboxEntry, ServerState, WriteBatch } from '../stores/local-store';
import { newEntry } from '../outbox/new-entry';
import { renameRefs } from '../temp-ids/rewrite-temp-ids';
import { stillToGo } from '../outbox/withdraw';
import {
  acknowledgedDeletion,
  acknowledgedDeletions,
  keptDeletions,
  keptDeletionsKey,
} from '../outbox/kept-deletions';

/**
 * What a device gives back to a server restored from a backup (decisions 0050 and 0051). The server said so
 * (410 `CURSOR_EXPIRED`, `details.reason: 'restored'`), and the device reads everything again. What
 * the server acknowledged after the backup is on the devices only: records created or changed
 * since, and deletions. Each device gives back what it holds of it, as new ops (new opIds: the
 * restored server never saw them), stamped with the HLC the device's state already had, so that
 * the server's conflict rules weigh them against what the clinic did on the restored server.
 *
 * `recoverable`: collections whose ids the devices make. A restored server hands out again the
 * numbers of the server-id records it lost, so a record a device holds under such a number may now
 * be another one, and sending it back by its number would write one patient's data over another's.
 * Files keep to these (decision 0050, "Files").
 */
export function recoverable(schema: Schema, collection: string): boolean {
  const def = schema.collection(collection);
  return def !== undefined && def.idStrategy !== 'server';
}

/**
 * Whether the re-read's state of `collection/id` is the record this device holds under that id, so
 * that the rules below may weigh one against the other: always where devices make the ids; for a
 * server-id record, only when the server said the backup's numbers (`mark.lastIds`) and the backup
 * had issued this one. A number issued after the backup names, on the restored server, another
 * record: the device's own went under a new temp id when the re-read began (renumberLost).
 */
export function recoverableRecord(
  schema: Schema,
  mark: RestoreMark,
  collection: string,
  id: string,
): boolean {
  if (recoverable(schema, collection)) return true;
  return numberedAfterBackup(mark, collection, id) === false;
}

export type { RestoreMark } from '@outpost/core';
export { restoreMarkOf } from '@outpost/core';

/**
 * A held record the device has no unconfirmed change on, whose state was written after the backup
 * and differs from the restored server's: the update of the fields that differ and that the device
 * got after the backup (its field times say which; a record without them, every field that
 * differs). Null when the backup had it, when nothing differs, and for a deletion on the restored
 * server (made since, as the device holds the record), which stands.
 *
 * Against which version: the restored server's state written before the device's (the server's
 * clock says so), the device's follows it, against its version. Otherwise someone changed the
 * record on the restored server since, without the device's change: with no version, weighed by
 * the HLC of the device's state, so every field changed there after it is in conflict, settled by
 * the collection's rule (giveBackNewer says why not the version before theirs).
 */
export function resendNewer(
  state: LocalState,
  now: number,
  mark: RestoreMark,
  local: LocalRecord,
  change: Change,
): OutboxEntry | null {
  if (change.deleted || local.deleted) return null;
  // The rule is core's (giveBackNewer), shared with the hub; the times say which fields the device
  // holds from after the backup.
  const given = giveBackNewer(mark, heldState(local, local), {
    data: (change.data ?? {}) as RecordData,
    version: change.version,
    updatedAt: change.updatedAt,
  });
  if (given === null) return null;
  return newEntry(state, now, {
    collection: change.collection,
    type: 'update',
    id: change.id,
    data: given.data,
    // None: the server weighs the op by its HLC, the held state's.
    baseVersion: given.baseVersion,
    hlc: local.hlc,
  });
}

/**
 * The state the device held for giveBackNewer, with the times of its fields. A record keeping none
 * (first seen, every field at its `updatedAt`; or stored before times were kept, read so) gives
 * none of its own: every field falls back to the state's time, and the give-back is still weighed
 * by its HLC, which sees each field the restored clinic changed, not only the last.
 */
function heldState(local: LocalRecord, state: { data: RecordData; updatedAt: string }): HeldState {
  return { data: state.data, updatedAt: state.updatedAt, fieldTimes: timesByField(local.fieldTimes) ?? {} };
}

/**
 * A record the restored server has again though this device deleted it after the backup: the
 * device's delete sent again, read from the outbox while it keeps the op (`keepCompletedMs`), from
 * the kept deletions after (`keepDeletionsMs`, outbox/kept-deletions.ts). Null when neither has it.
 */
export function deleteAgain(
  state: LocalState,
  now: number,
  mark: RestoreMark,
  change: Change,
): OutboxEntry | null {
  if (change.deleted) return null;
  const deleted = acknowledgedDeletion(state, change.collection, change.id);
  if (deleted === undefined) return null;
  return newEntry(state, now, {
    collection: change.collection,
    type: 'delete',
    id: change.id,
    // The server's state from the backup: the delete follows it. Changed there since, or not known:
    // the conflict rule weighs the delete against it.
    baseVersion: deleteAgainBase(mark, change),
    hlc: deleted.hlc,
  });
}

/**
 * The deletion this device made of `collection/id`, for a restored server with no trace of the
 * record: its last delete op still to go (not one the server refused), else the acknowledged one
 * (acknowledgedDeletion: the op while the outbox keeps it, the kept deletion after). Undefined
 * when there is none, and when the device shows the record alive (a change that won over the
 * deletion brought it back since).
 */
function deletionOf(
  state: LocalState,
  collection: string,
  id: string,
): Pick<OutboxEntry, 'collection' | 'id' | 'hlc'> | undefined {
  const held = state.record(collection, id);
  if (held !== undefined && !held.deleted) return undefined;
  const waiting = state
    .opsFor(collection, id)
    .filter((o) => o.type === 'delete' && stillToGo(o))
    .at(-1);
  return waiting ?? acknowledgedDeletion(state, collection, id);
}

/**
 * A deletion given back to a restored server that may never have had the record (its lost
 * database created it after the backup): a delete marked so (`givenBack`, or `restoredFrom` with a
 * new temp id for a number the lost database gave), which the restored server keeps as a tombstone.
 * Why: a colleague's tablet still holding the record gives it back as a create, before or after
 * this one; against a tombstone, or met by this delete, that create is weighed by the collection's
 * rule, where it would otherwise make the record again and undo the deletion. At the deletion's
 * HLC, so the rule weighs the two by when they were made; with no base version, as the device
 * cannot know what a colleague gave back meanwhile.
 */
function deletionGivenBack(
  state: LocalState,
  now: number,
  deleted: Pick<OutboxEntry, 'collection' | 'id' | 'hlc'>,
  lostNumber?: { tempId: string; randomBytes?: RandomBytes },
): OutboxEntry {
  const { collection, hlc } = deleted;
  if (lostNumber === undefined)
    return newEntry(state, now, {
      collection,
      type: 'delete',
      id: deleted.id,
      hlc,
      givenBack: true,
    });
  return newEntry(
    state,
    now,
    { collection, type: 'delete', id: lostNumber.tempId, hlc, restoredFrom: deleted.id },
    lostNumber.randomBytes,
  );
}

/**
 * The deletions this device made that a restored server's re-read showed no trace of (decision
 * 0050, "Deletions"), as deletions given back (deletionGivenBack): records of collections whose ids
 * devices make, which the device no longer holds and has nothing left to send on, deleted here by
 * a delete the server acknowledged (acknowledgedDeletion), that the re-read brought neither alive (deleteAgain gave those
 * back as it read them) nor as a tombstone (the deletion stands there). The lost database created
 * them after the backup, so the restored server never had them.
 *
 * Which: core's givesDeletionBack, shared with a hub's resync of a restored upstream; a device
 * keeps no server's time of a record it deleted, only the deletion, so every deletion it keeps
 * that the re-read did not bring goes. `read(collection, id)`: whether the re-read brought the
 * record, alive or deleted, or cannot tell (a collection the device does not pull). Records the
 * device still holds are createAgain's and foldIntoCreate's.
 */
export function deletionsGivenBack(
  schema: Schema,
  state: LocalState,
  now: number,
  mark: RestoreMark,
  read: (collection: string, id: string) => boolean,
): OutboxEntry[] {
  const given: OutboxEntry[] = [];
  for (const { collection, id } of acknowledgedDeletions(state)) {
    if (!recoverable(schema, collection) || state.record(collection, id) !== undefined) continue;
    if (!givesDeletionBack(mark, { read: read(collection, id) })) continue;
    if (state.opsFor(collection, id).some((o) => o.status !== 'done')) continue;
    const deleted = deletionOf(state, collection, id);
    if (deleted !== undefined) given.push(deletionGivenBack(state, now, deleted));
  }
  return given;
}

/**
 * A held record the re-read did not bring, neither it nor its tombstone (a deletion on the
 * restored server would have removed it from the device): created again if it was written after
 * the backup, which never had it. Null otherwise: its tombstone was purged, it goes.
 */
export function createAgain(
  state: LocalState,
  now: number,
  mark: RestoreMark,
  local: LocalRecord,
): OutboxEntry | null {
  if (local.deleted || local.version === 0 || !writtenAfterBackup(mark, local.updatedAt)) return null;
  return newEntry(state, now, {
    collection: local.collection,
    type: 'create',
    id: local.id,
    data: { ...local.data },
    hlc: local.hlc,
  });
}

/**
 * A held record the re-read did not bring, though the device still has changes to send on it: the
 * restored server has no trace of it, so those changes would be refused (`NOT_FOUND`). When its
 * state on the server was written after the backup (the backup never had it), the device folds
 * them into a create of what it shows: `ops` to remove and the op to `put` in their place. A
 * record the device deleted goes, its deletion given back (deletionGivenBack) rather than dropped:
 * a colleague's tablet may still hold the record and give it back. Null when the backup had it
 * (deleted on the restored server since, its tombstone purged: the changes go as they are, and
 * meet the refusal a person reads), and when a change on it was refused or is in conflict, which a
 * person acts on first.
 */
export function foldIntoCreate(
  state: LocalState,
  now: number,
  mark: RestoreMark,
  local: LocalRecord,
): { ops: number[]; put: OutboxEntry } | null {
  const ops = state.opsFor(local.collection, local.id).filter((o) => o.status !== 'done');
  if (ops.length === 0 || !ops.every(stillToGo) || local.version === 0) return null;
  const onServer = local.server?.updatedAt;
  if (onServer === undefined || !writtenAfterBackup(mark, onServer)) return null;
  const seqs = ops.map((o) => o.seq);
  if (local.deleted) {
    const hlc = deletionOf(state, local.collection, local.id)?.hlc ?? local.hlc;
    return {
      ops: seqs,
      put: deletionGivenBack(state, now, { collection: local.collection, id: local.id, hlc }),
    };
  }
  return {
    ops: seqs,
    put: newEntry(state, now, {
      collection: local.collection,
      type: 'create',
      id: local.id,
      data: { ...local.data },
      hlc: local.hlc,
    }),
  };
}

/**
 * A record the re-read brings alive though the device still has changes to send on it, which the
 * push held back for the re-read (decision 0050). Those changes were made on the device's copy of
 * the lost database's state, and that copy may hold more than the restored server has: changes the
 * lost database acknowledged after the backup. Both go back, as new ops in this order, and the
 * waiting ops go (`ops`):
 *
 * - What the copy holds beyond the restored state, by the rule resendNewer applies to a record with
 *   nothing waiting (giveBackNewer, the record's field times being the copy's), at the copy's HLC,
 *   the fields the waiting changes set again left out. First, so that it is weighed against the
 *   restored server's state as it is now; with no version, it stays apart from the next op in the
 *   outbox (coalesce.ts), each weighed at its own HLC.
 * - The fields the waiting changes set, as the device shows them, at the HLC of the last of them and
 *   with no base version: the versions they were made on are the lost database's, which the restored
 *   server hands out again, so the server weighs them by when they were made (a field changed on the
 *   restored server after them is in conflict) rather than by a number that may name another state.
 *   A deletion waiting goes as a delete on the same terms, alone.
 *
 * `gave`: the first op is there (SyncResult.restored counts it). Null, the changes going as they
 * are, when the device does not hold the copy, when a change on the record was refused or is in
 * conflict (a person acts on it first), when one asked for a conflict rule of its own, and over a
 * tombstone.
 */
export function foldIntoUpdate(
  state: LocalState,
  now: number,
  mark: RestoreMark,
  local: LocalRecord,
  change: Change,
): { ops: number[]; put: OutboxEntry[]; gave: boolean } | null {
  const ops = state.opsFor(local.collection, local.id).filter((o) => o.status !== 'done');
  if (ops.length === 0 || !ops.every(stillToGo) || ops.some((o) => o.strategy !== undefined)) return null;
  const copy = heldServerCopy(local);
  if (copy == null || copy.deleted || copy.data === null || change.deleted) return null;
  const seqs = ops.map((o) => o.seq);
  // `base` undefined: none is sent, and the server weighs the op by its HLC.
  const entry = (
    type: 'update' | 'delete',
    data: RecordData | undefined,
    base: number | undefined,
    hlc: string,
  ) => {
    return newEntry(state, now, {
      collection: local.collection,
      type,
      id: local.id,
      ...(data !== undefined ? { data } : {}),
      baseVersion: base,
      hlc,
    });
  };
  if (local.deleted)
    return { ops: seqs, put: [entry('delete', undefined, undefined, local.hlc)], gave: false };

  const restored = (change.data ?? {}) as RecordData;
  const waiting: RecordData = {};
  for (const o of ops) {
    for (const field of Object.keys(o.data ?? {})) waiting[field] = local.data[field] ?? null;
  }
  const put: OutboxEntry[] = [];
  const given = giveBackNewer(mark, heldState(local, { data: copy.data, updatedAt: copy.updatedAt }), {
    data: restored,
    version: change.version,
    updatedAt: change.updatedAt,
  });
  const beneath = Object.entries(given?.data ?? {}).filter(([field]) => !(field in waiting));
  const gave = given !== null && beneath.length > 0;
  if (gave) put.push(entry('update', Object.fromEntries(beneath), given.baseVersion, copy.hlc));
  const fields = fieldsChangedBy(restored, waiting);
  if (fields.length > 0) {
    const data = Object.fromEntries(fields.map((f) => [f, waiting[f] ?? null]));
    put.push(entry('update', data, undefined, local.hlc));
  }
  return { ops: seqs, put, gave };
}

/** What raiseAgain writes, in the write after the re-read has ended, and how many ops it queues. */
export interface RaisedAgain {
  batch: Required<Pick<WriteBatch, 'putOps' | 'deleteOps' | 'putRecords' | 'deleteConflicts'>>;
  count: number;
}

/**
 * The conflicts this device holds open that the restored server does not have (`lost`: its
 * archive holds none of these ids, open or settled): the lost database raised them after the
 * backup, and a person waiting on one could never settle it (the server answers "not found"), so
 * the side this device sent, a clinician's typed value, could no longer be chosen. Each goes:
 *
 * - The change this device sent, which it keeps in conflict beside it, goes again as a new op (the
 *   restored journal never saw the old opId), at the old op's HLC, and replaces the old op. It
 *   carries a base version of 0, sent as it is: the change was made on a state of the lost
 *   database whose version the restored server may hand out again, and a person had not yet
 *   weighed it against the server's side, so every field the server holds otherwise is in dispute
 *   and the collection's rule raises the conflict afresh (a person's rule keeps it open). Not by
 *   its HLC alone: the server's side may have come back with the same or an earlier HLC (a give-back
 *   carries the time of the device's own state), and the change would then be applied over it with
 *   no one asked. A base of 0 also keeps it from folding into the give-back queued before it, which
 *   goes with none or with the restored server's version (coalesce.ts folds updates on the same
 *   base only); foldIntoUpdate leaves alone a record with a change in conflict.
 * - It is queued after the record's give-back, which the re-read queued first: the server has the
 *   other side again before this side meets it. An update or delete of a record the server no longer
 *   has meets the server's refusal, or its deletion, as any change does; a create conflicts with the
 *   record given back under its id.
 * - The conflict goes from the device: the new one comes in the push's answer.
 *
 * A conflict whose change this device does not hold (raised by another device, whose give-back it
 * is) only goes; so does one on a server-numbered record whose number cannot be trusted (the server
 * did not say the backup's numbers: its records are re-read as before). One on a record renamed by
 * renumberLost goes under the temp id, after the record's create.
 */
export function raiseAgain(
  schema: Schema,
  state: LocalState,
  now: number,
  mark: RestoreMark,
  lost: readonly LocalConflict[],
): RaisedAgain {
  const batch: RaisedAgain['batch'] = { putOps: [], deleteOps: [], putRecords: [], deleteConflicts: [] };
  // The ops queued here by record: a record with two conflicts shows both.
  const queued = new Map<string, OutboxEntry[]>();
  for (const conflict of lost) {
    batch.deleteConflicts.push(conflict.id);
    const { collection, recordId: id } = conflict;
    const sent = state
      .opsFor(collection, id)
      .find((o) => o.opId === conflict.opId && o.status === 'conflict');
    if (sent === undefined) continue;
    batch.deleteOps.push(sent.seq);
    if (parseTempId(id) === null && !recoverableRecord(schema, mark, collection, id)) continue;
    const op = newEntry(state, now, {
      collection,
      type: sent.type,
      id,
      ...(sent.data !== undefined ? { data: { ...sent.data } } : {}),
      baseVersion: sent.type === 'create' ? undefined : 0,
      hlc: sent.hlc,
      ...(sent.strategy !== undefined ? { strategy: sent.strategy } : {}),
    });
    batch.putOps.push(op);
    const key = keyOf(collection, id);
    const ops = [...(queued.get(key) ?? []), op];
    queued.set(key, ops);
  }
  // Each record shows its change waiting again, over what the device held of the server's.
  for (const ops of queued.values()) {
    const { collection, id } = ops[0] as OutboxEntry;
    const local = state.record(collection, id);
    if (local === undefined) continue;
    const pending = state.pendingFor(collection, id);
    const copy = heldServerCopy(local);
    const server = copy !== undefined ? copy : pending.length === 0 ? local : undefined;
    if (server === undefined) continue;
    const view = viewOf(collection, id, server, [...pending, ...ops]);
    if (view) batch.putRecords.push(view);
  }
  return { batch, count: batch.putOps.length };
}

/** What renumberLost writes, in the write that starts the re-read, and how many records it gives back. */
export interface Renumbered {
  batch: Required<
    Pick<WriteBatch, 'putRecords' | 'deleteRecords' | 'putOps' | 'deleteOps' | 'putConflicts'>
  > &
    Pick<WriteBatch, 'meta'>;
  /**
   * The device's temp id -> server id mappings (kept so a screen holding an old temp id still finds
   * its record) with those of an old number pointing at the new temp id; null when none changed.
   */
  tempIds: Record<string, string> | null;
  count: number;
  /** The records held alive that went under a new temp id: their old number and the temp id. */
  renamed: Renamed[];
}

/**
 * A record a restored server's lost database had numbered `from`, given back under `tempId`: the
 * restored server numbers it anew, and the person is told the new number (SyncResult.restored).
 */
export interface Renamed {
  collection: string;
  from: string;
  tempId: string;
}

/**
 * The server-id records this device holds under numbers the backup had not issued (decision 0051):
 * the database the restore replaced numbered them after the backup, and the restored server hands
 * those numbers out again, to other records. Each goes back as a new record under a new temp id,
 * with what the device shows of it (its unconfirmed changes included); the server numbers it anew
 * and the device takes the new number as for any create. The create names the old number
 * (`restoredFrom`): every device holding the record gives it back, and the server creates it once,
 * settling the others' creates against it as it settles two creates of one client-made id. Before
 * the re-read is applied, so that the restored server's record under the old number lands beside
 * the device's, not over it.
 *
 * - Every reference to an old number, in the records held (the server's copies beneath them too),
 *   in the changes not yet confirmed and in conflicts, names the temp id instead: a visit's
 *   appointment stays that appointment. Push order sends the create before anything naming it.
 * - The ops on an old number go, confirmed or not: the lost database acknowledged the ones it had,
 *   and the create carries every change shown; under the old number, the restored server would
 *   apply them to its other record, and a delete kept for giving deletions back would delete it.
 *   But for the change of a conflict held open, never sent again: it moves to the temp id with its
 *   conflict, and raiseAgain sends it anew once the re-read has ended.
 * - A record deleted on this device goes, and its deletion goes back (deletionGivenBack), kept
 *   deletions (outbox/kept-deletions.ts) too, which leave the list, naming
 *   the old number and under a new temp id: a colleague's tablet may still hold the record and give
 *   it back, and the restored server weighs that create against the deletion, whichever comes first.
 *
 * Nothing when the server did not say the backup's numbers: those collections are re-read as before.
 */
export function renumberLost(
  schema: Schema,
  state: LocalState,
  now: number,
  mark: RestoreMark,
  tempIds: Readonly<Record<string, string>>,
  randomBytes?: RandomBytes,
): Renumbered {
  const batch: Renumbered['batch'] = {
    putRecords: [],
    deleteRecords: [],
    putOps: [],
    deleteOps: [],
    putConflicts: [],
  };
  if (mark.lastIds === undefined) return { batch, tempIds: null, count: 0, renamed: [] };
  const lost = (collection: string, id: string) =>
    schema.collection(collection)?.idStrategy === 'server' &&
    numberedAfterBackup(mark, collection, id) === true;
  // Old number (by collection) -> temp id, for the records held alive; a deleted one gets none.
  const renamed = new Map<string, string>();
  for (const r of state.records.values()) {
    if (!lost(r.collection, r.id) || r.deleted) continue;
    renamed.set(keyOf(r.collection, r.id), makeTempId(r.collection, now, randomBytes));
  }
  const refs = (collection: string, data: RecordData): RecordData =>
    renameRefs(schema, collection, data, (target, value) => renamed.get(keyOf(target, value))) ?? data;

  // The change of a conflict this device holds open is never sent again under its number: it moves
  // with its record and conflict, for the end of the re-read to raise it again (raiseAgain).
  const inOpenConflict = new Set(state.waitingConflicts().map((c) => c.opId));
  const goneOps = new Set<number>();
  for (const op of state.outbox.values()) {
    if (!lost(op.collection, op.id)) continue;
    const tempId = renamed.get(keyOf(op.collection, op.id));
    if (tempId !== undefined && op.status === 'conflict' && inOpenConflict.has(op.opId)) {
      const data = op.data !== undefined ? refs(op.collection, op.data) : undefined;
      batch.putOps.push({ ...op, id: tempId, ...(data !== undefined ? { data } : {}) });
    } else goneOps.add(op.seq);
  }
  batch.deleteOps.push(...goneOps);
  for (const op of state.outbox.values()) {
    if (lost(op.collection, op.id) || op.status === 'done' || op.data === undefined) continue;
    const data = refs(op.collection, op.data);
    if (data !== op.data) batch.putOps.push({ ...op, data });
  }

  const given: OutboxEntry[] = [];
  for (const r of state.records.values()) {
    if (lost(r.collection, r.id)) {
      batch.deleteRecords.push({ collection: r.collection, id: r.id });
      const tempId = renamed.get(keyOf(r.collection, r.id));
      if (tempId === undefined) continue;
      const data = refs(r.collection, r.data);
      batch.putRecords.push({
        collection: r.collection,
        id: tempId,
        data,
        deleted: false,
        version: 0,
        hlc: r.hlc,
        updatedAt: r.updatedAt,
      });
      given.push(
        newEntry(
          state,
          now,
          {
            collection: r.collection,
            type: 'create',
            id: tempId,
            data: { ...data },
            hlc: r.hlc,
            restoredFrom: r.id,
          },
          randomBytes,
        ),
      );
      continue;
    }
    const data = refs(r.collection, r.data);
    const server = renamedServerCopy(r.server, (d) => refs(r.collection, d));
    if (data !== r.data || server !== r.server) {
      batch.putRecords.push({ ...r, data, ...(server !== undefined ? { server } : {}) });
    }
  }
  // The deletions of old numbers this device made, acknowledged (the op, or the kept deletion once
  // the op has gone) or still to go, each once. The kept ones leave the list: under the old number,
  // deleteAgain would delete the restored server's other record.
  const deletions = new Map<string, Pick<OutboxEntry, 'collection' | 'id' | 'hlc'>>();
  const kept = keptDeletions(state.meta);
  const numbered = [...state.outbox.values()].filter((o) => o.type === 'delete') as Array<
    Pick<OutboxEntry, 'collection' | 'id'>
  >;
  for (const op of [...numbered, ...kept]) {
    const key = keyOf(op.collection, op.id);
    if (!lost(op.collection, op.id) || deletions.has(key)) continue;
    const deleted = deletionOf(state, op.collection, op.id);
    if (deleted !== undefined) deletions.set(key, deleted);
  }
  const keptStill = kept.filter((d) => !lost(d.collection, d.id));
  if (keptStill.length !== kept.length) {
    batch.meta = { [keptDeletionsKey]: keptStill.length > 0 ? keptStill : undefined };
  }
  for (const deleted of deletions.values()) {
    const tempId = makeTempId(deleted.collection, now, randomBytes);
    given.push(deletionGivenBack(state, now, deleted, { tempId, ...(randomBytes ? { randomBytes } : {}) }));
  }
  batch.putOps.push(...given);

  for (const c of state.conflicts.values()) {
    const tempId = renamed.get(keyOf(c.collection, c.recordId));
    if (tempId !== undefined) batch.putConflicts.push({ ...c, recordId: tempId } satisfies LocalConflict);
  }
  let mappings: Record<string, string> | null = null;
  for (const [tempId, id] of Object.entries(tempIds)) {
    const collection = parseTempId(tempId)?.collection;
    if (collection === undefined || !lost(collection, id)) continue;
    mappings ??= { ...tempIds };
    const renamedTo = renamed.get(keyOf(collection, id));
    if (renamedTo === undefined) delete mappings[tempId];
    else mappings[tempId] = renamedTo;
  }
  const renamedRecords = [...state.records.values()].flatMap((r) => {
    const tempId = renamed.get(keyOf(r.collection, r.id));
    return tempId === undefined ? [] : [{ collection: r.collection, from: r.id, tempId }];
  });
  return { batch, tempIds: mappings, count: given.length, renamed: renamedRecords };
}

function renamedServerCopy(
  server: ServerState | undefined,
  rename: (data: RecordData) => RecordData,
): ServerState | undefined {
  if (server?.data == null) return server;
  const data = rename(server.data);
  return data === server.data ? server : { ...server, data };
}
