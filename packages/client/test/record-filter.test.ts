// Seed 002's selective sync of records ("only sync records from last 6 months") and its lazy
// loading: a tablet keeps the clinic's recent visits, reads an older one from the server when a
// screen needs it, and never drops a clinician's own work (decision 0027).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { RecordUnavailableError, memoryStore } from '../src/index';
import type { LocalStore, RecordFilters, SyncClient, SyncClientOptions } from '../src/index';
import { checkRecordFilter } from '../src/sync/record-filter';
import {
  TestNetwork,
  closeClient,
  closeClients,
  openClient,
  serverState,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

const day = 24 * 60 * 60 * 1000;

/** The 'now' the filter reads: moved by a test to let six months pass. */
let now = Date.UTC(2026, 5, 1);
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const sixMonthsAgo = () => isoDay(now - 183 * day);

/** Keeps the visits of the last six months; a visit with no date is kept, as nothing says it is old. */
const recentVisits: RecordFilters = {
  encounters: (r) => typeof r.data['date'] !== 'string' || r.data['date'] >= sixMonthsAgo(),
};

/**
 * The patients of the village a mobile team's tablet serves. The same closure for every village:
 * only `reach` tells the device which village it was opened for.
 */
const villagePatients = (village: string): RecordFilters => ({
  patients: { keep: (r) => r.data['village'] === village, reach: `village=${village}` },
});

async function ids(client: SyncClient, name: string): Promise<string[]> {
  return (await client.collection(name).find()).map((r) => r.id).sort();
}

describe('record filter', () => {
  let server: TestServer;
  beforeEach(async () => {
    now = Date.UTC(2026, 5, 1);
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

  /** The clinic's desk, which keeps everything: two patients, each with a visit of 2024-25 and one of 2026. */
  async function clinic() {
    const desk = await open('clinic-desk');
    const amina = await desk.collection('patients').create({ name: 'Amina K.', village: 'Ntcheu' });
    const tiya = await desk.collection('patients').create({ name: 'Tiya M.', village: 'Dedza' });
    const visits = desk.collection('encounters');
    const old = [
      await visits.create({ patientId: amina.id, date: '2025-01-10', diagnosis: 'malaria' }),
      await visits.create({ patientId: tiya.id, date: '2024-03-01', diagnosis: 'cough' }),
    ];
    const recent = [
      await visits.create({ patientId: amina.id, date: '2026-04-20', diagnosis: 'follow-up' }),
      await visits.create({ patientId: tiya.id, date: '2026-05-25', diagnosis: 'fever' }),
    ];
    expect((await desk.sync()).success).toBe(true);
    return { desk, amina, tiya, old, recent };
  }

  it('a tablet keeping six months of visits holds only the recent ones, every patient, and its own work', async () => {
    const { desk, amina, tiya, old, recent } = await clinic();
    const network = new TestNetwork();
    // Small pages, so the filter meets every page of a catch-up, priority pass included.
    const tablet = await open('tablet-1', { recordFilter: recentVisits, pullLimit: 2 }, network);
    const first = await tablet.sync();
    expect(first).toMatchObject({ success: true, upToDate: true });

    expect(await ids(tablet, 'encounters')).toEqual(recent.map((e) => e.id).sort());
    expect(await ids(tablet, 'patients')).toEqual([amina.id, tiya.id].sort());
    expect(tablet.relationships.findOrphans()).toEqual([]);
    // Left on the server, not deleted.
    const onServer = await serverState(server, 'nurse@clinic-a.test');
    for (const e of old) expect(onServer.get(`encounters/${e.id}`)).toMatchObject({ date: e.data['date'] });

    // A nurse back-enters a paper chart of last year, and the tablet pulls (a live update's pull)
    // before its push: the visit is old by date, and the device's own.
    const backEntered = await tablet
      .collection('encounters')
      .create({ patientId: amina.id, date: '2025-09-02', diagnosis: 'from the paper chart' });
    // The desk corrects a visit's date to last year while the tablet adds to its notes.
    await desk.collection('encounters').update(recent[0]!.id, { date: '2025-04-20' });
    expect((await desk.sync()).success).toBe(true);
    await tablet.collection('encounters').update(recent[0]!.id, { notes: 'patient called back' });

    expect((await tablet.syncFromServer()).upToDate).toBe(true);
    expect(await tablet.collection('encounters').get(backEntered.id)).toMatchObject({ pending: true });
    expect(await tablet.collection('encounters').get(recent[0]!.id)).toMatchObject({
      pending: true,
      data: { date: '2025-04-20', notes: 'patient called back' },
    });
    expect(tablet.queue.stats()).toMatchObject({ pending: 2 });

    // Once the server has them, they are the server's to keep: the tablet lets them go.
    const synced = await tablet.sync();
    expect(synced).toMatchObject({ success: true, upToDate: true, pushed: { applied: 2 } });
    expect(await ids(tablet, 'encounters')).toEqual([recent[1]!.id]);
    const after = await serverState(server, 'nurse@clinic-a.test');
    expect(after.get(`encounters/${backEntered.id}`)).toMatchObject({ diagnosis: 'from the paper chart' });
    expect(after.get(`encounters/${recent[0]!.id}`)).toMatchObject({
      date: '2025-04-20',
      notes: 'patient called back',
    });
  });

  it('as time passes, prune and each sync remove what is now too old, but never a record with a change waiting', async () => {
    const desk = await open('clinic-desk');
    const patient = await desk.collection('patients').create({ name: 'Chikondi B.' });
    const visits = desk.collection('encounters');
    const march = await visits.create({ patientId: patient.id, date: '2026-03-01' });
    const february = await visits.create({ patientId: patient.id, date: '2026-02-15' });
    const may = await visits.create({ patientId: patient.id, date: '2026-05-25' });
    expect((await desk.sync()).success).toBe(true);

    const network = new TestNetwork();
    const tablet = await open('tablet-1', { recordFilter: recentVisits }, network);
    await tablet.sync();
    expect(await ids(tablet, 'encounters')).toEqual([march.id, february.id, may.id].sort());

    // Offline, the nurse adds to March's visit.
    network.mode = 'offline';
    await tablet.collection('encounters').update(march.id, { notes: 'wound healing' });
    const outbox = tablet.queue.list();

    // Four months on: six months back is April.
    now = Date.UTC(2026, 9, 1);
    expect(await tablet.prune()).toBe(1);
    expect(await ids(tablet, 'encounters')).toEqual([march.id, may.id].sort());
    expect(await tablet.collection('encounters').get(march.id)).toMatchObject({
      pending: true,
      data: { notes: 'wound healing' },
    });
    expect(tablet.queue.list()).toEqual(outbox);
    expect(await tablet.prune()).toBe(0);

    // Two months more, back online: the sync sends the change, and its pull ends by pruning.
    now = Date.UTC(2026, 11, 1);
    network.mode = 'online';
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true, pushed: { applied: 1 } });
    expect(await ids(tablet, 'encounters')).toEqual([]);
    expect(await ids(tablet, 'patients')).toEqual([patient.id]);
    const onServer = await serverState(server, 'nurse@clinic-a.test');
    expect(onServer.get(`encounters/${march.id}`)).toMatchObject({ notes: 'wound healing' });
    expect(onServer.has(`encounters/${february.id}`)).toBe(true);
  });

  it('keeps a record whose conflict waits for a person until it is settled', async () => {
    // Prescriptions kept while changed in the last six months (by the server's clock).
    let rxNow = Date.now();
    const recentRx: RecordFilters = { prescriptions: (r) => Date.parse(r.updatedAt) >= rxNow - 183 * day };
    const nurse = await open('tablet-1', { recordFilter: recentRx });
    const office = await open('office', {}, new TestNetwork(), memoryStore(), 'admin@clinic-a.test');
    const patient = await nurse.collection('patients').create({ name: 'Rx patient' });
    const rx = await nurse
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Amoxicillin', dose: '500 mg' });
    await nurse.sync();
    await office.sync();
    await office.collection('prescriptions').update(rx.id, { dose: '750 mg' });
    await nurse.collection('prescriptions').update(rx.id, { dose: '1 g' });
    await office.sync();
    // Time passes before the nurse's tablet syncs: the office's version it pulls is old for the
    // filter, but a person must settle the conflict it raised.
    rxNow += 200 * day;
    expect(await nurse.sync()).toMatchObject({ success: true, upToDate: true, pushed: { conflicts: 1 } });
    const [conflict] = nurse.conflicts.list({ status: 'open' });
    expect(conflict).toBeDefined();
    expect(await nurse.collection('prescriptions').get(rx.id)).toMatchObject({
      awaitingReview: true,
      data: { dose: '750 mg' },
    });
    expect(await nurse.prune()).toBe(0);
    expect(await nurse.sync()).toMatchObject({ success: true, upToDate: true });
    expect(await nurse.collection('prescriptions').get(rx.id)).toMatchObject({ awaitingReview: true });

    await office.conflicts.refresh();
    await office.conflicts.resolve(conflict!.id, 'server-wins');
    // The nurse's next sync learns of the settlement, and the old prescription goes.
    expect(await nurse.sync()).toMatchObject({ success: true, upToDate: true });
    expect(nurse.conflicts.list({ status: 'open' })).toEqual([]);
    expect(await nurse.collection('prescriptions').get(rx.id)).toBeNull();
    expect(await nurse.collection('patients').get(patient.id)).not.toBeNull();
  });

  it('an administrator’s tablet that keeps one village holds a patient of another while a conflict over it waits for her review', async () => {
    // The coordinator's tablet keeps the patients of Ntcheu; Amina lives in Dedza.
    const coordinator = await open(
      'coordinator-tablet',
      { recordFilter: villagePatients('Ntcheu') },
      new TestNetwork(),
      memoryStore(),
      'admin@clinic-a.test',
    );
    const desk = await open('clinic-desk');
    const amina = await desk.collection('patients').create({ name: 'Amina K.', village: 'Dedza' });
    expect((await desk.sync()).success).toBe(true);
    expect((await coordinator.sync()).success).toBe(true);
    expect(await coordinator.collection('patients').get(amina.id)).toBeNull();

    // Two nurses change her name at once: a conflict the coordinator's tablet never raised.
    const tablet = await open('tablet-2');
    expect((await tablet.sync()).success).toBe(true);
    await desk.collection('patients').update(amina.id, { name: 'Amina Kachale' });
    await tablet.collection('patients').update(amina.id, { name: 'Amina Kamwendo' });
    expect((await desk.sync()).success).toBe(true);
    expect(await tablet.sync()).toMatchObject({ success: true, pushed: { conflicts: 1 } });
    // Her tablet pulls the newer name before it reads the archive: the filter still leaves Amina out.
    expect((await coordinator.sync()).success).toBe(true);
    expect(await coordinator.collection('patients').get(amina.id)).toBeNull();

    // The Conflicts page reads the archive; the next sync brings the patient the conflict is over.
    expect(await coordinator.conflicts.refresh()).toBe(1);
    expect(await coordinator.sync()).toMatchObject({ success: true, upToDate: true });
    expect(await coordinator.collection('patients').get(amina.id)).toMatchObject({
      awaitingReview: true,
      data: { name: 'Amina Kachale', village: 'Dedza' },
    });
    expect(await coordinator.prune()).toBe(0);

    // Settled, the patient goes from her tablet again: its filter leaves Dedza out.
    const [conflict] = coordinator.conflicts.list({ status: 'open' });
    await coordinator.conflicts.resolve(conflict!.id, 'client-wins');
    expect(await coordinator.sync()).toMatchObject({ success: true, upToDate: true });
    expect(await coordinator.collection('patients').get(amina.id)).toBeNull();
    expect((await serverState(server, 'nurse@clinic-a.test')).get(`patients/${amina.id}`)).toMatchObject({
      name: 'Amina Kamwendo',
    });
  });

  it('a recent visit whose patient the filter leaves out is no orphan, and resolveOrphans keeps it', async () => {
    const { amina, tiya, recent } = await clinic();
    // A mobile team's tablet for one village: the patients of Ntcheu, every visit of six months.
    const tablet = await open('tablet-ntcheu', {
      recordFilter: { ...recentVisits, patients: (r) => r.data['village'] === 'Ntcheu' },
    });
    expect((await tablet.sync()).success).toBe(true);
    expect(await ids(tablet, 'patients')).toEqual([amina.id]);
    expect(await ids(tablet, 'encounters')).toEqual(recent.map((e) => e.id).sort());

    expect(tablet.relationships.findOrphans()).toEqual([]);
    expect(await tablet.relationships.resolveOrphans('delete')).toBe(0);
    expect(await tablet.relationships.resolveOrphans('queue')).toBe(0);
    const tiyaVisit = recent.find((e) => e.data['patientId'] === tiya.id)!;
    expect(await tablet.collection('encounters').get(tiyaVisit.id)).not.toBeNull();
    // Its changes are not held back waiting for a patient that will never be pulled.
    await tablet.collection('encounters').update(tiyaVisit.id, { notes: 'seen at the market' });
    expect((await tablet.sync()).pushed).toMatchObject({ applied: 1, held: 0 });

    // A patient the device holds deleted still makes an orphan, as before.
    await tablet.collection('patients').delete(amina.id);
    expect(tablet.relationships.findOrphans().map((o) => o.missing.id)).toEqual([amina.id]);
  });

  it('fetch reads a record the device does not hold from the server, and answers a held one offline', async () => {
    const { desk, amina, old, recent } = await clinic();
    const network = new TestNetwork();
    const tablet = await open('tablet-1', { recordFilter: recentVisits }, network);
    await tablet.sync();
    const visits = tablet.collection('encounters');

    // Filtered out: the server's copy, in the shape get gives, and not stored.
    expect(await visits.get(old[0]!.id)).toBeNull();
    const fetched = await visits.fetch(old[0]!.id);
    expect(fetched).toEqual({
      collection: 'encounters',
      id: old[0]!.id,
      data: old[0]!.data,
      version: expect.any(Number),
      pending: false,
      refused: false,
      awaitingReview: false,
      updatedAt: expect.any(String),
    });
    expect(fetched!.version).toBeGreaterThan(0);
    expect(await visits.get(old[0]!.id)).toBeNull();

    // None on the server, or deleted there: null.
    expect(await visits.fetch(uuidv7(Date.now()))).toBeNull();
    await desk.collection('encounters').delete(old[1]!.id);
    await desk.sync();
    expect(await visits.fetch(old[1]!.id)).toBeNull();

    // Offline: a held record answers with no request; one not held cannot be had.
    network.mode = 'offline';
    const sentBefore = network.sent.length;
    expect(await visits.fetch(recent[0]!.id)).toMatchObject({ id: recent[0]!.id, data: recent[0]!.data });
    expect(network.sent.length).toBe(sentBefore);
    const offline = visits.fetch(old[0]!.id);
    await expect(offline).rejects.toBeInstanceOf(RecordUnavailableError);
    await expect(offline).rejects.toMatchObject({ code: 'RECORD_UNAVAILABLE', collection: 'encounters' });

    // A collection the device does not pull at all: fetched the same way.
    network.mode = 'online';
    const pharmacy = await open('pharmacy-1', { collections: ['prescriptions'] });
    await pharmacy.sync();
    expect(await pharmacy.collection('patients').get(amina.id)).toBeNull();
    expect(await pharmacy.collection('patients').fetch(amina.id)).toMatchObject({
      data: { name: 'Amina K.' },
      pending: false,
    });
  });

  it('a filter widened or removed reads again what it used to leave out; the same filter reads nothing again', async () => {
    const { old, recent } = await clinic();
    const store = memoryStore();
    const network = new TestNetwork();
    const pulls = () => network.sent.filter((s) => s.path === '/v1/sync/pull').length;
    let tablet = await open('tablet-1', { recordFilter: recentVisits }, network, store);
    await tablet.sync();
    expect(await ids(tablet, 'encounters')).toEqual(recent.map((e) => e.id).sort());

    // Opened again with the same filter: one pull, as before.
    await closeClient(tablet);
    tablet = await open('tablet-1', { recordFilter: recentVisits }, network, store);
    let before = pulls();
    expect((await tablet.sync()).success).toBe(true);
    expect(pulls() - before).toBe(1);

    // An app update keeps two years: the visit of 2025 comes, the one of 2024 stays out.
    await closeClient(tablet);
    const twoYears: RecordFilters = {
      encounters: (r) => typeof r.data['date'] === 'string' && r.data['date'] >= isoDay(now - 2 * 365 * day),
    };
    tablet = await open('tablet-1', { recordFilter: twoYears }, network, store);
    before = pulls();
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true });
    expect(pulls() - before).toBe(2);
    expect(await ids(tablet, 'encounters')).toEqual([old[0]!.id, ...recent.map((e) => e.id)].sort());

    // No filter at all: everything.
    await closeClient(tablet);
    tablet = await open('tablet-1', {}, network, store);
    await tablet.sync();
    expect(await ids(tablet, 'encounters')).toEqual([...old, ...recent].map((e) => e.id).sort());
  });

  it('a nurse moved to another village gets its patients at the next sync, and lets the old ones go but for her own work', async () => {
    const { amina, tiya } = await clinic();
    const desk = await open('clinic-desk');
    const chisomo = await desk.collection('patients').create({ name: 'Chisomo P.', village: 'Ntcheu' });
    const mphatso = await desk.collection('patients').create({ name: 'Mphatso J.', village: 'Dedza' });
    expect((await desk.sync()).success).toBe(true);

    const store = memoryStore();
    const network = new TestNetwork();
    let tablet = await open('tablet-team', { recordFilter: villagePatients('Ntcheu') }, network, store);
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true });
    expect(await ids(tablet, 'patients')).toEqual([amina.id, chisomo.id].sort());

    // Her last visit in Ntcheu, offline: a note on Amina not yet sent.
    network.mode = 'offline';
    await tablet.collection('patients').update(amina.id, { notes: 'review in two weeks' });
    await closeClient(tablet);

    // She now works from the Dedza clinic: the app opens the tablet again for Dedza.
    network.mode = 'online';
    tablet = await open('tablet-team', { recordFilter: villagePatients('Dedza') }, network, store);
    expect(await tablet.syncFromServer()).toMatchObject({ success: true, upToDate: true });
    expect(await ids(tablet, 'patients')).toEqual([amina.id, tiya.id, mphatso.id].sort());
    expect(await tablet.collection('patients').get(amina.id)).toMatchObject({
      pending: true,
      data: { notes: 'review in two weeks' },
    });

    // Once the server has her note, Amina is the server's to keep.
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true, pushed: { applied: 1 } });
    expect(await ids(tablet, 'patients')).toEqual([tiya.id, mphatso.id].sort());
    const onServer = await serverState(server, 'nurse@clinic-a.test');
    expect(onServer.get(`patients/${amina.id}`)).toMatchObject({ notes: 'review in two weeks' });
  });

  it('an app update that adds a filter with a reach reads nothing again for a plain filter kept as it was', async () => {
    const { amina, recent } = await clinic();
    const store = memoryStore();
    const network = new TestNetwork();
    const pulls = () => network.sent.filter((s) => s.path === '/v1/sync/pull').length;
    let tablet = await open('tablet-1', { recordFilter: recentVisits }, network, store);
    await tablet.sync();
    await closeClient(tablet);
    // A plain predicate is stored as its source text, exactly as before `reach` existed.
    const stored = async () => (await store.load()).meta['pull.recordFilter'];
    expect(await stored()).toEqual({ encounters: String(recentVisits['encounters']) });

    // The update keeps the visits' filter and adds the team's village: one pull, no re-read.
    tablet = await open(
      'tablet-1',
      { recordFilter: { ...recentVisits, ...villagePatients('Ntcheu') } },
      network,
      store,
    );
    const before = pulls();
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true });
    expect(pulls() - before).toBe(1);
    expect(await ids(tablet, 'patients')).toEqual([amina.id]);
    expect(await ids(tablet, 'encounters')).toEqual(recent.map((e) => e.id).sort());
    await closeClient(tablet);
    expect(await stored()).toEqual({
      encounters: String(recentVisits['encounters']),
      patients: expect.stringContaining('village=Ntcheu'),
    });
  });

  it('refuses a filter with a reach whose keep is no function or whose reach is no string, naming the collection', async () => {
    const keep = () => true;
    expect(() =>
      checkRecordFilter(fieldClinic, { patients: { keep, reach: 'village=Ntcheu' } }),
    ).not.toThrow();
    expect(() => checkRecordFilter(fieldClinic, { patients: { keep, reach: '' } })).not.toThrow();
    const refusal = (filters: unknown) => {
      try {
        checkRecordFilter(fieldClinic, filters as RecordFilters);
      } catch (err) {
        return err;
      }
      return null;
    };
    const keepRefused = refusal({ patients: { keep: 'village is Ntcheu', reach: 'village=Ntcheu' } });
    expect(keepRefused).toBeInstanceOf(TypeError);
    expect(keepRefused).toMatchObject({
      message: expect.stringMatching(/patients: keep must be a function/),
    });
    expect(refusal({ patients: { reach: 'village=Ntcheu' } })).toMatchObject({
      message: expect.stringMatching(/patients: keep must be a function/),
    });
    for (const reach of [undefined, 42, { village: 'Ntcheu' }]) {
      const reachRefused = refusal({ encounters: keep, patients: { keep, reach } });
      expect(reachRefused).toBeInstanceOf(TypeError);
      expect(reachRefused).toMatchObject({
        message: expect.stringMatching(/^recordFilter of patients: reach must be a string/),
      });
    }
    expect(refusal({ patients: null })).toMatchObject({
      message: expect.stringMatching(/recordFilter of patients must be a function/),
    });

    // Refused before the store opens: the same store then opens with the filter put right.
    const store = memoryStore();
    await expect(
      open(
        'tablet-1',
        { recordFilter: { patients: { keep, reach: 42 as never } } },
        new TestNetwork(),
        store,
      ),
    ).rejects.toThrow(/patients: reach must be a string/);
    const fixed = await open(
      'tablet-1',
      { recordFilter: villagePatients('Ntcheu') },
      new TestNetwork(),
      store,
    );
    expect((await fixed.sync()).success).toBe(true);
  });

  it('refuses, before opening the store, a filter of a collection the schema lacks or one that is no function', async () => {
    const store = memoryStore();
    await expect(
      open('tablet-1', { recordFilter: { encounter: () => true } }, new TestNetwork(), store),
    ).rejects.toThrow(/encounter/);
    await expect(
      open('tablet-1', { recordFilter: { encounters: 'last 6 months' as never } }, new TestNetwork(), store),
    ).rejects.toThrow(/function/);
    const fixed = await open('tablet-1', { recordFilter: recentVisits }, new TestNetwork(), store);
    expect((await fixed.sync()).success).toBe(true);
  });
});
