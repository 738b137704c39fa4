// The rejection archive: every op the server refuses for good keeps the data it carried, as sent,
// listed for the person whose device sent it and for those who resolve its collection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { PushResponse, Rejection, RejectionListResponse } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { opId, push } from './sync-client';

describe.each(dialects())('the rejection archive on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let admin: string;
  let otherClinic: string;
  let refused: PushResponse;
  const missingPatient = uuidv7();
  const encounterId = uuidv7();
  const noteId = uuidv7();
  const patientId = uuidv7();

  const list = async (token: string, query = '') => {
    const res = await server.request<RejectionListResponse>({
      method: 'GET',
      url: `/v1/rejections${query}`,
      token,
    });
    expect(res.status).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { tenantSchemas: { 'vet-a': vetPractice } } });
    nurse = await server.token('nurse@clinic-a.test');
    admin = await server.token('admin@clinic-a.test');
    otherClinic = await server.token('nurse@clinic-b.test');
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Amina K.' } },
      { collection: 'encounters', type: 'create', id: uuidv7(), data: { patientId } },
    ]);
    await push(server, nurse, [
      {
        collection: 'clinicalNotes',
        type: 'create',
        id: noteId,
        data: { encounterId: (await firstEncounter()) ?? '', body: 'Signed text', signatureHash: 'abc' },
      },
    ]);
    refused = await push(
      server,
      nurse,
      [
        // Its patient does not exist (deleted on the server, say, while the device was offline).
        {
          collection: 'encounters',
          type: 'create',
          id: encounterId,
          data: { patientId: missingPatient, diagnosis: 'Malaria, uncomplicated' },
        },
        // A field of the wrong type.
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { name: 42 } },
        // An update of a record that does not exist.
        { collection: 'patients', type: 'update', id: uuidv7(), baseVersion: 1, data: { village: 'Ntcheu' } },
        // A signed note: refused, and the attempt archived as a conflict too.
        {
          collection: 'clinicalNotes',
          type: 'update',
          id: noteId,
          baseVersion: 1,
          data: { body: 'Changed' },
        },
        // Applied: not archived.
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { village: 'Zomba' } },
      ],
      { deviceId: 'tablet-3' },
    );

    async function firstEncounter(): Promise<string | undefined> {
      const res = await server.request<{ changes: Array<{ collection: string; id: string }> }>({
        method: 'GET',
        url: '/v1/sync/pull?collections=encounters',
        token: nurse,
      });
      return res.body.changes[0]?.id;
    }
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  it('keeps every refused op with the data it carried and the reason', async () => {
    expect(refused.results.map((r) => r.status)).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'applied',
    ]);
    const { rejections } = await list(nurse, '?deviceId=tablet-3');
    expect(rejections).toHaveLength(4);
    const byOp = new Map(rejections.map((r) => [r.opId, r]));
    const results = refused.results;
    expect(byOp.get(results[0]?.opId ?? '')).toMatchObject({
      collection: 'encounters',
      recordId: encounterId,
      opType: 'create',
      data: { patientId: missingPatient, diagnosis: 'Malaria, uncomplicated' },
      error: { code: 'UNRESOLVED_REFERENCE' },
      conflictId: null,
      deviceId: 'tablet-3',
    });
    expect(byOp.get(results[1]?.opId ?? '')).toMatchObject({
      data: { name: 42 },
      baseVersion: 1,
      error: { code: 'VALIDATION_FAILED' },
    });
    expect(byOp.get(results[2]?.opId ?? '')).toMatchObject({
      data: { village: 'Ntcheu' },
      error: { code: 'NOT_FOUND' },
    });
    const signed = byOp.get(results[3]?.opId ?? '');
    expect(signed).toMatchObject({ data: { body: 'Changed' }, error: { code: 'IMMUTABLE' } });
    expect(signed?.conflictId).toBe(results[3]?.conflict?.id);
    for (const r of rejections) expect(Date.parse(r.rejectedAt)).not.toBeNaN();
  });

  it('keeps ops refused for their shape, with what they carried', async () => {
    const sent = { opId: opId(), collection: 'patients', type: 'upsert', id: uuidv7(), data: { name: 'B.' } };
    const unknown = { opId: opId(), collection: 'wards', type: 'create', id: uuidv7(), data: { bed: 4 } };
    const res = await server.request<PushResponse>({
      method: 'POST',
      url: '/v1/sync/push',
      token: nurse,
      body: { clientId: 'client-9', deviceId: 'tablet-9', ops: [sent, unknown] },
    });
    expect(res.body.results.map((r) => r.error?.code)).toEqual(['VALIDATION_FAILED', 'UNKNOWN_COLLECTION']);
    const { rejections } = await list(nurse, '?deviceId=tablet-9');
    expect(rejections.map((r) => [r.opId, r.opType, r.collection, r.data])).toEqual([
      [sent.opId, 'upsert', 'patients', { name: 'B.' }],
      [unknown.opId, 'create', 'wards', { bed: 4 }],
    ]);
  });

  it('archives an op once, however often it is delivered', async () => {
    const op = {
      opId: opId(),
      collection: 'encounters',
      type: 'create' as const,
      id: uuidv7(),
      data: { patientId: uuidv7() },
    };
    for (let i = 0; i < 3; i++) await push(server, nurse, [op], { deviceId: 'tablet-4' });
    const { rejections } = await list(nurse, `?opId=${op.opId}`);
    expect(rejections).toHaveLength(1);
  });

  it('names the failed dependency when a temp id never became a record', async () => {
    const vet = await server.token('vet@vet-a.test');
    const owner = 'temp_1730534400000_a7b3c2_users';
    const res = await push(server, vet, [
      { collection: 'users', type: 'create', id: owner, data: { name: '', role: 'CLIENT' } },
      {
        collection: 'pets',
        type: 'create',
        id: 'temp_1730534400001_a7b3c2_pets',
        data: { name: 'Rex', ownerId: owner },
      },
    ]);
    expect(res.results.map((r) => r.error?.code)).toEqual(['VALIDATION_FAILED', 'DEPENDENCY_FAILED']);
    // A later push naming that temp id is told the same: its create was refused.
    const later = await push(server, vet, [
      {
        collection: 'pets',
        type: 'create',
        id: 'temp_1730534400002_a7b3c2_pets',
        data: { name: 'Ivy', ownerId: owner },
      },
      { collection: 'users', type: 'update', id: owner, baseVersion: 1, data: { name: 'Ann B.' } },
    ]);
    expect(later.results.map((r) => r.error?.code)).toEqual(['DEPENDENCY_FAILED', 'DEPENDENCY_FAILED']);
    const { rejections } = await list(vet);
    expect(rejections.map((r) => [r.collection, r.recordId, r.error.code, r.data?.['name']])).toEqual([
      ['users', owner, 'VALIDATION_FAILED', ''],
      ['pets', 'temp_1730534400001_a7b3c2_pets', 'DEPENDENCY_FAILED', 'Rex'],
      ['pets', 'temp_1730534400002_a7b3c2_pets', 'DEPENDENCY_FAILED', 'Ivy'],
      ['users', owner, 'DEPENDENCY_FAILED', 'Ann B.'],
    ]);
  });

  it('shows its own to the sender, all to an administrator, none to another clinic', async () => {
    const mine = await list(nurse);
    expect(mine.rejections.length).toBeGreaterThanOrEqual(7);
    expect(new Set(mine.rejections.map((r) => r.userId)).size).toBe(1);

    // An administrator resolves every collection of the clinic's schema, so sees every rejection in
    // them; an op for a collection the schema does not have stays its sender's alone.
    const admins = await list(admin);
    expect(admins.rejections.map((r) => r.id)).toEqual(
      mine.rejections.filter((r) => r.collection !== 'wards').map((r) => r.id),
    );
    const adminOwn = await push(server, admin, [
      { collection: 'patients', type: 'update', id: uuidv7(), baseVersion: 1, data: { village: 'A' } },
    ]);
    expect(adminOwn.results[0]?.status).toBe('rejected');
    expect((await list(admin)).rejections).toHaveLength(admins.rejections.length + 1);
    // The nurse cannot resolve patients: she does not see what the administrator's device met.
    expect((await list(nurse)).rejections).toHaveLength(mine.rejections.length);

    expect((await list(otherClinic)).rejections).toEqual([]);
    const one = mine.rejections[0] as Rejection;
    const hidden = await server.request({
      method: 'GET',
      url: `/v1/rejections/${one.id}`,
      token: otherClinic,
    });
    const never = await server.request({
      method: 'GET',
      url: `/v1/rejections/${uuidv7()}`,
      token: otherClinic,
    });
    expect(hidden.status).toBe(404);
    expect(never.status).toBe(404);

    const seen = await server.request<Rejection>({
      method: 'GET',
      url: `/v1/rejections/${one.id}`,
      token: nurse,
    });
    expect(seen.body).toEqual(one);
  });

  it('pages through the archive in the order ops were refused', async () => {
    const all = (await list(admin)).rejections;
    const paged: Rejection[] = [];
    let cursor: string | null = null;
    do {
      const page: RejectionListResponse = await list(admin, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.rejections.length).toBeLessThanOrEqual(2);
      paged.push(...page.rejections);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(all);
  });

  it('refuses a bad query with the error shape', async () => {
    // (An empty parameter, `?opId=`, counts as not given: bad-input.test.ts.)
    for (const query of ['?limit=0', '?limit=9999', '?cursor=%20bad', `?opId=${'x'.repeat(129)}`]) {
      const res = await server.request<{ error: { code: string } }>({
        method: 'GET',
        url: `/v1/rejections${query}`,
        token: nurse,
      });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });
});
