/**
 * `npm run mark-restored`: after a restore not made from `npm run backup`'s copy (pg_restore, a
 * file-system snapshot, a file copied by hand), gives the database `npm start` would open a new
 * epoch, so every device holding a cursor of the database it replaced reads everything again
 * (decision 0050; docs/server.md, "Backups and restore"). Run it with the server stopped. It reads
 * the same OUTPOST_DATA and DATABASE_URL as `npm start`; the work is storage/mark-restored.ts's.
 * Exit codes: 0 marked (or nothing to mark), 1 refused or failed (one line saying why), 2 not used
 * as documented.
 */
import { resolve } from 'node:path';
import { isPostgresUrl } from '../storage/database';
import { MarkRefusedError, markRestored } from '../storage/mark-restored';
import type { MarkResult } from '../storage/mark-restored';
import { dataFolderFromEnv } from './data-folder';

const env = process.env;

const usage =
  'Usage: npm run mark-restored [-- --backup-taken-at <time>]   (it marks the database npm start would open, from OUTPOST_DATA or DATABASE_URL; the time the backup was taken, e.g. 2026-06-01T18:00Z, lets devices give back what they hold from after it)';
const args = process.argv.slice(2);
let backupTakenAt: string | null = null;
if (args.length > 0) {
  const [flag, time, ...rest] = args;
  const at = time === undefined ? Number.NaN : Date.parse(time);
  if (flag !== '--backup-taken-at' || rest.length > 0 || Number.isNaN(at)) {
    console.error(usage);
    process.exit(2);
  }
  // A backup cannot be from the future: a time a day ahead is a mistyped one (a wrong year, say).
  if (at > Date.now() + 86_400_000) {
    console.error(`Not marked: ${time} is in the future; give the time the backup was taken.`);
    process.exit(2);
  }
  backupTakenAt = new Date(at).toISOString();
}

// The database `npm start` would open: DATABASE_URL when set (PostgreSQL, or a file), else the data folder's.
const databaseUrl = env['DATABASE_URL'];
const target = databaseUrl
  ? isPostgresUrl(databaseUrl)
    ? databaseUrl
    : resolve(databaseUrl)
  : dataFolderFromEnv(env).sqliteFile;

let result: MarkResult;
try {
  result = await markRestored(target, backupTakenAt);
} catch (err) {
  if (err instanceof MarkRefusedError && err.code === 'NO_DATABASE') {
    console.error(
      `Not marked: there is no database at ${target}. Is the server's data elsewhere? Set OUTPOST_DATA to its data folder, as for npm start.`,
    );
  } else {
    console.error(`Not marked: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(1);
}

console.log(
  result.epoch === null
    ? `Nothing to mark: ${result.database} is from before Outpost kept a restore mark, and the server gives it one when it starts, so the cursors devices hold from the database it replaced are refused all the same. Start the server.`
    : `Marked ${result.database} as restored: devices that synced with the database it replaced are told so at their next sync, read everything again and give back ${backupTakenAt === null ? 'what they hold newer than the server’s copy (with --backup-taken-at, everything they hold from after the backup)' : `what they hold from after ${backupTakenAt}`}. Start the server now (restart it, if it was running: it reads the mark when it starts).`,
);
