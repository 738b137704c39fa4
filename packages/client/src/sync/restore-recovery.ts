import { deleteAgainBase, giveBackNewer, writtenAfterBackup } from '@outpost/core';
import type { Change, RecordData, RestoreMark, Schema } from '@outpost/core';
import type { LocalState } from '../local-state';
import type { LocalRecord, OutboxEntry } from '../stores/local-store';
import { newEntry } from '../outbox/new-entry';

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

export type { RestoreMark } from '@outpost/core';
export { restoreMarkOf } from '@outpost/core';

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
  if (change.deleted || local.deleted) return null;
  // The rule is core's (giveBackNewer), shared with the hub.
  const given = giveBackNewer(mark, local, {
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
    baseVersion: given.baseVersion,
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
    baseVersion: 0,
    hlc: local.hlc,
  });
}
