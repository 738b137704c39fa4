import { fieldsChangedBy, uuidv7 } from '@outpost/core';
import type { Change, Schema } from '@outpost/core';
import type { LocalState } from '../local-state';
import type { LocalRecord, OutboxEntry } from '../stores/local-store';

/**
 * What a device gives back to a server restored from a backup (decision 0050). The server said so
 * (410 `CURSOR_EXPIRED`, `details.reason: 'restored'`), and the device reads everything again. What
 * the server acknowledged after the backup is on the devices only: records created or changed
 * since, and deletions. Each device gives back what it holds of it, as new ops (new opIds: the
 * restored server never saw them), stamped with the HLC the device's state already had, so that
 * the server's conflict rules weigh them against what the clinic did on the restored server.
 *
 * Only collections whose ids the devices make: a restored server hands out again the numbers of
 * the server-id records it lost, so a record a device holds under such a number may now be another
 * one, and sending it back would write one patient's data over another's.
 */
export function recoverable(schema: Schema, collection: string): boolean {
  const def = schema.collection(collection);
  return def !== undefined && def.idStrategy !== 'server';
}

/** What the server said of its restore, kept with the re-read. */
export interface RestoreMark {
  /**
   * When the backup it was restored from was taken (the server's clock), if it knows: a server
   * restored by `npm run backup`'s copy does; one marked by `npm run mark-restored` may not.
   */
  backupTakenAt?: string;
}

/** The mark of a refusal's details, if they say the server was restored. */
export function restoreMarkOf(details: unknown): RestoreMark | null {
  const d = details as { reason?: unknown; backupTakenAt?: unknown } | undefined;
  if (d?.reason !== 'restored') return null;
  return typeof d.backupTakenAt === 'string' && !Number.isNaN(Date.parse(d.backupTakenAt))
    ? { backupTakenAt: d.backupTakenAt }
    : {};
}

/**
 * A write the backup may have missed: stamped by the server after the backup was taken, less a
 * minute (a push stamps its time before it commits, and a commit a moment after the copy began is
 * not in it). A state the backup did have is found equal to the server's and sends nothing. With no
 * time known, every write may be one.
 */
function afterBackup(mark: RestoreMark, updatedAt: string): boolean {
  if (mark.backupTakenAt === undefined) return true;
  return Date.parse(updatedAt) >= Date.parse(mark.backupTakenAt) - 60_000;
}

/** A new op, pending, at the end of the outbox. */
function recoveryOp(
  state: LocalState,
  now: number,
  fields: Pick<OutboxEntry, 'collection' | 'type' | 'id' | 'data' | 'baseVersion' | 'hlc'>,
): OutboxEntry {
  const { data, baseVersion, ...rest } = fields;
  return {
    seq: state.nextSeq(),
    opId: uuidv7(now),
    ...rest,
    ...(data !== undefined ? { data: { ...data } } : {}),
    ...(baseVersion !== undefined && baseVersion > 0 ? { baseVersion } : {}),
    status: 'pending',
    attempts: 0,
    createdAt: new Date(now).toISOString(),
  };
}

/**
 * A held record the device has no unconfirmed change on, whose state was written after the backup
 * and differs from the restored server's: the update of the fields that differ. Null when the
 * backup had it, when nothing differs, and for a deletion on the restored server (made since, as
 * the device holds the record), which stands.
 *
 * Against which version: the restored server's state written before the device's (the server's
 * clock says so), the device's follows it, against its version. Otherwise someone changed the
 * record on the restored server since, without the device's change: against the version before
 * theirs, so the collection's conflict rule settles the two (the version the device's change
 * really followed, the backup's, is lower still).
 */
export function resendNewer(
  state: LocalState,
  now: number,
  mark: RestoreMark,
  local: LocalRecord,
  change: Change,
): OutboxEntry | null {
  if (change.deleted || local.deleted || !afterBackup(mark, local.updatedAt)) return null;
  // Without the backup's time, a server state written after the device's may be the restored
  // clinic's or one the device had already passed: the server's stands.
  if (mark.backupTakenAt === undefined && Date.parse(change.updatedAt) > Date.parse(local.updatedAt))
    return null;
  const server = change.data ?? {};
  // A field the device's state lacks, where the server's state came before it, is one it emptied:
  // null, as an update empties a field. Where the server's came after, the restored clinic may have
  // filled it since: the device's state says nothing of it.
  const follows = Date.parse(change.updatedAt) <= Date.parse(local.updatedAt);
  const emptied = follows ? Object.keys(server).filter((f) => !(f in local.data)) : [];
  const target = { ...Object.fromEntries(emptied.map((f) => [f, null])), ...local.data };
  const fields = fieldsChangedBy(server, target);
  if (fields.length === 0) return null;
  return recoveryOp(state, now, {
    collection: change.collection,
    type: 'update',
    id: change.id,
    data: Object.fromEntries(fields.map((f) => [f, target[f] ?? null])),
    baseVersion: follows ? change.version : change.version - 1,
    hlc: local.hlc,
  });
}

/**
 * A record the restored server has again though this device deleted it after the backup: the
 * device's delete, while the outbox still keeps it (`keepCompletedMs`), sent again. Null when none
 * is kept.
 */
export function deleteAgain(
  state: LocalState,
  now: number,
  mark: RestoreMark,
  change: Change,
): OutboxEntry | null {
  if (change.deleted) return null;
  const deleted = state
    .opsFor(change.collection, change.id)
    .filter((o) => o.status === 'done' && o.type === 'delete')
    .at(-1);
  if (deleted === undefined) return null;
  return recoveryOp(state, now, {
    collection: change.collection,
    type: 'delete',
    id: change.id,
    // The server's state from the backup: the delete follows it. Changed there since, or not known:
    // the conflict rule weighs the delete against it.
    baseVersion:
      mark.backupTakenAt !== undefined && !afterBackup(mark, change.updatedAt)
        ? change.version
        : change.version - 1,
    hlc: deleted.hlc,
  });
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
  if (local.deleted || local.version === 0 || !afterBackup(mark, local.updatedAt)) return null;
  return recoveryOp(state, now, {
    collection: local.collection,
    type: 'create',
    id: local.id,
    data: local.data,
    hlc: local.hlc,
  });
}
