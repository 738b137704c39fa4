// The stored state the fuzzer and the security matrix aim at: clinic-a with a patient, an encounter,
// open conflicts a nurse raised, queue items (one in CONFLICT, one PENDING), a file attached to the
// patient and another still missing chunks, and a veterinary practice (vet-a) with a client and a
// pet made through SmartDMV's push, so requests can name things that exist.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { chunkCountOf, sha256Header, uuidv7 } from '@outpost/core';
import type { FileDeclaration, PushResponse } from '@outpost/core';
import { ensureUsers } from '../../src/index';
import { password } from '../server-fixture';
import type { TestServer } from '../server-fixture';
import { pullAll, push } from '../sync-client';

export interface World {
  /** Tokens of the seeded users. */
  nurse: string;
  admin: string;
  vetAdmin: string;
  nurseId: string;
  /** The device the nurse syncs on, named `markerDeviceName` by her (decision 0056). */
  nurseDeviceId: string;
  /**
   * A clinician of clinic-a whose sessions a request may end (POST /v1/auth/end-sessions): ending
   * the nurse's would refuse her token, which every later request of the run shows.
   */
  locumId: string;
  patientId: string;
  encounterId: string;
  /** Open conflicts on clinic-a patients, all raised by the nurse; the first is the matrix's target. */
  conflictIds: string[];
  /** A rejection the nurse's op met (an encounter for a patient that does not exist), and its record's id. */
  rejectionId: string;
  rejectedEncounterId: string;
  /** The nurse's queue item in CONFLICT (its conflict open), and one still PENDING. */
  queueItemId: string;
  pendingItemId: string;
  /** vet-a's client and pet, as SmartDMV numbers them. */
  vetOwnerId: number;
  vetPetId: number;
  /** A pull cursor of clinic-a. */
  cursor: string;
  /** clinic-a's WatermelonDB timestamp once the world is built: a lastPulledAt its devices may send. */
  lastPulledAt: number;
  /** clinic-a's complete file, attached to the patient: its name and bytes carry markers. */
  file: WorldFile;
  /**
   * The nurse's file of clinic-a still missing chunks 1 and 2 (chunk 0 sent), for a record her
   * device has not pushed yet: nothing of it is a marker but its id, so it may be declared again
   * word for word by another clinic, whose answer echoes only what it sent.
   */
  partialFile: WorldFile;
  /**
   * Files of the nurse's of two chunks, the first sent: the chunk a fuzzed request completes one
   * with is checked against the whole file's hash, and a file that fails it is dropped whole.
   */
  lastChunkFiles: WorldFile[];
  /** Text only clinic-a's nurse and administrator may ever see in an answer. */
  markers: string[];
}

/** A file as a device declares it, with its bytes. */
export interface WorldFile {
  id: string;
  declaration: FileDeclaration;
  bytes: Buffer;
}

export const markerName = 'Marker Patient Zebra';
export const markerDiagnosis = 'Marker Diagnosis Quartz';
// No character encodeURIComponent changes: a download names the file in Content-Disposition so.
export const markerFileName = 'Marker_Scan_Garnet.pdf';
export const markerFileText = 'Marker Bytes Onyx';
export const markerDeviceName = 'Marker Tablet Opal';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The smallest chunk a file may have: several chunks for a few kilobytes. */
const worldChunkSize = 1024;

export function chunkCount(file: WorldFile): number {
  return chunkCountOf(file.declaration.size, file.declaration.chunkSize);
}

/** Chunk `index` of a file: `chunkSize` bytes, the last one what is left. */
export function chunkOf(file: WorldFile, index: number): Buffer {
  const size = file.declaration.chunkSize;
  return file.bytes.subarray(index * size, (index + 1) * size);
}

function worldFile(bytes: Buffer, over: Omit<FileDeclaration, 'size' | 'sha256' | 'chunkSize'>): WorldFile {
  return {
    id: uuidv7(),
    declaration: { ...over, size: bytes.length, sha256: sha256Hex(bytes), chunkSize: worldChunkSize },
    bytes,
  };
}

/** Declares a file and sends the chunks named, each checked to be taken. */
async function upload(server: TestServer, token: string, file: WorldFile, chunks: number[]): Promise<void> {
  await ok(
    server.request({ method: 'PUT', url: `/v1/files/${file.id}`, token, body: file.declaration }),
    [200],
  );
  for (const index of chunks) {
    const chunk = chunkOf(file, index);
    const res = await server.app.inject({
      method: 'PUT',
      url: `/v1/files/${file.id}/chunks/${index}`,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        [sha256Header]: sha256Hex(chunk),
      },
      payload: chunk,
    });
    expect(res.statusCode, res.body).toBe(200);
  }
}

function subjectOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    sub: string;
  };
  return payload.sub;
}

async function ok<T>(res: Promise<{ status: number; body: T }>, expected = [200, 201]): Promise<T> {
  const answer = await res;
  expect(expected, JSON.stringify(answer.body)).toContain(answer.status);
  return answer.body;
}

export async function buildWorld(server: TestServer, conflicts = 4): Promise<World> {
  const nurse = await server.token('nurse@clinic-a.test');
  const admin = await server.token('admin@clinic-a.test');
  const vetAdmin = await server.token('admin@vet-a.test');
  const locum = { email: 'locum@clinic-a.test', tenant: 'clinic-a', roles: ['clinician'] };
  await ensureUsers(server.app.outpost.store, [{ ...locum, password }]);
  const locumId = (await server.app.outpost.store.findUserByEmail(locum.email))?.id ?? '';
  const patientId = uuidv7();
  const encounterId = uuidv7();
  await push(server, nurse, [
    { collection: 'patients', type: 'create', id: patientId, data: { name: markerName, village: 'Start' } },
    {
      collection: 'encounters',
      type: 'create',
      id: encounterId,
      data: { patientId, diagnosis: markerDiagnosis },
    },
  ]);

  // The nurse's own tablet, synced on and named by her: another clinic never learns its name.
  const nurseDeviceId = 'ward-tablet-a';
  await ok(server.request({ method: 'GET', url: `/v1/sync/pull?deviceId=${nurseDeviceId}`, token: nurse }));
  await ok(
    server.request({
      method: 'PUT',
      url: '/v1/device-names',
      token: nurse,
      body: { deviceId: nurseDeviceId, name: markerDeviceName },
    }),
  );

  // Each patient edited twice from version 1, the same field: the second waits for a person.
  const conflictIds: string[] = [];
  for (let i = 0; i < conflicts; i++) {
    const id = i === 0 ? patientId : uuidv7();
    if (i > 0)
      await push(server, nurse, [{ collection: 'patients', type: 'create', id, data: { name: `P${i}` } }]);
    await push(server, nurse, [
      { collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'North' } },
    ]);
    const raced: PushResponse = await push(server, nurse, [
      { collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'South' } },
    ]);
    const conflictId = raced.results[0]?.conflict?.id;
    expect(raced.results[0]).toMatchObject({ status: 'conflict', conflict: { outcome: 'open' } });
    conflictIds.push(conflictId ?? '');
  }

  // An encounter for a patient that does not exist: refused, and kept in the rejection archive.
  const rejectedEncounterId = uuidv7();
  const refused: PushResponse = await push(server, nurse, [
    {
      collection: 'encounters',
      type: 'create',
      id: rejectedEncounterId,
      data: { patientId: uuidv7(), diagnosis: markerDiagnosis },
    },
  ]);
  expect(refused.results[0]).toMatchObject({ status: 'rejected', error: { code: 'UNRESOLVED_REFERENCE' } });
  const archived = await ok(
    server.request<{ rejections: Array<{ id: string }> }>({
      method: 'GET',
      url: `/v1/rejections?opId=${refused.results[0]?.opId ?? ''}`,
      token: nurse,
    }),
  );
  const rejectionId = archived.rejections[0]?.id ?? '';

  const queued = (body: Record<string, unknown>) =>
    ok(
      server.request<{ id: string }>({
        method: 'POST',
        url: '/api/v1/sync/queue',
        token: nurse,
        body: { deviceId: 'tablet-9', createdAtClient: new Date().toISOString(), ...body },
      }),
    );
  const conflicting = await queued({
    operation: 'UPDATE',
    resourceType: 'patient',
    resourceId: patientId,
    version: 1,
    data: { village: 'West' },
  });
  const processed = await ok(
    server.request<{ status: string }>({
      method: 'POST',
      url: `/api/v1/sync/process/${conflicting.id}`,
      token: nurse,
    }),
  );
  expect(processed.status).toBe('CONFLICT');
  const pending = await queued({ operation: 'CREATE', resourceType: 'encounter', data: { patientId } });

  // Two files of three chunks, the last shorter than the others.
  const file = worldFile(Buffer.from(`${markerFileText} `.repeat(150)), {
    collection: 'patients',
    recordId: patientId,
    name: markerFileName,
    contentType: 'application/pdf',
    deviceId: 'tablet-9',
  });
  await upload(server, nurse, file, [0, 1, 2]);
  const partialFile = worldFile(
    Buffer.from(Array.from({ length: 3 * worldChunkSize - 100 }, (_, i) => (i * 31 + 7) & 0xff)),
    {
      collection: 'encounters',
      recordId: uuidv7(),
      name: 'intake form.jpg',
      contentType: 'image/jpeg',
      deviceId: 'tablet-9',
    },
  );
  await upload(server, nurse, partialFile, [0]);
  const lastChunkFiles: WorldFile[] = [];
  for (let i = 0; i < 8; i++) {
    const last = worldFile(Buffer.alloc(worldChunkSize + 10 * (i + 1), `last chunk ${i}`), {
      collection: 'encounters',
      recordId: encounterId,
      name: `scan ${i}.png`,
      contentType: 'image/png',
    });
    await upload(server, nurse, last, [0]);
    lastChunkFiles.push(last);
  }

  const vet = await ok(
    server.request<{ results: Array<{ realId: number }> }>({
      method: 'POST',
      url: '/api/sync/push',
      token: vetAdmin,
      body: {
        operations: [
          {
            operation: 'create',
            entityType: 'users',
            tempId: 'temp_user_world',
            data: { name: 'Owner Ann', role: 'CLIENT' },
          },
          {
            operation: 'create',
            entityType: 'pets',
            tempId: 'temp_pet_world',
            data: { name: 'Rex', species: 'dog', ownerId: 'temp_user_world' },
          },
        ],
      },
    }),
  );

  return {
    nurse,
    admin,
    vetAdmin,
    nurseId: subjectOf(nurse),
    nurseDeviceId,
    locumId,
    patientId,
    encounterId,
    conflictIds,
    rejectionId,
    rejectedEncounterId,
    queueItemId: conflicting.id,
    pendingItemId: pending.id,
    file,
    partialFile,
    lastChunkFiles,
    vetOwnerId: vet.results[0]?.realId ?? 0,
    vetPetId: vet.results[1]?.realId ?? 0,
    cursor: (await pullAll(server, nurse)).cursor,
    lastPulledAt: (
      await ok(
        server.request<{ timestamp: number }>({
          method: 'GET',
          url: '/watermelon/sync/pull?last_pulled_at=null',
          token: nurse,
        }),
      )
    ).timestamp,
    markers: [
      patientId,
      encounterId,
      ...conflictIds,
      rejectionId,
      rejectedEncounterId,
      conflicting.id,
      pending.id,
      markerName,
      markerDiagnosis,
      file.id,
      file.declaration.sha256,
      markerFileName,
      markerFileText,
      markerDeviceName,
      partialFile.id,
      ...lastChunkFiles.map((f) => f.id),
    ],
  };
}
