// What the outbox keeps once the server has acknowledged a change (seed 002: "implement data
// retention policies"), and seed 004's queue status times, against a real server on SQLite: done
// ops leave after `keepCompletedMs`, never anything else; `oldestPendingAt`; the last good sync.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTempId } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { OutboxEntry, SyncClient, SyncClientOptions } from '../src/index';
import {
  ManualTimers,
  TestNetwork,
  closeClient,
  closeClients,
  openClient,
  serverState,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

const hour = 60 * 60 * 1000;
const day = 24 * hour;
let stores = 0;
/** A store name of its own per test: a named memory store keeps its data across a reopen. */
const storeName = () => `retention-${process.pid}-${++stores}`;

const done = (client: SyncClient) => client.queue.list().filter((o) => o.status === 'done');
const describeOp = (o: OutboxEntry) => `${o.type} ${o.collection} ${o.id}`;

async function localState(client: SyncClient): Promise<Map<string, RecordData>> {
  const state = new Map<string, RecordData>();
  for (const name of client.schema.collectionNames) {
    for (const r of await client.collection(name).find()) state.set(`${name}/${r.id}`, r.data);
  }
  return state;
}

describe('the outbox lets go of what the server acknowledged (keepCompletedMs)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  function nurse(
    name: string,
    network: TestNetwork,
    timers: ManualTimers,
    extra: Partial<SyncClientOptions> = {},
  ) {
    return openClient(server, 'nurse@clinic-a.test', memoryStore({ name }), network, { timers, ...extra });
  }

  it('keeps an acknowledged change a day by default: gone after the next sync past that, or at the next opening', async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers();
    const name = storeName();
    let client = await nurse(name, network, timers);
    const patients = client.collection('patients');
    const amina = await patients.create({ name: 'Amina K.' });
    expect((await client.sync()).success).toBe(true);
    expect(done(client).map(describeOp)).toEqual([`create patients ${amina.id}`]);

    // 20 hours later: another patient, and Amina's village. Her create is not a day old yet.
    await timers.advance(20 * hour);
    const grace = await patients.create({ name: 'Grace M.' });
    await patients.update(amina.id, { village: 'Ntcheu' });
    expect((await client.sync()).success).toBe(true);
    expect(done(client).map(describeOp)).toEqual([
      `create patients ${amina.id}`,
      `create patients ${grace.id}`,
      `update patients ${amina.id}`,
    ]);

    // Five hours on, Amina's create was acknowledged 25 hours ago: the next sync lets it go.
    await timers.advance(5 * hour);
    expect((await client.sync()).success).toBe(true);
    expect(done(client).map(describeOp)).toEqual([
      `create patients ${grace.id}`,
      `update patients ${amina.id}`,
    ]);
    expect(client.queue.stats()).toMatchObject({ total: 2, completed: 2 });

    // The tablet is switched off overnight; opened the next day, the rest go before any sync.
    await closeClient(client);
    await timers.advance(20 * hour);
    client = await nurse(name, network, timers);
    expect(client.queue.list()).toEqual([]);
    // The records are untouched, and a new change gets a seq never used before.
    expect((await client.collection('patients').get(amina.id))?.data).toEqual({
      name: 'Amina K.',
      village: 'Ntcheu',
    });
    expect((await client.collection('patients').get(grace.id))?.data).toEqual({ name: 'Grace M.' });
    await client.collection('patients').update(grace.id, { village: 'Dedza' });
    expect(client.queue.list().map((o) => o.seq)).toEqual([4]);
  });

  it('never lets go of a change still waiting, stopped, refused or in conflict, however old', async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers();
    const name = storeName();
    const client = await nurse(name, network, timers, { retry: { maxAttempts: 1 } });
    const admin = await openClient(server, 'admin@clinic-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'office',
    });
    const patient = await client.collection('patients').create({ name: 'Chisomo' });
    const rx = await client
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Amoxicillin', dose: '500 mg' });
    const visit = await client.collection('encounters').create({ patientId: patient.id, diagnosis: 'Cough' });
    const note = await client.collection('clinicalNotes').create({ encounterId: visit.id, body: 'Cough.' });
    expect((await client.sync()).success).toBe(true);
    await admin.sync();

    // In conflict: the office changed the dose first (prescriptions wait for a person).
    await admin.collection('prescriptions').update(rx.id, { dose: '250 mg' });
    await client.collection('prescriptions').update(rx.id, { dose: '1 g' });
    // Refused and kept beside the signed note: the doctor signed it first.
    await admin
      .collection('clinicalNotes')
      .update(note.id, { signatureHash: 'sig', signedAt: '2026-11-22T10:00:00Z' });
    await admin.sync();
    await client.collection('clinicalNotes').update(note.id, { body: 'Cough. Sputum sample taken.' });
    // Refused and shown on its record: a visit of a patient who exists nowhere.
    await client.collection('encounters').create({ patientId: 'nobody', diagnosis: 'Malaria' });
    expect((await client.sync()).pushed).toMatchObject({ conflicts: 1, rejected: 2 });

    // Stopped after repeated failures (one try allowed here): the server was down.
    await client.collection('patients').update(patient.id, { village: 'Zomba' });
    network.mode = 'server-error';
    expect((await client.sync()).success).toBe(false);
    network.mode = 'online';
    // Waiting, held by a person until its patient exists (resolveOrphans('queue')).
    await client.collection('encounters').create({ patientId: 'not-yet-here', diagnosis: 'Fever' });
    await client.relationships.resolveOrphans('queue');

    const kept = () =>
      client.queue
        .list()
        .filter((o) => o.status !== 'done')
        .map(
          (o) => `${describeOp(o)}: ${o.status}${o.rejected ? ' refused' : ''}${o.heldReason ? ' held' : ''}`,
        );
    const before = kept();
    expect(before).toHaveLength(5);
    // And the four creates the server acknowledged a month before the syncs below.
    expect(done(client)).toHaveLength(4);
    expect(client.queue.stats()).toMatchObject({ conflict: 2, refused: 2, stopped: 1, waiting: 2 });

    // A month passes; syncs come and go (each ends with the retention), and so does a restart.
    await timers.advance(30 * day);
    expect((await client.sync()).success).toBe(true);
    expect(done(client)).toEqual([]);
    expect(kept()).toEqual(before);
    await closeClient(client);
    const reopened = await nurse(name, network, timers, { keepCompletedMs: 0 });
    expect(reopened.queue.list().filter((o) => o.status === 'done')).toEqual([]);
    expect(
      reopened.queue
        .list()
        .map(
          (o) => `${describeOp(o)}: ${o.status}${o.rejected ? ' refused' : ''}${o.heldReason ? ' held' : ''}`,
        ),
    ).toEqual(before);
    // The change refused by the signed note still tells the person, and the conflict waits.
    expect(await reopened.collection('clinicalNotes').get(note.id)).toMatchObject({ refused: true });
    expect(await reopened.collection('prescriptions').get(rx.id)).toMatchObject({ awaitingReview: true });
  });

  it('Infinity keeps every acknowledged change until clearCompleted, as before', async () => {
    const timers = new ManualTimers();
    const client = await nurse(storeName(), new TestNetwork(), timers, { keepCompletedMs: Infinity });
    await client.collection('patients').create({ name: 'Amina K.' });
    await client.sync();
    await timers.advance(365 * day);
    await client.sync();
    expect(client.queue.stats()).toMatchObject({ total: 1, completed: 1 });
    expect(await client.queue.clearCompleted()).toBe(1);
    expect(client.queue.list()).toEqual([]);
  });
});

describe('keepCompletedMs: 0 through temp ids (vet practice: the server assigns ids)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(vetPractice);
  });
  afterAll(async () => server.close());

  it('leaves no done op after a sync, the records intact, and later changes made by temp id still reach the server', async () => {
    const network = new TestNetwork();
    const name = storeName();
    const open = () =>
      openClient(server, 'vet@vet-a.test', memoryStore({ name }), network, {
        schema: vetPractice,
        timers: new ManualTimers(),
        keepCompletedMs: 0,
      });
    let client = await open();
    // Registered offline: the owner and the pet under temp ids, the pet naming the owner's.
    network.mode = 'offline';
    const owner = await client.collection('users').create({ name: 'Mercy', role: 'CLIENT' });
    const pet = await client.collection('pets').create({ name: 'Rex', species: 'dog', ownerId: owner.id });
    await client.collection('pets').update(pet.id, { species: 'cat' });
    expect(isTempId(owner.id) && isTempId(pet.id)).toBe(true);
    expect((await client.sync()).success).toBe(false);
    network.mode = 'online';

    expect((await client.sync()).pushed).toMatchObject({ applied: 2 });
    expect(client.queue.list()).toEqual([]);
    const [realOwner] = await client.collection('users').find({ where: { name: 'Mercy' } });
    const [realPet] = await client.collection('pets').find({ where: { name: 'Rex' } });
    expect(isTempId(realOwner?.id) || isTempId(realPet?.id)).toBe(false);
    expect(realPet?.data).toEqual({ name: 'Rex', species: 'cat', ownerId: realOwner?.id });
    expect(await localState(client)).toEqual(await serverState(server, 'vet@vet-a.test'));

    // A screen rendered before the sync still holds the temp ids: updates and a new appointment
    // made through them reach the right records, the creates' done ops long gone.
    await client.collection('users').update(owner.id, { email: 'mercy@example.org' });
    await client.collection('pets').update(pet.id, { name: 'Rex II' });
    const appt = await client
      .collection('appointments')
      .create({ title: 'Check-up', date: '2026-11-23T09:00:00Z', petId: pet.id, durationMinutes: 30 });
    expect((await client.sync()).pushed).toMatchObject({ applied: 3, rejected: 0, conflicts: 0 });
    expect(client.queue.list()).toEqual([]);
    const onServer = await serverState(server, 'vet@vet-a.test');
    expect(onServer.get(`users/${realOwner?.id}`)).toMatchObject({
      name: 'Mercy',
      email: 'mercy@example.org',
    });
    expect(onServer.get(`pets/${realPet?.id}`)).toEqual({
      name: 'Rex II',
      species: 'cat',
      ownerId: realOwner?.id,
    });
    const appointments = [...onServer].filter(([key]) => key.startsWith('appointments/'));
    expect(appointments).toHaveLength(1);
    expect(appointments[0]?.[1]).toMatchObject({ petId: realPet?.id });
    expect(isTempId((await client.collection('appointments').get(appt.id))?.id)).toBe(false);

    // After a restart too: the temp ids' real ids are kept apart from the outbox.
    await closeClient(client);
    client = await open();
    await client.collection('pets').update(pet.id, { species: 'dog' });
    expect((await client.sync()).pushed).toMatchObject({ applied: 1, rejected: 0 });
    expect((await serverState(server, 'vet@vet-a.test')).get(`pets/${realPet?.id}`)).toMatchObject({
      species: 'dog',
    });
    expect(await localState(client)).toEqual(await serverState(server, 'vet@vet-a.test'));
    expect(client.queue.list()).toEqual([]);
  });
});

describe("seed 004's queue status times", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('oldestPendingAt: when the first change not yet sent was made, null once none waits', async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers(Date.UTC(2026, 10, 22, 8, 0, 0));
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, { timers });
    expect(client.queue.stats().oldestPendingAt).toBeNull();

    network.mode = 'offline';
    const amina = await client.collection('patients').create({ name: 'Amina K.' });
    await timers.advance(hour);
    await client.collection('patients').update(amina.id, { village: 'Ntcheu' });
    await client.collection('patients').create({ name: 'Grace M.' });
    expect(client.queue.stats()).toMatchObject({ waiting: 3, oldestPendingAt: '2026-11-22T08:00:00.000Z' });
    // A failed sync folds Amina's edit into her create: still the edit made at 08:00 waiting.
    expect((await client.sync()).success).toBe(false);
    expect(client.queue.stats()).toMatchObject({ waiting: 2, oldestPendingAt: '2026-11-22T08:00:00.000Z' });

    network.mode = 'online';
    expect((await client.sync()).success).toBe(true);
    expect(client.queue.stats()).toMatchObject({ waiting: 0, oldestPendingAt: null });
    await timers.advance(hour);
    await client.collection('patients').update(amina.id, { phone: '0999' });
    expect(client.queue.stats().oldestPendingAt).toBe('2026-11-22T10:00:00.000Z');
  });

  it('lastSyncAt: the last whole sync that ended well, kept across a restart; a failed or partial sync leaves it', async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers(Date.UTC(2026, 10, 22, 8, 0, 0));
    const name = storeName();
    const open = () =>
      openClient(server, 'nurse@clinic-a.test', memoryStore({ name }), network, {
        timers,
        // The failed sync's retry waits the whole day, not a random part of it: a retry within
        // the hours the test moves through would sync by itself, and move the time it checks.
        retry: { baseMs: day, maxMs: day },
        random: () => 1,
      });
    let client = await open();
    expect(client.queue.stats().lastSyncAt).toBeNull();
    await client.collection('patients').create({ name: 'Amina K.' });
    const first = await client.sync();
    expect(first.success).toBe(true);
    expect(client.queue.stats().lastSyncAt).toBe('2026-11-22T08:00:00.000Z');
    expect(first.finishedAt).toBe('2026-11-22T08:00:00.000Z');

    // An hour later the link is down: the failed sync says nothing of how fresh the records are.
    await timers.advance(hour);
    network.mode = 'offline';
    expect((await client.sync()).success).toBe(false);
    expect(client.queue.stats().lastSyncAt).toBe('2026-11-22T08:00:00.000Z');

    // Back online, the pharmacist syncs prescriptions only: the rest was not brought up to date.
    network.mode = 'online';
    await timers.advance(hour);
    const partial = await client.sync({ collections: ['prescriptions'] });
    expect(partial.success).toBe(true);
    expect(client.queue.stats().lastSyncAt).toBe('2026-11-22T08:00:00.000Z');

    // Closed and opened again: the time is still there, before any sync.
    await closeClient(client);
    client = await open();
    expect(client.queue.stats().lastSyncAt).toBe('2026-11-22T08:00:00.000Z');

    // The next whole sync moves it, and pull-only syncs count too (the live stream's).
    await timers.advance(hour);
    expect((await client.sync()).success).toBe(true);
    expect(client.queue.stats().lastSyncAt).toBe('2026-11-22T11:00:00.000Z');
    await timers.advance(hour);
    expect((await client.syncFromServer()).success).toBe(true);
    expect(client.queue.stats().lastSyncAt).toBe('2026-11-22T12:00:00.000Z');
  });
});
