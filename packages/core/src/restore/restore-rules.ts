/**
 * The rules by which a holder of records (a device, or a hub towards its upstream) gives back to a
 * server restored from a backup what it holds and the backup lacked (decision 0050). Pure: the
 * client (packages/client/src/sync/restore-recovery.ts) makes outbox ops of what they decide, the
 * hub (packages/server/src/hub/hub-sync.ts) queue items.
 */
import { fieldsChangedBy } from '../conflict/detect-conflict';
import type { RecordData } from '../schema/define-schema';

/** What the server said of its restore, kept with the re-read. */
export interface RestoreMark {
  /**
   * When the backup it was restored from was taken (the server's clock), if it knows: a server
   * restored by `npm run backup`'s copy does; one marked by `npm run mark-restored` may not.
   */
  backupTakenAt?: string;
  /**
   * The last number the backup had issued in each server-id collection (`"42"`), when the server
   * knows (its epoch row keeps the backup's counters); a collection it does not name had none. A
   * number above it was issued after the backup by the database the restore replaced, and the
   * restored server hands it out again to another record.
   */
  lastIds?: Readonly<Record<string, string>>;
}

/** The mark of a refusal's details, if they say the server was restored. */
export function restoreMarkOf(details: unknown): RestoreMark | null {
  const d = details as { reason?: unknown; backupTakenAt?: unknown; lastIds?: unknown } | undefined;
  if (d?.reason !== 'restored') return null;
  const lastIds = lastIdsOf(d.lastIds);
  return {
    ...(typeof d.backupTakenAt === 'string' && !Number.isNaN(Date.parse(d.backupTakenAt))
      ? { backupTakenAt: d.backupTakenAt }
      : {}),
    ...(lastIds !== null ? { lastIds } : {}),
  };
}

const serverNumber = /^(0|[1-9][0-9]{0,14})$/;

/** The backup's last numbers as a refusal gives them; null unless every one is a number. */
function lastIdsOf(value: unknown): Record<string, string> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  if (!entries.every(([, n]) => typeof n === 'string' && serverNumber.test(n))) return null;
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * Whether the server-id record `collection/id` was numbered after the backup by the database the
 * restore replaced: the backup lacks it, and the restored server may since have given its number to
 * another record. Null when that cannot be told: the server did not say the backup's numbers, or
 * the id is not one of its numbers (a temp id, which no server has seen).
 */
export function numberedAfterBackup(mark: RestoreMark, collection: string, id: string): boolean | null {
  if (mark.lastIds === undefined || !serverNumber.test(id)) return null;
  const last = Object.hasOwn(mark.lastIds, collection) ? mark.lastIds[collection] : undefined;
  return Number(id) > Number(last ?? '0');
}

/**
 * A write the backup may have missed: stamped by the server after the backup was taken, less a
 * minute (a push stamps its time before it commits, and a commit a moment after the copy began is
 * not in it). A state the backup did have is found equal to the server's and sends nothing. With no
 * time known, every write may be one.
 */
export function writtenAfterBackup(mark: RestoreMark, updatedAt: string): boolean {
  if (mark.backupTakenAt === undefined) return true;
  return Date.parse(updatedAt) >= Date.parse(mark.backupTakenAt) - 60_000;
}

/**
 * `writtenAfterBackup` for a state the holder kept with the server's time when it has one: a state
 * kept with none (null: kept before the holder recorded the server's times) counts as the backup's
 * when the backup's time is known; without it, as any state, it may be one the backup lacked.
 */
export function stampedAfterBackup(mark: RestoreMark, updatedAt: string | null): boolean {
  if (updatedAt === null) return mark.backupTakenAt === undefined;
  return writtenAfterBackup(mark, updatedAt);
}

/** A deletion the holder keeps of a record (it shows the record deleted, or no longer holds it). */
export interface KeptDeletion {
  /**
   * Whether the re-read brought the record, alive or as its tombstone (or cannot tell: a collection
   * the holder does not read).
   */
  readonly read: boolean;
  /**
   * When the server stamped the last state of the record the holder knows (its clock; null: kept
   * with no time). Undefined when the holder keeps none at all: a device keeps only its delete op,
   * for a day (decision 0029), and gives back every deletion the re-read brought no trace of.
   */
  readonly updatedAt?: string | null;
}

/**
 * Whether a deletion the holder keeps goes back to the restored server as a delete marked
 * `givenBack` (decision 0050, "Deletions given back"), so that a colleague who still holds the
 * record and gives it back as a create meets the deletion, weighed by the collection's rule, rather
 * than making the record again. Not when the re-read brought it: alive, the deletion goes again as
 * a plain delete (deleteAgainBase); as a tombstone, the deletion stands there. Not when the last
 * state the holder knows the server had is one the backup had: the restored server had the record,
 * so it was deleted there since and its tombstone purged, a deletion that stands. Only for records
 * whose ids devices make (decision 0051 renumbers the others); the caller checks the collection.
 */
export function givesDeletionBack(mark: RestoreMark, deletion: KeptDeletion): boolean {
  if (deletion.read) return false;
  return deletion.updatedAt === undefined || stampedAfterBackup(mark, deletion.updatedAt);
}

/** A live record as the holder has it, and when the server stamped that state (its clock). */
export interface HeldState {
  readonly data: RecordData;
  readonly updatedAt: string;
  /**
   * When the server wrote the value the holder has of each field (its clock), fields the state
   * emptied included; null where that is not known yet (a change of the holder's own, acknowledged
   * without a time), taken as after the backup. A field not named falls back to `updatedAt`, as
   * every field does without this: then the state's every field that differs goes back.
   */
  readonly fieldTimes?: Readonly<Record<string, string | null>>;
}

/** A record as the restored server sends it in the re-read. */
export interface RestoredState {
  readonly data: RecordData;
  readonly version: number;
  readonly updatedAt: string;
}

/**
 * An update to give back: the fields that differ (null empties one), and the version it goes on;
 * none (given field times only) when the server is to weigh it by the held state's HLC.
 */
export interface GivenBack {
  readonly data: RecordData;
  readonly baseVersion?: number;
}

/**
 * A held live record whose state was written after the backup and differs from the restored
 * server's live one: the update of the fields that differ. Null when the backup had it and when
 * nothing differs. (A deletion on either side is not this rule's: see deleteAgainBase.)
 *
 * Which fields: with `held.fieldTimes`, only those the held state got after the backup; the others
 * hold the backup's values, and a restored server's value differing from one of those is a change
 * the restored clinic made, which stands. Without them (a hub, a device's record stored before it
 * kept times), every field that differs, as the whole state is after the backup.
 *
 * Against which version: the restored server's state written before the held one (the server's
 * clock says so), the held one follows it, against its version. Otherwise someone changed the
 * record on the restored server since, without the holder's change. Given field times, the update
 * goes with no version, and the server weighs it by the held state's HLC (sent with it): every
 * field the restored clinic changed after that is in conflict, settled by the collection's rule. A
 * version could not say so: the restored server hands out again the lost database's numbers, and
 * the version before its own shows only its last change, so a field changed there earlier would be
 * taken for untouched and written over. Without field times the update goes against that version
 * before the server's, as the hub's queue needs one: the collection's conflict rule then settles it
 * against the restored clinic's last change only.
 */
export function giveBackNewer(
  mark: RestoreMark,
  held: HeldState & { readonly fieldTimes?: undefined },
  server: RestoredState,
): (GivenBack & { readonly baseVersion: number }) | null;
export function giveBackNewer(mark: RestoreMark, held: HeldState, server: RestoredState): GivenBack | null;
export function giveBackNewer(mark: RestoreMark, held: HeldState, server: RestoredState): GivenBack | null {
  if (!writtenAfterBackup(mark, held.updatedAt)) return null;
  // Without the backup's time, a server state written after the held one may be the restored
  // clinic's or one the holder had already passed: the server's stands.
  if (mark.backupTakenAt === undefined && Date.parse(server.updatedAt) > Date.parse(held.updatedAt))
    return null;
  const follows = Date.parse(server.updatedAt) <= Date.parse(held.updatedAt);
  const times = held.fieldTimes;
  // When the held state got a field's value; undefined when it says nothing of the field. A field
  // the held state lacks, with no time of its own: where the server's state came before it, one it
  // emptied (an update empties with null); where the server's came after, the restored clinic may
  // have filled it since.
  const timeOf = (field: string): string | null | undefined => {
    if (times !== undefined && Object.hasOwn(times, field)) return times[field];
    return field in held.data || follows ? held.updatedAt : undefined;
  };
  const after = (field: string): boolean => {
    const at = timeOf(field);
    return at === null || (at !== undefined && writtenAfterBackup(mark, at));
  };
  const emptied = Object.keys(server.data).filter((f) => !(f in held.data) && after(f));
  const target = {
    ...Object.fromEntries(emptied.map((f) => [f, null])),
    ...Object.fromEntries(Object.entries(held.data).filter(([f]) => after(f))),
  };
  const fields = fieldsChangedBy(server.data, target);
  if (fields.length === 0) return null;
  const data = Object.fromEntries(fields.map((f) => [f, target[f] ?? null]));
  if (follows) return { data, baseVersion: server.version };
  return times !== undefined ? { data } : { data, baseVersion: server.version - 1 };
}

/**
 * The version a deletion given back goes on, against a record the restored server has alive: the
 * server's, when its state is the backup's (the delete follows it); the one before, when the server
 * changed it since or the backup's time is not known, so the conflict rule weighs the two.
 */
export function deleteAgainBase(
  mark: RestoreMark,
  server: Pick<RestoredState, 'version' | 'updatedAt'>,
): number {
  return mark.backupTakenAt !== undefined && !writtenAfterBackup(mark, server.updatedAt)
    ? server.version
    : server.version - 1;
}
