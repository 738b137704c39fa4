// What the device keeps and shows between syncs, against a real server: which edits the outbox
// may fold together, an id freed when its record never reached the server, and records and
// queries that name a parent by a temp id the server has since replaced.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordData } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { memoryStore } from '../src/index';
import {
  ManualTimers,
  TestNetwork,
  closeClients,
  openClient,
  serverState,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

/** One record as the server holds it, read by a fresh pull from scratch. */
async function onServer(server: TestServer, email: string, key: string): Promise<RecordData | undefined> {
  return (await serverState(server, email)).get(key);
}

afterEach(closeClients);

describe('the field clinic outbox', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it("never folds an edit made on a colleague's newer version into one made before it: both apply", async () => {
    const network = new TestNetwork();
    const nurse = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      timers: new ManualTimers(),
    });
    const colleague = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      timers: new ManualTimers(),
      deviceId: 'tablet-9',
    });
    const patient = await nurse
      .collection('patients')
      .create({ name: 'Amina', village: 'Ntcheu', phone: '1' });
    await nurse.sync();
    await colleague.sync();
    await colleague.collection('patients').update(patient.id, { phone: '2' });
    await colleague.sync();

    // The nurse's sync has pushed (nothing) and is pulling when she edits the village; the pull
    // brings the colleague's phone (version 2), and she then corrects the phone she now sees.
    const pull = network.holdNext('/v1/sync/pull');
    const syncing = nurse.sync();
    await pull.reached;
    await nurse.collection('patients').update(patient.id, { village: 'Dedza' });
    pull.release();
    await syncing;
    expect((await nurse.collection('patients').get(patient.id))?.data).toMatchObject({ phone: '2' });
    await nurse.collection('patients').update(patient.id, { phone: '3' });

    // Folded onto the first edit's base (version 1), the two would meet the colleague's phone
    // change as a conflict waiting for review, and neither would reach the record.
    const result = await nurse.sync();
    expect(result.pushed).toMatchObject({ applied: 2, conflicts: 0 });
    expect(await onServer(server, 'nurse@clinic-a.test', `patients/${patient.id}`)).toMatchObject({
      village: 'Dedza',
      phone: '3',
    });
  });

  it('frees the id of a record created and deleted before the server saw it, and keeps none of its data', async () => {
    const store = memoryStore();
    const nurse = await openClient(server, 'nurse@clinic-a.test', store, new TestNetwork(), {
      timers: new ManualTimers(),
    });
    const patient = await nurse.collection('patients').create({ name: 'Chisomo' });
    const forms = nurse.collection('intakeForms');
    // Named after its patient, as the simulation's devices name theirs.
    const id = `intake-${patient.id}`;
    await forms.create({ patientId: patient.id, answers: { fever: true } }, { id });
    await forms.delete(id);
    await nurse.sync(); // the create and the delete fold to nothing: the server never hears of it
    // Nor does the device keep the deleted answers.
    const kept = await store.load();
    expect(kept.records.filter((r) => r.id === id)).toEqual([]);
    expect(kept.outbox.filter((o) => o.id === id)).toEqual([]);

    await forms.create({ patientId: patient.id, answers: { fever: false } }, { id });
    await nurse.sync();
    expect(await onServer(server, 'nurse@clinic-a.test', `intakeForms/${id}`)).toMatchObject({
      answers: { fever: false },
    });
  });

  it('frees the id of a record created and deleted offline at once, before any sync', async () => {
    const nurse = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      timers: new ManualTimers(),
    });
    const patient = await nurse.collection('patients').create({ name: 'Dalitso' });
    const forms = nurse.collection('intakeForms');
    const id = `intake-${patient.id}`;
    await forms.create({ patientId: patient.id, answers: { fever: true } }, { id });
    await forms.delete(id);
    await forms.create({ patientId: patient.id, answers: { fever: false } }, { id });
    expect((await forms.get(id))?.data).toMatchObject({ answers: { fever: false } });
    expect((await nurse.sync()).success).toBe(true);
    expect(await onServer(server, 'nurse@clinic-a.test', `intakeForms/${id}`)).toMatchObject({
      answers: { fever: false },
    });
  });
});

describe('temp ids an app still holds after the server replaced them', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(vetPractice);
  });
  afterAll(async () => server.close());

  const open = () =>
    openClient(server, 'vet@vet-a.test', memoryStore(), new TestNetwork(), {
      schema: vetPractice,
      timers: new ManualTimers(),
    });

  it("a pet made with its owner's temp id shows in the owner's list before the next sync", async () => {
    const vet = await open();
    const owner = await vet.collection('users').create({ name: 'Mercy', role: 'CLIENT' });
    await vet.sync();
    const ownerId = (await vet.collection('users').get(owner.id))?.id;
    expect(ownerId).not.toBe(owner.id);

    // The owner's screen was rendered before the sync: it still holds the temp id.
    const pet = await vet.collection('pets').create({ name: 'Bruno', ownerId: owner.id });
    expect(pet.data.ownerId).toBe(ownerId);
    expect(await vet.collection('pets').find({ where: { ownerId } })).toHaveLength(1);
    const other = await vet.collection('users').create({ name: 'Tiwonge', role: 'CLIENT' });
    await vet.collection('pets').update(pet.id, { ownerId: other.id });
    await vet.sync();
    await vet.collection('pets').update(pet.id, { ownerId: other.id });
    expect((await vet.collection('pets').get(pet.id))?.data.ownerId).toBe(
      (await vet.collection('users').get(other.id))?.id,
    );
  });

  it("a list queried by its parent's temp id keeps its records through the sync that maps it", async () => {
    const vet = await open();
    const owner = await vet.collection('users').create({ name: 'Mercy', role: 'CLIENT' });
    await vet.collection('pets').create({ name: 'Bruno', ownerId: owner.id });
    const shown: string[][] = [];
    vet.collection('pets').subscribe((pets) => shown.push(pets.map((p) => String(p.data.name))), {
      where: { ownerId: owner.id },
    });
    await vet.sync();
    expect(shown.at(-1)).toEqual(['Bruno']);
    expect(await vet.collection('pets').find({ where: { ownerId: owner.id } })).toHaveLength(1);
  });
});
