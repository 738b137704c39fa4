// Withdrawing a change before it is sent, against a real server: a clinician takes back an edit
// made offline (the wrong patient, a visit saved twice), the record shows again as it was, and the
// change never reaches the server, whose records and op journal are read through its API.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isOutpostError, uuidv7 } from '@outpost/core';
import type { RecordResponse, StatusResponse } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { StoreWriteError, encryptedStore, indexedDbStore, memoryFileStore, memoryStore } from '../src/index';
import type { LocalFileStore, LocalStore, SyncClient, SyncClientOptions, WriteBatch } from '../src/index';
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
import { FileFaults, photo } from './file-faults';

const nurse = 'nurse@clinic-a.test';

afterEach(closeClients);

async function getJson<T>(server: TestServer, email: string, path: string): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    headers: { authorization: `Bearer ${await server.token(email)}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** The record as the server holds it, read through its API. */
function serverRecord(server: TestServer, collection: string, id: string): Promise<RecordResponse> {
  return getJson(server, nurse, `/v1/records/${collection}/${id}`);
}

/** What the server's op journal holds of one device's ops, through its API. */
async function journal(server: TestServer, email: string, deviceId: string): Promise<StatusResponse['ops']> {
  return (await getJson<StatusResponse>(server, email, `/v1/sync/status?deviceId=${deviceId}`)).ops;
}

/** The opIds of every op that went out in a push. */
function pushedOpIds(network: TestNetwork): string[] {
  return network.pushes().flatMap((p) => p.ops.map((o) => o.opId));
}

/** The pending ops of the outbox, in the order made. */
function waitingOps(client: SyncClient) {
  return client.queue.list().filter((o) => o.status === 'pending');
}

/** The reason an OutpostError gives in its details, or the error itself when it is another. */
async function refusalOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    if (isOutpostError(err)) return (err.details as { reason?: string }).reason;
    throw err;
  }
  throw new Error('the call was not refused');
}

describe('withdrawing a change of the field clinic before it is sent', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('takes back an edit made offline: the record shows the value before, and the edit never reaches the server', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, nurse, memoryStore(), network, {
      timers: new ManualTimers(),
      deviceId: 'tablet-w1',
    });
    const patients = client.collection('patients');
    const p = await patients.create({ name: 'Amina K.', village: 'Ntcheu' });
    expect((await client.sync()).success).toBe(true);

    // Offline, the nurse edits the wrong patient's village and phone.
    network.mode = 'offline';
    await patients.update(p.id, { village: 'Dedza', phone: '0999 123 456' });
    expect(await patients.get(p.id)).toMatchObject({ data: { village: 'Dedza' }, pending: true });
    const [edit] = waitingOps(client);
    const told: Array<ReadonlySet<string>> = [];
    client.on('change', (touched) => told.push(touched));
    const shown: Array<Record<string, unknown> | undefined> = [];
    patients.subscribe((rows) => shown.push(rows.find((r) => r.id === p.id)?.data));

    // Withdrawn offline: the record shows the server's copy again, in one write subscribers hear of.
    expect(await client.queue.withdraw([edit?.seq as number])).toBe(1);
    const after = await patients.get(p.id);
    expect(after).toMatchObject({
      data: { name: 'Amina K.', village: 'Ntcheu' },
      pending: false,
      version: 1,
    });
    expect(after?.data).not.toHaveProperty('phone');
    expect(client.queue.stats()).toMatchObject({ waiting: 0, pending: 0 });
    expect(told).toEqual([new Set(['patients', '$outbox'])]);
    expect(shown.at(-1)).toEqual({ name: 'Amina K.', village: 'Ntcheu' });
    // Asked again, it is gone: nothing more happens.
    expect(await refusalOf(client.queue.withdraw([edit?.seq as number]))).toBe('NOT_WAITING');

    // Back online, nothing goes: the server keeps the record as it was, and its journal never heard of the edit.
    network.mode = 'online';
    const result = await client.sync();
    expect(result).toMatchObject({ success: true, pushed: { sent: 0 } });
    expect(pushedOpIds(network)).not.toContain(edit?.opId);
    expect(await serverRecord(server, 'patients', p.id)).toMatchObject({
      version: 1,
      data: { name: 'Amina K.', village: 'Ntcheu' },
    });
    expect(await journal(server, nurse, 'tablet-w1')).toEqual({
      applied: 1,
      conflict: 0,
      rejected: 0,
      duplicate: 0,
    });
    expect(await patients.get(p.id)).toMatchObject({
      data: { name: 'Amina K.', village: 'Ntcheu' },
      version: 1,
    });
  });

  it('takes back a delete: the record shows again, and a later edit goes with the earlier one', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, nurse, memoryStore(), network, {
      timers: new ManualTimers(),
      deviceId: 'tablet-w2',
    });
    const patients = client.collection('patients');
    const p = await patients.create({ name: 'Chisomo P.', village: 'Salima' });
    expect((await client.sync()).success).toBe(true);
    network.mode = 'offline';

    await patients.delete(p.id);
    expect(await patients.get(p.id)).toBeNull();
    const [removal] = waitingOps(client);
    expect(await client.queue.withdraw([removal?.seq as number])).toBe(1);
    expect(await patients.get(p.id)).toMatchObject({
      data: { name: 'Chisomo P.', village: 'Salima' },
      pending: false,
    });

    // An edit, then another on top of it: the first cannot go alone, and the error names the second.
    await patients.update(p.id, { village: 'Mchinji' });
    await patients.update(p.id, { phone: '0888' });
    const [first, second] = waitingOps(client);
    const refused = client.queue.withdraw([first?.seq as number]);
    await expect(refused).rejects.toThrow(`update of patients ${p.id} (change ${second?.seq})`);
    expect(await refusalOf(refused)).toBe('DEPENDENTS');
    expect(client.queue.stats().pending).toBe(2);
    const plan = client.queue.planWithdrawal([first?.seq as number]);
    expect(plan.dependents.map((o) => o.seq)).toEqual([second?.seq]);
    expect(await client.queue.withdraw(plan.ops.map((o) => o.seq))).toBe(2);
    expect((await patients.get(p.id))?.data).toEqual({ name: 'Chisomo P.', village: 'Salima' });

    network.mode = 'online';
    expect((await client.sync()).pushed.sent).toBe(0);
    expect(await serverRecord(server, 'patients', p.id)).toMatchObject({
      version: 1,
      deleted: false,
      data: { name: 'Chisomo P.', village: 'Salima' },
    });
  });

  it('refuses a change being sent, and one sent whose answer was lost: the server may hold it', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, nurse, memoryStore(), network, {
      timers: new ManualTimers(),
      deviceId: 'tablet-w3',
    });
    const patients = client.collection('patients');
    const p = await patients.create({ name: 'Ruth T.' });
    expect((await client.sync()).success).toBe(true);

    // In flight: the push is on its way.
    await patients.update(p.id, { village: 'Balaka' });
    const [inFlight] = waitingOps(client);
    const held = network.holdNext('/v1/sync/push');
    const syncing = client.sync();
    await held.reached;
    expect(client.queue.list().find((o) => o.seq === inFlight?.seq)?.status).toBe('in-flight');
    expect(client.queue.planWithdrawal([inFlight?.seq as number]).blocked).toMatchObject([
      { reason: 'in-flight' },
    ]);
    const whileSent = client.queue.withdraw([inFlight?.seq as number]);
    await expect(whileSent).rejects.toThrow('is being sent right now');
    expect(await refusalOf(whileSent)).toBe('IN_FLIGHT');
    expect((await patients.get(p.id))?.data).toMatchObject({ village: 'Balaka' });
    held.release();
    expect((await syncing).pushed.applied).toBe(1);
    expect((await serverRecord(server, 'patients', p.id)).data).toMatchObject({ village: 'Balaka' });

    // Sent, the server applied it, the answer was lost: pending again, but not withdrawable.
    await patients.update(p.id, { village: 'Zomba' });
    const [lost] = waitingOps(client);
    network.loseNextAnswers(1);
    expect((await client.sync()).success).toBe(false);
    expect(client.queue.list().find((o) => o.seq === lost?.seq)).toMatchObject({
      status: 'pending',
      sent: true,
    });
    expect(await refusalOf(client.queue.withdraw([lost?.seq as number]))).toBe('SENT');
    expect((await patients.get(p.id))?.data).toMatchObject({ village: 'Zomba' });
    // The next sync learns it went in, and the device agrees with the server.
    expect((await client.sync()).success).toBe(true);
    expect((await serverRecord(server, 'patients', p.id)).data).toMatchObject({ village: 'Zomba' });
    expect(await journal(server, nurse, 'tablet-w3')).toMatchObject({ applied: 3, duplicate: 1 });
  });

  it('never sends a change withdrawn while a push was putting its batch together', async () => {
    const network = new TestNetwork();
    const inner = memoryStore();
    let onCommit: ((batch: WriteBatch) => Promise<void>) | null = null;
    const store: LocalStore = {
      kind: 'gated',
      load: () => inner.load(),
      commit: async (batch) => {
        await onCommit?.(batch);
        await inner.commit(batch);
      },
      clear: () => inner.clear(),
      close: () => inner.close(),
    };
    const client = await openClient(server, nurse, store, network, {
      timers: new ManualTimers(),
      deviceId: 'tablet-w4',
    });
    const patients = client.collection('patients');
    const folded = await patients.create({ name: 'Folded' });
    const kept = await patients.create({ name: 'Kept', village: 'Mzuzu' });
    expect((await client.sync()).success).toBe(true);
    // Two edits of one record fold at the push (a write of its own); one edit of another is withdrawn.
    await patients.update(folded.id, { village: 'Karonga' });
    await patients.update(folded.id, { phone: '0777' });
    await patients.update(kept.id, { village: 'Nkhata Bay' });
    const withdrawn = waitingOps(client).find((o) => o.id === kept.id);

    let withdrawal: Promise<number> | null = null;
    onCommit = async (batch) => {
      const folding = (batch.deleteOps?.length ?? 0) > 0 && (batch.putOps?.length ?? 0) > 0;
      if (folding && withdrawal === null) {
        // The person presses "Withdraw" as the push prepares: queued behind the fold.
        withdrawal = client.queue.withdraw([withdrawn?.seq as number]);
      } else if (batch.deleteOps?.includes(withdrawn?.seq as number)) {
        // Its commit is slow: the push puts its batch together meanwhile, the op still in it.
        for (let i = 0; i < 5; i++) await nextTurn();
      }
    };
    const result = await client.sync();
    expect(await withdrawal).toBe(1);
    expect(result).toMatchObject({ success: true, pushed: { sent: 1, applied: 1 } });
    expect(pushedOpIds(network)).not.toContain(withdrawn?.opId);
    expect(client.queue.list().some((o) => o.seq === withdrawn?.seq)).toBe(false);
    expect((await patients.get(kept.id))?.data).toEqual({ name: 'Kept', village: 'Mzuzu' });
    expect((await serverRecord(server, 'patients', kept.id)).data).toEqual({
      name: 'Kept',
      village: 'Mzuzu',
    });
    expect((await serverRecord(server, 'patients', folded.id)).data).toMatchObject({
      village: 'Karonga',
      phone: '0777',
    });
  });

  it("shows the server's copy as it moved: the device's own change confirmed beneath, a colleague's pulled", async () => {
    const network = new TestNetwork();
    const client = await openClient(server, nurse, memoryStore(), network, {
      timers: new ManualTimers(),
      deviceId: 'tablet-w5',
    });
    const colleague = await openClient(server, nurse, memoryStore(), new TestNetwork(), {
      timers: new ManualTimers(),
      deviceId: 'tablet-w6',
    });
    const patients = client.collection('patients');
    const p = await patients.create({ name: 'Mercy B.' });
    expect((await client.sync()).success).toBe(true);

    // An edit goes; another is made while it is on its way, and stays.
    await patients.update(p.id, { village: 'Dowa' });
    const held = network.holdNext('/v1/sync/push');
    // Push only: no pull after it brings the record again.
    const syncing = client.syncToServer();
    await held.reached;
    await patients.update(p.id, { village: 'Ntchisi', notes: 'second visit' });
    held.release();
    expect((await syncing).pushed.applied).toBe(1);
    // Offline at once: the copy beneath is the server's with the confirmed edit, kept with no pull.
    network.mode = 'offline';
    const [later] = waitingOps(client);
    expect(await client.queue.withdraw([later?.seq as number])).toBe(1);
    expect(await patients.get(p.id)).toMatchObject({
      data: { name: 'Mercy B.', village: 'Dowa' },
      pending: false,
    });

    // Another edit waits; a colleague sets the phone, and this device pulls it beneath the edit.
    await patients.update(p.id, { notes: 'third visit' });
    const [third] = waitingOps(client);
    network.mode = 'online';
    expect((await colleague.syncFromServer()).success).toBe(true);
    await colleague.collection('patients').update(p.id, { phone: '0111' });
    expect((await colleague.sync()).success).toBe(true);
    expect((await client.syncFromServer()).success).toBe(true);
    expect((await patients.get(p.id))?.data).toEqual({
      name: 'Mercy B.',
      village: 'Dowa',
      notes: 'third visit',
      phone: '0111',
    });

    network.mode = 'offline';
    expect(await client.queue.withdraw([third?.seq as number])).toBe(1);
    const shown = await patients.get(p.id);
    const onServer = await serverRecord(server, 'patients', p.id);
    expect(shown?.data).toEqual({ name: 'Mercy B.', village: 'Dowa', phone: '0111' });
    expect([shown?.data, shown?.version, shown?.pending]).toEqual([onServer.data, onServer.version, false]);
  });

  it('needs the network only for a record whose server copy the device does not keep, and changes nothing without it', async () => {
    const network = new TestNetwork();
    const name = 'withdraw-older-store';
    const open = () =>
      openClient(server, nurse, memoryStore({ name }), network, {
        timers: new ManualTimers(),
        deviceId: 'tablet-w7',
      });
    let client = await open();
    const p = await client.collection('patients').create({ name: 'Esther N.', village: 'Mangochi' });
    expect((await client.sync()).success).toBe(true);
    network.mode = 'offline';
    await client.collection('patients').update(p.id, { village: 'Machinga' });
    const [edit] = waitingOps(client);
    await closeClient(client);
    // As a store written before the copy was kept: the record with its change, and no copy beneath.
    const older = memoryStore({ name });
    const { records } = await older.load();
    const { server: _copy, ...withoutCopy } = records.find((r) => r.id === p.id) as (typeof records)[number];
    expect(_copy).toMatchObject({ data: { village: 'Mangochi' } });
    await older.commit({ putRecords: [withoutCopy] });

    client = await open();
    const offline = client.queue.withdraw([edit?.seq as number]);
    await expect(offline).rejects.toThrow(`needs the server's copy of patients ${p.id}`);
    expect(await refusalOf(offline)).toBe('NEEDS_SERVER');
    expect(await client.collection('patients').get(p.id)).toMatchObject({
      data: { village: 'Machinga' },
      pending: true,
    });
    expect(client.queue.stats().pending).toBe(1);

    network.mode = 'online';
    expect(await client.queue.withdraw([edit?.seq as number])).toBe(1);
    expect(await client.collection('patients').get(p.id)).toMatchObject({
      data: { name: 'Esther N.', village: 'Mangochi' },
      pending: false,
    });
    expect(network.sent.filter((s) => s.path === `/v1/records/patients/${p.id}`)).toHaveLength(1);
  });

  it('keeps a withdrawal, and the copy that allows one offline, through reopening the app (IndexedDB)', async () => {
    const network = new TestNetwork();
    const indexedDB = new IDBFactory();
    const open = () =>
      openClient(
        server,
        nurse,
        indexedDbStore({ name: 'withdraw', indexedDB, IDBKeyRange, locks: null }),
        network,
        {
          timers: new ManualTimers(),
          deviceId: 'tablet-w8',
        },
      );
    let client = await open();
    const p = await client.collection('patients').create({ name: 'Tiyamike G.', village: 'Nsanje' });
    expect((await client.sync()).success).toBe(true);
    network.mode = 'offline';
    await client.collection('patients').update(p.id, { village: 'Chiradzulu' });
    const [edit] = waitingOps(client);
    await closeClient(client);

    // Opened again, still offline: the edit shows, and can be withdrawn with no server.
    client = await open();
    expect((await client.collection('patients').get(p.id))?.data).toMatchObject({ village: 'Chiradzulu' });
    expect(await client.queue.withdraw([edit?.seq as number])).toBe(1);
    await closeClient(client);

    client = await open();
    expect(await client.collection('patients').get(p.id)).toMatchObject({
      data: { name: 'Tiyamike G.', village: 'Nsanje' },
      pending: false,
    });
    expect(client.queue.list().filter((o) => o.status !== 'done')).toEqual([]);
    network.mode = 'online';
    expect((await client.sync()).pushed.sent).toBe(0);
    expect(pushedOpIds(network)).not.toContain(edit?.opId);
    expect((await serverRecord(server, 'patients', p.id)).data).toEqual({
      name: 'Tiyamike G.',
      village: 'Nsanje',
    });
  });

  it('seals the copy kept beneath a change in an encrypted store, and withdraws from it after reopening', async () => {
    const network = new TestNetwork();
    const inner = memoryStore({ name: 'withdraw-encrypted' });
    const open = () =>
      openClient(
        server,
        nurse,
        encryptedStore(inner, { passphrase: 'correct horse', iterations: 1000 }),
        network,
        {
          timers: new ManualTimers(),
          deviceId: 'tablet-w9',
        },
      );
    let client = await open();
    const p = await client.collection('patients').create({ name: 'Kettie Z.', village: 'Likoma' });
    expect((await client.sync()).success).toBe(true);
    network.mode = 'offline';
    await client.collection('patients').update(p.id, { village: 'Chizumulu' });
    const [edit] = waitingOps(client);
    await closeClient(client);

    // The server's value sits only in the copy beneath the edit: sealed like the rest.
    const raw = await memoryStore({ name: 'withdraw-encrypted' }).load();
    expect(raw.records.find((r) => r.id === p.id)?.server?.data).toHaveProperty('$enc');
    expect(JSON.stringify(raw)).not.toContain('Likoma');

    client = await open();
    expect(await client.queue.withdraw([edit?.seq as number])).toBe(1);
    expect((await client.collection('patients').get(p.id))?.data).toEqual({
      name: 'Kettie Z.',
      village: 'Likoma',
    });
  });
});

describe('withdrawing records created offline under temp ids (vet practice)', () => {
  let vets: TestServer;
  beforeAll(async () => {
    vets = await startServer(vetPractice);
  });
  afterAll(async () => vets.close());

  it('takes a pet created offline with its appointment and its edit, named; the owner goes on to the server', async () => {
    const network = new TestNetwork();
    network.mode = 'offline';
    const vet = await openClient(vets, 'vet@vet-a.test', memoryStore(), network, {
      schema: vetPractice,
      timers: new ManualTimers(),
      deviceId: 'vet-tablet-1',
    });
    const owner = await vet.collection('users').create({ name: 'Chikondi M.' });
    const pet = await vet.collection('pets').create({ name: 'Rex', ownerId: owner.id });
    const visit = await vet
      .collection('appointments')
      .create({ date: '2026-11-22T09:00:00Z', petId: pet.id });
    await vet.collection('pets').update(pet.id, { species: 'dog' });
    expect(pet.id).toMatch(/^temp_/);
    const [ownerOp, petOp, visitOp, petEdit] = waitingOps(vet);

    // Alone, the pet's create would leave an appointment and an edit pointing at nothing: refused, named.
    const alone = vet.queue.withdraw([petOp?.seq as number]);
    expect(await refusalOf(alone)).toBe('DEPENDENTS');
    await expect(alone).rejects.toThrow(`create of appointments ${visit.id}`);
    expect(vet.queue.stats().pending).toBe(4);
    const plan = vet.queue.planWithdrawal([petOp?.seq as number]);
    expect(plan.ops.map((o) => o.seq)).toEqual([petOp?.seq, visitOp?.seq, petEdit?.seq]);
    expect(plan.blocked).toEqual([]);

    expect(await vet.queue.withdraw(plan.ops.map((o) => o.seq))).toBe(3);
    expect(await vet.collection('pets').get(pet.id)).toBeNull();
    expect(await vet.collection('appointments').get(visit.id)).toBeNull();
    expect(await vet.collection('users').get(owner.id)).toMatchObject({ data: { name: 'Chikondi M.' } });
    expect(vet.queue.list().map((o) => o.seq)).toEqual([ownerOp?.seq]);

    network.mode = 'online';
    expect((await vet.sync()).pushed).toMatchObject({ sent: 1, applied: 1, rejected: 0 });
    expect(pushedOpIds(network)).toEqual([ownerOp?.opId]);
    const state = await serverState(vets, 'vet@vet-a.test');
    expect([...state.values()]).toEqual([{ name: 'Chikondi M.' }]);
    expect(await journal(vets, 'vet@vet-a.test', 'vet-tablet-1')).toEqual({
      applied: 1,
      conflict: 0,
      rejected: 0,
      duplicate: 0,
    });
  });
});

describe('withdrawing a record created offline takes the files attached to it', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  const admin = 'admin@clinic-a.test';
  const KiB = 1024;
  let names = 0;

  /** A tablet whose record store and file store are named, so closing and opening it finds them again. */
  function tablet(fileStore?: (inner: LocalFileStore) => LocalFileStore) {
    const name = `withdraw-files-${++names}`;
    const network = new TestNetwork();
    const faults = new FileFaults(network.fetch);
    const timers = new ManualTimers();
    return {
      network,
      faults,
      open: (extra: Partial<SyncClientOptions> = {}) =>
        openClient(server, nurse, memoryStore({ name }), network, {
          files: (fileStore ?? ((inner) => inner))(memoryFileStore({ name })),
          fileChunkBytes: KiB,
          fetch: faults.fetch,
          timers,
          deviceId: `tablet-wf${names}`,
          ...extra,
        }),
    };
  }

  /** The status the server answers for a file, read by a role that may read every file. */
  async function fileStatus(id: string): Promise<number> {
    const res = await fetch(`${server.url}/v1/files/${id}`, {
      headers: { authorization: `Bearer ${await server.token(admin)}` },
    });
    await res.arrayBuffer();
    return res.status;
  }

  async function recordStatus(collection: string, id: string): Promise<number> {
    const res = await fetch(`${server.url}/v1/records/${collection}/${id}`, {
      headers: { authorization: `Bearer ${await server.token(nurse)}` },
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** The files requests that uploaded something: declarations and chunks. */
  const uploads = (faults: FileFaults) => faults.fileRequests.filter((r) => r.startsWith('PUT'));

  it('takes a patient registered offline with its photo never sent and one half uploaded: the server keeps neither, through reopening', async () => {
    const device = tablet();
    let client = await device.open();
    // The wound was photographed first, for the patient's record about to be made: the photo goes
    // under the record's id with a sync, and the link drops after two of its four chunks.
    const patientId = uuidv7();
    const halfSent = await client.files.attach(photo(4 * KiB, 21), {
      collection: 'patients',
      recordId: patientId,
      name: 'wound.jpg',
    });
    device.faults.cutAfterChunks = 2;
    expect((await client.sync()).success).toBe(false);
    expect(device.faults.chunksSent).toEqual([0, 1]);
    expect(await fileStatus(halfSent.id)).toBe(200);

    // Offline, the nurse registers the patient, attaches another photo, and opens a visit with one.
    device.network.mode = 'offline';
    device.faults.cutAfterChunks = Infinity;
    const patient = await client.collection('patients').create({ name: 'Wrong Person' }, { id: patientId });
    const neverSent = await client.files.attach(photo(2 * KiB, 22), {
      collection: 'patients',
      recordId: patientId,
      name: 'face.jpg',
    });
    const visit = await client.collection('encounters').create({ patientId, diagnosis: 'Burn' });
    const burn = await client.files.attach(photo(KiB, 23), {
      collection: 'encounters',
      recordId: visit.id,
      name: 'burn.jpg',
    });
    // Not uploaded while the record's create has not left the device: it may still be withdrawn.
    expect(client.files.status(neverSent.id)?.waitingFor).toBe(
      `the create of patients ${patientId} to be sent`,
    );
    const [create] = waitingOps(client);

    const plan = client.queue.planWithdrawal([create?.seq as number]);
    expect(plan.ops.map((o) => o.id)).toEqual([patient.id, visit.id]);
    expect(plan.files.map((f) => f.name).sort()).toEqual(['burn.jpg', 'face.jpg', 'wound.jpg']);
    expect(await client.queue.withdraw(plan.ops.map((o) => o.seq))).toBe(2);
    expect(await client.collection('patients').get(patientId)).toBeNull();
    expect(client.files.list()).toEqual([]);
    expect(client.files.stats()).toMatchObject({ attached: 0, waiting: 0 });

    // The app is closed and opened again, still offline: all of it stays gone.
    await closeClient(client);
    client = await device.open();
    expect(client.files.list()).toEqual([]);
    expect(client.queue.list()).toEqual([]);
    expect(await client.collection('encounters').get(visit.id)).toBeNull();

    // Online: the half upload is deleted on the server, nothing is uploaded, no record is made.
    device.network.mode = 'online';
    const before = device.faults.fileRequests.length;
    expect(await client.sync()).toMatchObject({ success: true, pushed: { sent: 0 }, files: { uploaded: 0 } });
    const after = device.faults.fileRequests.slice(before);
    expect(after.every((r) => r.startsWith('DELETE'))).toBe(true);
    expect(after).toContain(`DELETE /v1/files/${halfSent.id}`);
    expect(device.faults.chunksSent).toEqual([0, 1]);
    expect(await fileStatus(halfSent.id)).toBe(404);
    expect(await fileStatus(neverSent.id)).toBe(404);
    expect(await fileStatus(burn.id)).toBe(404);
    expect(await recordStatus('patients', patientId)).toBe(404);
    expect(await recordStatus('encounters', visit.id)).toBe(404);
    // Done with: the next sync asks nothing more.
    const settled = device.faults.fileRequests.length;
    await client.sync();
    expect(device.faults.fileRequests.length).toBe(settled);
  });

  it('uploads nothing of a record whose create is held back, so withdrawing the create leaves nothing on the server', async () => {
    const device = tablet();
    const client = await device.open({ retry: { maxAttempts: 1 } });
    device.network.mode = 'offline';
    const patient = await client.collection('patients').create({ name: 'Alinafe C.' });
    // The patient's create gives up on the network; the visit made after it waits for it.
    expect((await client.sync()).success).toBe(false);
    const visit = await client.collection('encounters').create({ patientId: patient.id, diagnosis: 'Cut' });
    const cut = await client.files.attach(photo(3 * KiB, 28), {
      collection: 'encounters',
      recordId: visit.id,
      name: 'cut.jpg',
    });
    device.network.mode = 'online';
    expect(await client.sync()).toMatchObject({
      success: true,
      pushed: { sent: 0, held: 1 },
      files: { uploaded: 0 },
    });
    // Held back, the visit's create has never left the device: its photo waits with it.
    expect(client.files.status(cut.id)).toMatchObject({
      state: 'waiting',
      waitingFor: `the create of encounters ${visit.id} to be sent`,
    });
    expect(device.faults.fileRequests).toEqual([]);

    const held = waitingOps(client).find((o) => o.id === visit.id);
    expect(client.queue.planWithdrawal([held?.seq as number]).files.map((f) => f.id)).toEqual([cut.id]);
    expect(await client.queue.withdraw([held?.seq as number])).toBe(1);
    expect(client.files.list()).toEqual([]);
    // "Sync now" sends the patient; nothing of the visit or its photo goes.
    expect(await client.sync({ manual: true })).toMatchObject({ success: true, pushed: { applied: 1 } });
    expect(uploads(device.faults)).toEqual([]);
    expect(await fileStatus(cut.id)).toBe(404);
    expect(await recordStatus('encounters', visit.id)).toBe(404);
    expect(await recordStatus('patients', patient.id)).toBe(200);
  });

  it('leaves the file of a record the server has to upload when only an update of it is withdrawn', async () => {
    const device = tablet();
    const client = await device.open();
    const patient = await client.collection('patients').create({ name: 'Right Person', village: 'Zomba' });
    expect((await client.sync()).success).toBe(true);

    device.network.mode = 'offline';
    await client.collection('patients').update(patient.id, { village: 'Wrong Village' });
    const scan = await client.files.attach(photo(2 * KiB, 24), {
      collection: 'patients',
      recordId: patient.id,
      name: 'consent.pdf',
    });
    const [edit] = waitingOps(client);
    const plan = client.queue.planWithdrawal([edit?.seq as number]);
    expect(plan.files).toEqual([]);
    expect(await client.queue.withdraw([edit?.seq as number])).toBe(1);
    expect(client.files.status(scan.id)).toMatchObject({ state: 'waiting', held: true });

    device.network.mode = 'online';
    expect(await client.sync()).toMatchObject({ success: true, pushed: { sent: 0 }, files: { uploaded: 1 } });
    expect(client.files.status(scan.id)?.state).toBe('synced');
    expect(await fileStatus(scan.id)).toBe(200);
    expect((await serverRecord(server, 'patients', patient.id)).data).toEqual({
      name: 'Right Person',
      village: 'Zomba',
    });
  });

  it('finishes taking the files when the app stopped between the records and the files: none is uploaded', async () => {
    // The file store fails its next write that removes files, as a tablet switched off between
    // the record store's write and the file store's does: the records went, the files did not.
    let failRemoval = false;
    const device = tablet((inner) => ({
      ...inner,
      kind: inner.kind,
      load: () => inner.load(),
      readChunk: (id, index) => inner.readChunk(id, index),
      clear: () => inner.clear(),
      close: () => inner.close(),
      commit: async (write) => {
        if (failRemoval && (write.deleteFiles?.length ?? 0) > 0) {
          failRemoval = false;
          throw new StoreWriteError('memory', new Error('the tablet switched off'));
        }
        await inner.commit(write);
      },
    }));
    let client = await device.open();
    const patientId = uuidv7();
    const halfSent = await client.files.attach(photo(4 * KiB, 25), {
      collection: 'patients',
      recordId: patientId,
      name: 'ulcer.jpg',
    });
    device.faults.cutAfterChunks = 2;
    expect((await client.sync()).success).toBe(false);
    device.faults.cutAfterChunks = Infinity;
    device.network.mode = 'offline';
    await client.collection('patients').create({ name: 'Registered Twice' }, { id: patientId });
    const neverSent = await client.files.attach(photo(KiB, 26), {
      collection: 'patients',
      recordId: patientId,
      name: 'ulcer, closer.jpg',
    });
    const [create] = waitingOps(client);

    failRemoval = true;
    // The withdrawal stands: its records went in their write.
    expect(await client.queue.withdraw([create?.seq as number])).toBe(1);
    expect(await client.collection('patients').get(patientId)).toBeNull();
    expect(
      client.files
        .list()
        .map((f) => f.id)
        .sort(),
    ).toEqual([halfSent.id, neverSent.id].sort());

    // Opened again: the files of the withdrawn record go first thing.
    await closeClient(client);
    client = await device.open();
    expect(client.files.list()).toEqual([]);

    device.network.mode = 'online';
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 0 } });
    expect(uploads(device.faults).filter((r) => r.includes(neverSent.id))).toEqual([]);
    expect(device.faults.chunksSent).toEqual([0, 1]);
    expect(await fileStatus(halfSent.id)).toBe(404);
    expect(await recordStatus('patients', patientId)).toBe(404);
  });

  it('uploads nothing of a withdrawn record when the files could not go at once, and the next sync comes first', async () => {
    let failRemoval = false;
    const device = tablet((inner) => ({
      ...inner,
      kind: inner.kind,
      load: () => inner.load(),
      readChunk: (id, index) => inner.readChunk(id, index),
      clear: () => inner.clear(),
      close: () => inner.close(),
      commit: async (write) => {
        if (failRemoval && (write.deleteFiles?.length ?? 0) > 0) {
          failRemoval = false;
          throw new StoreWriteError('memory', new Error('disk full for a moment'));
        }
        await inner.commit(write);
      },
    }));
    const client = await device.open();
    device.network.mode = 'offline';
    const patient = await client.collection('patients').create({ name: 'Not This One' });
    const file = await client.files.attach(photo(2 * KiB, 27), {
      collection: 'patients',
      recordId: patient.id,
      name: 'rash.jpg',
    });
    const [create] = waitingOps(client);
    failRemoval = true;
    expect(await client.queue.withdraw([create?.seq as number])).toBe(1);
    expect(client.files.status(file.id)).not.toBeNull();

    device.network.mode = 'online';
    expect(await client.sync()).toMatchObject({
      success: true,
      files: { uploaded: 0, waiting: 0, failed: 0 },
    });
    expect(client.files.list()).toEqual([]);
    expect(uploads(device.faults)).toEqual([]);
    expect(device.faults.fileRequests).toEqual([`DELETE /v1/files/${file.id}`]);
    expect(await fileStatus(file.id)).toBe(404);
  });
});

describe('withdrawing a change made on top of a refused one', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('shows the refused value again where only the withdrawn change had set the field again', async () => {
    const network = new TestNetwork();
    const name = 'withdraw-over-refused';
    const open = () =>
      openClient(server, nurse, memoryStore({ name }), network, {
        timers: new ManualTimers(),
        deviceId: 'tablet-wr1',
      });
    let client = await open();
    const encounters = client.collection('encounters');
    const p = await client.collection('patients').create({ name: 'Tionge' });
    const e = await encounters.create({ patientId: p.id, diagnosis: 'Fever', notes: 'day 1' });
    expect((await client.sync()).success).toBe(true);
    // Refused for good: the visit moved to a patient that exists nowhere. It stays on screen.
    await encounters.update(e.id, { patientId: uuidv7(), diagnosis: 'Malaria', notes: 'day 2' });
    expect((await client.sync()).pushed.rejected).toBe(1);
    expect(await encounters.get(e.id)).toMatchObject({ refused: true, data: { diagnosis: 'Malaria' } });

    // Offline, the notes are typed again and sent later; the diagnosis is typed again, by mistake.
    network.mode = 'offline';
    await encounters.update(e.id, { notes: 'day 3' });
    await encounters.update(e.id, { diagnosis: 'Typhoid' });
    expect((await encounters.get(e.id))?.data).toMatchObject({ diagnosis: 'Typhoid', notes: 'day 3' });
    const mistake = waitingOps(client).find((o) => o.data?.['diagnosis'] === 'Typhoid');
    expect(await client.queue.withdraw([mistake?.seq as number])).toBe(1);

    // As it showed before the mistake: the refused diagnosis, the notes typed since.
    const shown = await encounters.get(e.id);
    expect(shown).toMatchObject({
      refused: true,
      pending: true,
      data: { diagnosis: 'Malaria', notes: 'day 3' },
    });
    expect(client.queue.stats()).toMatchObject({ refused: 1, pending: 1 });
    await closeClient(client);
    client = await open();
    expect((await client.collection('encounters').get(e.id))?.data).toMatchObject({
      diagnosis: 'Malaria',
      notes: 'day 3',
    });

    // The notes go; the refusal, once read and discarded, leaves the server's diagnosis.
    network.mode = 'online';
    expect((await client.sync()).pushed.applied).toBe(1);
    const refused = client.queue.list().filter((o) => o.rejected === true);
    expect(await client.queue.discard(refused.map((o) => o.seq))).toBe(1);
    expect((await client.collection('encounters').get(e.id))?.data).toEqual({
      patientId: p.id,
      diagnosis: 'Fever',
      notes: 'day 3',
    });
    expect((await serverRecord(server, 'encounters', e.id)).data).toMatchObject({
      diagnosis: 'Fever',
      notes: 'day 3',
    });
  });
});
