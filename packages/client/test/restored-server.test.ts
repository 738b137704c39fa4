// What a tablet does when its clinic's server is restored from a backup older than its last sync
// (docs/server.md, "Backups and restore"; decision 0050). The restored server refuses the cursor it
// never issued (410, `reason: 'restored'`), also once the clinic's positions have passed it, and
// the tablet reads everything again. What it held that the server lost goes back as new ops: the
// patients it registered since the backup, its edits since, its deletions it still keeps, weighed
// by the clinic's conflict rules against what was done on the restored server meanwhile. Restored
// without the data folder's jwt-secret, its saved cursor is refused (400), and it reads everything
// again rather than fail every sync.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { backupSqlite, createSyncServer, ensureUsers, openSqlite } from '@outpost/server';
import { fieldClinic } from '@outpost/examples';
import { uuidv7 } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { createSyncClient, memoryStore } from '../src/index';
import type { SyncClient, SyncResult } from '../src/index';
import { TestNetwork, password } from './client-fixture';

const secret = 'restored-server-test-secret-restored';
const nurse = 'nurse@clinic-a.test';

/** The clinic's server on `file`, as `npm start` runs it, on `port` (0: any free one). */
async function serve(
  file: string,
  port = 0,
  jwtSecret = secret,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createSyncServer({
    schema: fieldClinic,
    database: await openSqlite(file),
    auth: { jwtSecret },
    limits: { rateLimitPerMinute: false },
  });
  await ensureUsers(app.outpost.store, [
    { email: nurse, tenant: 'clinic-a', roles: ['clinician'], password },
  ]);
  const url = await app.listen({ port, host: '127.0.0.1' });
  return { app, url };
}

async function signIn(url: string): Promise<string> {
  const res = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: nurse, password }),
  });
  return ((await res.json()) as { token: string }).token;
}

describe('a tablet whose server was restored from an older backup', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function folder(): string {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-restore-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /**
   * A server and a tablet that synced two patients; `backup()` takes the clinic's backup, `restore()`
   * stops the server and starts it again on the backup, as docs/server.md says, on the same address.
   */
  async function clinic(options: { pullLimit?: number } = {}) {
    const database = join(folder(), 'outpost.sqlite');
    let server = await serve(database);
    cleanups.push(() => server.app.close());
    const port = (server.app.server.address() as AddressInfo).port;
    let token = await signIn(server.url);

    const network = new TestNetwork();
    // What the server answered each pull, and each op the tablet pushed.
    const pulls: number[] = [];
    const pushed: string[] = [];
    const hooks: { afterPull?: (status: number) => void } = {};
    // Named, so a tablet opened again (an app restarted) finds what the first one stored.
    const storeName = `restored-tablet-${uuidv7()}`;
    /** The tablet's app, opened on its store. */
    const openTablet = async (): Promise<SyncClient> => {
      const client = await createSyncClient({
        schema: fieldClinic,
        url: server.url,
        getToken: async () => token,
        store: memoryStore({ name: storeName }),
        deviceId: 'tablet-7',
        fetch: async (input, init) => {
          const res = await network.fetch(input, init);
          const path = new URL(String(input)).pathname;
          if (path === '/v1/sync/pull') {
            pulls.push(res.status);
            hooks.afterPull?.(res.status);
          }
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
    expect((await tablet.sync()).success).toBe(true);

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

    const backupFile = join(folder(), 'monday.sqlite');
    return {
      tablet,
      openTablet,
      network,
      hooks,
      patients,
      amina,
      joseph,
      pulls,
      pushed,
      backup: () => backupSqlite({ database, destination: backupFile }),
      /** `jwtSecret`: a server restored without the data folder's jwt-secret, the person signed in again. */
      async restore(jwtSecret = secret) {
        await server.app.close();
        rmSync(`${database}-wal`, { force: true });
        rmSync(`${database}-shm`, { force: true });
        copyFileSync(backupFile, database);
        server = await serve(database, port, jwtSecret);
        // Signed in again (the old tokens are another secret's): tried twice, as the first request
        // may meet the connection kept alive to the server that was stopped.
        if (jwtSecret !== secret) token = await signIn(server.url).catch(() => signIn(server.url));
        pulls.length = 0;
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
      /** The conflicts the clinic has to review. */
      async openConflicts(): Promise<Array<{ recordId: string; fields?: string[] }>> {
        const res = await fetch(`${server.url}/v1/conflicts?status=open`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return ((await res.json()) as { conflicts: Array<{ recordId: string; fields?: string[] }> })
          .conflicts;
      },
    };
  }

  it('told 410, reads everything again and gives the server back the patient it registered since and its edit since', async () => {
    const c = await clinic();
    await c.backup();
    // After the backup the tablet registers a patient and edits another; the server acknowledges both.
    const grace = await c.patients.create({ name: 'Grace' });
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    expect((await c.tablet.sync()).success).toBe(true);
    const acknowledged = c.tablet.queue.list().filter((o) => o.status === 'done');
    expect(acknowledged).toHaveLength(4);
    // Then an edit it has not sent yet.
    await c.patients.update(c.joseph.id, { phone: '+265 99 123 4567' });

    await c.restore();
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Its cursor was ahead of the restored database: 410, the re-read from the start, then the
    // pull after what it gave back.
    expect(c.pulls).toEqual([410, 200, 200]);
    expect(result.restored).toEqual({ resent: 2 });
    // The waiting edit, then Grace and Amina's edit as new ops: the acknowledged ones never again.
    expect(c.pushed).toHaveLength(3);
    for (const opId of c.pushed) expect(acknowledged.map((o) => o.opId)).not.toContain(opId);

    // The restored server has all of it again, and the tablet shows what it showed.
    const server = await c.onServer();
    expect(server.get(grace.id)).toEqual({ name: 'Grace' });
    expect(server.get(c.amina.id)).toEqual({ name: 'Amina', village: 'Mzuzu' });
    expect(server.get(c.joseph.id)).toMatchObject({ phone: '+265 99 123 4567' });
    expect((await c.patients.get(grace.id))?.data).toEqual({ name: 'Grace' });
    expect((await c.patients.get(c.amina.id))?.data).toEqual({ name: 'Amina', village: 'Mzuzu' });
    expect(c.tablet.queue.stats().pending).toBe(0);
    expect(await c.openConflicts()).toEqual([]);

    // And the next sync goes on from the new cursor, with nothing more to give back.
    c.pulls.length = 0;
    c.pushed.length = 0;
    const next = await c.sync();
    expect(next.restored).toBeUndefined();
    expect(c.pulls).toEqual([200]);
    expect(c.pushed).toEqual([]);
  });

  it('told even once the clinic’s positions have passed its cursor (its own waiting edits took them there)', async () => {
    const c = await clinic();
    await c.backup();
    const grace = await c.patients.create({ name: 'Grace' });
    const thoko = await c.patients.create({ name: 'Thoko' });
    expect((await c.tablet.sync()).success).toBe(true);
    // Two edits waiting: pushed before the pull, they take the restored clinic to the tablet's cursor.
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    await c.patients.update(c.joseph.id, { village: 'Dedza' });

    await c.restore();
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Refused all the same: the cursor was issued before the restore.
    expect(c.pulls).toEqual([410, 200, 200]);
    expect(result.restored).toEqual({ resent: 2 });
    const server = await c.onServer();
    expect([...server.keys()].sort()).toEqual([c.amina.id, c.joseph.id, grace.id, thoko.id].sort());
    expect(server.get(thoko.id)).toEqual({ name: 'Thoko' });
    expect((await c.patients.get(grace.id))?.data).toEqual({ name: 'Grace' });
  });

  it('weighs what it gives back against what the clinic did on the restored server meanwhile', async () => {
    const c = await clinic();
    const chikondi = await c.patients.create({ name: 'Chikondi' });
    const esther = await c.patients.create({ name: 'Esther' });
    expect((await c.tablet.sync()).success).toBe(true);
    await c.backup();
    // After the backup the tablet deletes Joseph, edits Amina's village and Chikondi's phone, and
    // registers Grace; the server acknowledges all of it.
    await c.patients.delete(c.joseph.id);
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    await c.patients.update(chikondi.id, { phone: '+265 88 000 1111' });
    await c.patients.update(esther.id, { village: 'Salima' });
    const grace = await c.patients.create({ name: 'Grace' });
    expect((await c.tablet.sync()).success).toBe(true);

    await c.restore();
    // On the restored server, before the tablet syncs, the office changes Amina's phone (another
    // field), Chikondi's phone too (the same field, later), and deletes Esther.
    await c.officePush({
      collection: 'patients',
      type: 'update',
      id: c.amina.id,
      data: { phone: '+265 1 555' },
      baseVersion: 1,
    });
    await c.officePush({
      collection: 'patients',
      type: 'update',
      id: chikondi.id,
      data: { phone: '+265 2 777' },
      baseVersion: 1,
    });
    await c.officePush({ collection: 'patients', type: 'delete', id: esther.id, baseVersion: 1 });

    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    expect(c.pulls[0]).toBe(410);
    const server = await c.onServer();
    // Joseph is deleted again: the tablet still kept its delete (keepCompletedMs: a day).
    expect(server.has(c.joseph.id)).toBe(false);
    expect(await c.patients.get(c.joseph.id)).toBeNull();
    // Amina: the tablet's village and the office's phone, merged by the patients' rule.
    expect(server.get(c.amina.id)).toEqual({ name: 'Amina', village: 'Mzuzu', phone: '+265 1 555' });
    expect((await c.patients.get(c.amina.id))?.data).toEqual({
      name: 'Amina',
      village: 'Mzuzu',
      phone: '+265 1 555',
    });
    // Chikondi: both changed the phone; the patients' rule sends that to a person to settle, and
    // neither value is lost: the server keeps the office's until then.
    const open = await c.openConflicts();
    expect(open.map((o) => o.recordId)).toEqual([chikondi.id]);
    expect(server.get(chikondi.id)).toEqual({ name: 'Chikondi', phone: '+265 2 777' });
    // Esther, deleted on the restored server after the tablet's edit: she stays deleted.
    expect(server.has(esther.id)).toBe(false);
    expect(await c.patients.get(esther.id)).toBeNull();
    expect(server.get(grace.id)).toEqual({ name: 'Grace' });
  });

  it('cut short after a page, goes on after a restart and still gives back what the first page found', async () => {
    const c = await clinic({ pullLimit: 2 });
    for (const name of ['Chisomo', 'Dalitso', 'Esther']) await c.patients.create({ name });
    expect((await c.tablet.sync()).success).toBe(true);
    await c.backup();
    const grace = await c.patients.create({ name: 'Grace' });
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    expect((await c.tablet.sync()).success).toBe(true);

    await c.restore();
    // The tablet leaves the clinic's wifi after the re-read's first page (Amina and Joseph).
    c.hooks.afterPull = (status) => {
      if (status === 200) c.network.mode = 'offline';
    };
    const cut = await c.sync();
    expect(cut.success).toBe(false);
    expect(c.pulls).toEqual([410, 200]);
    // Nothing went: the tablet shows what it showed, Amina's village now a change waiting to go back.
    expect((await c.patients.get(grace.id))?.data).toEqual({ name: 'Grace' });
    expect(await c.patients.get(c.amina.id)).toMatchObject({ data: { village: 'Mzuzu' }, pending: true });

    // The app is closed and opened again; back online, the re-read goes on where it stopped.
    await c.tablet.close();
    delete c.hooks.afterPull;
    c.network.mode = 'online';
    const reopened = await c.openTablet();
    const result = await reopened.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    expect(result.restored).toEqual({ resent: 2 });
    const server = await c.onServer();
    expect(server.get(grace.id)).toEqual({ name: 'Grace' });
    expect(server.get(c.amina.id)).toEqual({ name: 'Amina', village: 'Mzuzu' });
    expect(server.size).toBe(6);
    expect(reopened.queue.stats().pending).toBe(0);
  });

  it('restored without its jwt-secret: the saved cursor is refused, and the tablet reads everything again', async () => {
    const c = await clinic();
    await c.backup();
    // A patient of the clinic's that only the restored server will hold.
    await c.restore('another-secret-another-secret-another');
    const fromOffice = await c.createOnServer({ name: 'Chisomo' });
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Refused once (400: signed with the other secret), then read from the start.
    expect(c.pulls).toEqual([400, 200]);
    expect((await c.patients.get(fromOffice))?.data).toEqual({ name: 'Chisomo' });
    expect((await c.patients.get(c.amina.id))?.data).toEqual({ name: 'Amina' });
    // And the next sync goes on from the new cursor, refused no more.
    c.pulls.length = 0;
    expect((await c.sync()).success).toBe(true);
    expect(c.pulls).toEqual([200]);
  });
});
