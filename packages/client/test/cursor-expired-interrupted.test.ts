// After 410 CURSOR_EXPIRED the client reads everything again without first removing anything: a
// re-read cut short (the link drops, the app closes) leaves the device showing the clinic's records
// and its pending edits, and only a finished re-read removes what the server no longer has.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import { TestNetwork, closeClient, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('CURSOR_EXPIRED resync interrupted', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('keeps showing the records and the pending edit when the link drops right after the 410', async () => {
    const network = new TestNetwork();
    // After the server answers 410 to a pull, the link drops (the tablet leaves the clinic's wifi).
    const fetch410ThenOffline: typeof fetch = async (input, init) => {
      const res = await network.fetch(input, init);
      if (new URL(String(input)).pathname === '/v1/sync/pull' && res.status === 410) network.mode = 'offline';
      return res;
    };
    const store = memoryStore({ name: 'cursor-expired-device' });
    const client = await openClient(server, 'nurse@clinic-a.test', store, network, {
      fetch: fetch410ThenOffline,
    });
    const patients = client.collection('patients');
    const kept = await patients.create({ name: 'Kondwani' });
    const edited = await patients.create({ name: 'Thoko' });
    const gone = await patients.create({ name: 'Deleted elsewhere' });
    expect((await client.sync()).success).toBe(true);

    // A colleague deletes one; the server purges tombstones past this device's cursor.
    const other = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'other',
    });
    await other.sync();
    await other.collection('patients').delete(gone.id);
    await other.sync();
    await server.app.outpost.store.purgeTombstones(new Date(Date.now() + 60_000).toISOString());

    // The nurse edits a patient (pending), then a pull meets the expired cursor and the link drops.
    await patients.update(edited.id, { village: 'Typed by the nurse' });
    const result = await client.syncFromServer();
    expect(result.success).toBe(false);

    const shownKept = await patients.get(kept.id);
    const shownEdited = await patients.get(edited.id);

    // Offline for days now: the tablet must still show the clinic's patients, and the edit.
    expect(shownKept?.data).toMatchObject({ name: 'Kondwani' });
    expect(shownEdited?.data).toMatchObject({ name: 'Thoko', village: 'Typed by the nurse' });

    // And after a restart offline, still the same (nothing was removed before the re-read came in).
    await closeClient(client);
    const reopened = await openClient(
      server,
      'nurse@clinic-a.test',
      memoryStore({ name: 'cursor-expired-device' }),
      network,
    );
    expect((await reopened.collection('patients').get(edited.id))?.data).toMatchObject({
      village: 'Typed by the nurse',
    });

    // Back online: the re-read carries on after the restart, and only once it is whole does the
    // patient deleted elsewhere go. The edit reaches the server.
    network.mode = 'online';
    expect((await reopened.sync()).success).toBe(true);
    const reread = reopened.collection('patients');
    expect(await reread.get(gone.id)).toBeNull();
    expect((await reread.get(kept.id))?.data).toMatchObject({ name: 'Kondwani' });
    expect(await reread.get(edited.id)).toMatchObject({
      data: { name: 'Thoko', village: 'Typed by the nurse' },
      pending: false,
    });
    expect((await reopened.sync()).upToDate).toBe(true);
  });

  it('selective sync: a completed resync keeps the records of the collections it does not pull', async () => {
    const network = new TestNetwork();
    // This tablet pulls patients only (bandwidth), but writes intake forms too.
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      deviceId: 'tablet-selective',
      collections: ['patients'],
    });
    const patient = await client.collection('patients').create({ name: 'Madalitso' });
    const form = await client
      .collection('intakeForms')
      .create({ patientId: patient.id, answers: { pain: 3 } });
    expect((await client.sync()).success).toBe(true);
    // Someone deletes an unrelated patient; tombstones past this tablet's cursor are purged.
    const other = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'o2',
    });
    const doomed = await other.collection('patients').create({ name: 'Temporary' });
    await other.sync();
    await client.sync();
    await other.collection('patients').delete(doomed.id);
    await other.sync();
    await server.app.outpost.store.purgeTombstones(new Date(Date.now() + 60_000).toISOString());

    await client.collection('intakeForms').update(form.id, { answers: { pain: 7 } });
    const result = await client.syncFromServer();
    expect(result.success).toBe(true);
    const shown = await client.collection('intakeForms').get(form.id);
    expect(shown?.data).toMatchObject({ answers: { pain: 7 } });
  });
});
