// What an application sees of the client: joined syncs, progress, automatic syncs, the retry
// limit, conflicts settled through the server, and an encrypted IndexedDB store end to end.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { isTempId, settledMeanwhile } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { encryptedStore, indexedDbStore, memoryStore } from '../src/index';
import type { SyncProgress } from '../src/index';
import {
  ManualTimers,
  TestNetwork,
  closeClient,
  closeClients,
  openClient,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('the client as an application sees it', () => {
  let server: TestServer;
  let vets: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
    vets = await startServer(vetPractice);
  });
  afterAll(async () => {
    await server.close();
    await vets.close();
  });

  it('joins a sync already running instead of starting a second, and reports progress', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      batchSize: 4,
      deviceId: 'tablet-3',
    });
    for (let i = 0; i < 10; i++) await client.collection('patients').create({ name: `Joined ${i}` });
    const progress: SyncProgress[] = [];
    client.on('progress', (p) => progress.push(p));
    const [a, b] = [client.sync(), client.sync()];
    expect(client.isSyncing).toBe(true);
    expect(await a).toBe(await b);
    expect(network.pushes()).toHaveLength(3);
    // The start is told at once, before the total is known; then each batch.
    expect(progress[0]).toEqual({ phase: 'push', processed: 0, total: null, percentage: null });
    const push = progress.filter((p) => p.phase === 'push' && p.total !== null);
    expect(push.map((p) => p.processed)).toEqual([0, 4, 8, 10]);
    expect(push.at(-1)?.percentage).toBe(100);
    expect(progress.some((p) => p.phase === 'pull')).toBe(true);
    expect(progress.at(-1)?.phase).toBe('done');
    expect(client.lastResult?.pushed.applied).toBe(10);
  });

  it("measures a sync's duration from its start to its finish, and never below 0 when the clock is set back", async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, { timers });
    await client.collection('patients').create({ name: 'Timed' });
    const push = network.holdNext('/v1/sync/push');
    const running = client.sync();
    await push.reached;
    await timers.advance(1_500);
    push.release();
    const result = await running;
    expect(result).toMatchObject({ success: true, pushed: { applied: 1 }, duration: 1_500 });
    expect(result.duration).toBe(Date.parse(result.finishedAt) - Date.parse(result.startedAt));

    // The tablet's clock put back an hour while a sync ran: its finish reads before its start.
    let now = timers.now();
    const setBack = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      deviceId: 'tablet-8',
      timers: { now: () => now, setTimeout: () => null, clearTimeout: () => undefined },
    });
    const pull = network.holdNext('/v1/sync/pull');
    const again = setBack.sync();
    await pull.reached;
    now -= 3_600_000;
    pull.release();
    const late = await again;
    expect(Date.parse(late.finishedAt)).toBeLessThan(Date.parse(late.startedAt));
    expect(late).toMatchObject({ success: true, duration: 0 });
  });

  it('refuses on the device data the server could never take, and queues nothing of it', async () => {
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork());
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 40; i++) deep = { inner: deep };
    const patients = client.collection('patients');
    await expect(patients.create({ name: 'Deep', notes: deep } as never)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'data may nest at most 32 levels deep',
    });
    // As a form's JSON would bring it: JSON.parse makes __proto__ an ordinary key.
    await expect(
      patients.create(JSON.parse('{"name":"P","__proto__":{"a":1}}') as never),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'data may not have a key named __proto__',
    });
    expect(client.queue.stats().total).toBe(0);
  });

  it('runs one more sync after the running one when asked once it has taken its outbox, so nothing is left waiting', async () => {
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork());
    await client.collection('patients').create({ name: 'Before the sync' });
    let meanwhile: Promise<unknown> | null = null;
    client.on('progress', (p) => {
      if (p.phase === 'pull' && meanwhile === null) {
        meanwhile = client
          .collection('patients')
          .create({ name: 'Made while the first sync pulled' })
          .then(() => client.sync());
      }
    });
    const first = await client.sync();
    expect(first.pushed.applied).toBe(1);
    const second = await (meanwhile as unknown as ReturnType<typeof client.sync>);
    expect(second).not.toBe(first);
    expect(second.pushed.applied).toBe(1);
    expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 2 });
  });

  it('syncs by itself when the network comes back, and on its interval', async () => {
    const network = new TestNetwork();
    const events = new EventTarget();
    const timers = new ManualTimers();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      autoSync: { onReconnect: true, intervalMs: 60_000 },
      probeIntervalMs: 0,
      events,
      timers,
    });
    network.mode = 'offline';
    events.dispatchEvent(new Event('offline'));
    await vi.waitFor(() => expect(client.network.status.online).toBe(false));
    await client.collection('patients').create({ name: 'Made offline' });
    network.mode = 'online';
    events.dispatchEvent(new Event('online'));
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 1 }));

    await client.collection('patients').create({ name: 'Made online, synced on the interval' });
    expect(client.queue.stats().pending).toBe(1);
    await timers.advance(60_000);
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 2 }));
  });

  it('syncs at once when the server answers again, though requests failed while it could not be reached', async () => {
    const network = new TestNetwork();
    const events = new EventTarget();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      autoSync: { onReconnect: true },
      probeIntervalMs: 0,
      events,
      circuitBreaker: { failureThreshold: 1, cooldownMs: 10 * 60_000 },
    });
    await client.collection('patients').create({ name: 'Made while the uplink was down' });
    network.mode = 'offline';
    // The uplink goes without the interface noticing: a sync fails, and the breaker opens.
    expect((await client.sync()).success).toBe(false);
    events.dispatchEvent(new Event('offline'));
    await vi.waitFor(() => expect(client.network.status.online).toBe(false));
    network.mode = 'online';
    events.dispatchEvent(new Event('online'));
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 1 }));
  });

  it('after the retry limit an op stays failed and visible until retried by hand', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      retry: { maxAttempts: 2 },
      circuitBreaker: { failureThreshold: 100 },
    });
    const p = await client.collection('patients').create({ name: 'Stubborn' });
    network.mode = 'offline';
    await client.syncToServer();
    expect(client.queue.list()[0]).toMatchObject({ status: 'pending', attempts: 1 });
    await client.syncToServer();
    expect(client.queue.list()[0]).toMatchObject({
      status: 'failed',
      attempts: 2,
      lastError: { code: 'NETWORK' },
    });
    expect((await client.collection('patients').get(p.id))?.pending).toBe(true);
    network.mode = 'online';
    await client.sync();
    expect(client.queue.stats().failed).toBe(1);
    expect(await client.queue.retry()).toBe(1);
    await client.sync();
    expect(client.queue.stats()).toMatchObject({ failed: 0, completed: 1 });
    expect(await client.queue.clearCompleted()).toBe(1);
    expect(client.queue.stats().total).toBe(0);
  });

  it('sends an op retried by hand with the sync asked for next, even while another sync pulls', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      retry: { maxAttempts: 1 },
      circuitBreaker: { failureThreshold: 100 },
    });
    const p = await client.collection('patients').create({ name: 'Retried during a pull' });
    network.mode = 'offline';
    await client.syncToServer();
    expect(client.queue.stats().failed).toBe(1);
    network.mode = 'online';
    // The nurse presses "retry" and "sync now" while the tablet's own sync is pulling: its push
    // is over, so only the sync asked for after it can send the op.
    const pull = network.holdNext('/v1/sync/pull');
    const first = client.sync();
    await pull.reached;
    expect(await client.queue.retry()).toBe(1);
    const second = client.sync();
    pull.release();
    expect((await first).pushed.sent).toBe(0);
    expect(await second).not.toBe(await first);
    expect(
      network
        .pushes()
        .at(-1)
        ?.ops.map((o) => o.id),
    ).toEqual([p.id]);
    expect((await second).pushed.applied).toBe(1);
    expect(client.queue.stats()).toMatchObject({ pending: 0, failed: 0, completed: 1 });
    expect((await client.collection('patients').get(p.id))?.pending).toBe(false);
  });

  it('a person\'s "Sync now" tries a resting server at once and sends again what gave up, never what was refused', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      retry: { maxAttempts: 1 },
      circuitBreaker: { failureThreshold: 1, cooldownMs: 10 * 60_000 },
    });
    // A visit for a patient that exists nowhere: the server refuses it for good.
    await client.collection('encounters').create({ patientId: crypto.randomUUID(), date: '2026-11-22' });
    await client.sync();
    expect(client.queue.stats()).toMatchObject({ failed: 1, refused: 1 });
    expect(client.queue.list()[0]?.lastError?.code).toBe('UNRESOLVED_REFERENCE');

    const p = await client.collection('patients').create({ name: 'Sent again by hand' });
    network.mode = 'offline';
    await client.syncToServer();
    expect(client.queue.stats()).toMatchObject({ failed: 2, refused: 1, stopped: 1, waiting: 1 });
    network.mode = 'online';

    // The device's own syncs no longer try: the retry limit is reached, and the circuit breaker
    // rests the server that failed for ten minutes.
    const requests = network.sent.length;
    const own = await client.sync();
    expect(own.success).toBe(false);
    expect(own.error?.message).toMatch(/server is failing/);
    expect(network.sent).toHaveLength(requests);
    // A person asking does, and sends only the op that can still go.
    const asked = await client.sync({ manual: true });
    expect(asked.pushed).toMatchObject({ sent: 1, applied: 1 });
    expect(
      network
        .pushes()
        .at(-1)
        ?.ops.map((o) => o.id),
    ).toEqual([p.id]);
    expect(client.queue.stats()).toMatchObject({
      failed: 1,
      refused: 1,
      stopped: 0,
      waiting: 0,
      completed: 1,
    });
    expect(await client.queue.retry()).toBe(0);
  });

  /**
   * A prescription of 500 mg whose dose the office and then the nurse changed, each on their own
   * device: the office synced first, so the nurse's change is an open conflict (prescriptions are
   * settled by a person).
   */
  async function doseConflict(doses: { office: string; nurse: string }) {
    const nurseNetwork = new TestNetwork();
    const nurse = await openClient(server, 'nurse@clinic-a.test', memoryStore(), nurseNetwork);
    const admin = await openClient(server, 'admin@clinic-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'office',
    });
    const patient = await nurse.collection('patients').create({ name: 'Rx patient' });
    const prescriptions = nurse.collection('prescriptions');
    const rx = await prescriptions.create({ patientId: patient.id, drug: 'Amoxicillin', dose: '500 mg' });
    await nurse.sync();
    await admin.sync();
    await admin.collection('prescriptions').update(rx.id, { dose: doses.office });
    await prescriptions.update(rx.id, { dose: doses.nurse });
    await admin.sync();
    await nurse.sync();
    const [conflict] = nurse.conflicts.list({ status: 'open' });
    return { nurse, nurseNetwork, admin, rx, conflict };
  }

  it('settles a conflict through the server and shows the result, then undoes it', async () => {
    const { nurse, nurseNetwork, admin, rx, conflict } = await doseConflict({
      office: '250 mg',
      nurse: '1 g',
    });
    expect(conflict?.summary).toMatchObject({ strategy: 'manual', client: { data: { dose: '1 g' } } });
    // The prescription shows the server's dose, and says the nurse's waits for a person.
    expect(await nurse.collection('prescriptions').get(rx.id)).toMatchObject({
      data: { dose: '250 mg' },
      pending: false,
      awaitingReview: true,
    });

    // The office device raised nothing itself: it learns of the nurse's conflict from the archive.
    expect(admin.conflicts.list()).toEqual([]);
    expect(await admin.conflicts.refresh()).toBe(1);
    expect(admin.conflicts.list({ status: 'open' })).toMatchObject([
      { id: conflict?.id, recordId: rx.id, opType: 'update', summary: { client: { data: { dose: '1 g' } } } },
    ]);
    await admin.conflicts.resolve(conflict?.id as string, 'client-wins');
    expect((await admin.collection('prescriptions').get(rx.id))?.data['dose']).toBe('1 g');
    expect(admin.conflicts.list({ status: 'open' })).toEqual([]);
    // The nurse's next sync brings the settled dose and, with it, the conflict's settlement: the
    // open conflicts no longer list hers, so that record's conflicts are read.
    const conflictReads = () => nurseNetwork.sent.filter((r) => r.path.startsWith('/v1/conflicts')).length;
    const readsBefore = conflictReads();
    await nurse.sync();
    expect(await nurse.collection('prescriptions').get(rx.id)).toMatchObject({
      data: { dose: '1 g' },
      awaitingReview: false,
    });
    expect(nurse.conflicts.list({ status: 'open' })).toEqual([]);
    expect(conflictReads() - readsBefore).toBe(2);
    // With nothing waiting on the device, a sync reads no conflicts.
    await nurse.sync();
    expect(conflictReads() - readsBefore).toBe(2);
    await admin.conflicts.undo(conflict?.id as string);
    expect((await admin.collection('prescriptions').get(rx.id))?.data['dose']).toBe('250 mg');
    await nurse.sync();
    expect((await nurse.collection('prescriptions').get(rx.id))?.data['dose']).toBe('250 mg');
  });

  it("learns at its next sync that a conflict was settled elsewhere in the server's favour, which writes nothing", async () => {
    const { nurse, admin, rx, conflict } = await doseConflict({ office: '400 mg', nurse: '600 mg' });
    expect(await nurse.collection('prescriptions').get(rx.id)).toMatchObject({ awaitingReview: true });

    // The office keeps its own dose: the record stays at its version, so no pull brings anything.
    await admin.conflicts.refresh();
    const settled = await admin.conflicts.resolve(conflict?.id as string, 'server-wins');
    expect(settled.record.version).toBe((await nurse.collection('prescriptions').get(rx.id))?.version);
    const result = await nurse.sync();
    expect(result.pulled).toBe(0);
    expect(await nurse.collection('prescriptions').get(rx.id)).toMatchObject({
      data: { dose: '400 mg' },
      awaitingReview: false,
    });
    expect(nurse.conflicts.list({ status: 'resolved' })).toMatchObject([
      { id: conflict?.id, summary: { outcome: 'server-won' } },
    ]);
  });

  it('with onlyOpen, does not overrule a settlement made meanwhile on another device, and shows it', async () => {
    const { admin, rx, conflict } = await doseConflict({ office: '250 mg', nurse: '1 g' });
    const id = conflict?.id as string;
    const secondDesk = await openClient(server, 'admin@clinic-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'office-2',
    });
    await admin.conflicts.refresh();
    await secondDesk.conflicts.refresh();
    // Both desks list the conflict open (beside earlier tests' ones); the second keeps the nurse's dose first.
    const openHere = () => admin.conflicts.list({ status: 'open' }).filter((c) => c.id === id);
    await secondDesk.conflicts.resolve(id, 'client-wins');
    expect(openHere()).toHaveLength(1);

    const refused = await admin.conflicts.resolve(id, 'server-wins', undefined, { onlyOpen: true }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toMatchObject({ code: 'CONFLICT' });
    expect(settledMeanwhile(refused)).toMatchObject({ outcome: 'client-won', strategy: 'client-wins' });
    // The first desk now shows the conflict as the second settled it, and its record follows.
    expect(openHere()).toEqual([]);
    expect(admin.conflicts.list({ status: 'resolved' }).filter((c) => c.id === id)).toMatchObject([
      { summary: { outcome: 'client-won', strategy: 'client-wins' } },
    ]);
    await admin.sync();
    expect((await admin.collection('prescriptions').get(rx.id))?.data['dose']).toBe('1 g');
  });

  it('keeps temp-id mappings across a restart, and a failed create keeps its temp id', async () => {
    const network = new TestNetwork();
    const store = memoryStore();
    const vet = await openClient(vets, 'vet@vet-a.test', store, network, { schema: vetPractice });
    const owner = await vet.collection('users').create({ name: 'Mercy', role: 'CLIENT' });
    // A pet whose owner field points at a real id that does not exist: the server refuses it.
    const bad = await vet.collection('pets').create({ name: 'Ghost', ownerId: '999999' });
    await vet.sync();
    await closeClient(vet);
    const again = await openClient(vets, 'vet@vet-a.test', store, network, { schema: vetPractice });
    const reopened = await again.collection('users').get(owner.id);
    expect(reopened?.data['name']).toBe('Mercy');
    expect(isTempId(reopened?.id)).toBe(false);
    // The temp id the app held still reaches the record, and new children get the real id.
    const pet = await again.collection('pets').create({ name: 'Bruno', ownerId: owner.id });
    await again.sync();
    expect((await again.collection('pets').get(pet.id))?.data['ownerId']).toBe(reopened?.id);
    const failed = again.queue.list().find((o) => o.id === bad.id);
    expect(failed).toMatchObject({ status: 'failed', lastError: { code: 'UNRESOLVED_REFERENCE' } });
    expect(isTempId(failed?.id)).toBe(true);
  });

  it('finds what the server refused in its archive, even from a new device', async () => {
    const network = new TestNetwork();
    const vet = await openClient(vets, 'vet@vet-a.test', memoryStore(), network, { schema: vetPractice });
    const ghost = await vet.collection('pets').create({ name: 'Ghost of the barn', ownerId: '888888' });
    await vet.sync();
    const failed = vet.queue.list().find((o) => o.id === ghost.id);
    expect(failed).toMatchObject({ status: 'failed', lastError: { code: 'UNRESOLVED_REFERENCE' } });
    await closeClient(vet);

    // The tablet is lost; the vet signs in on another one. What she typed is still on the server.
    const replacement = await openClient(vets, 'vet@vet-a.test', memoryStore(), network, {
      schema: vetPractice,
    });
    const archived = await replacement.rejections.fetch({ collection: 'pets' });
    const mine = archived.find((r) => r.opId === failed?.opId);
    expect(mine).toMatchObject({
      opType: 'create',
      data: { name: 'Ghost of the barn', ownerId: '888888' },
      error: { code: 'UNRESOLVED_REFERENCE' },
    });
  });

  it('tells the app each time the server refuses its sign-in, whichever call it refused, and keeps the change', async () => {
    let token = 'a-token-that-has-expired';
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      getToken: async () => token,
    });
    const refusals: string[] = [];
    client.on('unauthorized', (error) => refusals.push(error.code));

    const patient = await client.collection('patients').create({
      name: 'Tamara Gondwe',
      dateOfBirth: '1990-04-02',
      sex: 'female',
      village: 'Balaka',
    });
    const result = await client.sync();
    expect(result.error?.code).toBe('UNAUTHORIZED');
    expect(refusals).toEqual(['UNAUTHORIZED']);
    expect(client.queue.stats().pending).toBe(1);

    // An archive read is refused the same way, and told the same way.
    await expect(client.rejections.fetch()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(refusals).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED']);

    // Signed in again: the change goes, and nothing more is told.
    token = await server.token('nurse@clinic-a.test');
    expect((await client.sync()).success).toBe(true);
    expect(client.queue.stats().pending).toBe(0);
    expect((await client.collection('patients').get(patient.id))?.data).toMatchObject({
      name: 'Tamara Gondwe',
    });
    expect(refusals).toHaveLength(2);
  });

  it('syncs from an encrypted IndexedDB store, which holds no patient name in the clear', async () => {
    const indexedDB = new IDBFactory();
    const open = () =>
      encryptedStore(indexedDbStore({ name: 'clinic', indexedDB, IDBKeyRange }), {
        passphrase: 'correct horse',
        iterations: 1000,
      });
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', open(), network);
    const p = await client.collection('patients').create({ name: 'Chisomo Banda', village: 'Mangochi' });
    await client.sync();
    await closeClient(client);
    const again = await openClient(server, 'nurse@clinic-a.test', open(), network);
    expect((await again.collection('patients').get(p.id))?.data).toMatchObject({ name: 'Chisomo Banda' });
    await closeClient(again);
    const raw = await indexedDbStore({ name: 'clinic', indexedDB, IDBKeyRange }).load();
    expect(JSON.stringify(raw)).not.toContain('Chisomo');
    expect(JSON.stringify(raw)).not.toContain('Mangochi');
  });

  it('lets go of a store it could not read (a wrong key), so the app can open it again with the right one', async () => {
    const indexedDB = new IDBFactory();
    const open = (passphrase: string) =>
      encryptedStore(indexedDbStore({ name: 'clinic', indexedDB, IDBKeyRange }), {
        passphrase,
        iterations: 1000,
      });
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', open('the right key'), network);
    const p = await client.collection('patients').create({ name: 'Chisomo Banda' });
    await closeClient(client);

    const wrong = open('another key');
    let closes = 0;
    const counted = { ...wrong, close: () => ((closes += 1), wrong.close()) };
    await expect(openClient(server, 'nurse@clinic-a.test', counted, network)).rejects.toMatchObject({
      name: 'WrongPassphraseError',
    });
    // Closed: in a browser, its tab's lock on the database is let go with it.
    expect(closes).toBe(1);
    const again = await openClient(server, 'nurse@clinic-a.test', open('the right key'), network);
    expect((await again.collection('patients').get(p.id))?.data).toMatchObject({ name: 'Chisomo Banda' });
    await closeClient(again);
  });
});
