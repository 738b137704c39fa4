// Deleting a file from the clinic's server from the device (`files.delete`), and the files of a
// record whose create was withdrawn (decisions 0022 and 0023), against a real server: a clinician
// who attached the wrong patient's photo, uploaded already, removes it from the clinic's server,
// offline too; a refusal stays in sight; nothing is left on the server, or uploaded, for a record
// that will never exist there.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collection, defineSchema, isOutpostError, uuidv7 } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { memoryFileStore, memoryStore } from '../src/index';
import type { Schema } from '@outpost/core';
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
import { FileFaults, bytesOfBlob, photo } from './file-faults';

const nurse = 'nurse@clinic-a.test';
const admin = 'admin@clinic-a.test';
const KiB = 1024;

/** A clinic where a clinician may photograph and edit, but only an admin may delete. */
const noDelete = defineSchema({
  name: 'no-delete-clinic',
  collections: {
    patients: collection({
      fields: z.object({ name: z.string() }),
      permissions: {
        clinician: ['read', 'create', 'update'],
        admin: ['read', 'create', 'update', 'delete'],
      },
    }),
  },
});

let clinic: TestServer;
let strict: TestServer;
let names = 0;

beforeAll(async () => {
  clinic = await startServer(fieldClinic);
  strict = await startServer(noDelete);
});
afterAll(async () => {
  await clinic.close();
  await strict.close();
});
afterEach(closeClients);

/** A tablet whose stores are named, so closing and opening it (as another user too) finds them again. */
function tablet(server: TestServer, schema: Schema = fieldClinic) {
  const name = `files-delete-${++names}`;
  const network = new TestNetwork();
  const faults = new FileFaults(network.fetch);
  const timers = new ManualTimers();
  return {
    network,
    faults,
    open: (email = nurse, extra: Partial<SyncClientOptions> = {}): Promise<SyncClient> =>
      openClient(server, email, memoryStore({ name }), network, {
        schema,
        files: memoryFileStore({ name }),
        fileChunkBytes: KiB,
        fetch: faults.fetch,
        timers,
        deviceId: `tablet-d${names}`,
        ...extra,
      }),
    deletes: () => faults.fileRequests.filter((r) => r.startsWith('DELETE')),
    uploads: () => faults.fileRequests.filter((r) => r.startsWith('PUT')),
  };
}

/** The status the server answers for a file, read by the clinic's admin, who may read every file. */
async function onServer(server: TestServer, id: string): Promise<number> {
  const res = await fetch(`${server.url}/v1/files/${id}`, {
    headers: { authorization: `Bearer ${await server.token(admin)}` },
  });
  await res.arrayBuffer();
  return res.status;
}

/** The code and reason of the error a call is refused with. */
async function refusal(call: Promise<unknown>): Promise<{ code: string; reason?: unknown }> {
  try {
    await call;
  } catch (err) {
    if (isOutpostError(err)) return { code: err.code, reason: (err.details as { reason?: unknown })?.reason };
    throw err;
  }
  throw new Error('the call was not refused');
}

describe('files.delete: a file removed from the clinic server from the device', () => {
  it('deletes an uploaded photo of the wrong patient: asked offline, kept through reopening, sent by the next sync, once', async () => {
    const device = tablet(clinic);
    let client = await device.open();
    const patient = await client.collection('patients').create({ name: 'Esther P.' });
    const wrong = await client.files.attach(photo(3 * KiB, 31), {
      collection: 'patients',
      recordId: patient.id,
      name: 'wrong patient.jpg',
    });
    const right = await client.files.attach(photo(KiB, 32), {
      collection: 'patients',
      recordId: patient.id,
      name: 'heel.jpg',
    });
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 2 } });
    expect(await onServer(clinic, wrong.id)).toBe(200);

    // Offline, the nurse sees the mistake and deletes it: listed as to be deleted, not gone yet.
    device.network.mode = 'offline';
    await client.files.delete(wrong.id);
    expect(client.files.status(wrong.id)).toMatchObject({
      state: 'synced',
      deletion: { state: 'waiting', requestedAt: expect.any(String) },
    });
    expect(client.files.stats()).toMatchObject({ attached: 1, uploaded: 1, deleting: 1, deleteRefused: 0 });
    await closeClient(client);
    client = await device.open();
    expect(client.files.status(wrong.id)?.deletion?.state).toBe('waiting');

    // Back online, the delete reaches the server and its answer is lost: the server deleted it,
    // the device does not know yet. The next sync asks again; the 404 says it is done.
    device.network.mode = 'online';
    device.faults.loseAnswerOfDelete = true;
    expect((await client.sync()).success).toBe(false);
    expect(await onServer(clinic, wrong.id)).toBe(404);
    expect(client.files.status(wrong.id)?.deletion?.state).toBe('waiting');
    expect(await client.sync()).toMatchObject({ success: true });
    expect(client.files.status(wrong.id)).toBeNull();
    expect(client.files.list().map((f) => f.id)).toEqual([right.id]);
    expect(client.files.stats()).toMatchObject({ attached: 1, uploaded: 1, deleting: 0 });
    expect(device.deletes()).toEqual([`DELETE /v1/files/${wrong.id}`, `DELETE /v1/files/${wrong.id}`]);
    await client.sync();
    expect(device.deletes()).toHaveLength(2);

    // A colleague's tablet lists only the right photo, and deletes it from the server too.
    const colleague = tablet(clinic);
    const other = await colleague.open(admin);
    expect(await other.files.refresh({ collection: 'patients', recordId: patient.id })).toBe(1);
    expect(other.files.list().map((f) => f.id)).toEqual([right.id]);
    await other.files.delete(right.id);
    expect(await other.sync()).toMatchObject({ success: true });
    expect(await onServer(clinic, right.id)).toBe(404);
    expect(other.files.list()).toEqual([]);
  });

  it('shows a delete the role may not make as refused, keeps the photo, and asks again or keeps it as the person says', async () => {
    const device = tablet(strict, noDelete);
    const client = await device.open();
    const patient = await client.collection('patients').create({ name: 'Grace N.' });
    const scan = await client.files.attach(photo(2 * KiB, 33), {
      collection: 'patients',
      recordId: patient.id,
      name: 'consent.pdf',
    });
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });

    await client.files.delete(scan.id);
    // A refusal is an answer: the sync went well, and the file stays, saying why.
    expect(await client.sync()).toMatchObject({ success: true });
    expect(client.files.status(scan.id)).toMatchObject({
      state: 'synced',
      held: true,
      deletion: { state: 'refused', error: { code: 'FORBIDDEN', message: expect.any(String) } },
    });
    expect(client.files.stats()).toMatchObject({ deleting: 0, deleteRefused: 1 });
    expect(await onServer(strict, scan.id)).toBe(200);
    // Not sent again by itself.
    await client.sync({ manual: true });
    expect(device.deletes()).toHaveLength(1);

    // The person asks again (an admin changed the role, say): sent again, refused again.
    expect(await client.files.retry()).toBe(0);
    expect(await client.files.retry([scan.id])).toBe(1);
    expect(client.files.status(scan.id)?.deletion).toMatchObject({ state: 'waiting' });
    expect(client.files.status(scan.id)?.deletion?.error).toBeUndefined();
    await client.sync();
    expect(device.deletes()).toHaveLength(2);
    expect(client.files.status(scan.id)?.deletion?.state).toBe('refused');

    // Or keeps it: the photo is as it was, on the tablet and on the server.
    await client.files.keep(scan.id);
    expect(client.files.status(scan.id)?.deletion).toBeUndefined();
    expect(client.files.stats()).toMatchObject({ attached: 1, uploaded: 1, deleteRefused: 0 });
    expect((await bytesOfBlob(await client.files.get(scan.id))).length).toBe(2 * KiB);
    await client.sync();
    expect(device.deletes()).toHaveLength(2);

    // The admin may: deleted from the server, then from the device.
    const desk = tablet(strict, noDelete);
    const deskClient = await desk.open(admin);
    await deskClient.files.refresh({ collection: 'patients', recordId: patient.id });
    await deskClient.files.delete(scan.id);
    expect(await deskClient.sync()).toMatchObject({ success: true });
    expect(deskClient.files.list()).toEqual([]);
    expect(await onServer(strict, scan.id)).toBe(404);
  });

  it('uploads again a photo the person kept while its delete was on its way and done', async () => {
    const device = tablet(clinic);
    const client = await device.open();
    const patient = await client.collection('patients').create({ name: 'Mercy L.' });
    const scan = await client.files.attach(photo(2 * KiB, 37), {
      collection: 'patients',
      recordId: patient.id,
      name: 'consent.pdf',
    });
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    await client.files.delete(scan.id);
    // The server deletes it; its answer is still on the way when the nurse changes her mind.
    const answer = device.network.holdNext(`/v1/files/${scan.id}`, 'answer');
    const syncing = client.sync();
    await answer.reached;
    expect(await onServer(clinic, scan.id)).toBe(404);
    await client.files.keep(scan.id);
    answer.release();
    // Kept as she asked: the tablet still held the photo, and sends it again.
    expect(await syncing).toMatchObject({ success: true, files: { uploaded: 1 } });
    expect(client.files.status(scan.id)).toMatchObject({ state: 'synced', held: true });
    expect(client.files.status(scan.id)?.deletion).toBeUndefined();
    expect(await onServer(clinic, scan.id)).toBe(200);
  });

  it('stops an upload the person deletes while it goes, and the server keeps nothing of it', async () => {
    // A nurse who may not delete complete files: the delete must reach the server while the
    // photo is still an upload she may abandon.
    const device = tablet(strict, noDelete);
    const client = await device.open();
    const patient = await client.collection('patients').create({ name: 'Hawa J.' });
    expect((await client.sync()).success).toBe(true);
    const wrong = await client.files.attach(photo(4 * KiB, 34), {
      collection: 'patients',
      recordId: patient.id,
      name: 'wrong patient.jpg',
    });
    // The second chunk waits on a slow link; meanwhile the nurse deletes the photo.
    const slow = device.network.holdNext(`/v1/files/${wrong.id}/chunks/1`);
    const syncing = client.sync();
    await slow.reached;
    await client.files.delete(wrong.id);
    slow.release();
    expect(await syncing).toMatchObject({ success: true, files: { uploaded: 0 } });
    // The chunk under way went; no other did.
    expect(device.faults.chunksSent).toEqual([0, 1]);
    expect(client.files.status(wrong.id)?.deletion?.state).toBe('waiting');

    expect(await client.sync()).toMatchObject({ success: true });
    expect(await onServer(strict, wrong.id)).toBe(404);
    expect(client.files.list()).toEqual([]);
    expect(device.faults.chunksSent).toEqual([0, 1]);

    // One never sent at all: the server answers it has none, and it goes from the device.
    device.network.mode = 'offline';
    const never = await client.files.attach(photo(KiB, 35), {
      collection: 'patients',
      recordId: patient.id,
      name: 'blurred.jpg',
    });
    await client.files.delete(never.id);
    device.network.mode = 'online';
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 0 } });
    expect(client.files.list()).toEqual([]);
    expect(device.uploads().filter((r) => r.includes(never.id))).toEqual([]);
  });

  it('refuses a file it does not know, and one another device is still uploading', async () => {
    const device = tablet(clinic);
    const client = await device.open();
    expect(await refusal(client.files.delete(uuidv7()))).toEqual({ code: 'NOT_FOUND', reason: undefined });

    // A colleague's photo half uploaded: deleted, their tablet would only send it again.
    const colleague = tablet(clinic);
    const other = await colleague.open();
    const patient = await other.collection('patients').create({ name: 'Tiya M.' });
    expect((await other.sync()).success).toBe(true);
    const half = await other.files.attach(photo(4 * KiB, 36), {
      collection: 'patients',
      recordId: patient.id,
      name: 'rash.jpg',
    });
    colleague.faults.cutAfterChunks = 2;
    expect((await other.sync()).success).toBe(false);
    await client.files.refresh({ collection: 'patients', recordId: patient.id });
    expect(client.files.status(half.id)?.state).toBe('incomplete');
    expect(await refusal(client.files.delete(half.id))).toMatchObject({ code: 'CONFLICT' });
    expect(client.files.status(half.id)?.deletion).toBeUndefined();
  });
});

describe('the files of a record whose create was withdrawn', () => {
  it('refuses a file attached to the record after the withdrawal, and never uploads one attached as it went', async () => {
    const device = tablet(clinic);
    let client = await device.open();
    device.network.mode = 'offline';
    const patient = await client.collection('patients').create({ name: 'Wrong Person' });
    const [create] = client.queue.list();
    expect(await client.queue.withdraw([create?.seq as number])).toBe(1);

    // A screen still showing the patient offers "Attach photo".
    const attach = () =>
      client.files.attach(photo(KiB, 41), { collection: 'patients', recordId: patient.id, name: 'face.jpg' });
    expect(await refusal(attach())).toEqual({ code: 'NOT_FOUND', reason: 'WITHDRAWN' });
    await closeClient(client);
    client = await device.open();
    expect(await refusal(attach())).toEqual({ code: 'NOT_FOUND', reason: 'WITHDRAWN' });
    expect(client.files.list()).toEqual([]);

    // A photo read slowly from the camera while the nurse withdrew the next patient: attached
    // after the withdrawal took the record's files. Never uploaded; stopped, and shown.
    const other = await client.collection('patients').create({ name: 'Also Wrong' });
    let cameraDone = () => {};
    const camera = new Promise<void>((resolve) => (cameraDone = resolve));
    class SlowPhoto extends Blob {
      override async arrayBuffer(): Promise<ArrayBuffer> {
        await camera;
        return super.arrayBuffer();
      }
    }
    const attaching = client.files.attach(new SlowPhoto([photo(2 * KiB, 42)], { type: 'image/jpeg' }), {
      collection: 'patients',
      recordId: other.id,
      name: 'ulcer.jpg',
    });
    const [otherCreate] = client.queue.list().filter((o) => o.id === other.id);
    expect(await client.queue.withdraw([otherCreate?.seq as number])).toBe(1);
    cameraDone();
    const late = await attaching;

    device.network.mode = 'online';
    expect(await client.sync()).toMatchObject({ success: true, pushed: { sent: 0 }, files: { uploaded: 0 } });
    expect(device.uploads()).toEqual([]);
    expect(client.files.status(late.id)).toMatchObject({
      state: 'failed',
      refused: true,
      error: { code: 'DEPENDENCY_FAILED' },
    });
    expect(await onServer(clinic, late.id)).toBe(404);
    // A record of that id the device holds again is a record like any other.
    await client.collection('patients').create({ name: 'Right Person' }, { id: patient.id });
    await client.files.attach(photo(KiB, 43), {
      collection: 'patients',
      recordId: patient.id,
      name: 'ok.jpg',
    });
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
  });

  it('deletes from the server a photo uploaded whole before the create, though the role may not delete files', async () => {
    const device = tablet(strict, noDelete);
    const client = await device.open();
    // The wound photographed first, under the id of the patient's record about to be made, and
    // uploaded whole before the record was saved.
    const patientId = uuidv7();
    const wound = await client.files.attach(photo(3 * KiB, 44), {
      collection: 'patients',
      recordId: patientId,
      name: 'wound.jpg',
    });
    expect(await client.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    expect(await onServer(strict, wound.id)).toBe(200);

    device.network.mode = 'offline';
    await client.collection('patients').create({ name: 'Wrong Person' }, { id: patientId });
    const [create] = client.queue.list();
    const plan = client.queue.planWithdrawal([create?.seq as number]);
    expect(plan.files.map((f) => f.id)).toEqual([wound.id]);
    expect(await client.queue.withdraw([create?.seq as number])).toBe(1);
    // On the server still: listed as to be deleted until the server has done it.
    expect(client.files.status(wound.id)?.deletion?.state).toBe('waiting');

    device.network.mode = 'online';
    expect(await client.sync()).toMatchObject({ success: true, pushed: { sent: 0 } });
    expect(await onServer(strict, wound.id)).toBe(404);
    expect(client.files.list()).toEqual([]);
  });

  it('shows, refused, a photo of a withdrawn record the server will not delete for this user', async () => {
    // A shared tablet: the admin photographed a patient's wound first and it uploaded; the nurse
    // signed in after, registered the patient under that id, and withdrew the registration. She
    // did not upload the photo and may not delete files: the server keeps it, and says so.
    const device = tablet(strict, noDelete);
    const first = await device.open(admin);
    const patientId = uuidv7();
    const wound = await first.files.attach(photo(2 * KiB, 45), {
      collection: 'patients',
      recordId: patientId,
      name: 'wound.jpg',
    });
    expect(await first.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    await closeClient(first);

    const client = await device.open(nurse);
    device.network.mode = 'offline';
    await client.collection('patients').create({ name: 'Registered Twice' }, { id: patientId });
    const [create] = client.queue.list();
    expect(await client.queue.withdraw([create?.seq as number])).toBe(1);
    device.network.mode = 'online';
    expect(await client.sync()).toMatchObject({ success: true });
    expect(await onServer(strict, wound.id)).toBe(200);
    expect(client.files.status(wound.id)).toMatchObject({
      deletion: { state: 'refused', error: { code: 'FORBIDDEN' } },
    });
    expect(client.files.stats()).toMatchObject({ deleteRefused: 1 });
    // Not asked again by itself.
    await client.sync();
    expect(device.deletes()).toHaveLength(1);
  });
});
