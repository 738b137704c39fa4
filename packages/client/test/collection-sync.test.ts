// Seed 003's syncEntityType: a pharmacist taps "sync prescriptions" on a slow link. Only that
// collection's changes go, with what they need first; only its server changes come, and the saved
// cursor stays where it was, so the next whole sync skips nothing (decision 0028). Against a real
// server on SQLite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { OutboxEntry, SyncClient, SyncClientOptions, SyncProgress } from '../src/index';
import {
  ManualTimers,
  TestNetwork,
  closeClients,
  openClient,
  ordersUnreadable,
  serverState,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

const nurse = 'nurse@clinic-a.test';

/** The device's fetch, noting each pull it sends: the collections it named (null: none) and its cursor. */
function watchPulls(network: TestNetwork): {
  pulls: Array<{ collections: string | null; cursor: string | null }>;
  fetch: typeof fetch;
} {
  const pulls: Array<{ collections: string | null; cursor: string | null }> = [];
  return {
    pulls,
    fetch: (input, init) => {
      const url = new URL(String(input));
      if (url.pathname === '/v1/sync/pull') {
        pulls.push({
          collections: url.searchParams.get('collections'),
          cursor: url.searchParams.get('cursor'),
        });
      }
      return network.fetch(input, init);
    },
  };
}

/** Every op the device pushed, as `collection/id`, in the order they went. */
function pushed(network: TestNetwork): string[][] {
  return network.pushes().map((p) => p.ops.map((o) => `${o.collection}/${o.id}`));
}

/** The ops of a device not of `collection`, as the queue lists them. */
function opsBesides(client: SyncClient, collection: string): OutboxEntry[] {
  return client.queue.list().filter((o) => o.collection !== collection);
}

/** Everything the device shows, by collection and id, as a pull from scratch would show the server. */
async function shown(client: SyncClient): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const name of client.schema.collectionNames) {
    for (const r of await client.collection(name).find()) out.set(`${name}/${r.id}`, r.data);
  }
  return out;
}

describe('syncing one collection', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(fieldClinic);
  });
  afterEach(async () => {
    await closeClients();
    await server.close();
  });

  const open = (deviceId: string, extra: Partial<SyncClientOptions> = {}, network = new TestNetwork()) =>
    openClient(server, nurse, memoryStore(), network, { deviceId, ...extra });

  /** What the server counted of a device's ops: applied, duplicate... */
  async function opCounts(deviceId: string): Promise<Record<string, number>> {
    const res = await fetch(`${server.url}/v1/sync/status?deviceId=${deviceId}`, {
      headers: { authorization: `Bearer ${await server.token(nurse)}` },
    });
    return ((await res.json()) as { ops: Record<string, number> }).ops;
  }

  it('sends only the named collection’s changes; the others stay waiting exactly as they were', async () => {
    const network = new TestNetwork();
    const tablet = await open('tablet-1', {}, network);
    const patient = await tablet.collection('patients').create({ name: 'Amina K.' });
    expect((await tablet.sync()).success).toBe(true);

    // A morning offline: a visit (made, then edited), the patient's village, a prescription.
    const visit = await tablet
      .collection('encounters')
      .create({ patientId: patient.id, diagnosis: 'malaria' });
    await tablet.collection('encounters').update(visit.id, { notes: 'review in a week' });
    await tablet.collection('patients').update(patient.id, { village: 'Ntcheu' });
    const rx = await tablet
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Artemether-lumefantrine', dose: '4 tablets' });
    const others = opsBesides(tablet, 'prescriptions').filter((o) => o.status === 'pending');
    expect(others).toHaveLength(3);

    network.sent.length = 0;
    const progress: SyncProgress[] = [];
    tablet.on('progress', (p) => progress.push(p));
    const result = await tablet.sync({ collections: ['prescriptions'] });
    expect(result).toMatchObject({
      success: true,
      pushed: { sent: 1, applied: 1, conflicts: 0, rejected: 0 },
      scope: { collections: ['prescriptions'], dependencies: [], notPulled: [] },
    });
    expect(pushed(network)).toEqual([[`prescriptions/${rx.id}`]]);
    // Not sent, not folded together, not marked: the same entries as before.
    expect(opsBesides(tablet, 'prescriptions').filter((o) => o.status === 'pending')).toEqual(others);
    expect(await tablet.collection('encounters').get(visit.id)).toMatchObject({ pending: true });
    const onServer = await serverState(server, nurse);
    expect(onServer.has(`prescriptions/${rx.id}`)).toBe(true);
    expect(onServer.has(`encounters/${visit.id}`)).toBe(false);
    expect(onServer.get(`patients/${patient.id}`)).not.toHaveProperty('village');

    // Told from the first moment, the push counted, then the pull, then the end.
    expect(progress[0]).toEqual({ phase: 'push', processed: 0, total: null, percentage: null });
    expect(progress).toContainEqual({ phase: 'push', processed: 1, total: 1, percentage: 100 });
    const phases = progress.map((p) => p.phase);
    expect(phases.lastIndexOf('push')).toBeLessThan(phases.indexOf('pull'));
    expect(progress.at(-1)?.phase).toBe('done');

    // The next whole sync sends the rest, once.
    network.sent.length = 0;
    expect((await tablet.sync()).pushed).toMatchObject({ applied: 2, rejected: 0 });
    expect(pushed(network).flat().sort()).toEqual(
      [`encounters/${visit.id}`, `patients/${patient.id}`].sort(),
    );
    expect((await serverState(server, nurse)).get(`encounters/${visit.id}`)).toMatchObject({
      notes: 'review in a week',
    });
  });

  it('a patient registered offline goes first with its prescription, and a visit it names with it; nothing else', async () => {
    const network = new TestNetwork();
    const tablet = await open('tablet-2', {}, network);
    const patient = await tablet.collection('patients').create({ name: 'Chikondi Banda' });
    const visit = await tablet
      .collection('encounters')
      .create({ patientId: patient.id, diagnosis: 'pneumonia' });
    const followUp = await tablet
      .collection('encounters')
      .create({ patientId: patient.id, diagnosis: 'review' });
    const walkIn = await tablet.collection('patients').create({ name: 'Walk-in' });
    const rx1 = await tablet
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Amoxicillin', dose: '500 mg' });
    const rx2 = await tablet
      .collection('prescriptions')
      .create({ patientId: patient.id, encounterId: visit.id, drug: 'Paracetamol', dose: '1 g' });

    const result = await tablet.sync({ collections: ['prescriptions'] });
    expect(result).toMatchObject({ success: true, pushed: { applied: 4, rejected: 0 } });
    expect(result.scope?.dependencies).toEqual([
      { collection: 'patients', id: patient.id },
      { collection: 'encounters', id: visit.id },
    ]);
    // Each record after what it names.
    const sent = pushed(network).flat();
    expect([...sent].sort()).toEqual(
      [
        `patients/${patient.id}`,
        `encounters/${visit.id}`,
        `prescriptions/${rx1.id}`,
        `prescriptions/${rx2.id}`,
      ].sort(),
    );
    const at = (key: string) => sent.indexOf(key);
    expect(at(`patients/${patient.id}`)).toBeLessThan(at(`prescriptions/${rx1.id}`));
    expect(at(`patients/${patient.id}`)).toBeLessThan(at(`encounters/${visit.id}`));
    expect(at(`encounters/${visit.id}`)).toBeLessThan(at(`prescriptions/${rx2.id}`));

    // The visit no prescription names and the other patient wait, never sent.
    const waiting = tablet.queue.list().filter((o) => o.status === 'pending');
    expect(waiting.map((o) => o.id).sort()).toEqual([followUp.id, walkIn.id].sort());
    expect(waiting.every((o) => o.sent !== true && o.attempts === 0)).toBe(true);
    const onServer = await serverState(server, nurse);
    expect(onServer.has(`prescriptions/${rx2.id}`)).toBe(true);
    expect(onServer.has(`encounters/${followUp.id}`)).toBe(false);
    expect(onServer.has(`patients/${walkIn.id}`)).toBe(false);
  });

  it('a patient’s delete takes along the visit still to go that names it, which must reach the server first', async () => {
    const network = new TestNetwork();
    const tablet = await open('tablet-3', {}, network);
    const patient = await tablet.collection('patients').create({ name: 'Duplicate record' });
    const other = await tablet.collection('patients').create({ name: 'Grace Phiri' });
    expect((await tablet.sync()).success).toBe(true);
    const visit = await tablet.collection('encounters').create({ patientId: patient.id, diagnosis: 'cough' });
    const otherVisit = await tablet
      .collection('encounters')
      .create({ patientId: other.id, diagnosis: 'rash' });
    await tablet.collection('patients').delete(patient.id);

    network.sent.length = 0;
    const result = await tablet.sync({ collections: ['patients'] });
    expect(result).toMatchObject({ success: true, pushed: { applied: 2, rejected: 0 } });
    expect(result.scope?.dependencies).toEqual([{ collection: 'encounters', id: visit.id }]);
    // Sent after the delete, the visit would name a deleted patient and be refused for good.
    expect(pushed(network).flat()).toEqual([`encounters/${visit.id}`, `patients/${patient.id}`]);
    expect(
      tablet.queue
        .list()
        .filter((o) => o.status === 'pending')
        .map((o) => o.id),
    ).toEqual([otherVisit.id]);
  });

  it('brings that collection’s server changes and no other, from the saved cursor it leaves; a whole sync then brings the rest', async () => {
    const desk = await open('clinic-desk');
    const p0 = await desk.collection('patients').create({ name: 'Amina K.' });
    const rx0 = await desk
      .collection('prescriptions')
      .create({ patientId: p0.id, drug: 'Zinc', dose: '20 mg' });
    const rxGone = await desk
      .collection('prescriptions')
      .create({ patientId: p0.id, drug: 'Wrong', dose: '1 mg' });
    expect((await desk.sync()).success).toBe(true);

    const network = new TestNetwork();
    const watch = watchPulls(network);
    const tablet = await open('tablet-4', { fetch: watch.fetch }, network);
    expect((await tablet.sync()).upToDate).toBe(true);

    // The clinic works on: a new patient, a visit, a new prescription, one changed, one deleted.
    const p1 = await desk.collection('patients').create({ name: 'Walk-in' });
    const visit = await desk.collection('encounters').create({ patientId: p0.id, diagnosis: 'diarrhoea' });
    const rx1 = await desk
      .collection('prescriptions')
      .create({ patientId: p1.id, drug: 'ORS', dose: '1 sachet' });
    await desk.collection('prescriptions').update(rx0.id, { dose: '10 mg' });
    await desk.collection('prescriptions').delete(rxGone.id);
    expect((await desk.sync()).success).toBe(true);

    watch.pulls.length = 0;
    const result = await tablet.sync({ collections: ['prescriptions'] });
    expect(result).toMatchObject({ success: true, pulled: 3, scope: { notPulled: [] } });
    expect(watch.pulls).toHaveLength(1);
    expect(watch.pulls[0]?.collections).toBe('prescriptions');
    const saved = watch.pulls[0]?.cursor;
    expect(saved).not.toBeNull();
    expect((await tablet.collection('prescriptions').get(rx1.id))?.data).toMatchObject({ drug: 'ORS' });
    expect((await tablet.collection('prescriptions').get(rx0.id))?.data).toMatchObject({ dose: '10 mg' });
    expect(await tablet.collection('prescriptions').get(rxGone.id)).toBeNull();
    // The prescription's patient comes with the whole sync: an orphan until then (decision 0016).
    expect(await tablet.collection('patients').get(p1.id)).toBeNull();
    expect(await tablet.collection('encounters').get(visit.id)).toBeNull();

    // The whole sync starts from the cursor the device had before: nothing was skipped.
    watch.pulls.length = 0;
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true });
    expect(watch.pulls[0]).toEqual({ collections: null, cursor: saved });
    expect(await tablet.collection('encounters').get(visit.id)).not.toBeNull();
    expect(await shown(tablet)).toEqual(await serverState(server, nurse));
    expect(tablet.relationships.findOrphans()).toEqual([]);
  });

  it('a link dropped mid-push or mid-pull loses nothing and sends nothing twice', async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers();
    let pushes = 0;
    let failPull = false;
    // The second push reaches the server and its answer is lost; a pull can be cut before it leaves.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const path = new URL(String(input)).pathname;
      if (path === '/v1/sync/pull' && failPull) {
        failPull = false;
        throw new TypeError('fetch failed: network is offline');
      }
      if (path === '/v1/sync/push' && ++pushes === 2) {
        await (await network.fetch(input, init)).arrayBuffer();
        throw new TypeError('fetch failed: connection reset after the request was sent');
      }
      return network.fetch(input, init);
    };
    const tablet = await open('tablet-5', { fetch, timers, batchSize: 1 }, network);
    const patient = await tablet.collection('patients').create({ name: 'Amina K.' });
    expect((await tablet.sync()).success).toBe(true);
    pushes = 0;
    network.sent.length = 0;

    const visit = await tablet
      .collection('encounters')
      .create({ patientId: patient.id, diagnosis: 'malaria' });
    const rxs = [];
    for (const drug of ['Coartem', 'Paracetamol', 'ORS']) {
      rxs.push(await tablet.collection('prescriptions').create({ patientId: patient.id, drug, dose: '1' }));
    }
    const visitOp = opsBesides(tablet, 'prescriptions').find((o) => o.id === visit.id);

    const cut = await tablet.sync({ collections: ['prescriptions'] });
    expect(cut).toMatchObject({ success: false, error: { code: 'NETWORK' }, pushed: { applied: 1 } });
    const byId = (id: string) => tablet.queue.list().find((o) => o.id === id);
    expect(byId(rxs[0]!.id)).toMatchObject({ status: 'done' });
    // Applied on the server, the answer lost: waiting, marked sent, to go again under its opId.
    expect(byId(rxs[1]!.id)).toMatchObject({ status: 'pending', sent: true, attempts: 1 });
    expect(byId(rxs[2]!.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(byId(visit.id)).toEqual(visitOp);
    // The engine's own retry is armed, as after any failed sync; it has not run.
    expect(timers.waiting()).toHaveLength(1);

    // Again, with the pull cut this time: the push ends, the pull stores nothing and moves nothing.
    failPull = true;
    const again = await tablet.sync({ collections: ['prescriptions'] });
    expect(again).toMatchObject({
      success: false,
      error: { code: 'NETWORK' },
      pushed: { sent: 2, applied: 2 },
    });
    expect(
      tablet.queue
        .list()
        .filter((o) => o.collection === 'prescriptions')
        .map((o) => o.status),
    ).toEqual(['done', 'done', 'done']);
    expect(byId(visit.id)).toEqual(visitOp);
    const firstTry = network.pushes()[1]?.ops[0]?.opId;
    expect(network.pushes()[2]?.ops[0]?.opId).toBe(firstTry);

    // The whole sync sends the visit once, and the device ends as the server.
    expect((await tablet.sync()).pushed).toMatchObject({ sent: 1, applied: 1 });
    expect(await opCounts('tablet-5')).toMatchObject({ applied: 5, duplicate: 1, rejected: 0 });
    expect(await shown(tablet)).toEqual(await serverState(server, nurse));
    expect(
      pushed(network)
        .flat()
        .filter((k) => k === `encounters/${visit.id}`),
    ).toHaveLength(1);
  });

  it('a person’s call sends again what of that collection gave up, and nothing else', async () => {
    const network = new TestNetwork();
    const tablet = await open('tablet-6', { timers: new ManualTimers(), retry: { maxAttempts: 1 } }, network);
    const patient = await tablet.collection('patients').create({ name: 'Amina K.' });
    const rx = await tablet
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Zinc', dose: '20 mg' });
    const visit = await tablet.collection('encounters').create({ patientId: patient.id, diagnosis: 'cough' });
    network.mode = 'offline';
    expect((await tablet.sync()).success).toBe(false);
    expect(tablet.queue.stats().failed).toBe(3);
    network.mode = 'online';

    const result = await tablet.sync({ collections: ['prescriptions'], manual: true });
    expect(result).toMatchObject({ success: true, pushed: { applied: 2 } });
    expect(result.scope?.dependencies).toEqual([{ collection: 'patients', id: patient.id }]);
    expect(tablet.queue.list().find((o) => o.id === rx.id)?.status).toBe('done');
    // The visit stays stopped: the person asked for prescriptions.
    expect(tablet.queue.list().find((o) => o.id === visit.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
    });
  });

  it('joins a whole sync that will still do what it asks, and waits for one that will not', async () => {
    const network = new TestNetwork();
    const tablet = await open('tablet-7', {}, network);
    const patient = await tablet.collection('patients').create({ name: 'Amina K.' });
    expect((await tablet.sync()).success).toBe(true);
    network.sent.length = 0;
    const rx1 = await tablet
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Zinc', dose: '20 mg' });
    const v1 = await tablet.collection('encounters').create({ patientId: patient.id, diagnosis: 'cough' });

    const held = network.holdNext('/v1/sync/push');
    const whole = tablet.sync();
    await held.reached;
    // The whole sync has both in its push and will pull: it does what this asks.
    const joined = tablet.sync({ collections: ['prescriptions'] });
    // Made after its push took the outbox: a call for prescriptions runs once it ends, for them alone.
    const rx2 = await tablet
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'ORS', dose: '1' });
    const v2 = await tablet.collection('encounters').create({ patientId: patient.id, diagnosis: 'rash' });
    const later = tablet.sync({ collections: ['prescriptions'] });
    const alsoLater = tablet.sync({ collections: ['prescriptions'] });
    held.release();

    const [w, j, l, a] = await Promise.all([whole, joined, later, alsoLater]);
    expect(j).toBe(w);
    expect(w.scope).toBeUndefined();
    expect(a).toBe(l);
    expect(l).toMatchObject({
      success: true,
      pushed: { applied: 1 },
      scope: { collections: ['prescriptions'] },
    });
    expect(pushed(network).map((ops) => ops.sort())).toEqual([
      [`encounters/${v1.id}`, `prescriptions/${rx1.id}`].sort(),
      [`prescriptions/${rx2.id}`],
    ]);
    expect(
      tablet.queue
        .list()
        .filter((o) => o.status === 'pending')
        .map((o) => o.id),
    ).toEqual([v2.id]);
  });

  it('a whole sync asked during a sync of one collection runs after it and sends the rest', async () => {
    const network = new TestNetwork();
    const tablet = await open('tablet-8', {}, network);
    const patient = await tablet.collection('patients').create({ name: 'Amina K.' });
    expect((await tablet.sync()).success).toBe(true);
    network.sent.length = 0;
    const rx = await tablet
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Zinc', dose: '20 mg' });
    const visit = await tablet.collection('encounters').create({ patientId: patient.id, diagnosis: 'cough' });

    const held = network.holdNext('/v1/sync/push');
    const one = tablet.sync({ collections: ['prescriptions'] });
    await held.reached;
    expect(tablet.isSyncing).toBe(true);
    const whole = tablet.sync();
    held.release();
    const [o, w] = await Promise.all([one, whole]);
    expect(w).not.toBe(o);
    expect(o).toMatchObject({
      success: true,
      pushed: { applied: 1 },
      scope: { collections: ['prescriptions'] },
    });
    expect(w).toMatchObject({ success: true, upToDate: true, pushed: { applied: 1 } });
    expect(w.scope).toBeUndefined();
    expect(pushed(network)).toEqual([[`prescriptions/${rx.id}`], [`encounters/${visit.id}`]]);
    expect(tablet.lastResult).toBe(w);
  });

  it('refuses a name the schema lacks, or none, before anything is sent', async () => {
    const network = new TestNetwork();
    const tablet = await open('tablet-9', {}, network);
    await tablet.collection('prescriptions').create({ patientId: 'p-1', drug: 'Zinc', dose: '20 mg' });
    await expect(tablet.sync({ collections: ['prescriptions', 'prescription'] })).rejects.toMatchObject({
      name: 'OutpostError',
      code: 'NOT_FOUND',
      details: { collections: ['prescription'] },
    });
    await expect(tablet.sync({ collections: [] })).rejects.toMatchObject({
      name: 'OutpostError',
      code: 'VALIDATION_FAILED',
    });
    expect(network.sent).toEqual([]);
    expect(tablet.isSyncing).toBe(false);
    expect(tablet.queue.list()).toMatchObject([{ status: 'pending', attempts: 0 }]);
  });

  it('pushes a collection the device does not pull, and pulls none of it', async () => {
    const network = new TestNetwork();
    const watch = watchPulls(network);
    const ward = await open(
      'ward',
      { collections: ['patients', 'prescriptions'], fetch: watch.fetch },
      network,
    );
    const patient = await ward.collection('patients').create({ name: 'Amina K.' });
    expect((await ward.sync()).success).toBe(true);
    watch.pulls.length = 0;
    const visit = await ward.collection('encounters').create({ patientId: patient.id, diagnosis: 'cough' });

    const result = await ward.sync({ collections: ['encounters', 'prescriptions'] });
    expect(result).toMatchObject({
      success: true,
      pushed: { applied: 1 },
      scope: {
        collections: ['encounters', 'prescriptions'],
        notPulled: [{ collection: 'encounters', reason: 'not-pulled' }],
      },
    });
    expect(watch.pulls.map((p) => p.collections)).toEqual(['prescriptions']);
    expect((await serverState(server, nurse)).has(`encounters/${visit.id}`)).toBe(true);

    watch.pulls.length = 0;
    expect((await ward.sync({ collections: ['encounters'] })).scope?.notPulled).toEqual([
      { collection: 'encounters', reason: 'not-pulled' },
    ]);
    expect(watch.pulls).toEqual([]);
  });
});

describe('syncing one collection with temp ids', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(vetPractice);
  });
  afterEach(async () => {
    await closeClients();
    await server.close();
  });

  it('sends the owner made offline with its pet, and the appointment left waiting names the real ids', async () => {
    const network = new TestNetwork();
    const tablet = await openClient(server, 'vet@vet-a.test', memoryStore(), network, {
      schema: vetPractice,
      deviceId: 'vet-tablet',
    });
    const owner = await tablet.collection('users').create({ name: 'Farmer Banda', role: 'CLIENT' });
    const pet = await tablet.collection('pets').create({ name: 'Rex', species: 'dog', ownerId: owner.id });
    const visit = await tablet
      .collection('appointments')
      .create({ title: 'Vaccination', date: '2026-11-23T09:00:00Z', petId: pet.id });
    expect(pet.id.startsWith('temp_')).toBe(true);

    const result = await tablet.sync({ collections: ['pets'] });
    expect(result).toMatchObject({ success: true, pushed: { applied: 2, rejected: 0 } });
    expect(result.scope?.dependencies).toEqual([{ collection: 'users', id: owner.id }]);
    // One push: the server gives the owner its id, then reads the pet's ownerId as that id.
    expect(pushed(network)).toEqual([[`users/${owner.id}`, `pets/${pet.id}`]]);

    // The appointment waits, unsent, naming the pet by the id the server gave it.
    const waiting = tablet.queue.list().filter((o) => o.status === 'pending');
    expect(waiting).toHaveLength(1);
    const realPet = (await tablet.collection('pets').find())[0]?.id as string;
    expect(realPet.startsWith('temp_')).toBe(false);
    expect(waiting[0]).toMatchObject({ collection: 'appointments', id: visit.id, data: { petId: realPet } });

    expect((await tablet.sync()).pushed).toMatchObject({ applied: 1, rejected: 0 });
    const onServer = [...(await serverState(server, 'vet@vet-a.test')).entries()];
    expect(onServer.filter(([k]) => k.startsWith('appointments/'))).toEqual([
      [expect.stringMatching(/^appointments\//), expect.objectContaining({ petId: realPet })],
    ]);
  });
});

describe('syncing a collection the role may not read', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(ordersUnreadable);
  });
  afterEach(async () => {
    await closeClients();
    await server.close();
  });

  it('pushes its changes, pulls the rest of what was named, and says what it could not pull', async () => {
    const admin = await openClient(server, 'admin@clinic-a.test', memoryStore(), new TestNetwork(), {
      schema: ordersUnreadable,
      deviceId: 'office',
    });
    await admin.collection('orders').create({ drug: 'Zinc' });
    await admin.collection('notes').create({ body: 'from the office' });
    expect((await admin.sync()).success).toBe(true);

    const network = new TestNetwork();
    const watch = watchPulls(network);
    const tablet = await openClient(server, nurse, memoryStore(), network, {
      schema: ordersUnreadable,
      deviceId: 'nurse-tablet',
      fetch: watch.fetch,
    });
    await tablet.collection('orders').create({ drug: 'ORS' });
    const result = await tablet.sync({ collections: ['orders', 'notes'] });
    expect(result).toMatchObject({
      success: true,
      pushed: { applied: 1 },
      pulled: 1,
      scope: { notPulled: [{ collection: 'orders', reason: 'forbidden' }] },
    });
    expect(watch.pulls.map((p) => p.collections)).toEqual(['orders,notes', 'notes']);
    expect((await tablet.collection('notes').find()).map((n) => n.data['body'])).toEqual(['from the office']);
  });
});
