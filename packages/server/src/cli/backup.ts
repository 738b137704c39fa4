/**
 * `npm run backup -- <file> [--force]`: a consistent copy of the server's SQLite database, taken
 * while the server runs (decision 0049; docs/server.md, "Backups and restore"). It reads the same
 * OUTPOST_DATA (and DATABASE_URL) as `npm start`; the work is storage/sqlite-backup.ts's.
 * `npm run backup -- --check <file>` checks a backup made before (integrity, and what it holds),
 * reading it only.
 * Exit codes: 0 backed up (or checked and good), 1 refused or failed (one line saying why), 2 not
 * used as documented.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isPostgresUrl } from '../storage/database';
import { isEncryptedBackup } from '../storage/backup-encryption';
import { BackupRefusedError, backupSqlite, checkBackup } from '../storage/sqlite-backup';
import type { BackupContents, BackupResult } from '../storage/sqlite-backup';
import { recipientsFrom } from './backup-schedule-from-env';
import { backupHolds, count, size } from './backup-summary';
import { dataFolderFromEnv, sqliteFileFromEnv } from './data-folder';

const env = process.env;
const usage = [
  'Usage: npm run backup -- <backup file> [--force]   (--force replaces an existing file)',
  '       npm run backup -- --check <backup file>      (checks a backup made before)',
].join('\n');

const args = process.argv.slice(2);
const check = args.includes('--check');
const force = args.includes('--force');
const files = args.filter((a) => a !== '--force' && a !== '--check');
if (files.length !== 1 || files[0]?.startsWith('-') || (check && force)) {
  console.error(
    files.length === 0 ? `${check ? 'Which backup?' : 'Where should the backup go?'} ${usage}` : usage,
  );
  process.exit(2);
}
// npm runs scripts from the project's root: a relative name is taken from where it was typed.
const file = resolve(env['INIT_CWD'] ?? process.cwd(), files[0] ?? '');

if (check) {
  if (!existsSync(file) || !statSync(file).isFile()) {
    console.error(`Not a good backup: there is no file at ${file}`);
    process.exit(1);
  }
  if (isEncryptedBackup(file)) {
    console.error(
      `Not checked: ${file} is encrypted. npm run decrypt-backup -- <it> <file> --key <key file> decrypts it and checks it.`,
    );
    process.exit(1);
  }
  let contents: BackupContents;
  try {
    contents = checkBackup(file);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    console.error(
      err instanceof BackupRefusedError ? `Not a good backup: ${why}` : `Could not check ${file}: ${why}`,
    );
    process.exit(1);
  }
  console.log(
    [
      `Checked ${file} (${size(contents.bytes)}).`,
      `SQLite's integrity check answered "ok". ${backupHolds(contents)}`,
    ].join('\n'),
  );
  process.exit(0);
}

const databaseUrl = env['DATABASE_URL'];
if (databaseUrl && isPostgresUrl(databaseUrl)) {
  console.error(
    [
      'Not backed up: DATABASE_URL names PostgreSQL, which this command does not copy. Back it up with PostgreSQL’s own tools:',
      '  pg_dump --format=custom --file=outpost-backup.dump "$DATABASE_URL"',
      'and restore it into an empty database with:',
      '  pg_restore --no-owner --dbname="$DATABASE_URL" outpost-backup.dump',
      'See docs/server.md, "Backups and restore".',
    ].join('\n'),
  );
  process.exit(1);
}

// The database `npm start` would open.
const folder = dataFolderFromEnv(env);
const database = sqliteFileFromEnv(env);

// The clinic's public keys, when its backups are encrypted (decision 0049): the same setting as the
// scheduled backups', so a backup made by hand is never the one left readable.
let recipients: string[];
try {
  recipients = recipientsFrom(env['OUTPOST_BACKUP_RECIPIENTS']);
} catch (err) {
  console.error(`Not backed up: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

let result: BackupResult;
try {
  result = await backupSqlite({ database, destination: file, force, recipients });
} catch (err) {
  if (err instanceof BackupRefusedError && err.code === 'NO_DATABASE') {
    console.error(
      `Not backed up: there is no database at ${database}. Is the server's data elsewhere? Set OUTPOST_DATA to its data folder, as for npm start.`,
    );
  } else {
    console.error(`Not backed up: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(1);
}

const dir = resolve(database, '..');
const name = basename(database);
const secret = join(folder.dir, 'jwt-secret');
console.log(
  [
    `Backed up ${database}`,
    `       to ${result.file} (${size(result.bytes)}).`,
    `SQLite's integrity check of the copy answered "ok". ${backupHolds(result)}`,
    result.newEpoch
      ? 'This copy has a restore mark of its own, with the time it was taken: restored, it sends every device that synced with this server back to read everything again, and to give back what it holds from after that time.'
      : 'This copy has no restore mark: the server’s database is from before Outpost had them (restarting the server gives it one).',
    result.encrypted
      ? `It is encrypted to ${count(recipients.length, 'public key')} of OUTPOST_BACKUP_RECIPIENTS: only the secret key opens it, with npm run decrypt-backup (or the age command). Keep that key apart from this machine, and never lose it: without it the backup cannot be restored.`
      : 'It holds patient data: keep it encrypted, or locked away, where only the clinic’s staff can reach it (OUTPOST_BACKUP_RECIPIENTS encrypts it: see docs/server.md).',
    ...(env['OUTPOST_JWT_SECRET'] || !existsSync(secret)
      ? []
      : [
          `Keep a copy of ${secret} with your backups too (it does not change): the devices' sign-ins and saved sync cursors are signed with it, and a server restored without it makes every device sign in again and read everything again.`,
        ]),
    (result.encrypted
      ? 'To restore it: decrypt it (npm run decrypt-backup); stop the server; move '
      : 'To restore it: stop the server; move ') +
      `${name} and any ${name}-wal and ${name}-shm out of ${dir}; copy the backup there as ${name}; start the server. ` +
      'Changes the server took after this backup are not in it: see docs/server.md, "Backups and restore".',
  ].join('\n'),
);
