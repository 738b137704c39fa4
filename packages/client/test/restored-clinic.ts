// The clinic of the restored-server tests (decision 0050): a real server on SQLite, as `npm start`
// runs it, and a tablet that synced two patients; the clinic's backup taken by `npm run backup`'s
// own function, and the server restored from it on the same address (restored-practice.ts). The
// tablet's record store and file store are named, so a tablet opened again (an app restarted) finds
// what it stored.
import { expect } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { uuidv7 } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { memoryFileStore } from '../src/index';
import type { LocalFileStore, RecordFilters, SyncClient, SyncResult } from '../src/index';
import { TestNetwork } from './client-fixture';
import { restoredPractice, syncAfterRestart } from './restored-practice';
import type { Cleanups } from './restored-practice';

export type { Cleanups, ServerClock } from './restored-practice';

export const secret = 'restored-server-test-secret-restored';
export const nurse = 'nurse@clinic-a.test';
/** The clinic's administrator, who settles conflicts (a clinician's role may not: fieldClinic). */
export const administrator = 'admin@clinic-a.test';

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
  /** The records the tablet keeps. */
  recordFilter?: RecordFilters;
}

export type RestoredClinic = Awaited<ReturnType<typeof restoredClinic>>;

/**
 * A server and a tablet that synced two patients; `backup()` takes the clinic's backup, `restore()`
 * stops the server and starts it again on the backup, as docs/server.md says, on the same address.
 */
export async function restoredClinic(cleanups: Cleanups, options: ClinicOptions = {}) {
  const practice = await restoredPractice(cleanups, {
    schema: fieldClinic,
    users: [
      { email: nurse, tenant: 'clinic-a', roles: ['clinician'] },
      { email: administrator, tenant: 'clinic-a', roles: ['admin'] },
    ],
    signedIn: nurse,
    jwtSecret: secret,
  });
  const serverClock = practice.clock;

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
  const openTablet = (): Promise<SyncClient> =>
    practice.tablet({
      deviceId: 'tablet-7',
      store: storeName,
      files: failingWrites(memoryFileStore({ name: storeName }), () => hooks.fileWritesFail === true),
      ...(options.fileChunkBytes !== undefined ? { fileChunkBytes: options.fileChunkBytes } : {}),
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
      ...(options.pullLimit !== undefined ? { pullLimit: options.pullLimit } : {}),
      ...(options.recordFilter !== undefined ? { recordFilter: options.recordFilter } : {}),
    });
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

  /**
   * A change the office's computer makes on the server now (stamped with the server's clock), whose
   * outcome must be `expected` (applied).
   */
  async function officePush(op: Record<string, unknown>, expected = 'applied'): Promise<void> {
    await practice.officePush(op, 'office-pc', expected);
  }

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
    backup: practice.backup,
    /** `jwtSecret`: a server restored without the data folder's jwt-secret, the person signed in again. */
    async restore(jwtSecret = secret) {
      await practice.restore(jwtSecret);
      pulls.length = 0;
      pushes.length = 0;
      pushed.length = 0;
    },
    /** The tablet's sync; a first try that met the connection kept alive to the stopped server is tried again, as the tablet would a moment later. */
    sync: (): Promise<SyncResult> => syncAfterRestart(tablet),
    /** A patient another device of the clinic registers on the server now; answers their id. */
    async createOnServer(data: RecordData): Promise<string> {
      const id = uuidv7();
      await officePush({ collection: 'patients', type: 'create', id, data });
      return id;
    },
    officePush,
    /** The clinic's patients as a pull from the start sees them (those deleted left out). */
    async onServer(): Promise<Map<string, RecordData>> {
      return new Map((await practice.onServer()).map((r) => [r.id, r.data]));
    },
    /** The bytes of a file as the server gives them now, or null when it holds no such file whole. */
    fileOnServer: practice.fileOnServer,
    /** The administrator settles a conflict on the office's computer; answers the server's status. */
    settle: (id: string, strategy: 'client-wins' | 'server-wins'): Promise<number> =>
      practice.settle(id, strategy, administrator),
    /** The conflicts the clinic has to review. */
    openConflicts: () => practice.openConflicts<{ recordId: string; fields?: string[] }>(),
  };
}
