// The files of the records a tablet lets go (decision 0027's recordFilter and prune) leave the
// tablet with them, against a real server: a tablet keeping six months of visits does not keep the
// photos of older ones for ever, never drops a photo only it holds, and the server keeps them all.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryFileStore, memoryStore } from '../src/index';
import type { RecordFilters, SyncClient } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';
import { FileFaults, bytesOfBlob, photo } from './file-faults';

const day = 24 * 60 * 60 * 1000;
const KiB = 1024;
const nurse = 'nurse@clinic-a.test';

/** The 'now' the filter reads: moved by a test to let months pass. */
let now = Date.UTC(2026, 5, 1);
const sixMonthsAgo = () => new Date(now - 183 * day).toISOString().slice(0, 10);
const recentVisits: RecordFilters = {
  encounters: (r) => typeof r.data['date'] !== 'string' || r.data['date'] >= sixMonthsAgo(),
};

const idsOf = (client: SyncClient) =>
  client.files
    .list()
    .map((f) => f.id)
    .sort();

describe('the files of records a tablet lets go', () => {
  let server: TestServer;
  beforeEach(async () => {
    now = Date.UTC(2026, 5, 1);
    server = await startServer(fieldClinic);
  });
  afterEach(async () => {
    await closeClients();
    await server.close();
  });

  async function onServer(id: string): Promise<number> {
    const res = await fetch(`${server.url}/v1/files/${id}`, {
      headers: { authorization: `Bearer ${await server.token(nurse)}` },
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('leave it when prune and the syncs let their visits go, but for a photo only the tablet holds', async () => {
    // The desk: a patient with visits of February, March and May, a photo on each.
    const desk = await openClient(server, nurse, memoryStore(), new TestNetwork(), {
      deviceId: 'desk',
      fileChunkBytes: KiB,
    });
    const patient = await desk.collection('patients').create({ name: 'Chikondi B.' });
    const visits = desk.collection('encounters');
    const february = await visits.create({ patientId: patient.id, date: '2026-02-15' });
    const march = await visits.create({ patientId: patient.id, date: '2026-03-01' });
    const may = await visits.create({ patientId: patient.id, date: '2026-05-25' });
    const deskPhoto = async (recordId: string, seed: number) =>
      (await desk.files.attach(photo(2 * KiB, seed), { collection: 'encounters', recordId, name: 'x.jpg' }))
        .id;
    const onFebruary = await deskPhoto(february.id, 51);
    const onMarch = await deskPhoto(march.id, 52);
    const onMay = await deskPhoto(may.id, 53);
    expect(await desk.sync()).toMatchObject({ success: true, files: { uploaded: 3 } });

    // The tablet keeps six months: it holds the three visits, opens February's photo (downloaded),
    // lists March's, and attaches photos of its own to February: one uploads, one waits offline.
    const network = new TestNetwork();
    const faults = new FileFaults(network.fetch);
    const tablet = await openClient(server, nurse, memoryStore({ name: 'pruning-tablet' }), network, {
      deviceId: 'tablet-1',
      recordFilter: recentVisits,
      files: memoryFileStore({ name: 'pruning-tablet' }),
      fileChunkBytes: KiB,
      fetch: faults.fetch,
    });
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true });
    for (const visit of [february, march, may])
      await tablet.files.refresh({ collection: 'encounters', recordId: visit.id });
    await tablet.files.get(onFebruary);
    expect(tablet.files.status(onFebruary)).toMatchObject({ origin: 'server', held: true });
    const uploaded = await tablet.files.attach(photo(KiB, 54), {
      collection: 'encounters',
      recordId: february.id,
      name: 'dressing.jpg',
    });
    expect(await tablet.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    network.mode = 'offline';
    const onlyHere = await tablet.files.attach(photo(KiB, 55), {
      collection: 'encounters',
      recordId: february.id,
      name: 'healing.jpg',
    });
    expect(idsOf(tablet)).toEqual([onFebruary, onMarch, onMay, uploaded.id, onlyHere.id].sort());

    // Four months on, offline: prune lets February and March go, and their photos with them, but
    // the one only this tablet holds, not uploaded yet.
    now = Date.UTC(2026, 9, 1);
    expect(await tablet.prune()).toBe(2);
    expect(idsOf(tablet)).toEqual([onMay, onlyHere.id].sort());
    expect(tablet.files.status(onlyHere.id)).toMatchObject({ state: 'waiting', held: true });

    // Online: the sync uploads that photo (its visit is on the server), and it stays until the
    // next time its visit is let go, now that the server holds it.
    network.mode = 'online';
    expect(await tablet.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    expect(tablet.files.status(onlyHere.id)?.state).toBe('synced');
    expect(await tablet.sync()).toMatchObject({ success: true });
    expect(idsOf(tablet)).toEqual([onMay]);

    // Later still, the sync's own prune lets May go, and its photo.
    now = Date.UTC(2027, 0, 1);
    expect(await tablet.sync()).toMatchObject({ success: true, upToDate: true });
    expect(await tablet.collection('encounters').get(may.id)).toBeNull();
    expect(tablet.files.list()).toEqual([]);

    // The server keeps every one of them, and a screen that reads an old visit can open its photo.
    for (const id of [onFebruary, onMarch, onMay, uploaded.id, onlyHere.id])
      expect(await onServer(id)).toBe(200);
    expect(await tablet.collection('encounters').fetch(february.id)).toMatchObject({ id: february.id });
    expect(await tablet.files.refresh({ collection: 'encounters', recordId: february.id })).toBe(3);
    expect((await bytesOfBlob(await tablet.files.get(onFebruary))).length).toBe(2 * KiB);
  });
});
