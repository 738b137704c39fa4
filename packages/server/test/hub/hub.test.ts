// An Outpost hub (seed 004's device API) in front of a real central server on a loopback port: a
// clinic's tablets write to the hub, and the hub's run, push, pull and status exchange with the
// central server. The hub is SQLite (seed 004's device is); the central server runs on each dialect.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { createSyncServer } from '../../src/index';
import type { HubOptions } from '../../src/index';
import { createStorage, dialects, password, startTestServer, testSecret } from '../server-fixture';
import type { DialectName, Storage, TestServer } from '../server-fixture';
import { Link, hubScene } from './hub-fixture';

describe.each(dialects())('an Outpost hub relaying to a central server on %s', (centralKind: DialectName) => {
  let central: TestServer;
  let centralUrl: string;
  let hubStorage: Storage;
  let hub: TestServer;
  let link: Link;

  const hubOptions = (): HubOptions => ({
    url: centralUrl,
    accounts: [{ tenant: 'clinic-a', email: 'admin@clinic-a.test', password }],
    deviceId: 'hub-ntcheu',
    fetch: link.fetch,
    intervalMs: false,
  });

  beforeAll(async () => {
    central = await startTestServer(centralKind);
    const address = await central.app.listen({ port: 0, host: '127.0.0.1' });
    centralUrl = address;
  });
  afterAll(async () => {
    await central.close();
    await central.storage.destroy();
  });

  const openHub = async () => {
    link ??= new Link();
    hub = await startTestServer('sqlite', { storage: hubStorage, server: { hub: hubOptions() } });
  };

  /** A fresh hub for each test: its own clinic data folder, an empty queue, a working link. */
  const freshHub = async () => {
    link = new Link();
    hubStorage = await createStorage('sqlite');
    await openHub();
  };
  afterEach(async () => {
    await hub?.close();
    await hubStorage?.destroy();
  });

  const { call: run, status, onTablet, centrally, record, tabletView } = hubScene(() => ({ hub, central }));

  it("sends a tablet's changes up once, brings the central server's down to the tablets, and says so in seed 004's words", async () => {
    await freshHub();
    const patientId = uuidv7();
    await onTablet([{ collection: 'patients', type: 'create', id: patientId, data: { name: 'Amina K.' } }]);
    // Three edits before any sync: one queue item (seed 004's deduplication).
    await onTablet([
      { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { village: 'Ntcheu' } },
    ]);
    await onTablet([
      { collection: 'patients', type: 'update', id: patientId, baseVersion: 2, data: { phone: '0999' } },
    ]);
    const before = await status();
    expect(before).toMatchObject({ pending: 1, processing: 0, failed: 0, lastSyncAt: null, health: 'ok' });
    expect(before.oldestPendingAt).not.toBeNull();

    const first = await run();
    expect(first).toMatchObject({
      success: true,
      push: { total: 1, success: 1, failed: 0, conflicts: 0 },
      conflicts: [],
    });
    expect(await record(central, 'patients', patientId)).toMatchObject({
      version: 1,
      data: { name: 'Amina K.', village: 'Ntcheu', phone: '0999' },
    });
    const after = await status();
    expect(after).toMatchObject({ pending: 0, processing: 0, failed: 0, oldestPendingAt: null });
    expect(after.lastSyncAt).not.toBeNull();

    // The central desk corrects the village; the next run brings it to every tablet of the hub.
    await centrally([
      { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { village: 'Dedza' } },
    ]);
    const second = await run();
    expect(second.push.total).toBe(0);
    expect(second.pull).toMatchObject({ applied: 1, conflicts: 0 });
    expect((await tabletView()).get(`patients/${patientId}`)?.data).toEqual({
      name: 'Amina K.',
      village: 'Dedza',
      phone: '0999',
    });
    // Nothing the hub wrote from upstream goes back up.
    expect(await status()).toMatchObject({ pending: 0 });
    expect((await run()).push.total).toBe(0);
  });

  it('sends again, as it was, a push whose answer was lost, and the central server applies it once', async () => {
    await freshHub();
    const encounterPatient = uuidv7();
    await onTablet([
      { collection: 'patients', type: 'create', id: encounterPatient, data: { name: 'Grace M.' } },
    ]);
    link.mode = 'lose-push-answer';
    const lost = await run();
    expect(lost.success).toBe(false);
    expect(lost.error?.code).toBe('UPSTREAM_UNREACHABLE');
    expect(await status()).toMatchObject({ pending: 0, processing: 1 });
    // The central server had it all along.
    expect(await record(central, 'patients', encounterPatient)).toMatchObject({ version: 1 });

    // Meanwhile the nurse edits the patient again: it waits behind the item in flight.
    await onTablet([
      {
        collection: 'patients',
        type: 'update',
        id: encounterPatient,
        baseVersion: 1,
        data: { sex: 'female' },
      },
    ]);
    link.mode = 'up';
    const again = await run();
    expect(again).toMatchObject({ success: true, push: { total: 2, success: 2, failed: 0 } });
    const stored = await record(central, 'patients', encounterPatient);
    // Created once (version 1), edited once (version 2): the resend applied nothing twice.
    expect(stored).toMatchObject({ version: 2, data: { name: 'Grace M.', sex: 'female' } });
    expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0 });
  });

  it('keeps a change made on the hub under a pull that changed the same record, and sends it with the next push', async () => {
    await freshHub();
    const patientId = uuidv7();
    await onTablet([{ collection: 'patients', type: 'create', id: patientId, data: { name: 'Chisomo B.' } }]);
    await run();
    // Both sides change the patient: the hub's tablet the village, the central desk the phone.
    await onTablet([
      { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { village: 'Mchinji' } },
    ]);
    await centrally([
      { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { phone: '0888' } },
    ]);

    const pulled = await run('/api/v1/sync/pull?sinceUtc=2026-02-17T00:00:00Z', 'GET');
    expect(pulled).toMatchObject({ success: true, pull: { total: 1, conflicts: 1 } });
    expect(pulled.conflicts[0]).toMatchObject({
      entityType: 'Patient',
      entityId: patientId,
      resolution: 'PendingLocalChange',
    });
    // The tablet sees both: the village typed here is not lost to the central phone.
    expect((await tabletView()).get(`patients/${patientId}`)?.data).toEqual({
      name: 'Chisomo B.',
      village: 'Mchinji',
      phone: '0888',
    });
    expect(await status()).toMatchObject({ pending: 1 });

    const pushed = await run('/api/v1/sync/push');
    expect(pushed).toMatchObject({ success: true, push: { total: 1, success: 1, conflicts: 0 } });
    // Sent on the version it was made on, it met the central phone, and the two merged.
    expect(pushed.conflicts).toEqual([
      expect.objectContaining({ entityId: patientId, resolution: 'Merged' }),
    ]);
    // The patients rule merges fields changed on different sides.
    expect((await record(central, 'patients', patientId))?.data).toEqual({
      name: 'Chisomo B.',
      village: 'Mchinji',
      phone: '0888',
    });
  });

  it('reports a change to a note signed centrally as RejectedImmutable, and takes the signed note', async () => {
    await freshHub();
    const patientId = uuidv7();
    const encounterId = uuidv7();
    const noteId = uuidv7();
    await onTablet([
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Esther P.' } },
      { collection: 'encounters', type: 'create', id: encounterId, data: { patientId } },
      {
        collection: 'clinicalNotes',
        type: 'create',
        id: noteId,
        data: { encounterId, body: 'Knee pain, day 1.' },
      },
    ]);
    expect((await run()).push).toMatchObject({ total: 3, success: 3 });
    await centrally([
      {
        collection: 'clinicalNotes',
        type: 'update',
        id: noteId,
        baseVersion: 1,
        data: { signatureHash: 'sha256:abc', signedAt: '2026-11-23T09:00:00Z' },
      },
    ]);
    // The hub has not heard of the signature when its tablet edits the note.
    await onTablet([
      {
        collection: 'clinicalNotes',
        type: 'update',
        id: noteId,
        baseVersion: 1,
        data: { body: 'Knee pain, day 2.' },
      },
    ]);

    const result = await run();
    expect(result.push).toMatchObject({ total: 1, success: 0, conflicts: 1 });
    expect(result.conflicts).toContainEqual(
      expect.objectContaining({
        entityType: 'ClinicalNote',
        entityId: noteId,
        resolution: 'RejectedImmutable',
      }),
    );
    // The central note is as signed; the hub's tablets now see the signed note, not the edit.
    expect((await record(central, 'clinicalNotes', noteId))?.data).toMatchObject({
      body: 'Knee pain, day 1.',
      signatureHash: 'sha256:abc',
    });
    expect((await tabletView()).get(`clinicalNotes/${noteId}`)?.data).toMatchObject({
      body: 'Knee pain, day 1.',
      signatureHash: 'sha256:abc',
    });
    // The refused edit is kept in the central conflict archive, not lost.
    const archive = await central.request<{
      conflicts: Array<{ recordId: string; kind: string; client: { data: unknown } }>;
    }>({
      method: 'GET',
      url: '/v1/conflicts?status=resolved',
      token: await central.token('admin@clinic-a.test'),
    });
    expect(archive.body.conflicts.find((c) => c.recordId === noteId)).toMatchObject({
      kind: 'immutable',
      client: { data: { body: 'Knee pain, day 2.' } },
    });
    expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0 });
  });

  it('tries a refused change again up to MaxRetries, then leaves it Failed', async () => {
    await freshHub();
    const patientId = uuidv7();
    await onTablet([{ collection: 'patients', type: 'create', id: patientId, data: { name: 'Joseph N.' } }]);
    await run();
    // The central desk deletes the patient while the hub's tablet records a visit for them.
    await centrally([{ collection: 'patients', type: 'delete', id: patientId, baseVersion: 1 }]);
    const encounterId = uuidv7();
    await onTablet([
      {
        collection: 'encounters',
        type: 'create',
        id: encounterId,
        data: { patientId, diagnosis: 'Malaria' },
      },
    ]);

    const first = await run('/api/v1/sync/push');
    expect(first.push).toMatchObject({ total: 1, success: 0, failed: 1 });
    expect(await status()).toMatchObject({ pending: 0, failed: 1 });
    await run('/api/v1/sync/push');
    await run('/api/v1/sync/push');
    // Three attempts (seed 004's MaxRetries): the fourth push sends nothing.
    const pushesBefore = link.pushesSent;
    expect((await run('/api/v1/sync/push')).push.total).toBe(0);
    expect(link.pushesSent).toBe(pushesBefore);
    expect(await status()).toMatchObject({ failed: 1 });
    // The visit stays on the hub's tablets; nothing was thrown away.
    expect((await tabletView()).get(`encounters/${encounterId}`)?.data).toMatchObject({
      diagnosis: 'Malaria',
    });
    // A new edit of the visit gives it new attempts.
    await onTablet([
      { collection: 'encounters', type: 'update', id: encounterId, baseVersion: 1, data: { notes: 'fever' } },
    ]);
    expect(await status()).toMatchObject({ pending: 1, failed: 0 });
  });

  it('keeps its queue through a lost link and a restart, and finishes the exchange afterwards', async () => {
    await freshHub();
    const patientId = uuidv7();
    await onTablet([{ collection: 'patients', type: 'create', id: patientId, data: { name: 'Mercy T.' } }]);
    link.mode = 'down';
    const offline = await run();
    expect(offline).toMatchObject({ success: false, error: { code: 'UPSTREAM_UNREACHABLE' } });
    expect(offline.push.failed).toBe(1);
    expect(await record(central, 'patients', patientId)).toBeNull();

    await hub.close();
    link.mode = 'up';
    await openHub();
    expect(await status()).toMatchObject({ processing: 1 });
    expect(await run()).toMatchObject({ success: true, push: { success: 1 } });
    expect(await record(central, 'patients', patientId)).toMatchObject({ data: { name: 'Mercy T.' } });
    expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0 });
  });

  it('syncs by itself every interval once the link is back, with nobody pressing a button', async () => {
    link = new Link();
    link.mode = 'down';
    hubStorage = await createStorage('sqlite');
    hub = await startTestServer('sqlite', {
      storage: hubStorage,
      server: { hub: { ...hubOptions(), intervalMs: 50 } },
    });
    await hub.app.ready();
    const patientId = uuidv7();
    await onTablet([
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Tiyamike L.' } },
    ]);
    link.mode = 'up';
    await expect
      .poll(async () => (await record(central, 'patients', patientId))?.data, {
        timeout: 15_000,
        interval: 100,
      })
      .toEqual({ name: 'Tiyamike L.' });
    await expect
      .poll(async () => (await status()).lastSyncAt, { timeout: 15_000, interval: 100 })
      .not.toBeNull();
  });

  it('refuses what it cannot do with a clear 4xx, and changes nothing', async () => {
    await freshHub();
    await onTablet([{ collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Ruth W.' } }]);
    const token = await hub.token('nurse@clinic-a.test');
    const noToken = await hub.request({ method: 'POST', url: '/api/v1/sync/run' });
    expect(noToken.status).toBe(401);
    const badTime = await hub.request({ method: 'GET', url: '/api/v1/sync/pull?sinceUtc=yesterday', token });
    expect(badTime.status).toBe(400);
    expect(badTime.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    // A clinic this hub does not relay.
    const otherClinic = await hub.request({
      method: 'POST',
      url: '/api/v1/sync/run',
      token: await hub.token('nurse@clinic-b.test'),
    });
    expect(otherClinic.status).toBe(404);
    expect(otherClinic.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    // The seed's client posts JSON with an empty body.
    const emptyJson = await hub.request({
      method: 'POST',
      url: '/api/v1/sync/push',
      token,
      headers: { 'content-type': 'application/json' },
    });
    expect(emptyJson.status).toBe(200);
    // The central server is no hub.
    const notHub = await central.request({
      method: 'POST',
      url: '/api/v1/sync/run',
      token: await central.token('nurse@clinic-a.test'),
    });
    expect(notHub.status).toBe(404);
  });
});

describe('a hub that could never relay is refused when it is made', () => {
  it('refuses a tenant whose schema has ids the server assigns, and a bad upstream URL', async () => {
    const storage = await createStorage('sqlite');
    try {
      const make = async (hub: HubOptions) => {
        const database = await storage.open();
        try {
          return await createSyncServer({
            schema: fieldClinic,
            tenantSchemas: { 'vet-a': vetPractice },
            database,
            auth: { jwtSecret: testSecret },
            hub,
          });
        } finally {
          await database.close();
        }
      };
      await expect(
        make({
          url: 'http://127.0.0.1:9',
          accounts: [{ tenant: 'vet-a', email: 'admin@vet-a.test', password }],
        }),
      ).rejects.toThrow(/ids the server assigns \(users, pets, appointments, soapNotes\)/);
      await expect(
        make({
          url: 'not a url',
          accounts: [{ tenant: 'clinic-a', email: 'admin@clinic-a.test', password }],
        }),
      ).rejects.toThrow(/not a URL/);
      await expect(make({ url: 'http://127.0.0.1:9', accounts: [] })).rejects.toThrow(/no upstream account/);
    } finally {
      await storage.destroy();
    }
  });
});
