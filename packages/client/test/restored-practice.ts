// The restored-server tests' practice (decisions 0050 and 0051): a real server on SQLite, as
// `npm start` runs it; the practice's backup taken by `npm run backup`'s own function; the server
// stopped, its database replaced by the backup and started again on the same address, as
// docs/server.md says; and tablets (createSyncClient on memoryStore) signed in to it.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { backupSqlite, createSyncServer, ensureUsers, openSqlite } from '@outpost/server';
import type { Database } from '@outpost/server';
import { uuidv7 } from '@outpost/core';
import type { RecordData, Schema } from '@outpost/core';
import { createSyncClient, memoryStore } from '../src/index';
import type { LocalFileStore, RecordFilters, SyncClient, SyncResult } from '../src/index';
import { password } from './client-fixture';

/** What a test registers to be undone after it, last first. */
export type Cleanups = Array<() => Promise<void> | void>;

/**
 * The server's clock, `offsetMs` from the wall clock. A write the backup had is told from one after
 * it by the server's clock, with a minute's margin (restore-rules.ts, writtenAfterBackup): a test
 * whose writes before the backup must count as before it sets the clock back for them.
 */
export interface ServerClock {
  offsetMs: number;
}

/** A person of the practice, with the test password. */
export interface PracticeUser {
  email: string;
  tenant: string;
  roles: string[];
}

export interface PracticeOptions {
  schema: Schema;
  /** Tenants on another schema than `schema`, as a server of several practices has them. */
  tenantSchemas?: Record<string, Schema>;
  users: PracticeUser[];
  /** Who the tablets and the office are signed in as; none: the test signs in with `signIn`. */
  signedIn?: string;
  jwtSecret: string;
  /** The server's clock, when the test sets it before the server starts; by default the wall clock's. */
  clock?: ServerClock;
}

/** What a tablet needs of its test; the rest is a tablet the test drives by hand (no auto-sync). */
export interface TabletOptions {
  deviceId: string;
  /** The record store's name: a tablet opened again on it (an app restarted) finds what it stored. */
  store?: string;
  files?: LocalFileStore;
  fileChunkBytes?: number;
  /** The tablet's requests, e.g. through a TestNetwork; by default `retryingFetch`. */
  fetch?: typeof fetch;
  /** A smaller pull page (the poor-link sizing off, so that it stays that size). */
  pullLimit?: number;
  /** The records the tablet keeps (decision 0027): those it lets go stay on the server. */
  recordFilter?: RecordFilters;
}

/** Tried twice: the first request may meet the connection kept alive to the stopped server. */
export const retryingFetch: typeof fetch = (input, init) =>
  fetch(input, init).catch(() => fetch(input, init));

/** A tablet's sync; a first try that met the connection kept alive to the stopped server is tried again, as the tablet would a moment later. */
export async function syncAfterRestart(tablet: SyncClient): Promise<SyncResult> {
  const result = await tablet.sync();
  return !result.success && result.error?.code === 'NETWORK' ? tablet.sync() : result;
}

function folder(cleanups: Cleanups): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-restore-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export type RestoredPractice = Awaited<ReturnType<typeof restoredPractice>>;

/**
 * The practice's server, started on a new SQLite database and signed in to as `signedIn`;
 * `backup()` takes the practice's backup, `restore()` stops the server and starts it again on the
 * backup on the same address.
 */
export async function restoredPractice(cleanups: Cleanups, options: PracticeOptions) {
  const dir = folder(cleanups);
  const file = join(dir, 'outpost.sqlite');
  const backupFile = join(dir, 'monday.sqlite');
  const clock: ServerClock = options.clock ?? { offsetMs: 0 };

  /** The practice's server on `file`, as `npm start` runs it, on `port` (0: any free one). */
  async function serve(
    port: number,
    jwtSecret: string,
  ): Promise<{ app: FastifyInstance; url: string; database: Database }> {
    const database = await openSqlite(file);
    const app = await createSyncServer({
      schema: options.schema,
      ...(options.tenantSchemas !== undefined ? { tenantSchemas: options.tenantSchemas } : {}),
      database,
      auth: { jwtSecret },
      limits: { rateLimitPerMinute: false },
      now: () => new Date(Date.now() + clock.offsetMs),
    });
    await ensureUsers(
      app.outpost.store,
      options.users.map((u) => ({ ...u, password })),
    );
    const url = await app.listen({ port, host: '127.0.0.1' });
    return { app, url, database };
  }

  let server = await serve(0, options.jwtSecret);
  cleanups.push(() => server.app.close());
  const port = (server.app.server.address() as AddressInfo).port;

  async function signIn(email = options.signedIn ?? ''): Promise<string> {
    const res = await fetch(`${server.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    return ((await res.json()) as { token: string }).token;
  }
  let token = options.signedIn !== undefined ? await signIn() : '';

  return {
    clock,
    get url(): string {
      return server.url;
    },
    /** The running server's database, for what a test reads straight from it. */
    get database(): Database {
      return server.database;
    },
    /** The token the tablets and the office send now. */
    get token(): string {
      return token;
    },
    signIn,
    backup: () => backupSqlite({ database: file, destination: backupFile }),
    /** `jwtSecret`: a server restored without the data folder's jwt-secret, the person signed in again. */
    async restore(jwtSecret = options.jwtSecret): Promise<void> {
      await server.app.close();
      rmSync(`${file}-wal`, { force: true });
      rmSync(`${file}-shm`, { force: true });
      copyFileSync(backupFile, file);
      server = await serve(port, jwtSecret);
      // Signed in again (the old tokens are another secret's): tried twice, as the first request
      // may meet the connection kept alive to the server that was stopped.
      if (jwtSecret !== options.jwtSecret) token = await signIn().catch(() => signIn());
    },
    /** A tablet signed in to the practice, its token the practice's current one. */
    async tablet(tablet: TabletOptions): Promise<SyncClient> {
      const client = await createSyncClient({
        schema: options.schema,
        url: server.url,
        getToken: async () => token,
        store: tablet.store !== undefined ? memoryStore({ name: tablet.store }) : memoryStore(),
        ...(tablet.files !== undefined ? { files: tablet.files } : {}),
        ...(tablet.fileChunkBytes !== undefined ? { fileChunkBytes: tablet.fileChunkBytes } : {}),
        deviceId: tablet.deviceId,
        fetch: tablet.fetch ?? retryingFetch,
        autoSync: false,
        probeIntervalMs: false,
        ...(tablet.pullLimit !== undefined ? { pullLimit: tablet.pullLimit, poorLink: false } : {}),
        ...(tablet.recordFilter !== undefined ? { recordFilter: tablet.recordFilter } : {}),
      });
      cleanups.push(() => client.close());
      return client;
    },
    /**
     * A change another computer of the practice (`device`) makes on the server now, stamped with
     * the server's clock; its outcome must be `expected` (applied). Answers the record's id (the
     * server's number, for a collection numbered by the server).
     */
    async officePush(
      op: Record<string, unknown>,
      device = 'office-pc',
      expected = 'applied',
    ): Promise<string> {
      const body = JSON.stringify({ clientId: device, deviceId: device, ops: [{ opId: uuidv7(), ...op }] });
      const request = () =>
        fetch(`${server.url}/v1/sync/push`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
      // Tried twice, the same op: the first may meet the connection kept alive to the stopped server.
      const res = await request().catch(request);
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { results: Array<{ status: string; id: string }> };
      expect(
        answer.results.map((r) => r.status),
        JSON.stringify(answer),
      ).toEqual([expected]);
      return answer.results[0]?.id ?? '';
    },
    /** A collection (every one when none is named) as a pull from the start sees it, deleted records left out. */
    async onServer(collection?: string): Promise<Array<{ id: string; data: RecordData }>> {
      const only = collection !== undefined ? `&collections=${collection}` : '';
      const res = await fetch(`${server.url}/v1/sync/pull?limit=1000${only}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const page = (await res.json()) as {
        changes: Array<{ id: string; data: RecordData | null; deleted: boolean }>;
      };
      return page.changes.filter((c) => !c.deleted).map((c) => ({ id: c.id, data: c.data ?? {} }));
    },
    /** The bytes of a file as the server gives them now, or null when it holds no such file whole. */
    async fileOnServer(id: string): Promise<Uint8Array | null> {
      const request = () =>
        fetch(`${server.url}/v1/files/${id}/content`, { headers: { authorization: `Bearer ${token}` } });
      // Tried twice: the first may meet the connection kept alive to the stopped server.
      const res = await request().catch(request);
      if (!res.ok) return null;
      return new Uint8Array(await res.arrayBuffer());
    },
    /** `email` (one whose role may) settles a conflict on the office's computer; answers the server's status. */
    async settle(id: string, strategy: 'client-wins' | 'server-wins', email: string): Promise<number> {
      const signedIn = await signIn(email);
      const res = await fetch(`${server.url}/v1/conflicts/${id}/resolve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${signedIn}`, 'content-type': 'application/json' },
        body: JSON.stringify({ strategy }),
      });
      return res.status;
    },
    /** The conflicts the practice has to review. */
    async openConflicts<T = unknown>(): Promise<T[]> {
      const res = await fetch(`${server.url}/v1/conflicts?status=open`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await res.json()) as { conflicts: T[] }).conflicts;
    },
  };
}
