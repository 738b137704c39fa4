// Files another device attached, learned from the real server's list (`files.refresh`): a doctor's
// tablet sees the wound photo a nurse attached on hers, downloads it when opened, and never lets
// the list overwrite what its own uploads stand at.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { ensureUsers } from '@outpost/server';
import { memoryFileStore, memoryStore } from '../src/index';
import type { SyncClient, SyncClientOptions } from '../src/index';
import { ManualTimers, TestNetwork, closeClients, openClient, password, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';
import { FileFaults, bytesOfBlob, photo, sha256 } from './file-faults';

const nurse = 'nurse@clinic-a.test';
const admin = 'admin@clinic-a.test';
/** A role the schema gives no right on any collection: signed in, but may not read the encounters. */
const porter = 'porter@clinic-a.test';
const KiB = 1024;

let server: TestServer;
let vets: TestServer;
let names = 0;

beforeAll(async () => {
  server = await startServer(fieldClinic);
  await ensureUsers(server.app.outpost.store, [
    { email: porter, tenant: 'clinic-a', roles: ['porter'], password },
  ]);
  vets = await startServer(vetPractice);
});
afterAll(async () => {
  await server.close();
  await vets.close();
});
afterEach(closeClients);

interface Device {
  network: TestNetwork;
  faults: FileFaults;
  open(extra?: Partial<SyncClientOptions>): Promise<SyncClient>;
}

function device(email: string, target: TestServer = server): Device {
  const name = `other-devices-${++names}`;
  const network = new TestNetwork();
  const faults = new FileFaults(network.fetch);
  return {
    network,
    faults,
    open: (extra = {}) =>
      openClient(target, email, memoryStore({ name }), network, {
        files: memoryFileStore({ name }),
        fileChunkBytes: KiB,
        fetch: faults.fetch,
        timers: new ManualTimers(),
        ...extra,
      }),
  };
}

/** A nurse's tablet with a synced patient: the record a file is attached to. */
async function nurseWithPatient(name: string): Promise<{ tablet: Device; client: SyncClient; id: string }> {
  const tablet = device(nurse);
  const client = await tablet.open();
  const patient = await client.collection('patients').create({ name });
  expect((await client.sync()).success).toBe(true);
  return { tablet, client, id: patient.id };
}

describe("files.refresh: a record's files from the server, whichever device attached them", () => {
  it("lists a colleague's uploaded photo as a description only, and get downloads exactly its bytes", async () => {
    const { client: nurseClient, id } = await nurseWithPatient('Amina K.');
    const bytes = photo(3 * KiB + 200, 11);
    const attached = await nurseClient.files.attach(new Blob([bytes], { type: 'image/jpeg' }), {
      collection: 'patients',
      recordId: id,
      name: 'wound, day 3.jpg',
    });
    expect(await nurseClient.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });

    const office = device(admin);
    const doctor = await office.open();
    expect(doctor.files.list({ collection: 'patients', recordId: id })).toEqual([]);
    expect(await doctor.files.refresh({ collection: 'patients', recordId: id })).toBe(1);
    const [listed] = doctor.files.list({ collection: 'patients', recordId: id });
    expect(listed).toMatchObject({
      id: attached.id,
      name: 'wound, day 3.jpg',
      contentType: 'image/jpeg',
      size: bytes.byteLength,
      sha256: sha256(bytes),
      chunkCount: 4,
      chunksUploaded: 4,
      origin: 'server',
      state: 'synced',
      held: false,
    });
    // Only the list went: no bytes until someone opens the photo.
    expect(office.faults.fileRequests).toEqual(['GET /v1/files']);
    // Files of other devices are not this device's uploads.
    expect(doctor.files.stats()).toMatchObject({ attached: 0, waiting: 0, uploaded: 0 });

    const blob = await doctor.files.get(attached.id);
    expect(blob.type).toBe('image/jpeg');
    expect(await bytesOfBlob(blob)).toEqual(bytes);
    expect(doctor.files.status(attached.id)).toMatchObject({ origin: 'server', state: 'synced', held: true });
    // Kept: the second look needs no network, and a refresh leaves the bytes alone.
    expect(await doctor.files.refresh({ collection: 'patients', recordId: id })).toBe(1);
    office.network.mode = 'offline';
    expect(await bytesOfBlob(await doctor.files.get(attached.id))).toEqual(bytes);
  });

  it('shows a file another device is still uploading as incomplete, then synced once it is whole', async () => {
    const { tablet, client: nurseClient, id } = await nurseWithPatient('Bertha L.');
    const bytes = photo(3 * KiB, 12);
    const attached = await nurseClient.files.attach(bytes, {
      collection: 'patients',
      recordId: id,
      name: 'x-ray.png',
    });
    // The declaration and one chunk reach the server; the link drops.
    tablet.faults.cutAfterChunks = 1;
    expect((await nurseClient.sync()).success).toBe(false);

    const doctor = await device(admin).open();
    expect(await doctor.files.refresh({ collection: 'patients', recordId: id })).toBe(1);
    expect(doctor.files.status(attached.id)).toMatchObject({
      origin: 'server',
      state: 'incomplete',
      chunksUploaded: 1,
      chunkCount: 3,
      held: false,
    });
    await expect(doctor.files.get(attached.id)).rejects.toMatchObject({ reason: 'incomplete' });

    tablet.faults.cutAfterChunks = Infinity;
    expect(await nurseClient.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    await doctor.files.refresh({ collection: 'patients', recordId: id });
    expect(doctor.files.status(attached.id)).toMatchObject({
      state: 'synced',
      chunksUploaded: 3,
      held: false,
    });
    expect(await bytesOfBlob(await doctor.files.get(attached.id))).toEqual(bytes);
  });

  it("never overwrites the state of a file this device attached, whatever the server's list says", async () => {
    const { tablet, client, id } = await nurseWithPatient('Chikondi B.');
    const uploaded = await client.files.attach(photo(KiB, 13), {
      collection: 'patients',
      recordId: id,
      name: 'first.jpg',
    });
    expect((await client.sync()).success).toBe(true);
    const waiting = await client.files.attach(photo(3 * KiB, 14), {
      collection: 'patients',
      recordId: id,
      name: 'second.jpg',
    });
    // Declared, one chunk on the server, the rest still on this tablet: the server lists it incomplete.
    tablet.faults.cutAfterChunks = tablet.faults.chunksSent.length + 1;
    expect((await client.sync()).success).toBe(false);
    const before = client.files.list({ collection: 'patients', recordId: id });
    // Attached in the same (manual) millisecond: their order is their ids'.
    const standing = (files: typeof before) =>
      files.map((f) => [f.name, f.state, f.origin]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(standing(before)).toEqual([
      ['first.jpg', 'synced', 'device'],
      ['second.jpg', 'waiting', 'device'],
    ]);

    expect(await client.files.refresh({ collection: 'patients', recordId: id })).toBe(2);
    expect(client.files.list({ collection: 'patients', recordId: id })).toEqual(before);
    expect(client.files.status(waiting.id)).toMatchObject({
      state: 'waiting',
      origin: 'device',
      held: true,
      chunksUploaded: 1,
      attempts: 1,
      error: { code: 'NETWORK' },
    });
    expect(client.files.stats()).toMatchObject({ attached: 2, waiting: 1, uploaded: 1 });

    // The next sync still sends only what the server misses, and the file's own upload ends it.
    tablet.faults.cutAfterChunks = Infinity;
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    expect(client.files.status(waiting.id)).toMatchObject({ state: 'synced', origin: 'device' });
    expect(client.files.status(uploaded.id)).toMatchObject({ state: 'synced', origin: 'device', held: true });
  });

  it('resolves null, quietly, when the server cannot be reached, and keeps what the device knew', async () => {
    const { client: nurseClient, id } = await nurseWithPatient('Dalitso M.');
    await nurseClient.files.attach(photo(KiB, 15), { collection: 'patients', recordId: id, name: 'a.jpg' });
    await nurseClient.sync();

    const office = device(admin);
    const doctor = await office.open();
    office.network.mode = 'offline';
    expect(await doctor.files.refresh({ collection: 'patients', recordId: id })).toBeNull();
    expect(doctor.files.list()).toEqual([]);

    office.network.mode = 'online';
    expect(await doctor.files.refresh({ collection: 'patients', recordId: id })).toBe(1);
    const known = doctor.files.list();
    // A server failing (503) or the link going again: null, and the description stays.
    office.faults.filesDown = true;
    expect(await doctor.files.refresh({ collection: 'patients', recordId: id })).toBeNull();
    office.faults.filesDown = false;
    office.network.mode = 'offline';
    expect(await doctor.files.refresh({ collection: 'patients', recordId: id })).toBeNull();
    expect(doctor.files.list()).toEqual(known);
  });

  it('refuses, FORBIDDEN, a role that may not read the collection, and lists nothing', async () => {
    const { client: nurseClient, id } = await nurseWithPatient('Esnart P.');
    await nurseClient.files.attach(photo(KiB, 16), { collection: 'patients', recordId: id, name: 'b.jpg' });
    await nurseClient.sync();

    const stranger = await device(porter).open();
    await expect(stranger.files.refresh({ collection: 'patients', recordId: id })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(stranger.files.list()).toEqual([]);
    await expect(stranger.files.refresh({ collection: 'photos', recordId: id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('asks once for two screens showing one record, and not at all for a record still under its temp id', async () => {
    const { client: nurseClient, id } = await nurseWithPatient('Fatsani L.');
    await nurseClient.files.attach(photo(KiB, 17), { collection: 'patients', recordId: id, name: 'c.jpg' });
    await nurseClient.sync();
    const office = device(admin);
    const doctor = await office.open();
    const both = await Promise.all([
      doctor.files.refresh({ collection: 'patients', recordId: id }),
      doctor.files.refresh({ collection: 'patients', recordId: id }),
    ]);
    expect(both).toEqual([1, 1]);
    expect(office.faults.fileRequests).toEqual(['GET /v1/files']);

    const farm = device('vet@vet-a.test', vets);
    const vet = await farm.open({ schema: vetPractice });
    farm.network.mode = 'offline';
    const owner = await vet.collection('users').create({ name: 'Farmer Banda' });
    expect(owner.id).toMatch(/^temp_/);
    farm.network.mode = 'online';
    expect(await vet.files.refresh({ collection: 'users', recordId: owner.id })).toBe(0);
    expect(farm.faults.fileRequests).toEqual([]);
  });
});
