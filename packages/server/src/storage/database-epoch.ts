/**
 * The database's epoch (decision 0050): a random id, one per database, carried in every pull cursor
 * the database issues. Migration 0022 makes it; a copy made by `npm run backup` (sqlite-backup.ts)
 * and a database marked by `npm run mark-restored` get a new one, so the cursors of the database a
 * restore replaced are told apart from this one's, however far the restored clinic has got since.
 */
import { randomBytes } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { lastIdsPostgres, lastIdsSqlite, parseLastIds } from './backup-last-ids';
import type { BackupLastIds } from './backup-last-ids';
import type { DatabaseKind } from './database';
import type { Tables } from './tables';

/** What made a database's epoch: its migration, a backup of it, or `npm run mark-restored`. */
export type EpochMaker = 'migration' | 'backup' | 'mark-restored';

/** A new epoch: 16 random bytes in base64url, 22 characters. Never derived from anything. */
export function newEpoch(): string {
  return randomBytes(16).toString('base64url');
}

/** A database's epoch, and what is known of the backup it was restored from, if it was. */
export interface DatabaseEpoch {
  id: string;
  /** When the backup was taken. */
  backupTakenAt: string | null;
  /** The last id of each server-id collection in the backup, per tenant (backup-last-ids.ts). */
  backupLastIds: BackupLastIds | null;
}

/** The database's epoch. Throws when the database has none (migration 0022 has not run). */
export async function readEpoch(db: Kysely<Tables>): Promise<DatabaseEpoch> {
  const row = await db
    .selectFrom('database_epoch')
    .select(['epoch', 'backup_taken_at', 'backup_last_ids'])
    .where('id', '=', 1)
    .executeTakeFirst();
  if (!row) throw new Error('the database has no epoch: migration 0022_database_epoch has not run on it');
  return {
    id: row.epoch,
    backupTakenAt: row.backup_taken_at,
    backupLastIds: parseLastIds(row.backup_last_ids),
  };
}

/** Whether an SQLite database has the epoch's table (it has been through migration 0022). */
export function hasEpochSqlite(db: BetterSqlite3.Database): boolean {
  return (
    db.prepare("select 1 from sqlite_master where type = 'table' and name = 'database_epoch'").get() !==
    undefined
  );
}

/** Whether an SQLite database's epoch has the column of the backup's last ids (migration 0024). */
function hasLastIdsSqlite(db: BetterSqlite3.Database): boolean {
  return (
    db.prepare("select 1 from pragma_table_info('database_epoch') where name = 'backup_last_ids'").get() !==
    undefined
  );
}

/**
 * The statement that gives a database a new epoch, its parameters the epoch, the time, the maker,
 * when the backup was taken (or null) and, `withLastIds`, the backup's last ids. Without them (a
 * database from before migration 0024, which has no column for them) the column, added later by the
 * migration, stays null: nobody can know them then.
 */
function renewEpochStatement(kind: DatabaseKind, withLastIds: boolean): string {
  const [epoch, at, by, taken, ids] =
    kind === 'postgres' ? ['$1', '$2', '$3', '$4', '$5'] : ['?', '?', '?', '?', '?'];
  return withLastIds
    ? `insert into database_epoch (id, epoch, made_at, made_by, backup_taken_at, backup_last_ids)
    values (1, ${epoch}, ${at}, ${by}, ${taken}, ${ids})
    on conflict (id) do update set epoch = excluded.epoch, made_at = excluded.made_at,
      made_by = excluded.made_by, backup_taken_at = excluded.backup_taken_at,
      backup_last_ids = excluded.backup_last_ids`
    : `insert into database_epoch (id, epoch, made_at, made_by, backup_taken_at)
    values (1, ${epoch}, ${at}, ${by}, ${taken})
    on conflict (id) do update set epoch = excluded.epoch, made_at = excluded.made_at,
      made_by = excluded.made_by, backup_taken_at = excluded.backup_taken_at`;
}

/**
 * Gives an SQLite database a new epoch, if it has the table; without it (a database from before
 * migration 0022) there is nothing to renew: the migration makes a new epoch when a server first
 * opens it. The database's id counters are kept as the backup's last ids: this is the backup's
 * copy, or a restored database no server has run on yet. Returns the new epoch, or null.
 */
export function renewEpochSqlite(
  db: BetterSqlite3.Database,
  by: EpochMaker,
  backupTakenAt: string | null,
): string | null {
  if (!hasEpochSqlite(db)) return null;
  const epoch = newEpoch();
  const withLastIds = hasLastIdsSqlite(db);
  const values = [epoch, new Date().toISOString(), by, backupTakenAt];
  db.prepare(renewEpochStatement('sqlite', withLastIds)).run(
    ...(withLastIds ? [...values, lastIdsSqlite(db)] : values),
  );
  return epoch;
}

/**
 * renewEpochSqlite on PostgreSQL, through a connection of the caller's (`npm run mark-restored`
 * runs no server, so no Kysely). Null for a database from before migration 0022.
 */
export async function renewEpochPostgres(
  client: pg.ClientBase,
  by: EpochMaker,
  backupTakenAt: string | null,
): Promise<string | null> {
  const found = await client.query<{ epoch: boolean; last_ids: boolean }>(
    `select to_regclass('database_epoch') is not null as epoch,
      exists (select 1 from information_schema.columns where table_schema = current_schema()
        and table_name = 'database_epoch' and column_name = 'backup_last_ids') as last_ids`,
  );
  const has = found.rows[0];
  if (!has?.epoch) return null;
  const epoch = newEpoch();
  const values = [epoch, new Date().toISOString(), by, backupTakenAt];
  await client.query(
    renewEpochStatement('postgres', has.last_ids),
    has.last_ids ? [...values, await lastIdsPostgres(client)] : values,
  );
  return epoch;
}
