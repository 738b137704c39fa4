// A clinic-b token can neither read, write, nor learn the existence of clinic-a records.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { PushResponse } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { hlc, pullAll, push } from './sync-client';

describe.each(dialects())('tenant isolation on %s', (kind) => {
  let server: TestServer;
  let nurseA: string;
  let nurseB: string;
  const patientId = uuidv7();
  const sharedOpId = `op-${uuidv7()}`;
  let cursorA: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    nurseA = await server.token('nurse@clinic-a.test');
    nurseB = await server.token('nurse@clinic-b.test');
    await server.request({
      method: 'POST',
      url: '/v1/sync/push',
      token: nurseA,
      body: {
        clientId: 'a',
        deviceId: 'a',
        ops: [
          {
            opId: sharedOpId,
            collection: 'patients',
            type: 'create',
            id: patientId,
            data: { name: 'Secret A' },
            hlc: hlc(),
          },
        ],
      },
    });
    cursorA = (await pullAll(server, nurseA)).cursor;
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function recordA() {
    return server.request<{ version: number; data: unknown }>({
      method: 'GET',
      url: `/v1/records/patients/${patientId}`,
      token: nurseA,
    });
  }

  it('reads: the record is simply not there for clinic-b, exactly like an id that never existed', async () => {
    const existing = await server.request({
      method: 'GET',
      url: `/v1/records/patients/${patientId}`,
      token: nurseB,
    });
    const missing = await server.request({
      method: 'GET',
      url: `/v1/records/patients/${uuidv7()}`,
      token: nurseB,
    });
    expect(existing.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((existing.body as { error: { message: string } }).error.message.replace(patientId, 'X')).toBe(
      (missing.body as { error: { message: string } }).error.message.replace(/patients \S+ /, 'patients X '),
    );
    const pulled = await pullAll(server, nurseB);
    expect(pulled.changes).toEqual([]);
    const filtered = await pullAll(server, nurseB, { collections: 'patients' });
    expect(filtered.changes).toEqual([]);
  });

  it("refuses clinic-a's cursor, as it refuses a forged one", async () => {
    const stolen = await server.request({
      method: 'GET',
      url: `/v1/sync/pull?cursor=${encodeURIComponent(cursorA)}`,
      token: nurseB,
    });
    expect(stolen.status).toBe(400);
    expect(stolen.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    const forged = await server.request({
      method: 'GET',
      url: '/v1/sync/pull?cursor=0.0.AAAAAAAAAAAAAAAAAAAAAA',
      token: nurseB,
    });
    expect(forged.status).toBe(400);
  });

  it('writes: updates and deletes by id find nothing, and clinic-a data is untouched', async () => {
    const res = await push(server, nurseB, [
      {
        collection: 'patients',
        type: 'update',
        id: patientId,
        baseVersion: 1,
        data: { name: 'Overwritten' },
      },
      { collection: 'patients', type: 'delete', id: patientId, baseVersion: 1 },
      { collection: 'encounters', type: 'create', id: uuidv7(), data: { patientId } },
    ]);
    expect(res.results.map((r) => r.error?.code)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'UNRESOLVED_REFERENCE']);
    const a = await recordA();
    expect(a.body).toMatchObject({ version: 1, data: { name: 'Secret A' } });
  });

  it("a clinic-b record with the same id is clinic-b's own; a reused opId is not a duplicate", async () => {
    const res = await server.request<PushResponse>({
      method: 'POST',
      url: '/v1/sync/push',
      token: nurseB,
      body: {
        clientId: 'b',
        deviceId: 'b',
        ops: [
          {
            opId: sharedOpId,
            collection: 'patients',
            type: 'create',
            id: patientId,
            data: { name: 'Patient of B' },
            hlc: hlc(),
          },
        ],
      },
    });
    // Not "duplicate" (which would reveal clinic-a sent that opId) and not a conflict with clinic-a's record.
    expect(res.body.results[0]).toMatchObject({ status: 'applied', version: 1 });
    const b = await server.request({
      method: 'GET',
      url: `/v1/records/patients/${patientId}`,
      token: nurseB,
    });
    expect(b.body).toMatchObject({ data: { name: 'Patient of B' } });
    const a = await recordA();
    expect(a.body).toMatchObject({ version: 1, data: { name: 'Secret A' } });
    const pulledA = await pullAll(server, nurseA, { cursor: cursorA });
    expect(pulledA.changes).toEqual([]);
  });

  it('ignores any tenant the client claims in the body or query', async () => {
    const res = await server.request<PushResponse>({
      method: 'POST',
      url: '/v1/sync/push?tenant=clinic-a',
      token: nurseB,
      body: { tenant: 'clinic-a', clientId: 'b', deviceId: 'b', ops: [] },
    });
    expect(res.status).toBe(200);
    const pulled = await server.request<{ changes: Array<{ data: unknown }> }>({
      method: 'GET',
      url: '/v1/sync/pull?tenant=clinic-a',
      token: nurseB,
    });
    expect(pulled.body.changes.map((c) => c.data)).toEqual([{ name: 'Patient of B' }]);
  });

  it("status and stats count only the caller's tenant", async () => {
    const admin = await server.token('admin@clinic-a.test');
    const stats = await server.request<{ total: number }>({
      method: 'GET',
      url: '/v1/sync/stats',
      token: admin,
    });
    expect(stats.body.total).toBe(1);
    const statusB = await server.request<{ ops: { applied: number } }>({
      method: 'GET',
      url: '/v1/sync/status',
      token: nurseB,
    });
    expect(statusB.body.ops.applied).toBe(1);
  });
});
