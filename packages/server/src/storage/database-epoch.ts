/**
 * The database's epoch (decision 0050): a random id, one per database, carried in every pull cursor
 * the database issues. Migration 0022 makes it; a copy made by `npm run backup` (sqlite-backup.ts)
 * and a database marked by `npm run mark-restored` get a new one, so the cursors of the database a
 * restore replaced are told apart from this one's, however far the restored clinic has got since.
 */
import { randomBytes } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { DatabaseKind } from './database';
import type { Tables } from './tables';

/** What made a database's epoch: its migration, a backup of it, or `npm run mark-restored`. */
export type EpochMaker = 'migration' | 'backup' | 'mark-restored';

/** A new epoch: 16 random bytes in base64url, 22 characters. Never derived from anything. */
export function newEpoch(): string {
  return randomBytes(16).toString('base64url');
}

/** A database's epoch, and when the backup it was restored from was taken, if it was and that is known. */
export interface DatabaseEpoch {
  id: string;
  backupTakenAt: string | null;
}

/** The database's epoch. Throws when the database has none (migration 0022 has not run). */
export async function readEpoch(db: Kysely<Tables>): Promise<DatabaseEpoch> {
  const row = await db
    .selectFrom('database_epoch')
    .select(['epoch', 'backup_taken_at'])
    .where('id', '=', 1)
    .executeTakeFirst();
  if (!row) throw new Error('the database has no epoch: migration 0022_database_epoch has not run on it');
  return { id: row.epoch, backupTakenAt: row.backup_taken_at };
}

/** Whether an SQLite database has the epoch's table (it has been through migration 0022). */
export function hasEpochSqlite(db: BetterSqlite3.Database): boolean {
  return (
    db.prepare("select 1 from sqlite_master where type = 'table' and name = 'database_epoch'").get() !==
    undefined
  );
}

/**
 * The statement that gives a database a new epoch, its parameters the epoch, the time, the maker
 * and when the backup was taken (or null).
 */
export function renewEpochStatement(kind: DatabaseKind): string {
  const [epoch, at, by, taken] = kind === 'postgres' ? ['$1', '$2', '$3', '$4'] : ['?', '?', '?', '?'];
  return `insert into database_epoch (id, epoch, made_at, made_by, backup_taken_at)
    values (1, ${epoch}, ${at}, ${by}, ${taken})
    on conflict (id) do update set epoch = excluded.epoch, made_at = excluded.made_at,
      made_by = excluded.made_by, backup_taken_at = excluded.backup_taken_at`;
}

/**
 * Gives an SQLite database a new epoch, if it has the table; without it (a database from before
 * migration 0022) there is nothing to renew: the migration makes a new epoch when a server first
 * opens it. Returns the new epoch, or null.
 */
export function renewEpochSqlite(
  db: BetterSqlite3.Database,
  by: EpochMaker,
  backupTakenAt: string | null,
): string | null {
  if (!hasEpochSqlite(db)) return null;
  const epoch = newEpoch();
  db.prepare(renewEpochStatement('sqlite')).run(epoch, new Date().toISOString(), by, backupTakenAt);
  return epoch;
}
