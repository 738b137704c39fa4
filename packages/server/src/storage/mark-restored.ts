/**
 * `npm run mark-restored`'s work (decision 0050): gives a database put back by a restore a new
 * epoch, so the pull cursors the database it replaced issued are refused (410, `details.reason:
 * 'restored'`) however far the restored clinic gets. A copy made by `npm run backup` has its own
 * already; a PostgreSQL restore (pg_restore), a file-system snapshot or a file copied by hand
 * carries the epoch of the database it was taken from. Run with the server stopped: a server reads
 * the epoch once, at its first pull. The database's id counters are kept with the epoch as the
 * backup's last ids (backup-last-ids.ts): marked before a server runs on it, as the restore
 * procedure asks, the database is still the backup, and they are the backup's.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { isPostgresUrl } from './database';
import { renewEpochPostgres, renewEpochSqlite } from './database-epoch';
import { isOutpostDatabase } from './sqlite-backup';

/** Why a database was not marked, as a stable code beside the message for a person. */
export type MarkRefusal = 'NO_DATABASE' | 'NOT_AN_OUTPOST_DATABASE';

/** A database not marked, for a reason the operator can act on; nothing was written. */
export class MarkRefusedError extends Error {
  override readonly name = 'MarkRefusedError';
  readonly code: MarkRefusal;

  constructor(code: MarkRefusal, message: string) {
    super(message);
    this.code = code;
  }
}

export interface MarkResult {
  /** The database, as a person reads it: the file, or PostgreSQL's address without its password. */
  database: string;
  /**
   * Its new epoch; null for a database from before migration 0022, which has none yet: the
   * migration makes a new one when a server first opens it, which is as good.
   */
  epoch: string | null;
}

/**
 * Marks the database at `target` (a `postgres://` URL, else an SQLite file) as restored.
 * `backupTakenAt` (ISO), when the operator knows when the backup was taken (`pg_restore --list`
 * says it of a dump): devices then give back what they hold that was written after it (decision
 * 0050); without it, only what they hold newer than the server's.
 */
export async function markRestored(target: string, backupTakenAt: string | null = null): Promise<MarkResult> {
  return isPostgresUrl(target)
    ? markPostgres(target, backupTakenAt)
    : markSqlite(resolve(target), backupTakenAt);
}

function markSqlite(file: string, backupTakenAt: string | null): MarkResult {
  if (!existsSync(file)) throw new MarkRefusedError('NO_DATABASE', `there is no database at ${file}`);
  // Not through openSqlite: the server's migrations are the server's to run, at its start.
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    if (!isOutpostDatabase(db)) {
      throw new MarkRefusedError(
        'NOT_AN_OUTPOST_DATABASE',
        `${file} is not an Outpost server's database (it has no outpost_migrations table)`,
      );
    }
    return { database: file, epoch: renewEpochSqlite(db, 'mark-restored', backupTakenAt) };
  } finally {
    db.close();
  }
}

/** PostgreSQL's address without its user and password: `postgres://host:port/database`. */
function described(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'the PostgreSQL database of DATABASE_URL';
  }
}

async function markPostgres(url: string, backupTakenAt: string | null): Promise<MarkResult> {
  const database = described(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new Error(`could not reach ${database}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  try {
    const found = await client.query<{ migrations: boolean }>(
      "select to_regclass('outpost_migrations') is not null as migrations",
    );
    if (!found.rows[0]?.migrations) {
      throw new MarkRefusedError(
        'NOT_AN_OUTPOST_DATABASE',
        `${database} is not an Outpost server's database (it has no outpost_migrations table)`,
      );
    }
    return { database, epoch: await renewEpochPostgres(client, 'mark-restored', backupTakenAt) };
  } finally {
    await client.end();
  }
}
