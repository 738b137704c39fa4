import { sql } from 'kysely';
import type { Kysely, RawBuilder, Transaction } from 'kysely';
import type { Database, DatabaseKind } from './database';
import type { Tables } from './tables';

// The SQL that differs between SQLite and PostgreSQL, in one place; the store is written once
// around these. Most of it is about PostgreSQL planning a new table without statistics (until
// autovacuum first analyzes it, up to a minute after a bulk load): the store's queries must not
// depend on statistics to stay fast.

type Db = Kysely<Tables> | Transaction<Tables>;

/**
 * The rows of `table` that match `where` and whose `column` is one of `keys`, found by one index
 * probe per key. On PostgreSQL that is a lateral join over the keys, sent as one array: planned
 * without statistics (a new table, until autovacuum first analyzes it), an IN list or `= ANY` is
 * answered by reading every row matching `where` (the whole tenant) and filtering, a cost that
 * grows with the table at every push; a probe per key never does, and costs the same with statistics.
 */
export async function rowsByKey<T extends 'records' | 'ops' | 'temp_ids'>(
  db: Db,
  kind: DatabaseKind,
  table: T,
  where: Readonly<Record<string, string>>,
  column: string,
  keys: readonly string[],
): Promise<Array<Tables[T]>> {
  const matching = sql.join(
    Object.entries(where).map(([name, value]) => sql`${sql.ref(name)} = ${value}`),
    sql` and `,
  );
  const from = sql`select * from ${sql.table(table)} where ${matching}`;
  const query =
    kind === 'sqlite'
      ? sql<Tables[T]>`${from} and ${sql.ref(column)} in (${sql.join(keys)})`
      : sql<Tables[T]>`select p.* from unnest(${[...keys]}::text[]) as k(key)
          cross join lateral (${from} and ${sql.ref(column)} = k.key limit 1) as p`;
  return (await query.execute(db)).rows;
}

/**
 * Texts of the rows read, joined by commas into one (null when there were none): SQLite's
 * group_concat, PostgreSQL's string_agg. A text that is null is left out. The texts come in the
 * order the rows are read, which neither database promises, so no caller may depend on it; an
 * `order by` inside the aggregate would sort the rows again, which was a third of SQLite's page read.
 * SQLite hands the result over as its UTF-8 bytes (a Buffer), without making a string of it that
 * the response would only turn back into bytes; PostgreSQL's driver makes a string either way.
 */
export function joined(kind: DatabaseKind, text: RawBuilder<string>): RawBuilder<Buffer | string | null> {
  return kind === 'sqlite'
    ? sql<Buffer | null>`cast(group_concat(${text}, ',') as blob)`
    : sql<string | null>`string_agg(${text}, ',')`;
}

/**
 * PostgreSQL: inserts rows sent as one array per column and unnested, rather than as a VALUES list
 * with a parameter per cell. For the op journal's short columns, parsing and binding 6,000 parameters
 * per 500 ops cost more than the insert: this way takes ~40% less. (The records upsert, whose rows
 * are mostly JSON, gained nothing measurable.) Columns are text unless `types` names theirs. Rows
 * whose key the table already holds are skipped; returns how many were inserted.
 */
export async function insertNewByColumn(
  trx: Transaction<Tables>,
  table: keyof Tables,
  rows: ReadonlyArray<Record<string, unknown>>,
  types: Readonly<Record<string, string>> = {},
): Promise<number> {
  const first = rows[0];
  if (first === undefined) return 0;
  const columns = Object.keys(first);
  const arrays = columns.map((c) => sql`${rows.map((r) => r[c])}::${sql.raw(types[c] ?? 'text')}[]`);
  const result = await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
    select * from unnest(${sql.join(arrays)}) on conflict do nothing`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * Runs a page read (rows after a position, `order by position limit n`) so that it reads the page
 * and no more. SQLite walks records_by_position by itself. PostgreSQL, planning a table it has no
 * statistics for (a new tenant's first import, until autovacuum analyzes it), guesses that few rows
 * match and prefers to fetch every row after the cursor and sort them: each page then costs as much
 * as all the pages after it, and a first sync grows with the square of the records. So the read
 * runs with bitmap scans and sorts off, and the index's own order is used; with statistics
 * PostgreSQL chooses that plan anyway. That is the database's `pageReads` connections, whose
 * sessions are set so, or else a transaction that sets them for this read alone. Only for reads
 * that keep (nearly) every row: a filter to a few collections is better served by the primary key.
 */
export async function inPositionOrder<T>(database: Database, read: (db: Db) => Promise<T>): Promise<T> {
  if (database.kind === 'sqlite') return read(database.db);
  if (database.pageReads) return read(database.pageReads);
  return database.db.transaction().execute(async (trx) => {
    await sql`select set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)`.execute(
      trx,
    );
    return read(trx);
  });
}
