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
import { uuidv7 } from '@outpost/core';
import { backupSqlite, openSqlite } from '../../src/index';
import type { HubOptions } from '../../src/index';
import { createStorage, dialects, password, startTestServer } from '../server-fixture';
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

  const { run: call, onTablet, centrally, record, tabletView } = hubScene(() => ({ hub, central }));
  /** A run; one that met the connection kept alive to the stopped server is tried again. */
  const run = async (): Promise<HubRun> => {
    const first = await call();
    return first.error?.code === 'UPSTREAM_UNREACHABLE' ? call() : first;
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
});
