// Where benchmarks get their databases: every measurement starts from a new, empty, migrated one,
// so no run reads pages or rows left behind by another.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgres, openSqlite } from '@outpost/server';
import type { Database, DatabaseKind } from '@outpost/server';

export interface Driver {
  readonly name: DatabaseKind;
  /** A new empty database. Closing it also removes it (file or PostgreSQL database). */
  freshDatabase(): Promise<Database>;
  /** Removes whatever the driver still holds; safe to call more than once. */
  dispose(): Promise<void>;
}

/** Wraps close() so whoever owns the database (the server closes it on app.close()) also cleans it up. */
function removedOnClose(database: Database, remove: () => Promise<void>): Database {
  return {
    ...database,
    close: async () => {
      try {
        await database.close();
      } finally {
        await remove();
      }
    },
  };
}

/**
 * SQLite files live on the real disk under the OS temp folder (not :memory:), so synchronous=FULL
 * pays for its fsyncs exactly as in production; openSqlite sets the same pragmas for us and for the
 * raw baseline.
 */
export function sqliteDriver(): Driver {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
  // A run killed with Ctrl-C still leaves no files behind.
  const onExit = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', onExit);
  let next = 0;
  return {
    name: 'sqlite',
    freshDatabase: async () => {
      const file = join(dir, `bench-${next++}.sqlite`);
      const database = await openSqlite(file);
      return removedOnClose(database, async () => {
        for (const suffix of ['', '-wal', '-shm']) await rm(file + suffix, { force: true });
      });
    },
    dispose: async () => {
      process.off('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** New databases on one PostgreSQL server (the harness's), made with CREATE DATABASE. */
export function postgresDriver(serverUrl: string): Driver {
  return {
    name: 'postgres',
    freshDatabase: async () => {
      // Hex only, so the name needs no quoting.
      const name = `outpost_bench_${randomBytes(6).toString('hex')}`;
      await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      const drop = () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      try {
        return removedOnClose(await openPostgres(url.toString()), drop);
      } catch (error) {
        await drop();
        throw error;
      }
    },
    // The harness removes the whole server when it stops.
    dispose: async () => {},
  };
}
