import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type {
  DatabaseConnection,
  Dialect,
  Driver,
  PostgresPool,
  PostgresPoolClient,
  QueryResult,
  SqliteDatabase,
} from 'kysely';
import { outpostError } from '@outpost/core';
import type { Tables } from './tables';
import { migrateToLatest } from './migrations';
import { listenPostgres } from './pg-listener';
import type { ListenHandlers, Listening } from './pg-listener';

export type DatabaseKind = 'sqlite' | 'postgres';

/** An open, migrated database: the store's only handle on SQL. */
export interface Database {
  readonly kind: DatabaseKind;
  readonly db: Kysely<Tables>;
  /**
   * PostgreSQL only: hears NOTIFY on `channel` over a connection of its own, so every server
   * instance on this database hears of what any of them committed. Absent on SQLite, which one
   * process owns.
   */
  listen?(channel: string, handlers: ListenHandlers): Listening;
  /**
   * PostgreSQL only: connections of their own whose sessions plan reads in index order (sorts and
   * bitmap scans off), for the pages pull reads in position order. See dialect-sql's
   * inPositionOrder; without it each page read pays for a transaction to set the same.
   */
  readonly pageReads?: Kysely<Tables>;
  close(): Promise<void>;
}

/**
 * SQLite through better-sqlite3, the embedded default. WAL lets pulls read while a push writes;
 * synchronous=FULL syncs the WAL at every commit, so an op we acknowledged survives a power cut.
 */
export async function openSqlite(path: string): Promise<Database> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Tables>({
    dialect: refusingNulText(new SqliteDialect({ database: withStatementCache(sqlite) })),
  });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  return { kind: 'sqlite', db, close: () => db.destroy() };
}

/**
 * PostgreSQL's text cannot hold U+0000 (the query fails), SQLite's can. No id, name or filter of any
 * protocol needs it, so a query parameter holding one is refused as bad input (400) on both
 * dialects alike, before it reaches either; the transaction it was part of rolls back. Record data
 * is stored as JSON text, where the character is escaped, so it never trips this.
 */
function refusingNulText(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => dialect.createDriver(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => {
      const compiler = dialect.createQueryCompiler();
      return {
        compileQuery(node, queryId) {
          const compiled = compiler.compileQuery(node, queryId);
          refuseNulText(compiled.parameters);
          return compiled;
        },
      };
    },
  };
}

/**
 * Sends a transaction's BEGIN with its first statement instead of on its own. Kysely awaits BEGIN
 * before running the transaction's code; each statement awaited is a round trip through the
 * driver, Kysely and the event loop, about a millisecond of a 30 ms push. Here BEGIN is queued in
 * node-postgres and the first statement is queued right behind it, so the driver sends it the
 * moment BEGIN completes, and that statement's result waits for BEGIN's too: an error in BEGIN
 * still fails the transaction at its first statement. node-postgres runs a connection's queries
 * in the order they were queued, and both are queued synchronously, so nothing can come between.
 */
function beginWithFirstStatement(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () => {
      const driver = dialect.createDriver();
      const wrapped: Driver = {
        init: () => driver.init(),
        acquireConnection: () => driver.acquireConnection(),
        beginTransaction: (connection, settings) => {
          if (settings.isolationLevel || settings.accessMode)
            return driver.beginTransaction(connection, settings);
          const begun = connection.executeQuery(CompiledQuery.raw('begin'));
          begun.catch(() => undefined); // reported through the first statement, below
          // The connection's own executeQuery (its class's), shadowed for one call.
          const own = connection.executeQuery;
          const shadowed = connection as Partial<Pick<DatabaseConnection, 'executeQuery'>>;
          shadowed.executeQuery = <R>(query: CompiledQuery) => {
            delete shadowed.executeQuery;
            const result = own.call(connection, query) as Promise<QueryResult<R>>;
            return Promise.all([begun, result]).then(([, r]) => r);
          };
          return Promise.resolve();
        },
        commitTransaction: (connection) => driver.commitTransaction(connection),
        rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
        releaseConnection: (connection) => driver.releaseConnection(connection),
        destroy: () => driver.destroy(),
      };
      if (driver.savepoint) wrapped.savepoint = driver.savepoint.bind(driver);
      if (driver.rollbackToSavepoint) wrapped.rollbackToSavepoint = driver.rollbackToSavepoint.bind(driver);
      if (driver.releaseSavepoint) wrapped.releaseSavepoint = driver.releaseSavepoint.bind(driver);
      return wrapped;
    },
  };
}

/**
 * The check every compiled query's parameters pass; queries run precompiled (the store's cached
 * inserts) call it themselves.
 */
export function refuseNulText(parameters: readonly unknown[]): void {
  for (const p of parameters) {
    if (typeof p === 'string' && p.includes('\u0000'))
      throw outpostError('VALIDATION_FAILED', 'text may not contain the NUL character (U+0000)');
    // An array parameter (PostgreSQL's lookups by a list of keys) holds text too.
    if (Array.isArray(p)) refuseNulText(p);
  }
}

/**
 * Kysely prepares every query afresh; a push's 500-row inserts repeat the same SQL text batch
 * after batch, and preparing it is a measurable share of the push. better-sqlite3 statements are
 * reusable, and Kysely runs one query at a time on this connection, so a small cache is safe.
 */
function withStatementCache(sqlite: BetterSqlite3.Database, size = 256): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (sql: string) => {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql); // re-inserted below: the Map's order is least recently used first
      } else {
        statement = sqlite.prepare(sql);
        if (cache.size >= size) cache.delete(cache.keys().next().value ?? '');
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

// node-postgres returns int8 (bigint) as text to be safe beyond 2^53; our positions and counters
// stay far below that, so they come back as numbers. Set on this pool only, not globally.
const int8Oid = 20;
const numericTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === int8Oid
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * A pool whose every statement runs as a named (prepared) statement, one name per SQL text: the
 * connection parses and plans it once, later runs only bind and execute. Planning was about a
 * quarter of PostgreSQL's time on a pull page (0.5 ms of 2), every page. Only for the page-read
 * pool, whose statements are a handful of page reads, so each connection keeps a few plans: a pool
 * running arbitrary SQL would keep one per text it ever saw.
 */
function preparingEachStatement(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (name === undefined) {
      name = `page-${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    connect: async () => {
      const client = await pool.connect();
      return {
        // A cursor (streamed rows, which page reads never use) goes through unchanged.
        query: ((text: unknown, values?: readonly unknown[]) =>
          typeof text === 'string'
            ? client.query({ name: nameOf(text), text, values: [...(values ?? [])] })
            : client.query(text as never)) as unknown as PostgresPoolClient['query'],
        release: () => client.release(),
      };
    },
    end: () => pool.end(),
  };
}

export async function openPostgres(
  url: string,
  options: { maxConnections?: number; onIdleError?: (err: Error) => void } = {},
): Promise<Database> {
  const max = options.maxConnections ?? 10;
  const kysely = (pool: pg.Pool, prepared = false) => {
    // An idle connection the server ends (a restart, a failover, an administrator) is reported
    // here; unheard, it would crash the process. The pool replaces it on the next query.
    pool.on('error', (err) => options.onIdleError?.(err));
    const dialect = new PostgresDialect({ pool: prepared ? preparingEachStatement(pool) : pool });
    return new Kysely<Tables>({ dialect: beginWithFirstStatement(refusingNulText(dialect)) });
  };
  const db = kysely(new pg.Pool({ connectionString: url, max, types: numericTypes }));
  // Set once per session at connect, so a page read is one statement and one round trip: set per
  // read, the settings needed a transaction around it, three round trips more per page.
  const pageReads = kysely(
    new pg.Pool({
      connectionString: url,
      max: Math.max(2, Math.ceil(max / 2)),
      types: numericTypes,
      options: '-c enable_sort=off -c enable_bitmapscan=off',
    }),
    true,
  );
  try {
    await migrateToLatest(db as Kysely<unknown>, 'postgres');
  } catch (error) {
    await Promise.all([db.destroy(), pageReads.destroy()]);
    throw error;
  }
  return {
    kind: 'postgres',
    db,
    pageReads,
    listen: (channel, handlers) => listenPostgres(url, channel, handlers),
    close: async () => {
      await Promise.all([db.destroy(), pageReads.destroy()]);
    },
  };
}

/** `postgres://...` or `postgresql://...` names PostgreSQL; anything else is a SQLite file path. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//.test(target);
}

/** PostgreSQL for a `postgres://` URL (isPostgresUrl), else the SQLite file at that path. */
export async function openDatabase(
  target: string,
  options: { onIdleError?: (err: Error) => void } = {},
): Promise<Database> {
  return isPostgresUrl(target) ? openPostgres(target, options) : openSqlite(target);
}
