// The stored state the fuzzer and the security matrix aim at: clinic-a with a patient, an encounter,
// open conflicts a nurse raised, queue items (one in CONFLICT, one PENDING), and a veterinary
// practice (vet-a) with a client and a pet made through SmartDMV's push, so requests can name
// things that exist.
import { expect } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { PushResponse } from '@outpost/core';
import type { TestServer } from '../server-fixture';
import { pullAll, push } from '../sync-client';

export interface World {
  /** Tokens of the seeded users. */
  nurse: string;
  admin: string;
  vetAdmin: string;
  nurseId: string;
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
  /** Text only clinic-a's nurse and administrator may ever see in an answer. */
  markers: string[];
}

export const markerName = 'Marker Patient Zebra';
export const markerDiagnosis = 'Marker Diagnosis Quartz';

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
    patientId,
    encounterId,
    conflictIds,
    rejectionId,
    rejectedEncounterId,
    queueItemId: conflicting.id,
    pendingItemId: pending.id,
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
    ],
  };
}
