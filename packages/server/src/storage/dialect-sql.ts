import { sql } from 'kysely';
import type { Kysely, RawBuilder, Transaction } from 'kysely';
import type { CachedInserts } from './cached-inserts';
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
 * Inserts rows that share most of their values (a push's op journal: one sender, one time), each
 * shared value sent once, skipping rows whose key the table already holds; returns how many it
 * inserted. `shared` holds the columns every row has the same value in, `rows` the rest, every row
 * with the same keys. Binding a parameter per cell cost more than the insert itself, so:
 * - SQLite gets a VALUES list of the varying columns, its text compiled once per table, columns
 *   and row count (this function);
 * - PostgreSQL gets one array per varying column, unnested (insertSharingPostgres), as one part of
 *   a push's single write statement.
 */
export function insertNewSharingSqlite(
  trx: Transaction<Tables>,
  inserts: CachedInserts,
  table: keyof Tables,
  shared: Readonly<Record<string, string | number>>,
  rows: ReadonlyArray<Readonly<Record<string, string | number | null>>>,
): Promise<number> {
  const first = rows[0];
  if (first === undefined) return Promise.resolve(0);
  const sharedColumns = Object.keys(shared);
  const columns = Object.keys(first);
  const target = sql.join([...sharedColumns, ...columns].map((c) => sql.ref(c)));
  const parameters: unknown[] = sharedColumns.map((c) => shared[c]);
  for (const row of rows) for (const column of columns) parameters.push(row[column]);
  // SQLite names a VALUES list's columns column1, column2...; `where true` lets the upsert clause parse.
  const names = columns.map((_, i) => sql.raw(`column${i + 1}`));
  const shape = [table, ...sharedColumns, '|', ...columns, rows.length].join('\u0000');
  return inserts.runLaidOut(trx, shape, parameters, () => {
    const list = sql.join(rows.map((r) => sql`(${sql.join(columns.map((c) => r[c]))})`));
    return sql`insert into ${sql.table(table)} (${target})
      select ${sql.join([...sharedColumns.map((c) => shared[c]), ...names])} from (values ${list}) where true
      on conflict do nothing`.compile(trx);
  });
}

/**
 * insertNewSharingSqlite's statement on PostgreSQL: the shared values once, one array per varying
 * column, unnested; one part of a push's single write statement (push-writes.ts).
 */
export function insertSharingPostgres(
  table: keyof Tables,
  shared: Readonly<Record<string, string | number>>,
  rows: ReadonlyArray<Readonly<Record<string, string | number | null>>>,
): RawBuilder<unknown> {
  const first = rows[0] ?? {};
  const sharedColumns = Object.keys(shared);
  const columns = Object.keys(first);
  const target = sql.join([...sharedColumns, ...columns].map((c) => sql.ref(c)));
  const type = (value: unknown) => sql.raw(typeof value === 'number' ? 'int4' : 'text');
  const values = sharedColumns.map((c) => sql`${shared[c]}::${type(shared[c])}`);
  const arrays = columns.map((c) => sql`${rows.map((r) => r[c])}::${type(first[c])}[]`);
  const names = columns.map((_, i) => sql.raw(`c${i}`));
  return sql`insert into ${sql.table(table)} (${target})
    select ${sql.join([...values, ...names])} from unnest(${sql.join(arrays)}) as k(${sql.join(names)})
    on conflict do nothing`;
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
