/**
 * `npm start`'s scheduled backups (decision 0049) from OUTPOST_BACKUP_DIR, OUTPOST_BACKUP_EVERY_HOURS
 * and OUTPOST_BACKUP_KEEP, checked before the database opens, each refusal one line naming the
 * setting. Off unless OUTPOST_BACKUP_DIR is set: a newcomer's disk is not filled unasked.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { backupRecipients } from '../storage/backup-encryption';
import { isPostgresUrl } from '../storage/database';

export interface BackupScheduleSettings {
  /** The folder, absolute. */
  folder: string;
  everyHours: number;
  keep: number;
  /** OUTPOST_BACKUP_RECIPIENTS: the age public keys each backup is encrypted to; none, unencrypted. */
  recipients: string[];
}

const hourMs = 60 * 60 * 1000;
export const backupEveryMs = (settings: BackupScheduleSettings): number => settings.everyHours * hourMs;

/** The settings, or undefined when no backups are scheduled; throws a RangeError naming the setting at fault. */
export function backupScheduleFromEnv(env: NodeJS.ProcessEnv): BackupScheduleSettings | undefined {
  // Checked even with no folder set: a typo in them is not left to surprise whoever sets the folder.
  const everyHours = everyHoursFrom(env['OUTPOST_BACKUP_EVERY_HOURS']);
  const keep = keepFrom(env['OUTPOST_BACKUP_KEEP']);
  const recipients = recipientsFrom(env['OUTPOST_BACKUP_RECIPIENTS']);
  const dir = env['OUTPOST_BACKUP_DIR']?.trim();
  if (!dir) return undefined;
  const databaseUrl = env['DATABASE_URL'];
  if (databaseUrl && isPostgresUrl(databaseUrl)) {
    throw new RangeError(
      'OUTPOST_BACKUP_DIR: scheduled backups copy the SQLite database, and DATABASE_URL names PostgreSQL: schedule pg_dump instead (docs/server.md, "Backups and restore")',
    );
  }
  const folder = resolve(dir);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    // Not made: a mistyped USB stick's mount point would put the patients' data on this machine's disk.
    throw new RangeError(
      `OUTPOST_BACKUP_DIR: the folder ${folder} does not exist (it is not made for you: is the disk mounted?)`,
    );
  }
  return { folder, everyHours, keep, recipients };
}

/** The public keys, read as `npm run backup` reads them; a secret key or a typo stops the start. */
export function recipientsFrom(value: string | undefined): string[] {
  try {
    return backupRecipients(value ?? '');
  } catch (err) {
    throw new RangeError(`OUTPOST_BACKUP_RECIPIENTS: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function everyHoursFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 24;
  // Whole or decimal hours, digits and one point only: Number() would take "1e3", "0x10" and "".
  const text = value.trim();
  const hours = Number(text);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text) || !(hours > 0) || !Number.isFinite(hours * hourMs)) {
    throw new RangeError(
      `OUTPOST_BACKUP_EVERY_HOURS: expected hours above 0, such as 24 or 0.5, got "${value}"`,
    );
  }
  return hours;
}

function keepFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 14;
  const text = value.trim();
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new RangeError(`OUTPOST_BACKUP_KEEP: expected a whole number of backups from 1, got "${value}"`);
  }
  return Number(text);
}

/** The start banner's line: where backups go, how often and how many are kept, or how to have them. */
export function backupScheduleLine(settings: BackupScheduleSettings | undefined, postgres: boolean): string {
  if (settings) {
    const keeps = settings.keep === 1 ? 'the newest one kept' : `the newest ${settings.keep} kept`;
    const keys = settings.recipients.length;
    return settings.recipients.length > 0
      ? `Backups every ${settings.everyHours} h into ${settings.folder} (outpost-<UTC time>.sqlite.age, ${keeps}), encrypted to ${keys === 1 ? 'the public key' : `${keys} public keys`} of OUTPOST_BACKUP_RECIPIENTS.`
      : `Backups every ${settings.everyHours} h into ${settings.folder} (outpost-<UTC time>.sqlite, ${keeps}), not encrypted: npm run backup-key makes a key for OUTPOST_BACKUP_RECIPIENTS.`;
  }
  return postgres
    ? 'No scheduled backups: on PostgreSQL, schedule pg_dump (docs/server.md, "Backups and restore").'
    : 'No scheduled backups: set OUTPOST_BACKUP_DIR to a folder to have them, or run `npm run backup -- <file>`.';
}
