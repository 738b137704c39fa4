// Seed 000's queue and SmartDMV's push name an operation the client sent without an id of its own by
// what it holds, so a resend after a lost answer is the same operation. Those ids land in the op
// journal and the audit log, which keep no record contents: a reader of them must not be able to
// confirm a guess of what a clinician typed by hashing it. And a resend still lands on the same id
// after the server restarts (dialects/content-ids.ts).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stableStringify, uuidv7 } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { createStorage, dialects, startTestServer } from '../server-fixture';
import type { Storage, TestServer } from '../server-fixture';
import { push } from '../sync-client';

/** What a reader of the logs who guessed an operation exactly would compute from it. */
function plainDigest(parts: readonly unknown[]): string {
  return createHash('sha256').update(stableStringify(parts)).digest('hex').slice(0, 40);
}

describe.each(dialects())('ids made from an operation’s content, on %s', (kind) => {
  let storage: Storage;
  let server: TestServer;

  beforeAll(async () => {
    storage = await createStorage(kind);
    server = await startTestServer(kind, { storage, server: { tenantSchemas: { 'vet-a': vetPractice } } });
  });
  afterAll(async () => {
    await server.close();
    await storage.destroy();
  });

  async function logs(tenant: string): Promise<string> {
    const { store } = server.app.outpost;
    return JSON.stringify([await store.opLog(tenant), await store.auditEvents(tenant)]);
  }

  it('a queued item’s id tells a reader of the logs nothing of its data, and a resend after a restart is the same item', async () => {
    const nurse = await server.token('nurse@clinic-a.test');
    const patientId = uuidv7();
    const created = await push(server, nurse, [
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Amina K.' } },
    ]);
    expect(created.results[0]?.status).toBe('applied');
    const body = {
      deviceId: 'tablet-ward-2',
      operation: 'CREATE',
      resourceType: 'encounter',
      data: { patientId, diagnosis: 'HIV positive, started ART' },
      createdAtClient: new Date().toISOString(),
    };
    const queue = (s: TestServer) =>
      s.request<{ id: string; status: string }>({
        method: 'POST',
        url: '/api/v1/sync/queue',
        token: nurse,
        body,
      });
    const first = await queue(server);
    expect(first.status).toBe(201);
    const processed = await server.request<{ status: string }>({
      method: 'POST',
      url: `/api/v1/sync/process/${first.body.id}`,
      token: nurse,
    });
    expect(processed.body.status).toBe('SYNCED');

    const journal = await logs('clinic-a');
    expect(journal).toContain(first.body.id);
    const nurseId = (await server.app.outpost.store.opLog('clinic-a')).find(
      (o) => o.recordId === patientId,
    )?.userId;
    expect(nurseId).toBeDefined();
    const guess = plainDigest([
      nurseId,
      body.deviceId,
      body.operation,
      body.resourceType,
      null,
      body.data,
      body.createdAtClient,
      null,
    ]);
    expect(journal).not.toContain(guess);
    expect(first.body.id).not.toContain(guess);

    // The server restarts; the tablet, whose answer was lost, sends the same body again.
    await server.close();
    server = await startTestServer(kind, { storage, server: { tenantSchemas: { 'vet-a': vetPractice } } });
    const again = await queue(server);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id });
    const encounters = (await server.app.outpost.store.opLog('clinic-a')).filter(
      (o) => o.collection === 'encounters',
    );
    expect(encounters).toHaveLength(1);
  });

  it('a SmartDMV operation’s id tells a reader of the logs nothing of its data, and its resend after a restart is a duplicate', async () => {
    const vet = await server.token('vet@vet-a.test');
    const operation = {
      id: 7001,
      operation: 'create',
      entityType: 'users',
      tempId: 'temp_owner_7001',
      data: { name: 'Jane Mokoena', role: 'CLIENT' },
      timestamp: Date.now(),
    };
    const send = (s: TestServer) =>
      s.request<{ results: Array<{ success: boolean; duplicate?: boolean; realId?: number }> }>({
        method: 'POST',
        url: '/api/sync/push',
        token: vet,
        body: { operations: [operation] },
      });
    const first = await send(server);
    expect(first.status).toBe(200);
    expect(first.body.results[0]).toMatchObject({ success: true });

    const ops = await server.app.outpost.store.opLog('vet-a');
    expect(ops).toHaveLength(1);
    const journaled = ops[0];
    const guess = plainDigest([
      journaled?.userId,
      'create',
      operation.entityType,
      operation.tempId,
      operation.id,
      operation.timestamp,
      null,
      operation.data,
    ]);
    expect(journaled?.opId).toMatch(/^smartdmv-[0-9a-f]{40}$/);
    expect(await logs('vet-a')).not.toContain(guess);

    await server.close();
    server = await startTestServer(kind, { storage, server: { tenantSchemas: { 'vet-a': vetPractice } } });
    const again = await send(server);
    expect(again.body.results[0]).toMatchObject({
      success: true,
      duplicate: true,
      realId: first.body.results[0]?.realId,
    });
    expect(await server.app.outpost.store.opLog('vet-a')).toHaveLength(1);
  });
});
