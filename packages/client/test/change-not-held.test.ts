// A record the device does not hold can be changed (decision 0027): a nurse opens a visit of 2019
// that her tablet's filter leaves on the server, and corrects it. `update` reads the record from the
// server as `fetch` does, stores it beneath the change, and from there the change goes like any
// other: kept on the device until the server has it, sent once, withdrawable offline, in conflict
// when a colleague changed the record meanwhile; and the record goes again once the work is done.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { RecordUnavailableError, memoryStore } from '../src/index';
import type { LocalStore, RecordFilters, SyncClientOptions } from '../src/index';
import { TestNetwork, closeClients, openClient, serverState, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

const day = 24 * 60 * 60 * 1000;
const now = Date.UTC(2026, 5, 1);
const sixMonthsAgo = new Date(now - 183 * day).toISOString().slice(0, 10);

/** Keeps the visits of the last six months. */
const recentVisits: RecordFilters = {
  encounters: (r) => typeof r.data['date'] !== 'string' || r.data['date'] >= sixMonthsAgo,
};

/** The reads of one record from the server (`fetch`, or a change of a record not held). */
const readsOf = (network: TestNetwork, collection: string, id: string) =>
  network.sent.filter((s) => s.method === 'GET' && s.path === `/v1/records/${collection}/${id}`).length;

/** Every op of the record's pushes, as they reached the server. */
const pushedOps = (network: TestNetwork, id: string) =>
  network.pushes().flatMap((p) => p.ops.filter((o) => o.id === id));

describe('changing a record the device does not hold', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(fieldClinic);
  });
  afterEach(async () => {
    await closeClients();
    await server.close();
  });

  const open = (
    deviceId: string,
    extra: Partial<SyncClientOptions> = {},
    network = new TestNetwork(),
    store: LocalStore = memoryStore(),
    email = 'nurse@clinic-a.test',
  ) => openClient(server, email, store, network, { deviceId, ...extra });

  /** The clinic's desk, keeping everything: a patient with a visit of 2019 and one of last month. */
  async function clinic() {
    const desk = await open('clinic-desk');
    const amina = await desk.collection('patients').create({ name: 'Amina K.', village: 'Ntcheu' });
    const visits = desk.collection('encounters');
    const old = await visits.create({ patientId: amina.id, date: '2019-03-02', diagnosis: 'malaria' });
    const recent = await visits.create({ patientId: amina.id, date: '2026-05-10', diagnosis: 'cough' });
    expect((await desk.sync()).success).toBe(true);
    return { desk, amina, old, recent };
  }

  /** A tablet keeping six months of visits, synced: it holds the recent visit only. */
  async function tablet(network = new TestNetwork()) {
    const client = await open('tablet-1', { recordFilter: recentVisits }, network);
    expect(await client.sync()).toMatchObject({ success: true, upToDate: true });
    return client;
  }

  it('edits a filtered-out visit of 2019: kept on the device until confirmed, sent once, pruned after', async () => {
    const { desk, old, recent } = await clinic();
    const network = new TestNetwork();
    const nurse = await tablet(network);
    const visits = nurse.collection('encounters');
    expect(await visits.get(old.id)).toBeNull();
    expect(await visits.get(recent.id)).not.toBeNull();

    const edited = await visits.update(old.id, { notes: 'allergic to penicillin' });
    expect(edited).toMatchObject({
      id: old.id,
      pending: true,
      version: 1,
      data: { date: '2019-03-02', diagnosis: 'malaria', notes: 'allergic to penicillin' },
    });
    expect(readsOf(network, 'encounters', old.id)).toBe(1);
    expect(await visits.get(old.id)).toEqual(edited);
    expect(nurse.queue.stats()).toMatchObject({ pending: 1 });

    // Held through a pull and a prune while the change waits: the filter never drops own work.
    expect(await nurse.syncFromServer()).toMatchObject({ success: true, upToDate: true });
    expect(await nurse.prune()).toBe(0);
    expect(await visits.get(old.id)).toMatchObject({
      pending: true,
      data: { notes: 'allergic to penicillin' },
    });

    // A second edit is made on the record the device now holds: no second read.
    await visits.update(old.id, { diagnosis: 'malaria, treated' });
    expect(readsOf(network, 'encounters', old.id)).toBe(1);

    // The sync sends it, once; the server has it, and the tablet lets the visit go.
    expect(await nurse.sync()).toMatchObject({ success: true, upToDate: true, pushed: { applied: 1 } });
    expect(pushedOps(network, old.id)).toHaveLength(1);
    expect(await visits.get(old.id)).toBeNull();
    expect(nurse.queue.stats()).toMatchObject({ pending: 0, failed: 0 });
    expect(await nurse.prune()).toBe(0);
    expect((await serverState(server, 'nurse@clinic-a.test')).get(`encounters/${old.id}`)).toEqual({
      patientId: old.data['patientId'],
      date: '2019-03-02',
      diagnosis: 'malaria, treated',
      notes: 'allergic to penicillin',
    });
    await desk.sync();
    expect(await desk.collection('encounters').get(old.id)).toMatchObject({
      data: { notes: 'allergic to penicillin', diagnosis: 'malaria, treated' },
    });

    // Nothing goes again; the visit is still there to read.
    expect((await nurse.sync()).pushed.sent).toBe(0);
    expect(pushedOps(network, old.id)).toHaveLength(1);
    expect(await visits.fetch(old.id)).toMatchObject({ data: { notes: 'allergic to penicillin' } });
  });

  it('offline, or with the server failing, throws RecordUnavailableError and changes nothing', async () => {
    const { old, recent } = await clinic();
    const network = new TestNetwork();
    const nurse = await tablet(network);
    const visits = nurse.collection('encounters');
    await visits.update(recent.id, { notes: 'waiting' });
    const outbox = nurse.queue.list();
    let changes = 0;
    nurse.on('change', () => (changes += 1));

    network.mode = 'offline';
    const offline = visits.update(old.id, { notes: 'allergic to penicillin' });
    await expect(offline).rejects.toBeInstanceOf(RecordUnavailableError);
    await expect(offline).rejects.toMatchObject({ code: 'RECORD_UNAVAILABLE', id: old.id });
    await expect(visits.delete(old.id)).rejects.toBeInstanceOf(RecordUnavailableError);
    network.mode = 'server-error';
    await expect(visits.update(old.id, { notes: 'x' })).rejects.toBeInstanceOf(RecordUnavailableError);

    expect(nurse.queue.list()).toEqual(outbox);
    expect(await visits.get(old.id)).toBeNull();
    expect(changes).toBe(0);
    // A record the device holds is changed offline as ever.
    network.mode = 'offline';
    await visits.update(recent.id, { notes: 'still waiting' });
    expect(nurse.queue.list()).toHaveLength(outbox.length + 1);
  });

  it('a record the server does not have, or holds deleted, is NOT_FOUND, asked of the server', async () => {
    const { desk, old } = await clinic();
    const network = new TestNetwork();
    const nurse = await tablet(network);
    const visits = nurse.collection('encounters');

    const missing = uuidv7(Date.now());
    await expect(visits.update(missing, { notes: 'x' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { reason: 'NOT_ON_SERVER' },
    });
    expect(readsOf(network, 'encounters', missing)).toBe(1);

    await desk.collection('encounters').delete(old.id);
    expect((await desk.sync()).success).toBe(true);
    await expect(visits.update(old.id, { notes: 'x' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      details: { reason: 'NOT_ON_SERVER' },
    });
    await expect(visits.delete(old.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(nurse.queue.list()).toEqual([]);
    expect(await visits.get(old.id)).toBeNull();
  });

  it('a colleague changing the record after it was read is a conflict like any other, kept until settled', async () => {
    const desk = await open('clinic-desk');
    const chisomo = await desk
      .collection('patients')
      .create({ name: 'Chisomo P.', village: 'Dedza', allergies: ['sulfa'] });
    expect((await desk.sync()).success).toBe(true);
    // A mobile team's tablet for Ntcheu: Chisomo of Dedza is not on it.
    const network = new TestNetwork();
    const nurse = await open(
      'tablet-ntcheu',
      {
        recordFilter: { patients: (r) => r.data['village'] === 'Ntcheu' },
      },
      network,
    );
    expect((await nurse.sync()).success).toBe(true);
    const patients = nurse.collection('patients');
    expect(await patients.get(chisomo.id)).toBeNull();

    // Met at the market, she corrects the allergy; the desk, meanwhile, corrects it otherwise.
    await patients.update(chisomo.id, { allergies: ['sulfa', 'penicillin'] });
    const office = await open('office', {}, new TestNetwork(), memoryStore(), 'admin@clinic-a.test');
    await office.sync();
    await office.collection('patients').update(chisomo.id, { allergies: ['sulfonamides'] });
    expect((await office.sync()).success).toBe(true);

    // The same field on both sides under the merge rule: a person decides, and the tablet keeps
    // the patient meanwhile, through syncs and prunes.
    expect(await nurse.sync()).toMatchObject({ success: true, pushed: { conflicts: 1 } });
    const [conflict] = nurse.conflicts.list({ status: 'open' });
    expect(conflict).toMatchObject({ collection: 'patients', recordId: chisomo.id });
    expect(await patients.get(chisomo.id)).toMatchObject({
      awaitingReview: true,
      data: { allergies: ['sulfonamides'] },
    });
    expect(await nurse.prune()).toBe(0);
    expect((await nurse.sync()).success).toBe(true);
    expect(await patients.get(chisomo.id)).toMatchObject({ awaitingReview: true });

    // Settled at the office: the tablet learns of it, and lets the patient go.
    await office.conflicts.refresh();
    await office.conflicts.resolve(conflict!.id, 'merge', { allergies: ['sulfonamides', 'penicillin'] });
    expect(await nurse.sync()).toMatchObject({ success: true, upToDate: true });
    expect(nurse.conflicts.list({ status: 'open' })).toEqual([]);
    expect(await patients.get(chisomo.id)).toBeNull();
    expect(await patients.fetch(chisomo.id)).toMatchObject({
      data: { allergies: ['sulfonamides', 'penicillin'] },
    });
  });

  it('a pull that brings the record while it is read: the change is made on the newer record the device holds', async () => {
    const { desk, old } = await clinic();
    const network = new TestNetwork();
    const nurse = await tablet(network);
    const visits = nurse.collection('encounters');

    // The read reaches the server and its answer is held on the way back.
    const read = network.holdNext(`/v1/records/encounters/${old.id}`, 'answer');
    const editing = visits.update(old.id, { notes: 'allergic to penicillin' });
    await Promise.race([read.reached, editing]);
    // Meanwhile the desk moves the visit's date into the last six months, and the tablet pulls it.
    await desk.collection('encounters').update(old.id, { date: '2026-03-02' });
    expect((await desk.sync()).success).toBe(true);
    expect((await nurse.syncFromServer()).success).toBe(true);
    expect(await visits.get(old.id)).toMatchObject({ version: 2, data: { date: '2026-03-02' } });
    read.release();

    // Made on version 2, not on the older copy read: no conflict, and the desk's date stands.
    expect(await editing).toMatchObject({
      version: 2,
      pending: true,
      data: { date: '2026-03-02', notes: 'allergic to penicillin' },
    });
    expect(await nurse.sync()).toMatchObject({ success: true, pushed: { applied: 1, conflicts: 0 } });
    expect(nurse.conflicts.list()).toEqual([]);
    // Recent now: the filter keeps it, and it stays.
    expect(await visits.get(old.id)).toMatchObject({
      pending: false,
      data: { date: '2026-03-02', notes: 'allergic to penicillin' },
    });
  });

  it('a pull that lands an older state while the record is read: the change is made on the newer one read', async () => {
    const { desk, amina } = await clinic();
    const network = new TestNetwork();
    const nurse = await tablet(network);
    const visits = nurse.collection('encounters');
    const visit = await desk.collection('encounters').create({ patientId: amina.id, date: '2026-05-30' });
    expect((await desk.sync()).success).toBe(true);

    // The tablet's pull reads version 1 of the new visit; its answer is held on the way back.
    const page = network.holdNext('/v1/sync/pull', 'answer');
    const pulling = nurse.syncFromServer();
    await page.reached;
    await desk.collection('encounters').update(visit.id, { diagnosis: 'measles' });
    expect((await desk.sync()).success).toBe(true);
    // The nurse edits the visit, not on the tablet yet: the read gets version 2.
    const read = network.holdNext(`/v1/records/encounters/${visit.id}`, 'answer');
    const editing = visits.update(visit.id, { notes: 'rash spreading' });
    await Promise.race([read.reached, editing]);
    page.release();
    expect((await pulling).success).toBe(true);
    expect(await visits.get(visit.id)).toMatchObject({ version: 1, pending: false });
    read.release();

    // Made on version 2, as a pull of it would have shown it: no conflict over the desk's diagnosis.
    expect(await editing).toMatchObject({
      version: 2,
      pending: true,
      data: { diagnosis: 'measles', notes: 'rash spreading' },
    });
    expect(await nurse.sync()).toMatchObject({ success: true, pushed: { applied: 1, conflicts: 0 } });
    expect(nurse.conflicts.list()).toEqual([]);
    expect(await visits.get(visit.id)).toMatchObject({
      pending: false,
      data: { diagnosis: 'measles', notes: 'rash spreading' },
    });
  });

  it('a change of a record not held is withdrawn offline against the copy read, and the record goes', async () => {
    const { old } = await clinic();
    const network = new TestNetwork();
    const nurse = await tablet(network);
    const visits = nurse.collection('encounters');
    await visits.update(old.id, { notes: 'entered for the wrong patient' });

    network.mode = 'offline';
    const seqs = nurse.queue.list().map((o) => o.seq);
    expect(nurse.queue.planWithdrawal(seqs).blocked).toEqual([]);
    expect(await nurse.queue.withdraw(seqs)).toBe(1);
    expect(nurse.queue.list()).toEqual([]);
    // Shown again as the server has it, pending nothing, until the next prune.
    expect(await visits.get(old.id)).toMatchObject({ pending: false, data: old.data });
    expect((await visits.get(old.id))?.data['notes']).toBeUndefined();
    expect(await nurse.prune()).toBe(1);
    expect(await visits.get(old.id)).toBeNull();

    network.mode = 'online';
    expect(await nurse.sync()).toMatchObject({ success: true, pushed: { sent: 0 } });
    expect(pushedOps(network, old.id)).toEqual([]);
    expect((await serverState(server, 'nurse@clinic-a.test')).get(`encounters/${old.id}`)).toEqual(old.data);
  });

  it('a visit of 2019 deleted from the tablet: a tombstone until the server has the delete', async () => {
    const { old } = await clinic();
    const network = new TestNetwork();
    const nurse = await tablet(network);
    const visits = nurse.collection('encounters');
    await visits.delete(old.id);
    expect(await visits.get(old.id)).toBeNull();
    expect(nurse.queue.list()).toMatchObject([{ type: 'delete', id: old.id, baseVersion: 1 }]);
    expect(await nurse.prune()).toBe(0);
    expect(await visits.fetch(old.id)).toBeNull();

    expect(await nurse.sync()).toMatchObject({ success: true, upToDate: true, pushed: { applied: 1 } });
    expect((await serverState(server, 'nurse@clinic-a.test')).has(`encounters/${old.id}`)).toBe(false);
    expect(await nurse.prune()).toBe(0);
  });

  it('a pharmacy that does not pull patients corrects an allergy, and lets the patient go once the server has it', async () => {
    const { amina } = await clinic();
    const network = new TestNetwork();
    const pharmacy = await open('pharmacy-1', { collections: ['prescriptions'] }, network);
    expect((await pharmacy.sync()).success).toBe(true);
    const patients = pharmacy.collection('patients');
    expect(await patients.get(amina.id)).toBeNull();

    expect(await patients.update(amina.id, { allergies: ['penicillin'] })).toMatchObject({
      pending: true,
      data: { name: 'Amina K.', village: 'Ntcheu', allergies: ['penicillin'] },
    });
    // Its own patient (a walk-in) stays after the sync, as before; the one read for a change goes.
    const walkIn = await patients.create({ name: 'Walk-in' });
    expect(await pharmacy.prune()).toBe(0);
    expect(await pharmacy.sync()).toMatchObject({ success: true, pushed: { applied: 2 } });
    expect(pushedOps(network, amina.id)).toHaveLength(1);
    expect(await patients.get(amina.id)).toBeNull();
    expect(await patients.get(walkIn.id)).not.toBeNull();
    expect(await pharmacy.prune()).toBe(0);
    expect((await serverState(server, 'nurse@clinic-a.test')).get(`patients/${amina.id}`)).toMatchObject({
      allergies: ['penicillin'],
    });
  });
});
