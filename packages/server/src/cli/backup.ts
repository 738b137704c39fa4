/**
 * `npm run backup -- <file> [--force]`: a consistent copy of the server's SQLite database, taken
 * while the server runs (decision 0049; docs/server.md, "Backups and restore"). It reads the same
 * OUTPOST_DATA (and DATABASE_URL) as `npm start`; the work is storage/sqlite-backup.ts's.
 * Exit codes: 0 backed up, 1 refused or failed (one line saying why), 2 not used as documented.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isPostgresUrl } from '../storage/database';
import { BackupRefusedError, backupSqlite } from '../storage/sqlite-backup';
import type { BackupResult } from '../storage/sqlite-backup';
import { dataFolderFromEnv } from './data-folder';

const env = process.env;
const usage = 'Usage: npm run backup -- <backup file> [--force]   (--force replaces an existing file)';

const args = process.argv.slice(2);
const force = args.includes('--force');
const files = args.filter((a) => a !== '--force');
if (files.length !== 1 || files[0]?.startsWith('-')) {
  console.error(files.length === 0 ? `Where should the backup go? ${usage}` : usage);
  process.exit(2);
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

// The database `npm start` would open: DATABASE_URL when it names a file, else the data folder's.
const folder = dataFolderFromEnv(env);
const database = databaseUrl ? resolve(databaseUrl) : folder.sqliteFile;
// npm runs scripts from the project's root: a relative name is taken from where it was typed.
const destination = resolve(env['INIT_CWD'] ?? process.cwd(), files[0] ?? '');

let result: BackupResult;
try {
  result = await backupSqlite({ database, destination, force });
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

const count = (n: number, one: string, many = `${one}s`) =>
  `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
const size = (bytes: number) =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const dir = resolve(database, '..');
const name = basename(database);
const secret = join(folder.dir, 'jwt-secret');
console.log(
  [
    `Backed up ${database}`,
    `       to ${result.file} (${size(result.bytes)}).`,
    `SQLite's integrity check of the copy answered "ok". It holds ${count(result.tenants, 'clinic')}: ${count(result.records, 'record')} (and ${count(result.deletedRecords, 'deleted one')}, kept so devices hear of the deletion), ${count(result.ops, 'op')} in the journal, ${count(result.files, 'file')} (${size(result.fileBytes)}); its last migration is ${result.migration}.`,
    result.newEpoch
      ? 'This copy has a restore mark of its own, with the time it was taken: restored, it sends every device that synced with this server back to read everything again, and to give back what it holds from after that time.'
      : 'This copy has no restore mark: the server’s database is from before Outpost had them (restarting the server gives it one).',
    'It holds patient data: keep it encrypted, or locked away, where only the clinic’s staff can reach it.',
    ...(env['OUTPOST_JWT_SECRET'] || !existsSync(secret)
      ? []
      : [
          `Keep a copy of ${secret} with your backups too (it does not change): the devices' sign-ins and saved sync cursors are signed with it, and a server restored without it makes every device sign in again and read everything again.`,
        ]),
    'To restore it: stop the server; move ' +
      `${name} and any ${name}-wal and ${name}-shm out of ${dir}; copy the backup there as ${name}; start the server. ` +
      'Changes the server took after this backup are not in it: see docs/server.md, "Backups and restore".',
  ].join('\n'),
);
