// An Outpost hub whose central server is restored from a backup (decisions 0021 and 0050): the
// central server on SQLite, its backup taken by `npm run backup`'s own function, and the server
// started again on the backup's copy at the same address. What the clinic's tablets did through the
// hub after the backup goes up again from the hub, and stays on the hub and its tablets. The hub's
// database on each dialect; the central server on SQLite, as the backup command copies its file.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { compareHlc, uuidv7 } from '@outpost/core';
import { backupSqlite, openSqlite } from '../../src/index';
import type { HubOptions } from '../../src/index';
import { createStorage, dialects, password, startTestServer } from '../server-fixture';
import { pullAll, push } from '../sync-client';
import type { Change, PushOp } from '@outpost/core';
import type { Storage, TestServer } from '../server-fixture';
import { Link, hubScene } from './hub-fixture';
import type { HubRun } from './hub-fixture';

describe.each(dialects())('an Outpost hub on %s whose central server is restored from a backup', (kind) => {
  let dir: string;
  let centralFile: string;
  let central: TestServer;
  let port: number;
  let hubStorage: Storage;
  let hub: TestServer;
  let link: Link;

  const centralStorage = (): Storage => ({
    kind: 'sqlite',
    open: () => openSqlite(centralFile),
    destroy: async () => undefined,
  });
  const hubOptions = (): HubOptions => ({
    url: `http://127.0.0.1:${port}`,
    accounts: [{ tenant: 'clinic-a', email: 'admin@clinic-a.test', password }],
    deviceId: 'hub-ntcheu',
    fetch: link.fetch,
    intervalMs: false,
  });
  const openHub = async () => {
    hub = await startTestServer(kind, { storage: hubStorage, server: { hub: hubOptions() } });
  };

  /** A central server on a file of its own, a fresh hub in front of it. */
  const start = async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-hub-restore-'));
    centralFile = join(dir, 'central.sqlite');
    central = await startTestServer('sqlite', { storage: centralStorage() });
    await central.app.listen({ port: 0, host: '127.0.0.1' });
    port = (central.app.server.address() as AddressInfo).port;
    link = new Link();
    hubStorage = await createStorage(kind);
    await openHub();
  };
  const backup = () => backupSqlite({ database: centralFile, destination: join(dir, 'backup.sqlite') });
  /** Stops the central server and starts it again on the backup, at the same address. */
  const restore = async () => {
    await central.close();
    rmSync(`${centralFile}-wal`, { force: true });
    rmSync(`${centralFile}-shm`, { force: true });
    copyFileSync(join(dir, 'backup.sqlite'), centralFile);
    central = await startTestServer('sqlite', { storage: centralStorage() });
    await central.app.listen({ port, host: '127.0.0.1' });
  };

  afterEach(async () => {
    await hub?.close();
    await hubStorage?.destroy();
    await central?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const {
    run: call,
    pullOnly: pullOnlyOnce,
    onTablet,
    centrally,
    record,
    tabletView,
    status,
  } = hubScene(() => ({ hub, central }));
  /** A run; one that met the connection kept alive to the stopped server is tried again. */
  const run = async (): Promise<HubRun> => {
    const first = await call();
    return first.error?.code === 'UPSTREAM_UNREACHABLE' ? call() : first;
  };
  /** A pull alone, tried again as run is. */
  const pullOnly = async (): Promise<HubRun> => {
    const first = await pullOnlyOnce();
    return first.error?.code === 'UPSTREAM_UNREACHABLE' ? pullOnlyOnce() : first;
  };
  const data = async (server: TestServer, id: string) => (await record(server, 'patients', id))?.data;

  it('gives back a patient registered and an edit made after the backup, merged with an edit made on the restored server', async () => {
    await start();
    const amina = uuidv7();
    const esther = uuidv7();
    await onTablet([
      { collection: 'patients', type: 'create', id: amina, data: { name: 'Amina' } },
      { collection: 'patients', type: 'create', id: esther, data: { name: 'Esther' } },
    ]);
    expect(await run()).toMatchObject({ success: true, push: { success: 2 } });
    await backup();

    // After the backup, through the hub: Joseph registered, Amina's village set, Esther deleted.
    const joseph = uuidv7();
    await onTablet([
      { collection: 'patients', type: 'create', id: joseph, data: { name: 'Joseph' } },
      { collection: 'patients', type: 'update', id: amina, baseVersion: 1, data: { village: 'Mzuzu' } },
      { collection: 'patients', type: 'delete', id: esther, baseVersion: 1 },
    ]);
    expect(await run()).toMatchObject({ success: true, push: { success: 3 } });

    await restore();
    expect(await data(central, joseph)).toBeUndefined();
    // On the restored server, before the hub syncs, the office adds Amina's phone.
    await centrally([
      { collection: 'patients', type: 'update', id: amina, baseVersion: 1, data: { phone: '+265 1 555' } },
    ]);

    const result = await run();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Joseph is on the restored server again, and still on the hub and its tablets.
    expect(await data(central, joseph)).toEqual({ name: 'Joseph' });
    // Amina: the hub's village and the office's phone, merged by the patients' rule.
    expect(await data(central, amina)).toEqual({ name: 'Amina', village: 'Mzuzu', phone: '+265 1 555' });
    // Esther is deleted again: the hub kept her tombstone.
    expect((await record(central, 'patients', esther))?.deleted).toBe(true);

    expect(await run()).toMatchObject({ success: true });
    const tablet = await tabletView();
    expect(tablet.get(`patients/${joseph}`)?.data).toEqual({ name: 'Joseph' });
    expect(tablet.get(`patients/${amina}`)?.data).toEqual({
      name: 'Amina',
      village: 'Mzuzu',
      phone: '+265 1 555',
    });
    expect(tablet.has(`patients/${esther}`)).toBe(false);
  });

  /** Amina registered through the hub before the backup, her village set after it; the server restored. */
  const editedAfterBackup = async () => {
    await start();
    const amina = uuidv7();
    await onTablet([{ collection: 'patients', type: 'create', id: amina, data: { name: 'Amina' } }]);
    expect(await run()).toMatchObject({ success: true });
    await backup();
    await onTablet([
      { collection: 'patients', type: 'update', id: amina, baseVersion: 1, data: { village: 'Mzuzu' } },
    ]);
    expect(await run()).toMatchObject({ success: true, push: { success: 1 } });
    await restore();
    expect(await data(central, amina)).toEqual({ name: 'Amina' });
    return amina;
  };

  it('gives back an edit made after the backup', async () => {
    const amina = await editedAfterBackup();
    expect(await run()).toMatchObject({ success: true });
    expect(await data(central, amina)).toEqual({ name: 'Amina', village: 'Mzuzu' });
    expect(await data(hub, amina)).toEqual({ name: 'Amina', village: 'Mzuzu' });
  });

  it('merges an edit given back with one made meanwhile on the restored server to another field', async () => {
    const amina = await editedAfterBackup();
    await centrally([
      { collection: 'patients', type: 'update', id: amina, baseVersion: 1, data: { phone: '+265 1 555' } },
    ]);
    const result = await run();
    expect(result.success).toBe(true);
    expect(result.conflicts.map((c) => c.resolution)).toEqual(['Merged']);
    expect(await data(central, amina)).toEqual({ name: 'Amina', village: 'Mzuzu', phone: '+265 1 555' });
    expect(await run()).toMatchObject({ success: true });
    expect(await data(hub, amina)).toEqual({ name: 'Amina', village: 'Mzuzu', phone: '+265 1 555' });
  });

  it('still gives back after a restart that cut the re-read of the restored server short', async () => {
    await start();
    const amina = uuidv7();
    await onTablet([{ collection: 'patients', type: 'create', id: amina, data: { name: 'Amina' } }]);
    expect(await run()).toMatchObject({ success: true });
    await backup();
    const joseph = uuidv7();
    await onTablet([
      { collection: 'patients', type: 'create', id: joseph, data: { name: 'Joseph' } },
      { collection: 'patients', type: 'update', id: amina, baseVersion: 1, data: { village: 'Mzuzu' } },
    ]);
    expect(await run()).toMatchObject({ success: true, push: { success: 2 } });
    await restore();

    // The hub meets the restored server's 410, and the link drops as the re-read begins.
    link.cutAfterExpired = true;
    const cut = await run();
    expect(cut.error?.code).toBe('UPSTREAM_UNREACHABLE');
    expect(link.expiredSeen).toBe(true);
    // The hub restarts, and the link is back.
    await hub.close();
    link = new Link();
    await openHub();

    expect(await run()).toMatchObject({ success: true });
    expect(await data(central, joseph)).toEqual({ name: 'Joseph' });
    expect(await data(central, amina)).toEqual({ name: 'Amina', village: 'Mzuzu' });
    const tablet = await tabletView();
    expect(tablet.get(`patients/${joseph}`)?.data).toEqual({ name: 'Joseph' });
    expect(tablet.get(`patients/${amina}`)?.data).toEqual({ name: 'Amina', village: 'Mzuzu' });
  });

  /**
   * A visit to Amina entered through the hub after the central server's backup, then deleted through
   * the hub (the deletion relayed upstream), and the central server restored: it never had the
   * visit. A tablet syncing straight with the central server pulled the visit before the deletion
   * and still holds it (its re-read will give it back as a create, at the HLC it holds).
   */
  const visitDeletedAfterBackup = async (deletion: 'relayed' | 'still to go' = 'relayed') => {
    await start();
    const amina = uuidv7();
    await onTablet([{ collection: 'patients', type: 'create', id: amina, data: { name: 'Amina' } }]);
    expect(await run()).toMatchObject({ success: true });
    await backup();
    const visit = uuidv7();
    await onTablet([
      {
        collection: 'encounters',
        type: 'create',
        id: visit,
        data: { patientId: amina, diagnosis: 'malaria' },
      },
    ]);
    expect(await run()).toMatchObject({ success: true, push: { success: 1 } });
    const { changes } = await pullAll(central, await central.token('nurse@clinic-a.test'));
    const held = changes.find((c) => c.collection === 'encounters' && c.id === visit);
    expect(held?.deleted).toBe(false);
    if (deletion === 'still to go') link.mode = 'down';
    // The visit was entered on the wrong patient: the clinic deletes it.
    await onTablet([{ collection: 'encounters', type: 'delete', id: visit, baseVersion: 1 }]);
    if (deletion === 'relayed') {
      expect(await run()).toMatchObject({ success: true, push: { success: 1 } });
      expect((await record(central, 'encounters', visit))?.deleted).toBe(true);
    }
    await restore();
    link.mode = 'up';
    expect(await record(central, 'encounters', visit)).toBeNull();
    return { visit, held: held as Change };
  };
  /** The tablet syncing straight with the central server gives the visit back, as its re-read does. */
  const givenBackDirectly = async (held: Change) =>
    push(
      central,
      await central.token('nurse@clinic-a.test'),
      [{ collection: 'encounters', type: 'create', id: held.id, data: held.data ?? {}, hlc: held.hlc }],
      { clientId: 'tablet-direct', deviceId: 'tablet-direct' },
    );
  /** The visit is deleted upstream, on the hub, and on none of the hub's tablets. */
  const staysDeleted = async (visit: string) => {
    expect((await record(central, 'encounters', visit))?.deleted).toBe(true);
    expect(await run()).toMatchObject({ success: true });
    expect((await record(hub, 'encounters', visit))?.deleted).toBe(true);
    expect((await tabletView()).has(`encounters/${visit}`)).toBe(false);
  };

  it('gives back a deletion made through the hub after the backup, which a tablet giving the record back later meets', async () => {
    const { visit, held } = await visitDeletedAfterBackup();
    const sent: PushOp[] = [];
    link.fake = (url, init) => {
      if (url.includes('/v1/sync/push'))
        sent.push(...(JSON.parse(String(init?.body)) as { ops: PushOp[] }).ops);
      return null;
    };
    const result = await run();
    expect(result).toMatchObject({ success: true, push: { success: 1 } });
    // A delete marked given back, on no base version (none the restored server knows), at the time
    // of the deletion: after the copy the other tablet holds.
    expect(sent.map((op) => [op.type, op.id, op.givenBack, op.baseVersion])).toEqual([
      ['delete', visit, true, undefined],
    ]);
    expect(compareHlc(String(sent[0]?.hlc), held.hlc)).toBeGreaterThan(0);
    // The restored server keeps the deletion as a tombstone, though it never had the visit.
    expect(await record(central, 'encounters', visit)).toMatchObject({ deleted: true, version: 1 });

    // The other tablet's create meets the deletion: the encounters' rule (last write wins) keeps the
    // deletion, made after the copy that tablet holds.
    const given = await givenBackDirectly(held);
    expect(given.results.map((r) => [r.status, r.conflict?.kind, r.conflict?.outcome])).toEqual([
      ['conflict', 'delete-update', 'server-won'],
    ]);
    await staysDeleted(visit);
  });

  it('deletes again a visit another tablet gave back before the hub read the restored server', async () => {
    const { visit, held } = await visitDeletedAfterBackup();
    expect((await givenBackDirectly(held)).results[0]?.status).toBe('applied');
    expect((await record(central, 'encounters', visit))?.deleted).toBe(false);
    const result = await run();
    expect(result).toMatchObject({ success: true, push: { success: 1 } });
    await staysDeleted(visit);
  });

  it('gives back a deletion that had not gone up when the central server was restored', async () => {
    const { visit, held } = await visitDeletedAfterBackup('still to go');
    // The plain delete meets a server with no such record (NOT_FOUND), then the re-read gives it back.
    expect(await run()).toMatchObject({ success: true });
    expect(await record(central, 'encounters', visit)).toMatchObject({ deleted: true, version: 1 });
    const given = await givenBackDirectly(held);
    expect(given.results.map((r) => r.conflict?.outcome)).toEqual(['server-won']);
    await staysDeleted(visit);
  });

  it('keeps a deletion given back that has not gone up yet under a tablet’s give-back the hub pulls first', async () => {
    const { visit, held } = await visitDeletedAfterBackup();
    // Pulled alone: the hub reads the restored server and queues the deletion, which has not gone.
    expect(await pullOnly()).toMatchObject({ success: true });
    expect(await record(central, 'encounters', visit)).toBeNull();
    // The other tablet gives the visit back, and the hub's next pull brings it alive.
    expect((await givenBackDirectly(held)).results[0]?.status).toBe('applied');
    expect(await pullOnly()).toMatchObject({ success: true });
    expect((await tabletView()).has(`encounters/${visit}`)).toBe(false);
    // The deletion goes, weighed against the visit by its time: made after that tablet's copy.
    expect(await run()).toMatchObject({ success: true, push: { success: 1 } });
    await staysDeleted(visit);
  });

  it('applies a deletion given back once, though the answer to it was lost', async () => {
    const { visit, held } = await visitDeletedAfterBackup();
    link.mode = 'lose-push-answer';
    const lost = await run();
    expect(lost.error?.code).toBe('UPSTREAM_UNREACHABLE');
    // The central server applied it; the hub does not know.
    expect(await record(central, 'encounters', visit)).toMatchObject({ deleted: true, version: 1 });
    link.mode = 'up';
    const pushes = link.pushesSent;
    expect(await run()).toMatchObject({ success: true, push: { success: 1 } });
    expect(link.pushesSent).toBe(pushes + 1);
    // Sent again as it was, answered with its first outcome: the same tombstone, applied once.
    expect(await record(central, 'encounters', visit)).toMatchObject({ deleted: true, version: 1 });
    expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0 });
    const given = await givenBackDirectly(held);
    expect(given.results.map((r) => r.conflict?.outcome)).toEqual(['server-won']);
    await staysDeleted(visit);
  });
});
