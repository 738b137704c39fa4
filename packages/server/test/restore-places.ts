// Databases a restore test can copy and mark (decision 0050), on either dialect: an SQLite file in
// a folder of its own, or a fresh database on the run's PostgreSQL. And cursors of the forms
// servers issued before cursors carried an epoch, which devices may still hold.
import { createHmac } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Schema } from '@outpost/core';
import { openPostgres, openSqlite } from '../src/index';
import { startTestServer, testSecret } from './server-fixture';
import type { DialectName, Storage, TestServer } from './server-fixture';
import { freshPostgresDatabase, postgresUrl } from './postgres';

/** A database the test can copy and mark: its SQLite file, or its PostgreSQL URL. */
export interface Place extends Storage {
  target: string;
}

/** Cleanups a test file runs after each test, last made first. */
export type Cleanups = Array<() => Promise<void> | void>;

export interface RestorePlaces {
  /** A new, empty database. */
  place(): Promise<Place>;
  /**
   * A copy of a stopped server's database made another way than `npm run backup`: the file copied
   * by hand, or a new PostgreSQL database made from it (as pg_dump and pg_restore, or a snapshot,
   * would). It holds the epoch of the database it was taken from.
   */
  copyOf(source: Place): Promise<Place>;
}

export function restorePlaces(kind: DialectName, cleanups: Cleanups): RestorePlaces {
  async function place(): Promise<Place> {
    if (kind === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'outpost-epoch-'));
      const file = join(dir, 'outpost.sqlite');
      const destroy = async () => rmSync(dir, { recursive: true, force: true });
      cleanups.push(destroy);
      return { kind, target: file, open: () => openSqlite(file), destroy };
    }
    const pg = await freshPostgresDatabase();
    cleanups.push(() => pg.drop());
    return { kind, target: pg.url, open: () => openPostgres(pg.url), destroy: () => pg.drop() };
  }

  async function copyOf(source: Place): Promise<Place> {
    const copy = await place();
    if (kind === 'sqlite') {
      copyFileSync(source.target, copy.target);
      if (existsSync(`${source.target}-wal`)) copyFileSync(`${source.target}-wal`, `${copy.target}-wal`);
      return copy;
    }
    const name = new URL(copy.target).pathname.slice(1);
    const from = new URL(source.target).pathname.slice(1);
    const admin = new Client({ connectionString: postgresUrl() ?? '' });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE ${name}`);
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${from}`);
    } finally {
      await admin.end();
    }
    return copy;
  }

  return { place, copyOf };
}

/**
 * The places of a restore test and the servers it starts on them, for one test file's tests: a
 * server started on a database, stopped to copy or mark it, started again on the copy.
 */
export interface RestoreHarness extends RestorePlaces {
  /** A server on `storage`, of `schema` (the harness's own by default), stopped by cleanUp if not before. */
  serverOn(storage: Place, schema?: Schema): Promise<TestServer>;
  /** Stops a server, as an operator stops it before copying or marking its database. */
  stop(server: TestServer): Promise<void>;
  /** Each test's afterEach: the servers still running stop, then the places go, last made first. */
  cleanUp(): Promise<void>;
}

export function restoreHarness(kind: DialectName, schema?: Schema): RestoreHarness {
  const cleanups: Cleanups = [];
  const running = new Set<TestServer>();
  const places = restorePlaces(kind, cleanups);
  return {
    ...places,
    async serverOn(storage, ofSchema = schema) {
      const server = await startTestServer(kind, { storage, ...(ofSchema ? { schema: ofSchema } : {}) });
      running.add(server);
      return server;
    },
    async stop(server) {
      running.delete(server);
      await server.close();
    },
    async cleanUp() {
      for (const s of running) await s.close();
      running.clear();
      for (const c of cleanups.splice(0).reverse()) await c();
    },
  };
}

/**
 * A cursor as servers issued them before cursors carried an epoch (the code of CursorCodec then):
 * `<position>.<horizon>.<mac>`, or with the collections it read, `<position>.<horizon>.<collections>.<mac>`.
 */
export function olderCursor(
  tenant: string,
  position: number,
  horizon: number,
  collections?: string[],
): string {
  const key = createHmac('sha256', testSecret).update('outpost pull cursor v1').digest();
  const sorted = collections ? [...collections].sort() : undefined;
  const scope = sorted ? `\u0000${sorted.join(',')}` : '';
  const mac = createHmac('sha256', key)
    .update(`${tenant}\u0000${position}\u0000${horizon}${scope}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
  return sorted
    ? `${position}.${horizon}.${Buffer.from(sorted.join(',')).toString('base64url')}.${mac}`
    : `${position}.${horizon}.${mac}`;
}
