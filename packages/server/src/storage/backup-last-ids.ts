/**
 * The backup's last ids (decision 0050): the last number each server-id collection of each tenant
 * had been given (`id_counters`) in the backup a database was restored from, kept beside its
 * restore epoch (`database_epoch.backup_last_ids`, migration 0024). A restored server numbers from
 * where the backup left off, so it hands out again the numbers the lost database issued after the
 * backup: a device holding a number above its collection's last id holds a record the backup
 * lacks, and that number may now name another record. Every 410 `reason: 'restored'` says the
 * caller's tenant's (cursor.ts, restoredDetails).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';

/** Per tenant, per collection, the last id issued, as the id's text ("42"). */
export type BackupLastIds = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** What id_counters holds, one row a tenant's collection. */
interface CounterRow {
  tenant: string;
  collection: string;
  /** bigint: a number from SQLite, text from PostgreSQL's driver. */
  last_id: number | string;
}

const countersQuery = 'select tenant, collection, last_id from id_counters order by tenant, collection';

/**
 * The JSON text of a database's counters as they stand, to keep as the backup's last ids. No row
 * is `{}`: known, and nothing issued yet.
 */
function lastIdsText(rows: readonly CounterRow[]): string {
  // Null prototypes: a tenant or collection named like a property of every object (`__proto__`,
  // `constructor`) is a name like any other.
  const all = Object.create(null) as Record<string, Record<string, string>>;
  for (const row of rows) {
    const ofTenant = (all[row.tenant] ??= Object.create(null) as Record<string, string>);
    ofTenant[row.collection] = String(row.last_id);
  }
  return JSON.stringify(all);
}

/** The counters of an SQLite database, as the text to keep. */
export function lastIdsSqlite(db: BetterSqlite3.Database): string {
  return lastIdsText(db.prepare(countersQuery).all() as CounterRow[]);
}

/** The counters of a PostgreSQL database, as the text to keep. */
export async function lastIdsPostgres(client: pg.ClientBase): Promise<string> {
  return lastIdsText((await client.query<CounterRow>(countersQuery)).rows);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a value is what lastIdsText writes. By hand, not a zod record, which copies by assignment. */
function isLastIds(value: unknown): value is BackupLastIds {
  return (
    isObject(value) &&
    Object.values(value).every(
      (ofTenant) =>
        isObject(ofTenant) &&
        Object.values(ofTenant).every((id) => typeof id === 'string' && /^\d{1,20}$/.test(id)),
    )
  );
}

/**
 * The column read back; null when it is null, or not what this module writes (a row edited by
 * hand): the 410s then say nothing of ids, as for a database restored before migration 0024,
 * rather than every pull failing on the database's epoch.
 */
export function parseLastIds(text: string | null): BackupLastIds | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return isLastIds(value) ? value : null;
  } catch {
    return null;
  }
}

/** A tenant's last ids: `{}` for a tenant the backup had issued no id to. */
export function lastIdsOfTenant(all: BackupLastIds, tenant: string): Readonly<Record<string, string>> {
  // Object.hasOwn: a tenant named `toString` is not Object's.
  return Object.hasOwn(all, tenant) ? (all[tenant] ?? {}) : {};
}
