// Seed 002's priority sync on the way down: a tablet catching up on a clinic's backlog holds the
// prescriptions (priority 1) after a page or two, not after thousands of visits (decision 0025).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { SyncClient, SyncClientOptions, SyncProgress } from '../src/index';
import {
  TestNetwork,
  closeClients,
  openClient,
  ordersUnreadable,
  serverState,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

/** A pull as it left the device: the collections it named (null: none) and whether it had a cursor. */
interface PullSent {
  collections: string | null;
  cursor: string | null;
}

/**
 * The device's fetch, logging every pull it sends. `before`, when set, runs as each pull leaves,
 * when every page before it has been applied on the device.
 */
function watchPulls(network = new TestNetwork()): {
  pulls: PullSent[];
  fetch: typeof fetch;
  before?: (pull: PullSent, index: number) => Promise<void> | void;
} {
  const watch: ReturnType<typeof watchPulls> = {
    pulls: [],
    fetch: async (input, init) => {
      const url = new URL(String(input));
      if (url.pathname === '/v1/sync/pull') {
        const pull = {
          collections: url.searchParams.get('collections'),
          cursor: url.searchParams.get('cursor'),
        };
        watch.pulls.push(pull);
        await watch.before?.(pull, watch.pulls.length - 1);
      }
      return network.fetch(input, init);
    },
  };
  return watch;
}

/** How many live records of a collection the device shows. */
function held(client: SyncClient, name: string): Promise<number> {
  return client
    .collection(name)
    .find()
    .then((rows) => rows.length);
}

/** Everything the device shows, as a person would see it, by collection and id. */
async function shown(client: SyncClient): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (const name of client.schema.collectionNames) {
    for (const r of await client.collection(name).find()) {
      out.set(`${name}/${r.id}`, { data: r.data, version: r.version, pending: r.pending });
    }
  }
  return out;
}

describe('priority pull', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(fieldClinic);
  });
  afterEach(async () => {
    await closeClients();
    await server.close();
  });

  const open = (deviceId: string, extra: Partial<SyncClientOptions> = {}, network = new TestNetwork()) =>
    openClient(server, 'nurse@clinic-a.test', memoryStore(), network, { deviceId, ...extra });

  /** The clinic's desk, which writes the records the tablets pull, and sends them in big batches. */
  const desk = () => open('clinic-desk', { batchSize: 1000 });

  /** `patients` patients with `visits` encounters each, then a prescription for each patient, last. */
  async function seedClinic(
    client: SyncClient,
    patients: number,
    visits: number,
  ): Promise<{ patients: string[]; encounters: string[]; prescriptions: string[] }> {
    const ids = { patients: [] as string[], encounters: [] as string[], prescriptions: [] as string[] };
    for (let p = 0; p < patients; p++) {
      ids.patients.push((await client.collection('patients').create({ name: `Patient ${p}` })).id);
    }
    for (let v = 0; v < visits; v++) {
      for (const patientId of ids.patients) {
        const e = await client
          .collection('encounters')
          .create({ patientId, date: '2026-11-22', diagnosis: `visit ${v}` });
        ids.encounters.push(e.id);
      }
    }
    // Sent after the visits: a push sends prescriptions (priority 1) before visits, so written in
    // the same sync they would already lead the stream.
    expect((await client.sync()).success).toBe(true);
    for (const [i, patientId] of ids.patients.entries()) {
      const rx = await client
        .collection('prescriptions')
        .create({ patientId, drug: 'Amoxicillin', dose: `${250 + i} mg` });
      ids.prescriptions.push(rx.id);
    }
    expect((await client.sync()).success).toBe(true);
    return ids;
  }

  it('a new tablet holds every prescription after the first pass, before the visits finish, and ends with the server’s state', async () => {
    const clinic = await desk();
    const seeded = await seedClinic(clinic, 40, 50);
    expect(seeded.encounters).toHaveLength(2000);

    // What the tablet holds as each pull leaves it: every page before that one is applied.
    const moments: Array<{ pull: PullSent; prescriptions: number; encounters: number }> = [];
    const watch = watchPulls();
    const tablet = await open('tablet-new', { pullLimit: 100, fetch: watch.fetch });
    watch.before = async (pull) => {
      moments.push({
        pull,
        prescriptions: await held(tablet, 'prescriptions'),
        encounters: await held(tablet, 'encounters'),
      });
    };
    const progress: SyncProgress[] = [];
    tablet.on('progress', (p) => progress.push(p));
    const result = await tablet.sync();
    expect(result).toMatchObject({ success: true, upToDate: true });

    // As the second page of the stream leaves, every prescription is on the tablet and nearly
    // every visit is not: without the pass, the prescriptions came in the last page.
    const main = moments.filter((m) => m.pull.collections === null);
    expect(main.length).toBeGreaterThan(20);
    expect(main[1]).toMatchObject({ prescriptions: 40 });
    expect(main[1]?.encounters).toBeLessThanOrEqual(100);
    // The first page of the whole stream, then the prescriptions alone, page by page, from the
    // cursor after it, then the rest of the stream.
    expect(watch.pulls[0]).toEqual({ collections: null, cursor: null });
    expect(watch.pulls[1]).toEqual({ collections: 'prescriptions', cursor: watch.pulls[2]?.cursor });
    expect(moments.filter((m) => m.pull.collections === 'prescriptions').length).toBe(1);
    // Their patients come with the stream: orphans for a while (decision 0016), none at the end.
    expect(tablet.relationships.findOrphans()).toEqual([]);

    // Progress stays in the pull phase and never counts back.
    const pulling = progress.filter((p) => p.phase !== 'done').slice(1);
    expect(pulling.every((p) => p.phase === 'pull')).toBe(true);
    const counted = pulling.map((p) => p.processed);
    expect(counted).toEqual([...counted].sort((a, b) => a - b));
    expect(pulling.at(-1)).toMatchObject({ processed: result.pulled, total: result.pulled, percentage: 100 });

    const local = new Map<string, unknown>();
    for (const name of fieldClinic.collectionNames) {
      for (const r of await tablet.collection(name).find()) local.set(`${name}/${r.id}`, r.data);
    }
    expect(local).toEqual(await serverState(server, 'nurse@clinic-a.test'));
  }, 60_000);

  it('ends as a tablet without the pass ends: deletes, changes meanwhile and pending edits included', async () => {
    const clinic = await desk();
    const seeded = await seedClinic(clinic, 10, 20);
    const [rx0, rx1, rx2, rx3] = seeded.prescriptions as [string, string, string, string];
    const [e0, e1] = seeded.encounters as [string, string];

    const watchA = watchPulls();
    const watchB = watchPulls();
    const a = await open('tablet-a', { pullLimit: 40, fetch: watchA.fetch });
    const b = await open('tablet-b', { pullLimit: 40, priorityPull: false, fetch: watchB.fetch });
    for (const t of [a, b]) {
      expect((await t.syncFromServer()).upToDate).toBe(true);
      // Days without the network: the same edits on both, waiting on the device.
      await t.collection('prescriptions').update(rx0, { frequency: 'twice daily' });
      await t.collection('encounters').update(e0, { notes: 'typed offline' });
    }

    // Meanwhile the clinic writes a backlog: more visits, a dose changed under the pending edit,
    // a prescription and a visit deleted, a new prescription, and one made and deleted before
    // either tablet saw it.
    for (let v = 0; v < 30; v++) {
      for (const patientId of seeded.patients) {
        await clinic.collection('encounters').create({ patientId, diagnosis: `follow-up ${v}` });
      }
    }
    await clinic.collection('prescriptions').update(rx0, { dose: '1 g' });
    await clinic.collection('prescriptions').delete(rx1);
    await clinic.collection('encounters').delete(e1);
    const fresh = await clinic
      .collection('prescriptions')
      .create({ patientId: seeded.patients[0] as string, drug: 'Ibuprofen', dose: '200 mg' });
    const brief = await clinic
      .collection('prescriptions')
      .create({ patientId: seeded.patients[1] as string, drug: 'Wrong drug', dose: '1 mg' });
    expect((await clinic.sync()).success).toBe(true);
    await clinic.collection('prescriptions').delete(brief.id);
    expect((await clinic.sync()).success).toBe(true);

    // Tablet A catches up with the pass. Once the pass is over, as the stream's next page leaves,
    // the tablet shows the prescriptions as they are now, the pending edit on top; then the clinic
    // changes one the pass brought and deletes another, which the stream brings afterwards.
    watchA.pulls.length = 0;
    let changedMeanwhile = false;
    watchA.before = async (pull) => {
      const passed = watchA.pulls.some((p) => p.collections === 'prescriptions');
      if (changedMeanwhile || !passed || pull.collections !== null) return;
      changedMeanwhile = true;
      expect((await a.collection('prescriptions').get(fresh.id))?.data['drug']).toBe('Ibuprofen');
      expect(await a.collection('prescriptions').get(rx1)).toBeNull();
      expect(await a.collection('prescriptions').get(rx0)).toMatchObject({
        data: { dose: '1 g', frequency: 'twice daily' },
        pending: true,
      });
      await clinic.collection('prescriptions').update(rx2, { durationDays: 7 });
      await clinic.collection('prescriptions').delete(rx3);
      expect((await clinic.sync()).success).toBe(true);
    };
    expect(await a.syncFromServer()).toMatchObject({ success: true, upToDate: true });
    expect(changedMeanwhile).toBe(true);

    watchB.pulls.length = 0;
    expect(await b.syncFromServer()).toMatchObject({ success: true, upToDate: true });
    expect(watchB.pulls.length).toBeGreaterThan(5);
    expect(watchB.pulls.every((p) => p.collections === null)).toBe(true);

    // Both tablets show the same records, versions and pending marks...
    const shownA = await shown(a);
    expect(shownA).toEqual(await shown(b));
    for (const gone of [rx1, rx3, e1, brief.id]) {
      expect([...shownA.keys()].some((k) => k.endsWith(`/${gone}`))).toBe(false);
    }
    // ...which are the server's records with the tablet's waiting edits on top.
    const expected = await serverState(server, 'nurse@clinic-a.test');
    expected.set(`prescriptions/${rx0}`, {
      ...expected.get(`prescriptions/${rx0}`),
      frequency: 'twice daily',
    });
    expected.set(`encounters/${e0}`, { ...expected.get(`encounters/${e0}`), notes: 'typed offline' });
    expect(new Map([...shownA].map(([k, v]) => [k, (v as { data: unknown }).data]))).toEqual(expected);
    expect(shownA.get(`prescriptions/${rx2}`)).toMatchObject({ data: { durationDays: 7 }, pending: false });
    expect(shownA.get(`prescriptions/${rx0}`)).toMatchObject({ pending: true });
    expect(a.queue.stats().pending).toBe(2);
  }, 60_000);

  it('a sync that is not behind sends the requests it sent before: no pass', async () => {
    const clinic = await desk();
    await seedClinic(clinic, 3, 2);
    const on = new TestNetwork();
    const off = new TestNetwork();
    const watch = watchPulls(on);
    const tablet = await open('tablet-on', { pullLimit: 100, fetch: watch.fetch });
    const plain = await open('tablet-off', { pullLimit: 100, priorityPull: false }, off);

    // A first sync whose first page is the last.
    for (const t of [tablet, plain]) expect((await t.sync()).upToDate).toBe(true);
    expect(watch.pulls).toEqual([{ collections: null, cursor: null }]);

    // A colleague's few changes, as a live update or the next interval brings them.
    await clinic.collection('prescriptions').create({
      patientId: (await clinic.collection('patients').find())[0]?.id as string,
      drug: 'Zinc',
      dose: '20 mg',
    });
    await clinic.collection('patients').create({ name: 'Walk-in' });
    expect((await clinic.sync()).success).toBe(true);
    for (const t of [tablet, plain]) expect((await t.sync()).pulled).toBe(2);
    expect(watch.pulls).toHaveLength(2);
    expect(watch.pulls[1]?.collections).toBeNull();
    expect(on.sent.map((s) => s.path)).toEqual(off.sent.map((s) => s.path));
  });

  it('selective sync: a pass only for a tier the device pulls', async () => {
    const clinic = await desk();
    await seedClinic(clinic, 20, 10);

    // A tablet that does not pull prescriptions: one tier, no pass.
    const visitsOnly = watchPulls();
    const ward = await open('ward', {
      pullLimit: 30,
      collections: ['patients', 'encounters'],
      fetch: visitsOnly.fetch,
    });
    expect((await ward.sync()).upToDate).toBe(true);
    expect(visitsOnly.pulls.length).toBeGreaterThan(5);
    expect(visitsOnly.pulls.every((p) => p.collections === 'patients,encounters')).toBe(true);
    expect([await held(ward, 'patients'), await held(ward, 'encounters')]).toEqual([20, 200]);
    expect(await held(ward, 'prescriptions')).toBe(0);

    // A pharmacy tablet that pulls patients and prescriptions: the prescriptions come first, and
    // no visit ever comes.
    const pharmacyWatch = watchPulls();
    const pharmacy = await open('pharmacy', {
      pullLimit: 5,
      collections: ['patients', 'prescriptions'],
      fetch: pharmacyWatch.fetch,
    });
    const moments: Array<{ collections: string | null; prescriptions: number; patients: number }> = [];
    pharmacyWatch.before = async (pull) => {
      moments.push({
        collections: pull.collections,
        prescriptions: await held(pharmacy, 'prescriptions'),
        patients: await held(pharmacy, 'patients'),
      });
    };
    expect((await pharmacy.sync()).upToDate).toBe(true);
    expect(moments[1]?.collections).toBe('prescriptions');
    const next = moments.filter((m) => m.collections === 'patients,prescriptions')[1];
    expect(next?.prescriptions).toBe(20);
    expect(next?.patients).toBeLessThanOrEqual(5);
    expect(new Set(moments.map((m) => m.collections))).toEqual(
      new Set(['patients,prescriptions', 'prescriptions']),
    );
    expect([await held(pharmacy, 'patients'), await held(pharmacy, 'prescriptions')]).toEqual([20, 20]);
    expect(await held(pharmacy, 'encounters')).toBe(0);
  }, 60_000);

  it('no pass while reading everything again after a 410; the next catch-up has one again', async () => {
    const clinic = await desk();
    const seeded = await seedClinic(clinic, 5, 2);
    const watch = watchPulls();
    const tablet = await open('tablet-410', { pullLimit: 20, fetch: watch.fetch });
    expect((await tablet.sync()).upToDate).toBe(true);

    // A prescription deleted, a backlog written, and the tombstones purged past the tablet's cursor.
    const gone = seeded.prescriptions[0] as string;
    await clinic.collection('prescriptions').delete(gone);
    for (let v = 0; v < 20; v++) {
      for (const patientId of seeded.patients) {
        await clinic.collection('encounters').create({ patientId, diagnosis: `backlog ${v}` });
      }
    }
    await clinic.collection('prescriptions').create({
      patientId: seeded.patients[0] as string,
      drug: 'Metformin',
      dose: '500 mg',
    });
    expect((await clinic.sync()).success).toBe(true);
    await server.app.outpost.store.purgeTombstones(new Date(Date.now() + 60_000).toISOString());

    watch.pulls.length = 0;
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true });
    // The 410, then the whole stream from the start, in order, many pages: none for a tier alone.
    expect(watch.pulls[0]?.cursor).not.toBeNull();
    expect(watch.pulls[1]).toEqual({ collections: null, cursor: null });
    expect(watch.pulls.length).toBeGreaterThan(5);
    expect(watch.pulls.every((p) => p.collections === null)).toBe(true);
    expect(await tablet.collection('prescriptions').get(gone)).toBeNull();

    // Behind again, with no re-read under way: the prescriptions come first once more.
    for (let v = 0; v < 10; v++) {
      for (const patientId of seeded.patients) {
        await clinic.collection('encounters').create({ patientId, diagnosis: `later ${v}` });
      }
    }
    expect((await clinic.sync()).success).toBe(true);
    watch.pulls.length = 0;
    expect((await tablet.sync()).upToDate).toBe(true);
    expect(watch.pulls[1]?.collections).toBe('prescriptions');

    const local = new Map<string, unknown>();
    for (const name of fieldClinic.collectionNames) {
      for (const r of await tablet.collection(name).find()) local.set(`${name}/${r.id}`, r.data);
    }
    expect(local).toEqual(await serverState(server, 'nurse@clinic-a.test'));
  }, 60_000);
});

describe('priority pull and a role that may not read the first tier', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(ordersUnreadable);
  });
  afterEach(async () => {
    await closeClients();
    await server.close();
  });

  it('syncs the rest as before', async () => {
    const admin = await openClient(server, 'admin@clinic-a.test', memoryStore(), new TestNetwork(), {
      schema: ordersUnreadable,
      deviceId: 'office',
      batchSize: 500,
    });
    for (let i = 0; i < 5; i++) await admin.collection('orders').create({ drug: `drug ${i}` });
    for (let i = 0; i < 30; i++) await admin.collection('notes').create({ body: `note ${i}` });
    expect((await admin.sync()).success).toBe(true);

    const watch = watchPulls();
    const tablet = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      schema: ordersUnreadable,
      deviceId: 'nurse-tablet',
      pullLimit: 10,
      fetch: watch.fetch,
    });
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true, pulled: 30 });
    expect(watch.pulls[1]?.collections).toBe('orders');
    expect(await held(tablet, 'notes')).toBe(30);
    expect(await held(tablet, 'orders')).toBe(0);
  });
});
