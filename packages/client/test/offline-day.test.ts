// The client SDK against a real server on SQLite: an offline day, lost answers, two devices on
// one patient, a server that is down, and the lessons the field taught sync engines.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isTempId } from '@outpost/core';
import type { RecordData, Schema } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { LocalStore, SyncClient, SyncClientOptions } from '../src/index';
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

async function localState(client: SyncClient): Promise<Map<string, RecordData>> {
  const state = new Map<string, RecordData>();
  for (const name of client.schema.collectionNames) {
    for (const r of await client.collection(name).find()) state.set(`${name}/${r.id}`, r.data);
  }
  return state;
}

afterEach(closeClients);

/**
 * Opens clients on manual time: a failed sync's retry timer (up to a second, jittered) never fires
 * by itself in the middle of a test. With the platform's timers it sometimes resent a lost create
 * before the test had the record deleted elsewhere.
 */
function opener(server: TestServer, schema: Schema, email: string, network: TestNetwork) {
  return (store: LocalStore, extra: Partial<SyncClientOptions> = {}) =>
    openClient(server, email, store, network, { schema, timers: new ManualTimers(), ...extra });
}

describe('an offline day on the vet practice', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(vetPractice);
  });
  afterAll(async () => server.close());

  it('500 offline ops with temp ids three levels deep, a restart half-way, one sync: server equals device', async () => {
    const network = new TestNetwork();
    const open = opener(server, vetPractice, 'vet@vet-a.test', network);
    const store = memoryStore();
    network.mode = 'offline';
    let client = await open(store);
    let ops = 0;
    const owners: string[] = [];
    const pets: string[] = [];
    const appointments: string[] = [];
    const work = async (c: SyncClient, rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        const owner = await c.collection('users').create({ name: `Owner ${i}`, role: 'CLIENT' });
        owners.push(owner.id);
        const pet = await c
          .collection('pets')
          .create({ name: `Pet ${i}`, species: 'dog', ownerId: owner.id });
        pets.push(pet.id);
        const appt = await c
          .collection('appointments')
          .create({ title: 'Check-up', date: '2026-11-22T09:00:00Z', petId: pet.id, durationMinutes: 30 });
        appointments.push(appt.id);
        const note = await c
          .collection('soapNotes')
          .create({ appointmentId: appt.id, subjective: 'limping' });
        await c.collection('soapNotes').update(note.id, { plan: 'rest for a week' });
        await c.collection('pets').update(pet.id, { species: 'cat' });
        if (i % 5 === 0) {
          const extra = await c.collection('soapNotes').create({ appointmentId: appt.id, objective: 'ok' });
          await c.collection('soapNotes').delete(extra.id);
          ops += 2;
        }
        ops += 6;
      }
    };
    await work(client, 40);
    // The tablet restarts half-way through the day: the store is opened again.
    await closeClient(client);
    client = await open(store);
    expect(client.queue.stats().pending).toBe(ops);
    await work(client, 40);
    expect(ops).toBeGreaterThanOrEqual(500);
    expect(network.sent).toHaveLength(0);

    network.mode = 'online';
    const result = await client.sync();
    expect(result.success).toBe(true);
    expect(client.queue.stats()).toMatchObject({ pending: 0, failed: 0, conflict: 0, inFlight: 0 });

    const local = await localState(client);
    const remote = await serverState(server, 'vet@vet-a.test');
    expect(local.size).toBe(remote.size);
    for (const [key, data] of remote) expect(local.get(key), key).toEqual(data);
    for (const [key, data] of local) {
      expect(isTempId(key.split('/')[1])).toBe(false);
      for (const field of ['ownerId', 'petId', 'appointmentId']) {
        if (field in data) expect(isTempId(data[field]), `${key}.${field}`).toBe(false);
      }
    }
    // An id the app still held from before the sync keeps working.
    expect((await client.collection('pets').get(pets[0] as string))?.data['species']).toBe('cat');
  });

  it('an answer lost after the server committed: the retry yields duplicates only', async () => {
    const network = new TestNetwork();
    const open = opener(server, vetPractice, 'vet@vet-a.test', network);
    const client = await open(memoryStore());
    const owner = await client.collection('users').create({ name: 'Grace', role: 'CLIENT' });
    await client.collection('pets').create({ name: 'Rex', ownerId: owner.id });
    network.loseNextAnswers(1);
    const first = await client.sync();
    expect(first.success).toBe(false);
    expect(client.queue.stats().pending).toBe(2);
    const retried = await client.sync();
    expect(retried.success).toBe(true);
    const pushes = network.pushes();
    expect(pushes).toHaveLength(2);
    // The same ops, with the same opIds, went twice; the server applied them once.
    expect(pushes[1]?.ops.map((o) => o.opId)).toEqual(pushes[0]?.ops.map((o) => o.opId));
    const pets = await client.collection('pets').find({ where: { name: 'Rex' } });
    expect(pets).toHaveLength(1);
    expect(isTempId(pets[0]?.id)).toBe(false);
    const remote = [...(await serverState(server, 'vet@vet-a.test')).values()].filter(
      (d) => d['name'] === 'Rex',
    );
    expect(remote).toHaveLength(1);
    const token = await server.token('vet@vet-a.test');
    const status = (await (
      await fetch(`${server.url}/v1/sync/status?deviceId=tablet-7`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { ops: { duplicate: number } };
    expect(status.ops.duplicate).toBeGreaterThanOrEqual(2);
  });

  it('a create answered "duplicate" after the device pulled the record deleted: read afresh, it stays deleted', async () => {
    const network = new TestNetwork();
    const open = opener(server, vetPractice, 'vet@vet-a.test', network);
    const laptop = await open(memoryStore());
    const desk = await open(memoryStore(), { deviceId: 'front-desk' });
    await laptop.collection('users').create({ name: 'Tiyamike', role: 'CLIENT' });
    // The server applies the create; its answer is lost, so the laptop never learns the real id.
    network.loseNextAnswers(1);
    expect((await laptop.sync()).success).toBe(false);
    // The front desk sees the new client and deletes it.
    await desk.sync();
    const [atDesk] = await desk.collection('users').find({ where: { name: 'Tiyamike' } });
    await desk.collection('users').delete(atDesk?.id ?? '');
    expect((await desk.sync()).success).toBe(true);
    // The laptop pulls past the deletion before its create is sent again...
    await laptop.syncFromServer();
    // ...and the resend is answered "duplicate", with the version the create made back then.
    expect((await laptop.sync()).success).toBe(true);
    expect(
      network
        .pushes()
        .at(-1)
        ?.ops.map((o) => o.type),
    ).toEqual(['create']);
    expect(await laptop.collection('users').find({ where: { name: 'Tiyamike' } })).toEqual([]);
    const remote = [...(await serverState(server, 'vet@vet-a.test')).values()];
    expect(remote.filter((d) => d['name'] === 'Tiyamike')).toEqual([]);
  });

  it('after a lost answer and no pull since, the retry reads nothing afresh', async () => {
    const network = new TestNetwork();
    const client = await opener(server, vetPractice, 'vet@vet-a.test', network)(memoryStore());
    for (const name of ['Amina', 'Joseph', 'Grace']) {
      await client.collection('users').create({ name, role: 'CLIENT' });
    }
    network.loseNextAnswers(1);
    expect((await client.sync()).success).toBe(false);
    expect((await client.sync()).success).toBe(true);
    // One resend and one pull bring the device level; no record is read one by one.
    expect(network.sent.filter((s) => s.path.startsWith('/v1/records/'))).toEqual([]);
    const names = (await client.collection('users').find()).map((u) => u.data['name']);
    expect(names).toEqual(expect.arrayContaining(['Amina', 'Joseph', 'Grace']));
  });
});

describe('two devices on one patient (field clinic)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('disjoint fields merge; the same field becomes a conflict visible on the device', async () => {
    const netA = new TestNetwork();
    const netB = new TestNetwork();
    const a = await opener(
      server,
      fieldClinic,
      'nurse@clinic-a.test',
      netA,
    )(memoryStore(), { deviceId: 'tablet-a' });
    const b = await opener(
      server,
      fieldClinic,
      'nurse@clinic-a.test',
      netB,
    )(memoryStore(), { deviceId: 'tablet-b' });
    const p = await a.collection('patients').create({ name: 'Amina K.', village: 'Ntcheu' });
    await a.sync();
    await b.sync();
    expect((await b.collection('patients').get(p.id))?.data).toEqual({ name: 'Amina K.', village: 'Ntcheu' });

    // Both offline: different fields.
    netA.mode = 'offline';
    netB.mode = 'offline';
    await a.collection('patients').update(p.id, { phone: '0999 111' });
    await b.collection('patients').update(p.id, { village: 'Dedza' });
    netA.mode = 'online';
    netB.mode = 'online';
    await a.sync();
    await b.sync();
    await a.sync();
    const merged = { name: 'Amina K.', village: 'Dedza', phone: '0999 111' };
    expect((await a.collection('patients').get(p.id))?.data).toEqual(merged);
    expect((await b.collection('patients').get(p.id))?.data).toEqual(merged);

    // Both offline again: the same field.
    netA.mode = 'offline';
    netB.mode = 'offline';
    await a.collection('patients').update(p.id, { phone: '0888 222' });
    await b.collection('patients').update(p.id, { phone: '0777 333' });
    netA.mode = 'online';
    netB.mode = 'online';
    await a.sync();
    await b.sync();
    await a.sync();
    // Patients merge, and the same field waits for a person: A's edit stands, B's is kept in
    // B's conflict store with both versions, and B shows the server's version meanwhile.
    expect((await a.collection('patients').get(p.id))?.data['phone']).toBe('0888 222');
    expect((await b.collection('patients').get(p.id))?.data['phone']).toBe('0888 222');
    const open = b.conflicts.list({ status: 'open' });
    expect(open).toHaveLength(1);
    expect(open[0]?.summary).toMatchObject({
      outcome: 'open',
      fields: ['phone'],
      client: { data: { phone: '0777 333' } },
      server: { data: { phone: '0888 222' } },
    });
    expect(b.queue.stats().conflict).toBe(1);
  });
});

describe('one device, its own changes after a lost answer (field clinic)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('a dose corrected after the first change’s answer was lost is no conflict with that change', async () => {
    const network = new TestNetwork();
    const tablet = await opener(server, fieldClinic, 'nurse@clinic-a.test', network)(memoryStore());
    const patient = await tablet.collection('patients').create({ name: 'Amina K.', village: 'Ntcheu' });
    const rx = await tablet
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Amoxicillin', dose: '500 mg' });
    expect((await tablet.sync()).success).toBe(true);

    // The server applies the change; its answer is lost on the way back.
    await tablet.collection('prescriptions').update(rx.id, { dose: '250 mg' });
    network.loseNextAnswers(1);
    expect((await tablet.sync()).success).toBe(false);
    // The nurse corrects the dose again before the network comes back.
    await tablet.collection('prescriptions').update(rx.id, { dose: '125 mg', frequency: 'twice a day' });
    const result = await tablet.sync();

    // Her second change was made on top of her first: prescriptions wait for a person on a real
    // conflict, and she must not be made to settle one against herself. The device resends the
    // first alone and sends the second on the version the first made.
    expect(result.success).toBe(true);
    expect(tablet.conflicts.list({ status: 'open' })).toEqual([]);
    expect(tablet.queue.stats().conflict).toBe(0);
    expect(network.pushes().at(-1)?.ops).toMatchObject([{ type: 'update', baseVersion: 2 }]);
    const atServer = (await serverState(server, 'nurse@clinic-a.test')).get(`prescriptions/${rx.id}`);
    expect(atServer).toMatchObject({ dose: '125 mg', frequency: 'twice a day' });
    expect((await tablet.collection('prescriptions').get(rx.id))?.data).toMatchObject({ dose: '125 mg' });
  });
});

describe('the server down', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('retries on the backoff timer by itself, opens the circuit, recovers, and loses nothing', async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers();
    const client = await opener(
      server,
      fieldClinic,
      'nurse@clinic-a.test',
      network,
    )(memoryStore(), {
      timers,
      random: () => 1,
      retry: { baseMs: 1000, maxMs: 60_000, maxAttempts: 20 },
      circuitBreaker: { failureThreshold: 3, cooldownMs: 120_000 },
    });
    for (let i = 0; i < 5; i++) await client.collection('patients').create({ name: `Patient ${i}` });
    network.mode = 'server-error';
    const first = await client.sync();
    expect(first.success).toBe(false);
    // With full jitter at its top (random = 1) the first retry waits base * 2^1.
    expect(timers.waiting()).toEqual([2000]);
    await timers.advance(2000);
    await vi.waitFor(() => expect(timers.waiting()).toEqual([4000]));
    await timers.advance(4000);
    // Three failures in a row: the circuit opens, and the next try waits for its cool-down.
    await vi.waitFor(() => expect(timers.waiting()[0]).toBeGreaterThanOrEqual(120_000 - 1));
    const requestsWhileOpen = network.sent.length;
    network.mode = 'online';
    await timers.advance(60_000);
    expect(network.sent.length).toBe(requestsWhileOpen);
    await timers.advance(60_000);
    // The trial request goes over the real loopback: wait for it, not for the manual clock.
    await vi.waitFor(() => {
      expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 5 });
      expect(client.isSyncing).toBe(false);
      expect(client.lastResult?.success).toBe(true);
    });
    const remote = await serverState(server, 'nurse@clinic-a.test');
    expect([...remote.values()].filter((d) => String(d['name']).startsWith('Patient '))).toHaveLength(5);
  });
});
