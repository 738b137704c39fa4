// Signing out while a sync runs, then another person signing in on the same tablet: close() stops
// the sync at once. Not one more push leaves after it, so none of the signed-out nurse's changes go
// with the next person's token into their clinic; her changes stay on the device and reach her own
// clinic, once each, when she signs in again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { fieldClinic } from '@outpost/examples';
import { createSyncClient, indexedDbStore, memoryStore } from '../src/index';
import { TestNetwork, closeClient, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('signing out while a sync runs, then another person signs in', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it("sends nothing of the closed client's outbox after close(), under anyone's token", async () => {
    const indexedDB = new IDBFactory();
    const network = new TestNetwork();
    const nurseToken = await server.token('nurse@clinic-a.test');
    const vetToken = await server.token('vet@vet-a.test');
    // Who is signed in on the tablet: what the app's getToken reads (apps/clinic/src/app.tsx).
    let session: { token: string } | null = { token: nurseToken };
    const authSent: string[] = [];
    const fetchLogged: typeof fetch = (input, init) => {
      if (new URL(String(input)).pathname === '/v1/sync/push') {
        authSent.push(
          new Headers(init?.headers).get('authorization') === `Bearer ${vetToken}` ? 'vet-a' : 'clinic-a',
        );
      }
      return network.fetch(input, init);
    };
    const nurse = await createSyncClient({
      schema: fieldClinic,
      url: server.url,
      getToken: async () => session?.token ?? nurseToken,
      store: indexedDbStore({ name: 'outpost-clinic-a-nurse', indexedDB, IDBKeyRange }),
      deviceId: 'tablet-7',
      fetch: fetchLogged,
      autoSync: false,
      probeIntervalMs: false,
      batchSize: 1,
    });
    for (const name of ['Mphatso', 'Chikondi', 'Yamikani']) {
      await nurse.collection('patients').create({ name, village: 'Ntcheu' });
    }
    // The network comes back; the first push is on its way on a slow link.
    const held = network.holdNext('/v1/sync/push', 'answer');
    const running = nurse.sync();
    await held.reached;
    // End of shift: the nurse signs out (the app closes her client) ...
    session = null;
    await nurse.close();
    const pushesAtClose = authSent.length;
    // ... and a vet of another practice signs in on the same tablet.
    session = { token: vetToken };
    held.release();
    expect((await running).success).toBe(false);
    // Not one more push left the device after close(), under anyone's token.
    expect(authSent.length).toBe(pushesAtClose);

    // What the other practice now holds: none of the nurse's patients.
    const vet = await openClient(server, 'vet@vet-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'vet-pc',
    });
    await vet.sync();
    expect(await vet.collection('patients').find()).toEqual([]);

    // The nurse signs in again on the tablet: what she typed reaches her own clinic, once each.
    const reopened = await openClient(
      server,
      'nurse@clinic-a.test',
      indexedDbStore({ name: 'outpost-clinic-a-nurse', indexedDB, IDBKeyRange }),
      new TestNetwork(),
    );
    expect((await reopened.sync()).success).toBe(true);
    expect(reopened.queue.stats().waiting).toBe(0);
    const admin = await openClient(server, 'admin@clinic-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'desk',
    });
    await admin.sync();
    const atClinicA = (await admin.collection('patients').find()).map((p) => p.data['name']);
    expect(atClinicA.sort()).toEqual(['Chikondi', 'Mphatso', 'Yamikani']);
  });

  it('refuses what a person asks of the server after close(), before anything is sent', async () => {
    const network = new TestNetwork();
    const nurse = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network);
    await closeClient(nurse);
    const before = network.sent.length;
    for (const call of [
      () => nurse.conflicts.resolve('01a205e7-dde0-7042-a3a2-8651c142fa61', 'server-wins'),
      () => nurse.conflicts.undo('01a205e7-dde0-7042-a3a2-8651c142fa61'),
      () => nurse.conflicts.refresh(),
      () => nurse.rejections.fetch(),
      () => nurse.sync(),
    ]) {
      const outcome = await call().then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      if ('error' in outcome) expect(outcome.error).toMatchObject({ code: 'CLIENT_CLOSED' });
      else expect(outcome.value).toMatchObject({ success: false, error: { code: 'CLIENT_CLOSED' } });
    }
    expect(network.sent.length).toBe(before);
  });
});
