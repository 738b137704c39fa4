import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { memoryFileStore, memoryStore } from '../src/index';
import type { LocalFile, SyncClient, SyncClientOptions } from '../src/index';
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
const admin = 'admin@clinic-a.test';
// Small chunks keep the files small and the chunk counts telling.
const KiB = 1024;

let server: TestServer;
let vets: TestServer;
let names = 0;

beforeAll(async () => {
  server = await startServer(fieldClinic, { maxFileBytes: 64 * KiB });
  vets = await startServer(vetPractice);
});
afterAll(async () => {
  await server.close();
  await vets.close();
});
afterEach(closeClients);

/** A device: its record store and file store named, so closing and opening it again finds them. */
interface Device {
  network: TestNetwork;
  faults: FileFaults;
  timers: ManualTimers;
  open(extra?: Partial<SyncClientOptions>): Promise<SyncClient>;
}

function device(target: TestServer = server, email = nurse): Device {
  const name = `files-device-${++names}`;
  const network = new TestNetwork();
  const faults = new FileFaults(network.fetch);
  // Manual time: a failed sync's retry timer waits for the test, never fires behind it.
  const timers = new ManualTimers();
  return {
    network,
    faults,
    timers,
    open: (extra = {}) =>
      openClient(target, email, memoryStore({ name }), network, {
        files: memoryFileStore({ name }),
        fileChunkBytes: KiB,
        fetch: faults.fetch,
        timers,
        ...extra,
      }),
  };
}

/** What the server holds of a file, read as the given user. */
async function serverFile(target: TestServer, email: string, id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${target.url}/v1/files/${id}`, {
    headers: { authorization: `Bearer ${await target.token(email)}` },
  });
  return (await res.json()) as Record<string, unknown>;
}

describe('client.files against the real server', () => {
  it('attaches offline at once, uploads with the next sync, and another device downloads the same bytes', async () => {
    const tablet = device();
    const client = await tablet.open();
    tablet.network.mode = 'offline';
    const patient = await client.collection('patients').create({ name: 'Amina K.' });
    const bytes = photo(5 * KiB + 300);
    const file = await client.files.attach(new Blob([bytes], { type: 'image/jpeg' }), {
      collection: 'patients',
      recordId: patient.id,
      name: 'wound, day 3.jpg',
    });
    await client.collection('patients').update(patient.id, { notes: `photo ${file.id}` });
    expect(file).toMatchObject({
      state: 'waiting',
      contentType: 'image/jpeg',
      size: bytes.byteLength,
      sha256: sha256(bytes),
      chunkSize: KiB,
      chunkCount: 6,
      chunksUploaded: 0,
      held: true,
      origin: 'device',
    });
    expect(file.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(client.files.stats()).toMatchObject({
      attached: 1,
      waiting: 1,
      uploaded: 0,
      bytesWaiting: bytes.byteLength,
    });

    const offline = await client.sync();
    expect(offline.success).toBe(false);
    expect(client.files.status(file.id)?.state).toBe('waiting');

    tablet.network.mode = 'online';
    const result = await client.sync();
    expect(result).toMatchObject({ success: true, files: { uploaded: 1, waiting: 0, failed: 0 } });
    expect(client.files.status(file.id)).toMatchObject({ state: 'synced', chunksUploaded: 6, held: true });
    expect(tablet.faults.chunksSent).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await serverFile(server, nurse, file.id)).toMatchObject({
      complete: true,
      sha256: sha256(bytes),
      recordId: patient.id,
      name: 'wound, day 3.jpg',
    });
    // The bytes stay: the clinician still looks at the photo, offline too.
    tablet.network.mode = 'offline';
    expect(await bytesOfBlob(await client.files.get(file.id))).toEqual(bytes);

    const office = device(server, admin);
    const other = await office.open();
    await other.sync();
    const record = await other.collection('patients').get(patient.id);
    const fileId = /photo (\S+)/.exec(String(record?.data['notes']))?.[1] as string;
    const blob = await other.files.get(fileId);
    expect(blob.type).toBe('image/jpeg');
    const downloaded = await bytesOfBlob(blob);
    expect(sha256(downloaded)).toBe(file.sha256);
    expect(downloaded).toEqual(bytes);
    expect(other.files.status(fileId)).toMatchObject({
      origin: 'server',
      state: 'synced',
      held: true,
      name: 'wound, day 3.jpg',
    });
    // Kept: the second look needs no network.
    office.network.mode = 'offline';
    expect(await bytesOfBlob(await other.files.get(fileId))).toEqual(bytes);
    expect(office.faults.ranges).toEqual([null]);
  });

  it('resumes an upload cut by the link, a lost answer and the app closing, never sending a chunk the server holds', async () => {
    const tablet = device();
    let client = await tablet.open();
    const patient = await client.collection('patients').create({ name: 'Chikondi B.' });
    const bytes = photo(8 * KiB - 100, 2);
    const file = await client.files.attach(bytes, {
      collection: 'patients',
      recordId: patient.id,
      name: 'x-ray.png',
    });

    // The link drops after two chunks: the third never reaches the server.
    tablet.faults.cutAfterChunks = 2;
    const cut = await client.sync();
    expect(cut).toMatchObject({
      success: false,
      error: { code: 'NETWORK' },
      files: { uploaded: 0, waiting: 1 },
    });
    expect(client.files.status(file.id)).toMatchObject({
      state: 'waiting',
      chunksUploaded: 2,
      attempts: 1,
      error: { code: 'NETWORK' },
    });
    expect(client.files.status(file.id)?.nextAttemptAt).toBeGreaterThanOrEqual(tablet.timers.now());

    // Back, until chunk 4 reaches the server and its answer is lost on the way back.
    tablet.faults.cutAfterChunks = Infinity;
    tablet.faults.loseAnswerOfChunk = 4;
    expect((await client.sync()).success).toBe(false);
    // It moved the file along: the try counts as the first of a new run, not the second.
    expect(client.files.status(file.id)).toMatchObject({ state: 'waiting', chunksUploaded: 4, attempts: 1 });

    // The app is closed and opened again.
    await closeClient(client);
    client = await tablet.open();
    expect(client.files.status(file.id)).toMatchObject({ state: 'waiting', held: true });
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });

    expect(tablet.faults.chunksSent).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(tablet.faults.fileRequests.filter((r) => r === `PUT /v1/files/${file.id}`)).toHaveLength(3);
    expect(client.files.status(file.id)).toMatchObject({ state: 'synced', attempts: 0 });
    expect(client.files.status(file.id)?.error).toBeUndefined();
    expect(await serverFile(server, nurse, file.id)).toMatchObject({ complete: true, sha256: sha256(bytes) });
  });

  it('sends again a chunk damaged on the wire, which the server refused', async () => {
    const tablet = device();
    const client = await tablet.open();
    const patient = await client.collection('patients').create({ name: 'Dalitso M.' });
    const bytes = photo(4 * KiB, 3);
    const file = await client.files.attach(bytes, {
      collection: 'patients',
      recordId: patient.id,
      name: 'scan.pdf',
    });
    tablet.faults.corruptChunk = 2;
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    expect(tablet.faults.chunksSent).toEqual([0, 1, 2, 2, 3]);
    const other = await device(server, admin).open();
    expect(await bytesOfBlob(await other.files.get(file.id))).toEqual(bytes);
  });

  it('sends the whole file again when the server drops it for its whole hash, and stops if that happens twice', async () => {
    const tablet = device();
    const client = await tablet.open();
    const patient = await client.collection('patients').create({ name: 'Dalitso M.' });
    const bytes = photo(3 * KiB, 6);
    const file = await client.files.attach(bytes, {
      collection: 'patients',
      recordId: patient.id,
      name: 'scan2.pdf',
    });
    tablet.faults.corruptDeclarations = 1;
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    // The last chunk completed the file, its whole hash did not match, the server dropped it all.
    expect(tablet.faults.chunksSent).toEqual([0, 1, 2, 0, 1, 2]);
    expect(await serverFile(server, nurse, file.id)).toMatchObject({ complete: true, sha256: sha256(bytes) });

    // Every declaration damaged: the description itself is wrong, and sending again cannot help.
    const twice = await client.files.attach(photo(KiB, 7), {
      collection: 'patients',
      recordId: patient.id,
      name: 'scan3.pdf',
    });
    tablet.faults.corruptDeclarations = 10;
    expect(await client.sync()).toMatchObject({ success: true, files: { failed: 1 } });
    expect(tablet.faults.corruptDeclarations).toBe(8);
    expect(client.files.status(twice.id)).toMatchObject({
      state: 'failed',
      refused: true,
      error: { code: 'VALIDATION_FAILED', details: { reason: 'file-checksum' } },
    });
  });

  it('resumes a download cut off midway with a Range from the byte it reached', async () => {
    const tablet = device();
    const client = await tablet.open();
    const patient = await client.collection('patients').create({ name: 'Esnart P.' });
    const bytes = photo(40 * KiB, 4);
    const file = await client.files.attach(bytes, {
      collection: 'patients',
      recordId: patient.id,
      name: 'consent.jpg',
    });
    await client.sync();

    const office = device(server, admin);
    const other = await office.open();
    office.faults.cutDownloadAfter = 10_000;
    const downloaded = await bytesOfBlob(await other.files.get(file.id));
    expect(office.faults.ranges).toEqual([null, 'bytes=10000-']);
    expect(sha256(downloaded)).toBe(sha256(bytes));
    expect(downloaded).toEqual(bytes);
  });

  it('tells why a file cannot be had: offline and not on the device, not on the server, still uploading', async () => {
    const tablet = device();
    const client = await tablet.open();
    const patient = await client.collection('patients').create({ name: 'Fatsani L.' });
    const file = await client.files.attach(photo(3 * KiB), {
      collection: 'patients',
      recordId: patient.id,
      name: 'a.jpg',
    });
    // The declaration and one chunk reach the server; the rest waits.
    tablet.faults.cutAfterChunks = 1;
    await client.sync();

    const office = device(server, admin);
    const other = await office.open();
    await expect(other.files.get(file.id)).rejects.toMatchObject({
      name: 'FileUnavailableError',
      code: 'FILE_UNAVAILABLE',
      reason: 'incomplete',
      fileId: file.id,
    });
    await expect(other.files.get('never-declared')).rejects.toMatchObject({ reason: 'not-found' });
    office.network.mode = 'offline';
    await expect(other.files.get(file.id)).rejects.toMatchObject({ reason: 'offline' });
    expect(other.files.list()).toEqual([]);
  });

  it('marks a file the server refuses as failed with its error, and does not send it again by itself', async () => {
    const tablet = device();
    const client = await tablet.open();
    const patient = await client.collection('patients').create({ name: 'Grace N.' });
    const small = await client.files.attach(photo(KiB), {
      collection: 'patients',
      recordId: patient.id,
      name: 'ok.jpg',
    });
    const large = await client.files.attach(photo(65 * KiB), {
      collection: 'patients',
      recordId: patient.id,
      name: 'too large.tiff',
    });
    const result = await client.sync();
    // A refusal is an answer: the sync went well, and the file behind it went too.
    expect(result).toMatchObject({ success: true, files: { uploaded: 1, waiting: 0, failed: 1 } });
    expect(client.files.status(small.id)?.state).toBe('synced');
    expect(client.files.status(large.id)).toMatchObject({
      state: 'failed',
      refused: true,
      error: { code: 'PAYLOAD_TOO_LARGE', details: { maxFileBytes: 64 * KiB } },
      held: true,
    });
    const before = tablet.faults.fileRequests.length;
    await client.sync();
    await client.sync({ manual: true });
    expect(tablet.faults.fileRequests.length).toBe(before);
    // Only a person naming it sends it again.
    expect(await client.files.retry()).toBe(0);
    expect(await client.files.retry([large.id])).toBe(1);
    expect(client.files.status(large.id)).toMatchObject({ state: 'waiting', attempts: 0 });
    expect(client.files.status(large.id)?.error).toBeUndefined();
    await client.files.discard(large.id);
    expect(client.files.list().map((f) => f.id)).toEqual([small.id]);
  });

  it('deletes from the server what it holds of an upload discarded half sent, offline too, once', async () => {
    const tablet = device();
    let client = await tablet.open();
    const patient = await client.collection('patients').create({ name: 'Esther P.' });
    // A photo of the wrong patient, half uploaded when the link drops.
    const wrong = await client.files.attach(photo(4 * KiB, 5), {
      collection: 'patients',
      recordId: patient.id,
      name: 'wrong patient.jpg',
    });
    tablet.faults.cutAfterChunks = 2;
    expect((await client.sync()).success).toBe(false);
    expect(await serverFile(server, nurse, wrong.id)).toMatchObject({
      complete: false,
      missingChunks: [2, 3],
    });

    // Offline, the nurse discards it, and attaches another she discards before any sync.
    tablet.network.mode = 'offline';
    tablet.faults.cutAfterChunks = Infinity;
    await client.files.discard(wrong.id);
    const never = await client.files.attach(photo(KiB, 6), {
      collection: 'patients',
      recordId: patient.id,
      name: 'blurred.jpg',
    });
    await client.files.discard(never.id);
    expect(client.files.list()).toEqual([]);
    // The app is closed and opened again before the link comes back.
    await closeClient(client);
    client = await tablet.open();

    tablet.network.mode = 'online';
    expect(await client.sync()).toMatchObject({ success: true });
    const res = await fetch(`${server.url}/v1/files/${wrong.id}`, {
      headers: { authorization: `Bearer ${await server.token(admin)}` },
    });
    expect(res.status).toBe(404);
    const deletes = () => tablet.faults.fileRequests.filter((r) => r.startsWith('DELETE'));
    expect(deletes()).toEqual([`DELETE /v1/files/${wrong.id}`, `DELETE /v1/files/${never.id}`]);
    // Done with: the next syncs ask nothing more.
    await client.sync();
    expect(deletes()).toHaveLength(2);
  });

  it('backs off while the server fails, gives up after retry.maxAttempts, and goes with a person\'s "Sync now"', async () => {
    const tablet = device();
    const client = await tablet.open({ retry: { maxAttempts: 2 } });
    const patient = await client.collection('patients').create({ name: 'Hawa J.' });
    const file = await client.files.attach(photo(2 * KiB), {
      collection: 'patients',
      recordId: patient.id,
      name: 'b.jpg',
    });
    tablet.faults.filesDown = true;
    expect(await client.sync()).toMatchObject({ success: false, error: { code: 'INTERNAL' } });
    expect(client.files.status(file.id)).toMatchObject({
      state: 'waiting',
      attempts: 1,
      error: { code: 'INTERNAL' },
    });
    // The engine's retry timer is armed, as for a failed push.
    expect(tablet.timers.waiting().length).toBeGreaterThan(0);
    await client.sync();
    expect(client.files.status(file.id)).toMatchObject({ state: 'failed', attempts: 2 });
    expect(client.files.status(file.id)?.refused).toBeUndefined();

    tablet.faults.filesDown = false;
    const requests = tablet.faults.fileRequests.length;
    await client.sync();
    expect(tablet.faults.fileRequests.length).toBe(requests);
    expect(await client.sync({ manual: true })).toMatchObject({ success: true, files: { uploaded: 1 } });
    expect(client.files.status(file.id)?.state).toBe('synced');
  });

  it("shows each file's progress and the counts a UI needs while a sync uploads", async () => {
    const tablet = device();
    const client = await tablet.open();
    const patient = await client.collection('patients').create({ name: 'Ireen S.' });
    const seen: Array<Pick<LocalFile, 'state' | 'chunksUploaded'>> = [];
    const stop = client.files.subscribe((files) => {
      const f = files[0];
      const last = seen.at(-1);
      if (f && (last?.state !== f.state || last.chunksUploaded !== f.chunksUploaded))
        seen.push({ state: f.state, chunksUploaded: f.chunksUploaded });
    });
    expect(client.files.list()).toEqual([]);
    await client.files.attach(photo(3 * KiB), {
      collection: 'patients',
      recordId: patient.id,
      name: 'c.jpg',
    });
    await tablet.timers.advance(1);
    await client.files.attach(photo(KiB), { collection: 'patients', recordId: patient.id, name: 'd.jpg' });
    expect(client.files.stats()).toEqual({
      attached: 2,
      waiting: 2,
      uploading: 0,
      uploaded: 0,
      failed: 0,
      refused: 0,
      bytesWaiting: 4 * KiB,
      deleting: 0,
      deleteRefused: 0,
    });
    await client.sync();
    stop();
    expect(seen).toEqual([
      { state: 'waiting', chunksUploaded: 0 },
      { state: 'uploading', chunksUploaded: 0 },
      { state: 'uploading', chunksUploaded: 1 },
      { state: 'uploading', chunksUploaded: 2 },
      { state: 'uploading', chunksUploaded: 3 },
      { state: 'synced', chunksUploaded: 3 },
    ]);
    expect(client.files.stats()).toMatchObject({ attached: 2, waiting: 0, uploaded: 2, bytesWaiting: 0 });
    expect(client.files.list({ collection: 'patients', recordId: patient.id })).toHaveLength(2);
  });

  it('refuses to attach to a collection the schema lacks, or under an id the record cannot have', async () => {
    const client = await device().open();
    await expect(
      client.files.attach(photo(10), { collection: 'photos', recordId: 'p-1', name: 'a.jpg' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      client.files.attach(photo(10), {
        collection: 'patients',
        recordId: 'temp_1_abc_patients',
        name: 'a.jpg',
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      client.files.attach(photo(10), { collection: 'patients', recordId: 'p 1', name: 'a.jpg' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      client.files.attach(photo(10), {
        collection: 'patients',
        recordId: 'p-1',
        name: 'a.jpg',
        contentType: 'jpeg',
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(client.files.list()).toEqual([]);
  });
});

describe('a file attached to a record whose id the server gives', () => {
  it('waits while the record has only its temp id, then uploads under the real one', async () => {
    const tablet = device(vets, 'vet@vet-a.test');
    const client = await tablet.open({ schema: vetPractice, retry: { maxAttempts: 1 } });
    tablet.network.mode = 'offline';
    const owner = await client.collection('users').create({ name: 'Farmer Banda' });
    expect(owner.id).toMatch(/^temp_/);
    const file = await client.files.attach(photo(2 * KiB, 9), {
      collection: 'users',
      recordId: owner.id,
      name: 'herd.jpg',
    });
    expect(client.files.status(file.id)).toMatchObject({ state: 'waiting', recordId: owner.id });
    expect(client.files.status(file.id)?.waitingFor).toContain(owner.id);

    // The create gives up on the network (maxAttempts 1); back online, a sync pushes nothing, so
    // the record still has no real id, and the file waits: nothing of it is sent.
    await client.sync();
    tablet.network.mode = 'online';
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 0, waiting: 1 } });
    expect(tablet.faults.fileRequests).toEqual([]);
    expect(client.files.status(file.id)?.state).toBe('waiting');

    // A person's "Sync now" sends the create; the file follows under the id the server gave.
    expect(await client.sync({ manual: true })).toMatchObject({ success: true, files: { uploaded: 1 } });
    const [stored] = await client.collection('users').find({ where: { name: 'Farmer Banda' } });
    const real = stored?.id as string;
    expect(real).not.toMatch(/^temp_/);
    expect(client.files.status(file.id)).toMatchObject({ state: 'synced', recordId: real });
    expect(client.files.status(file.id)?.waitingFor).toBeUndefined();
    expect(client.files.list({ collection: 'users', recordId: owner.id })).toHaveLength(1);
    expect(await serverFile(vets, 'vet@vet-a.test', file.id)).toMatchObject({
      recordId: real,
      complete: true,
    });
  });

  it('stops, refused, when its record was deleted before the server ever had it', async () => {
    const tablet = device(vets, 'vet@vet-a.test');
    const client = await tablet.open({ schema: vetPractice });
    const owner = await client.collection('users').create({ name: 'Mistake' });
    const file = await client.files.attach(photo(KiB), {
      collection: 'users',
      recordId: owner.id,
      name: 'e.jpg',
    });
    await client.collection('users').delete(owner.id);
    expect(await client.sync()).toMatchObject({ success: true, files: { failed: 1 } });
    expect(client.files.status(file.id)).toMatchObject({
      state: 'failed',
      refused: true,
      error: { code: 'DEPENDENCY_FAILED' },
    });
    expect(tablet.faults.fileRequests).toEqual([]);
  });
});
