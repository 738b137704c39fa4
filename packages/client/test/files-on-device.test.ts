import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import {
  createSyncClient,
  encryptedFileStore,
  encryptedStore,
  indexedDbFileStore,
  indexedDbStore,
  memoryFileStore,
} from '../src/index';
import type { SyncClient, SyncClientOptions } from '../src/index';
import {
  ManualTimers,
  TestNetwork,
  closeClient,
  closeClients,
  openClient,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';
import { FileFaults, bytesOfBlob, photo, sha256 } from './file-faults';

const nurse = 'nurse@clinic-a.test';
const KiB = 1024;
// Low enough that a test derives a key in about a millisecond; the default is 310,000.
const iterations = 1_000;
const passphrase = 'clinic tablet 7 passphrase';

let server: TestServer;

beforeAll(async () => {
  server = await startServer(fieldClinic);
});
afterAll(async () => {
  await server.close();
});
afterEach(closeClients);

/** A tablet with one browser profile (fake-indexeddb): each open() is the app started again. */
function tablet(encrypted = false) {
  const factory = new IDBFactory();
  const network = new TestNetwork();
  const faults = new FileFaults(network.fetch);
  const timers = new ManualTimers();
  const stores = () => {
    const records = indexedDbStore({ name: 'clinic', indexedDB: factory, IDBKeyRange });
    const files = indexedDbFileStore({ name: 'clinic', indexedDB: factory, IDBKeyRange });
    return encrypted
      ? {
          store: encryptedStore(records, { passphrase, iterations }),
          files: encryptedFileStore(files, { passphrase, iterations }),
        }
      : { store: records, files };
  };
  return {
    factory,
    network,
    faults,
    open(extra: Partial<SyncClientOptions> = {}): Promise<SyncClient> {
      const { store, files } = stores();
      return openClient(server, nurse, store, network, {
        files,
        fileChunkBytes: KiB,
        fetch: faults.fetch,
        timers,
        ...extra,
      });
    },
  };
}

describe('files kept in IndexedDB', () => {
  it('survive the app closing before and during their upload, and after it the photo is still on the tablet', async () => {
    const device = tablet();
    let client = await device.open();
    device.network.mode = 'offline';
    const patient = await client.collection('patients').create({ name: 'Amina K.' });
    const bytes = photo(6 * KiB + 10, 5);
    const file = await client.files.attach(new Blob([bytes], { type: 'image/png' }), {
      collection: 'patients',
      recordId: patient.id,
      name: 'burn.png',
    });
    await closeClient(client);

    client = await device.open();
    expect(client.files.list()).toMatchObject([
      { id: file.id, state: 'waiting', held: true, size: bytes.byteLength },
    ]);
    expect(await bytesOfBlob(await client.files.get(file.id))).toEqual(bytes);

    // Three chunks go, then the tablet is switched off.
    device.network.mode = 'online';
    device.faults.cutAfterChunks = 3;
    await client.sync();
    await closeClient(client);

    device.faults.cutAfterChunks = Infinity;
    client = await device.open();
    expect(client.files.status(file.id)).toMatchObject({ state: 'waiting', chunksUploaded: 3, attempts: 1 });
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    expect(device.faults.chunksSent).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await closeClient(client);

    client = await device.open();
    expect(client.files.status(file.id)).toMatchObject({ state: 'synced', held: true, recordId: patient.id });
    device.network.mode = 'offline';
    const shown = await client.files.get(file.id);
    expect(shown.type).toBe('image/png');
    expect(await bytesOfBlob(shown)).toEqual(bytes);

    // The app frees the space; the description stays and the bytes come back from the server.
    await client.files.evict(file.id);
    expect(client.files.status(file.id)).toMatchObject({ state: 'synced', held: false });
    await expect(client.files.get(file.id)).rejects.toMatchObject({ reason: 'offline' });
    device.network.mode = 'online';
    expect(sha256(await bytesOfBlob(await client.files.get(file.id)))).toBe(sha256(bytes));
    expect(client.files.status(file.id)).toMatchObject({ held: true, origin: 'device' });
  });

  it('stores no failed try when the app closes in the middle of a chunk, and the next start resumes', async () => {
    const device = tablet();
    let client = await device.open();
    const patient = await client.collection('patients').create({ name: 'Dalitso M.' });
    const bytes = photo(4 * KiB, 8);
    const file = await client.files.attach(bytes, {
      collection: 'patients',
      recordId: patient.id,
      name: 'b.jpg',
    });
    const held = device.network.holdNext(`/v1/files/${file.id}/chunks/2`);
    const syncing = client.sync();
    await held.reached;
    const closing = closeClient(client);
    held.release();
    await closing;
    expect(await syncing).toMatchObject({ success: false, error: { code: 'CLIENT_CLOSED' } });

    client = await device.open();
    expect(client.files.status(file.id)).toMatchObject({ state: 'waiting', attempts: 0 });
    expect(client.files.status(file.id)?.error).toBeUndefined();
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    // Chunk 2 was abandoned before it reached the server; 0 and 1 it held were not sent again.
    expect(device.faults.chunksSent).toEqual([0, 1, 2, 2, 3]);
    expect(sha256(await bytesOfBlob(await client.files.get(file.id)))).toBe(sha256(bytes));
  });

  it('refuses to evict a file the server does not hold whole: the tablet may have the only copy', async () => {
    const device = tablet();
    const client = await device.open();
    device.network.mode = 'offline';
    const patient = await client.collection('patients').create({ name: 'Chikondi B.' });
    const file = await client.files.attach(photo(KiB), {
      collection: 'patients',
      recordId: patient.id,
      name: 'a.jpg',
    });
    await expect(client.files.evict(file.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(client.files.status(file.id)?.held).toBe(true);
  });
});

describe('files encrypted at rest', () => {
  it('keeps no plaintext of the photo, its name or its record, and uploads the photo itself', async () => {
    const device = tablet(true);
    let client = await device.open();
    const patient = await client.collection('patients').create({ name: 'Amina K.' });
    const marker = new TextEncoder().encode('PLAINTEXT-WOUND-PHOTO ');
    const bytes = new Uint8Array(marker.byteLength * 200);
    for (let i = 0; i < 200; i++) bytes.set(marker, i * marker.byteLength);
    const file = await client.files.attach(bytes, {
      collection: 'patients',
      recordId: patient.id,
      name: 'Amina Kachingwe wound.jpg',
      contentType: 'image/jpeg',
    });
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    await closeClient(client);

    // What the browser keeps, read without the passphrase.
    const raw = indexedDbFileStore({ name: 'clinic', indexedDB: device.factory, IDBKeyRange });
    const snapshot = await raw.load();
    const text = JSON.stringify(snapshot);
    expect(text).not.toContain('Amina');
    expect(text).not.toContain(patient.id);
    expect(text).not.toContain(file.sha256);
    const needle = 'PLAINTEXT';
    for (let i = 0; i < file.chunkCount; i++) {
      const chunk = (await raw.readChunk(file.id, i)) as Uint8Array;
      expect(new TextDecoder('latin1').decode(chunk)).not.toContain(needle);
    }
    await raw.close();

    client = await device.open();
    expect(client.files.status(file.id)).toMatchObject({
      name: 'Amina Kachingwe wound.jpg',
      state: 'synced',
    });
    expect(await bytesOfBlob(await client.files.get(file.id))).toEqual(bytes);
    const res = await fetch(`${server.url}/v1/files/${file.id}/content`, {
      headers: { authorization: `Bearer ${await server.token(nurse)}` },
    });
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));
  });

  it('refuses files kept in the clear beside encrypted records, before anything opens', async () => {
    const factory = new IDBFactory();
    const options = {
      schema: fieldClinic,
      url: server.url,
      deviceId: 'tablet-7',
      autoSync: false,
      probeIntervalMs: false,
      store: encryptedStore(indexedDbStore({ name: 'clinic', indexedDB: factory, IDBKeyRange }), {
        passphrase,
        iterations,
      }),
    } as const;
    await expect(
      createSyncClient({
        ...options,
        files: indexedDbFileStore({ name: 'clinic', indexedDB: factory, IDBKeyRange }),
      }),
    ).rejects.toThrow(/encryptedFileStore/);
    expect(await factory.databases()).toEqual([]);
    // In memory nothing is at rest: accepted.
    const client = await createSyncClient({ ...options, files: memoryFileStore() });
    await client.close();
  });
});
