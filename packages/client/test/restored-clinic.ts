// The clinic of the restored-server tests (decision 0050): a real server on SQLite, as `npm start`
// runs it, and a tablet that synced two patients; the clinic's backup taken by `npm run backup`'s
// own function, and the server restored from it on the same address. The tablet's record store
// and file store are named, so a tablet opened again (an app restarted) finds what it stored.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { backupSqlite, createSyncServer, ensureUsers, openSqlite } from '@outpost/server';
import { fieldClinic } from '@outpost/examples';
import { uuidv7 } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { createSyncClient, memoryFileStore, memoryStore } from '../src/index';
import type { LocalFileStore, SyncClient, SyncResult } from '../src/index';
import { TestNetwork, password } from './client-fixture';

export const secret = 'restored-server-test-secret-restored';
export const nurse = 'nurse@clinic-a.test';
/** The clinic's administrator, who settles conflicts (a clinician's role may not: fieldClinic). */
export const administrator = 'admin@clinic-a.test';

/** The clinic's server on `file`, as `npm start` runs it, on `port` (0: any free one). */
async function serve(
  file: string,
  port = 0,
  jwtSecret = secret,
  clock: ServerClock = { offsetMs: 0 },
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createSyncServer({
    schema: fieldClinic,
    database: await openSqlite(file),
    auth: { jwtSecret },
    limits: { rateLimitPerMinute: false },
    now: () => new Date(Date.now() + clock.offsetMs),
  });
  await ensureUsers(app.outpost.store, [
    { email: nurse, tenant: 'clinic-a', roles: ['clinician'], password },
    { email: administrator, tenant: 'clinic-a', roles: ['admin'], password },
  ]);
  const url = await app.listen({ port, host: '127.0.0.1' });
  return { app, url };
}

async function signIn(url: string, email = nurse): Promise<string> {
  const res = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return ((await res.json()) as { token: string }).token;
}

/**
 * The server's clock, `offsetMs` from the wall clock. A write the backup had is told from one after
 * it by the server's clock, with a minute's margin (restore-rules.ts, writtenAfterBackup): a test
 * whose writes before the backup must count as before it sets the clock back for them.
 */
export interface ServerClock {
  offsetMs: number;
}

/** What a test registers to be undone after it, last first. */
export type Cleanups = Array<() => Promise<void> | void>;

function folder(cleanups: Cleanups): string {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-restore-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The file store `inner`, whose writes fail while `failing()` says so, as a store whose disk is
 * full does (or an app stopped before the write): what the device meant to write is not there.
 */
function failingWrites(inner: LocalFileStore, failing: () => boolean): LocalFileStore {
  return {
    kind: inner.kind,
    load: () => inner.load(),
    commit: (write) =>
      failing() ? Promise.reject(new Error('the file store could not be written')) : inner.commit(write),
    readChunk: (id, index) => inner.readChunk(id, index),
    clear: () => inner.clear(),
    close: () => inner.close(),
  };
}

export interface ClinicOptions {
  pullLimit?: number;
  /** The tablet's chunk size: small, so a file's chunks are counted on the network. */
  fileChunkBytes?: number;
}

export type RestoredClinic = Awaited<ReturnType<typeof restoredClinic>>;

/**
 * A server and a tablet that synced two patients; `backup()` takes the clinic's backup, `restore()`
 * stops the server and starts it again on the backup, as docs/server.md says, on the same address.
 */
export async function restoredClinic(cleanups: Cleanups, options: ClinicOptions = {}) {
  const database = join(folder(cleanups), 'outpost.sqlite');
  const serverClock: ServerClock = { offsetMs: 0 };
  let server = await serve(database, 0, secret, serverClock);
  cleanups.push(() => server.app.close());
  const port = (server.app.server.address() as AddressInfo).port;
  let token = await signIn(server.url);

  const network = new TestNetwork();
  // What the server answered each pull and each push, and each op the tablet pushed.
  const pulls: number[] = [];
  const pushes: number[] = [];
  const pushed: string[] = [];
  const hooks: {
    afterPull?: (status: number) => void;
    /** The files routes cannot be reached (the link drops as the uploads start). */
    filesOffline?: boolean;
    /** The tablet's file store cannot be written. */
    fileWritesFail?: boolean;
  } = {};
  // Named, so a tablet opened again (an app restarted) finds what the first one stored.
  const storeName = `restored-tablet-${uuidv7()}`;
  /** The tablet's app, opened on its store. */
  const openTablet = async (): Promise<SyncClient> => {
    const client = await createSyncClient({
      schema: fieldClinic,
      url: server.url,
      getToken: async () => token,
      store: memoryStore({ name: storeName }),
      files: failingWrites(memoryFileStore({ name: storeName }), () => hooks.fileWritesFail === true),
      ...(options.fileChunkBytes !== undefined ? { fileChunkBytes: options.fileChunkBytes } : {}),
      deviceId: 'tablet-7',
      fetch: async (input, init) => {
        const path = new URL(String(input)).pathname;
        if (hooks.filesOffline && path.startsWith('/v1/files')) {
          throw new TypeError('fetch failed: network is offline');
        }
        const res = await network.fetch(input, init);
        if (path === '/v1/sync/pull') {
          pulls.push(res.status);
          hooks.afterPull?.(res.status);
        }
        if (path === '/v1/sync/push') pushes.push(res.status);
        if (path === '/v1/sync/push' && res.ok) {
          const body = network.sent.at(-1)?.body as { ops: Array<{ opId: string }> };
          pushed.push(...body.ops.map((o) => o.opId));
        }
        return res;
      },
      autoSync: false,
      probeIntervalMs: false,
      ...(options.pullLimit !== undefined ? { pullLimit: options.pullLimit, poorLink: false } : {}),
    });
    cleanups.push(() => client.close());
    return client;
  };
  const tablet = await openTablet();
  const patients = tablet.collection('patients');
  const amina = await patients.create({ name: 'Amina' });
  const joseph = await patients.create({ name: 'Joseph' });
  // The clinic's records from well before any backup a test takes: written by the server's clock
  // ten minutes back, beyond the minute a give-back takes for "may be after the backup"
  // (writtenAfterBackup), as a real clinic's records are.
  serverClock.offsetMs = -10 * 60_000;
  expect((await tablet.sync()).success).toBe(true);
  serverClock.offsetMs = 0;

  async function officePush(op: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify({
      clientId: 'office-pc',
      deviceId: 'office-pc',
      ops: [{ opId: uuidv7(), ...op }],
    });
    const request = () =>
      fetch(`${server.url}/v1/sync/push`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
    // Tried twice, the same op: the first may meet the connection kept alive to the stopped server.
    const res = await request().catch(request);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { results: Array<{ status: string }> };
    expect(
      answer.results.map((r) => r.status),
      JSON.stringify(answer),
    ).toEqual(['applied']);
  }

  const backupFile = join(folder(cleanups), 'monday.sqlite');
  return {
    tablet,
    openTablet,
    network,
    hooks,
    serverClock,
    patients,
    amina,
    joseph,
    pulls,
    pushes,
    pushed,
    backup: () => backupSqlite({ database, destination: backupFile }),
    /** `jwtSecret`: a server restored without the data folder's jwt-secret, the person signed in again. */
    async restore(jwtSecret = secret) {
      await server.app.close();
      rmSync(`${database}-wal`, { force: true });
      rmSync(`${database}-shm`, { force: true });
      copyFileSync(backupFile, database);
      server = await serve(database, port, jwtSecret, serverClock);
      // Signed in again (the old tokens are another secret's): tried twice, as the first request
      // may meet the connection kept alive to the server that was stopped.
      if (jwtSecret !== secret) token = await signIn(server.url).catch(() => signIn(server.url));
      pulls.length = 0;
      pushes.length = 0;
      pushed.length = 0;
    },
    /** The tablet's sync; a first try that met the connection kept alive to the stopped server is tried again, as the tablet would a moment later. */
    async sync(): Promise<SyncResult> {
      const result = await tablet.sync();
      return !result.success && result.error?.code === 'NETWORK' ? tablet.sync() : result;
    },
    /** A patient another device of the clinic registers on the server now; answers their id. */
    async createOnServer(data: RecordData): Promise<string> {
      const id = uuidv7();
      await officePush({ collection: 'patients', type: 'create', id, data });
      return id;
    },
    /** A change the office's computer makes on the server now (stamped with the server's clock). */
    officePush,
    /** The clinic's patients as a pull from the start sees them (those deleted left out). */
    async onServer(): Promise<Map<string, RecordData>> {
      const res = await fetch(`${server.url}/v1/sync/pull?limit=1000`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const page = (await res.json()) as {
        changes: Array<{ id: string; data: RecordData | null; deleted: boolean }>;
      };
      return new Map(page.changes.filter((c) => !c.deleted).map((c) => [c.id, c.data ?? {}]));
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
    /** The administrator settles a conflict on the office's computer; answers the server's status. */
    async settle(id: string, strategy: 'client-wins' | 'server-wins'): Promise<number> {
      const admin = await signIn(server.url, administrator);
      const res = await fetch(`${server.url}/v1/conflicts/${id}/resolve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ strategy }),
      });
      return res.status;
    },
    /** The conflicts the clinic has to review. */
    async openConflicts(): Promise<Array<{ recordId: string; fields?: string[] }>> {
      const res = await fetch(`${server.url}/v1/conflicts?status=open`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await res.json()) as { conflicts: Array<{ recordId: string; fields?: string[] }> }).conflicts;
    },
  };
}
