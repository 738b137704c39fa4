// Seed 000's server-side sync queue, replayed against the real server on SQLite and PostgreSQL:
// the seed's own requests and bodies, the life of an item through the engine, conflicts settled
// at the conflict desk, retries with backoff, tenant isolation, statistics and bad input.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { backoffDelay, collection, defineSchema, uuidv7 } from '@outpost/core';
import type { Change, Conflict } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { ensureUsers, hashPassword } from '../../src/index';
import { queueRetryPolicy } from '../../src/dialects/queue-api/queue-api-options';
import { dialects, password, startTestServer } from '../server-fixture';
import type { TestServer } from '../server-fixture';
import { signToken } from '../security/tokens';
import { pullAll, push } from '../sync-client';

/** A value `depth` levels of lists deep. */
function nested(depth: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** The ids seed 000 shows: its user, and the patient its encounter example belongs to. */
const seedUserId = '507f1f77bcf86cd799439011';
const seedPatientId = '507f1f77bcf86cd799439011';

interface QueueAnswer {
  id: string;
  status: string;
  message: string;
}
interface PendingItem {
  id: string;
  operation: string;
  resourceType: string;
  resourceId: string | null;
  data: Record<string, unknown> | null;
  status: string;
  retryCount: number;
  createdAtClient: string;
  nextAttemptAt: string | null;
  error: string | null;
  errorCode: string | null;
  conflictId: string | null;
  resolution: string | null;
}
interface ProcessAnswer {
  status: string;
  message: string;
  result?: {
    id: string;
    resourceType: string;
    version: number;
    deleted: boolean;
    data: Record<string, unknown> | null;
  };
  error?: string;
  code?: string;
  retryCount?: number;
  nextAttemptAt?: string | null;
  resolutionOptions?: string[];
  conflict?: { id: string; kind: string; fields: string[]; outcome: string };
}
interface RetryAnswer {
  retried: number;
  synced: number;
  conflicts: number;
  failed: number;
  waiting: number;
  exhausted: number;
  items: PendingItem[];
}
interface ErrorAnswer {
  error: { code: string; message: string };
}

describe.each(dialects())('seed 000 queue API on %s', (kind) => {
  let server: TestServer;
  /** Moves the server's clock, so backoff can be waited out without waiting. */
  let offsetMs = 0;
  const now = () => Date.now() + offsetMs;
  let worker: string;
  let nurse: string;
  let admin: string;
  let otherClinic: string;
  let otherAdmin: string;

  async function login(email: string): Promise<string> {
    const res = await server.request<{ token: string }>({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email, password },
    });
    expect(res.status).toBe(200);
    return res.body.token;
  }

  beforeAll(async () => {
    // The server's own retry stays off here: these tests retry by hand, at times they choose
    // (queue-api-auto-retry.test.ts covers it).
    server = await startTestServer(kind, {
      server: { now: () => new Date(now()), queueApi: { retryIntervalMs: false } },
    });
    const store = server.app.outpost.store;
    // The seed's health worker, with the seed's user id, so its bodies replay unchanged.
    await store.createUser(
      {
        id: seedUserId,
        tenant: 'clinic-a',
        email: 'worker@clinic-a.test',
        passwordHash: await hashPassword(password),
        roles: ['clinician'],
      },
      new Date().toISOString(),
    );
    await ensureUsers(store, [
      { email: 'admin@clinic-b.test', password, tenant: 'clinic-b', roles: ['admin'] },
    ]);
    worker = await login('worker@clinic-a.test');
    nurse = await server.token('nurse@clinic-a.test');
    admin = await server.token('admin@clinic-a.test');
    otherClinic = await server.token('nurse@clinic-b.test');
    otherAdmin = await login('admin@clinic-b.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function queue(token: string, body: unknown, headers?: Record<string, string>) {
    return server.request<QueueAnswer & ErrorAnswer>({
      method: 'POST',
      url: '/api/v1/sync/queue',
      token,
      body,
      ...(headers ? { headers } : {}),
    });
  }
  function processItem(token: string, id: string) {
    return server.request<ProcessAnswer & ErrorAnswer>({
      method: 'POST',
      url: `/api/v1/sync/process/${id}`,
      token,
    });
  }
  async function pending(token: string, query: string): Promise<PendingItem[]> {
    const res = await server.request<PendingItem[]>({
      method: 'GET',
      url: `/api/v1/sync/pending?${query}`,
      token,
    });
    expect(res.status).toBe(200);
    return res.body;
  }
  function resolve(token: string, id: string, resolution: string) {
    return server.request<ProcessAnswer & ErrorAnswer & { resolution: string; conflictId: string }>({
      method: 'PATCH',
      url: `/api/v1/sync/resolve/${id}?resolution=${resolution}`,
      token,
    });
  }
  function retry(token: string, query: string) {
    return server.request<RetryAnswer & ErrorAnswer>({
      method: 'POST',
      url: `/api/v1/sync/retry?${query}`,
      token,
    });
  }
  function stats(token: string, query: string) {
    return server.request<Record<string, unknown>>({
      method: 'GET',
      url: `/api/v1/sync/stats?${query}`,
      token,
    });
  }
  /** Queues one operation for the seed's worker and returns its id. */
  async function queued(body: Record<string, unknown>, token = worker): Promise<string> {
    const res = await queue(token, { createdAtClient: new Date(now()).toISOString(), ...body });
    expect(res.status).toBe(201);
    return res.body.id;
  }
  /** The record as a v1 client pulls it. */
  async function pulled(collection: string, id: string): Promise<Change | undefined> {
    const { changes } = await pullAll(server, admin, { collections: collection });
    return changes.find((c) => c.id === id);
  }
  async function newPatient(data: Record<string, unknown> = {}): Promise<string> {
    const id = uuidv7();
    const res = await push(server, nurse, [
      { collection: 'patients', type: 'create', id, data: { name: 'Amina K.', ...data } },
    ]);
    expect(res.results[0]?.status).toBe('applied');
    return id;
  }

  /** A patient's encounter with `diagnosis`, made by the nurse at version 1; resolves its id. */
  async function newEncounter(diagnosis: string): Promise<string> {
    const id = uuidv7();
    const res = await push(server, nurse, [
      { collection: 'encounters', type: 'create', id, data: { patientId: await newPatient(), diagnosis } },
    ]);
    expect(res.results[0]?.status).toBe('applied');
    return id;
  }

  describe("the seed's own examples", () => {
    it('queue, pending, process and stats answer with the bodies the seed shows', async () => {
      await push(server, worker, [
        { collection: 'patients', type: 'create', id: seedPatientId, data: { name: 'Grace M.' } },
      ]);

      const queuedRes = await queue(worker, {
        userId: '507f1f77bcf86cd799439011',
        deviceId: 'device-123-abc-456',
        operation: 'CREATE',
        resourceType: 'encounter',
        data: {
          patientId: '507f1f77bcf86cd799439011',
          diagnosis: 'Common cold',
          prescription: 'Rest and fluids',
        },
        createdAtClient: '2025-11-30T10:00:00.000Z',
        version: 1,
      });
      expect(queuedRes.status).toBe(201);
      expect(queuedRes.body).toEqual({
        id: expect.any(String),
        status: 'PENDING',
        message: 'Operation queued for sync',
      });
      const id = queuedRes.body.id;

      expect(await pending(worker, 'deviceId=device-123-abc-456&userId=507f1f77bcf86cd799439011')).toEqual([
        expect.objectContaining({
          id,
          operation: 'CREATE',
          resourceType: 'encounter',
          data: {
            patientId: '507f1f77bcf86cd799439011',
            diagnosis: 'Common cold',
            prescription: 'Rest and fluids',
          },
          status: 'PENDING',
          retryCount: 0,
          createdAtClient: '2025-11-30T10:00:00.000Z',
        }),
      ]);
      // The seed's pending URL names device-123: a device filter matches exactly, so not this one.
      expect(await pending(worker, 'deviceId=device-123&userId=507f1f77bcf86cd799439011')).toEqual([]);

      const processed = await processItem(worker, id);
      expect(processed.status).toBe(200);
      expect(processed.body).toEqual({
        status: 'SYNCED',
        message: 'Operation synced successfully',
        result: {
          id: expect.any(String),
          resourceType: 'encounter',
          version: 1,
          deleted: false,
          data: { patientId: seedPatientId, diagnosis: 'Common cold', prescription: 'Rest and fluids' },
        },
      });
      expect(processed.body.result?.id).not.toBe(id);
      const encounter = await pulled('encounters', processed.body.result?.id ?? '');
      expect(encounter).toMatchObject({
        version: 1,
        deleted: false,
        data: { patientId: seedPatientId, diagnosis: 'Common cold', prescription: 'Rest and fluids' },
      });
      expect(await pending(worker, 'deviceId=device-123-abc-456&userId=507f1f77bcf86cd799439011')).toEqual(
        [],
      );

      const figures = await stats(admin, 'userId=507f1f77bcf86cd799439011&deviceId=device-123-abc-456');
      expect(figures.status).toBe(200);
      expect(figures.body).toEqual({
        total: 1,
        pending: 0,
        synced: 1,
        failed: 0,
        conflicts: 0,
        syncRate: '100.00%',
      });
    });

    it("the 'Testing Offline Sync' curl commands work as curl sends them", async () => {
      await push(server, worker, [
        { collection: 'patients', type: 'create', id: 'patient-test-1', data: { name: 'Chikondi B.' } },
      ]);
      // `curl -d` without -H Content-Type sends the JSON text as a form.
      const text = JSON.stringify({
        userId: '507f1f77bcf86cd799439011',
        deviceId: 'test-device-1',
        operation: 'CREATE',
        resourceType: 'encounter',
        data: { patientId: 'patient-test-1', diagnosis: 'Malaria', prescription: 'ACT, 3 days' },
        createdAtClient: '2025-11-30T10:00:00.000Z',
      });
      const queuedRes = await queue(worker, text, { 'content-type': 'application/x-www-form-urlencoded' });
      expect(queuedRes.status).toBe(201);
      expect(queuedRes.body).toMatchObject({ status: 'PENDING', message: 'Operation queued for sync' });

      const items = await pending(worker, 'deviceId=test-device-1&userId=507f1f77bcf86cd799439011');
      expect(items.map((i) => [i.id, i.status])).toEqual([[queuedRes.body.id, 'PENDING']]);

      // `curl -X POST .../process/SYNC_ID` sends no body and no content type.
      const processed = await processItem(worker, queuedRes.body.id);
      expect(processed.status).toBe(200);
      expect(processed.body).toMatchObject({
        status: 'SYNCED',
        result: { resourceType: 'encounter', data: { diagnosis: 'Malaria' } },
      });
    });

    it("the seed's client flow works: queue, then process posted as JSON with an empty body", async () => {
      const patient = await newPatient();
      // queueOperation('UPDATE', 'patient', updates, patientId), as the seed's SyncManager sends it.
      const queuedRes = await queue(worker, {
        userId: seedUserId,
        deviceId: 'tablet-seed-client',
        operation: 'UPDATE',
        resourceType: 'patient',
        resourceId: patient,
        data: { village: 'Ntcheu' },
        createdAtClient: new Date(now()).toISOString(),
        version: 1,
      });
      expect(queuedRes.status).toBe(201);
      const processed = await server.request<ProcessAnswer>({
        method: 'POST',
        url: `/api/v1/sync/process/${queuedRes.body.id}`,
        token: worker,
        headers: { 'content-type': 'application/json' },
      });
      expect(processed.status).toBe(200);
      expect(processed.body).toMatchObject({
        status: 'SYNCED',
        result: {
          id: patient,
          resourceType: 'patient',
          version: 2,
          data: { name: 'Amina K.', village: 'Ntcheu' },
        },
      });
    });

    it("'Test Conflict': a resource made on the server, then its offline version synced, is a CONFLICT", async () => {
      const id = uuidv7();
      // Create same resource on server...
      await push(server, nurse, [{ collection: 'patients', type: 'create', id, data: { name: 'Amina K.' } }]);
      // ...then try to sync the offline version: should return CONFLICT status.
      const item = await queued({
        deviceId: 'test-device-1',
        operation: 'CREATE',
        resourceType: 'patient',
        resourceId: id,
        data: { name: 'Amina Kamwendo' },
        createdAtClient: new Date(now() - 60_000).toISOString(),
      });
      const processed = await processItem(worker, item);
      expect(processed.status).toBe(200);
      expect(processed.body).toEqual({
        status: 'CONFLICT',
        message: 'Version conflict detected',
        error: 'Resource was modified on server',
        resolutionOptions: ['CLIENT_WINS', 'SERVER_WINS', 'MANUAL'],
        conflict: expect.objectContaining({ kind: 'version', fields: ['name'], outcome: 'open' }),
      });
      expect((await pulled('patients', id))?.data).toEqual({ name: 'Amina K.' });
    });

    it('resolve answers each of the seed’s resolution strategies and refuses any other', async () => {
      const res = await resolve(worker, uuidv7(), 'EVERYONE_WINS');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('the life of an item', () => {
    it('created, updated and deleted through the queue, with v1 pushes seen on the way, both ways', async () => {
      const createId = await queued({
        deviceId: 'tablet-life',
        operation: 'CREATE',
        resourceType: 'patient',
        data: { name: 'Tiwonge P.', sex: 'female' },
      });
      const created = await processItem(worker, createId);
      expect(created.body).toMatchObject({ status: 'SYNCED', result: { version: 1 } });
      const patientId = created.body.result?.id ?? '';
      expect(await pulled('patients', patientId)).toMatchObject({
        version: 1,
        data: { name: 'Tiwonge P.', sex: 'female' },
      });

      // A v1 client changes the record; the queue's next answer shows it.
      const v1 = await push(server, nurse, [
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { village: 'Dedza' } },
      ]);
      expect(v1.results[0]).toMatchObject({ status: 'applied', version: 2 });
      const updated = await processItem(
        worker,
        await queued({
          deviceId: 'tablet-life',
          operation: 'UPDATE',
          resourceType: 'patient',
          resourceId: patientId,
          data: { phone: '0999 123 456' },
          version: 2,
        }),
      );
      expect(updated.body).toEqual({
        status: 'SYNCED',
        message: 'Operation synced successfully',
        result: {
          id: patientId,
          resourceType: 'patient',
          version: 3,
          deleted: false,
          data: { name: 'Tiwonge P.', sex: 'female', village: 'Dedza', phone: '0999 123 456' },
        },
      });
      expect((await pulled('patients', patientId))?.data).toMatchObject({
        village: 'Dedza',
        phone: '0999 123 456',
      });

      const deleted = await processItem(
        worker,
        await queued({
          deviceId: 'tablet-life',
          operation: 'DELETE',
          resourceType: 'patient',
          resourceId: patientId,
          version: 3,
        }),
      );
      expect(deleted.body).toMatchObject({
        status: 'SYNCED',
        result: { id: patientId, version: 4, deleted: true, data: null },
      });
      expect(await pulled('patients', patientId)).toMatchObject({ version: 4, deleted: true, data: null });
      expect(await pending(worker, 'deviceId=tablet-life')).toEqual([]);
    });

    it('processing twice, or at once, applies the operation once', async () => {
      const id = await queued({
        deviceId: 'tablet-twice',
        operation: 'CREATE',
        resourceType: 'encounter',
        data: { patientId: await newPatient(), diagnosis: 'Cough' },
      });
      const [a, b] = await Promise.all([processItem(worker, id), processItem(worker, id)]);
      expect([a?.body.status, b?.body.status]).toEqual(['SYNCED', 'SYNCED']);
      const encounterId = a?.body.result?.id ?? '';
      expect(b?.body.result?.id).toBe(encounterId);

      const again = await processItem(worker, id);
      expect(again.body).toMatchObject({ status: 'SYNCED', result: { id: encounterId, version: 1 } });
      const { changes } = await pullAll(server, admin, { collections: 'encounters' });
      expect(changes.filter((c) => c.data?.['diagnosis'] === 'Cough')).toHaveLength(1);
      expect((await pulled('encounters', encounterId))?.version).toBe(1);
      const journal = (await server.app.outpost.store.opLog('clinic-a', 5000)).filter((o) =>
        o.opId.includes(id),
      );
      expect(journal).toHaveLength(1);
    });

    it('an operation queued again after its answer was lost is one item, applied once', async () => {
      // Seed 000's client sends no id of its own: after a lost answer it posts the same body again.
      const body = {
        deviceId: 'tablet-lost-answer',
        operation: 'CREATE',
        resourceType: 'encounter',
        data: { patientId: await newPatient(), diagnosis: 'Malaria, lost answer' },
        createdAtClient: new Date(now()).toISOString(),
      };
      const first = await queue(worker, body);
      expect(first.status).toBe(201);
      const again = await queue(worker, body);
      expect(again.status).toBe(200);
      expect(again.body).toEqual({
        id: first.body.id,
        status: 'PENDING',
        message: 'Operation already queued',
      });
      for (const item of await pending(worker, 'deviceId=tablet-lost-answer'))
        await processItem(worker, item.id);
      const { changes } = await pullAll(server, admin, { collections: 'encounters' });
      expect(changes.filter((c) => c.data?.['diagnosis'] === 'Malaria, lost answer')).toHaveLength(1);
      // Another user sending the same body queues their own item.
      const theirs = await queue(nurse, body);
      expect(theirs.status).toBe(201);
      expect(theirs.body.id).not.toBe(first.body.id);
    });

    it('an item left SYNCING by a crash after the engine committed is finished without applying twice', async () => {
      const id = await queued({
        deviceId: 'tablet-crash',
        operation: 'CREATE',
        resourceType: 'patient',
        data: { name: 'Kondwani J.' },
      });
      const first = await processItem(worker, id);
      expect(first.body.status).toBe('SYNCED');
      // What a crash between the engine's commit and the queue's own write leaves behind.
      await server.app.outpost.store.db
        .updateTable('sync_queue')
        .set({ status: 'SYNCING' })
        .where('id', '=', id)
        .execute();
      expect((await pending(worker, 'deviceId=tablet-crash')).map((i) => i.status)).toEqual(['SYNCING']);
      const again = await processItem(worker, id);
      expect(again.body).toMatchObject({
        status: 'SYNCED',
        result: { id: first.body.result?.id, version: 1 },
      });
      expect(await pending(worker, 'deviceId=tablet-crash')).toEqual([]);
      // The engine saw one op, sent twice, and applied it once; its audit names the worker and the
      // device the item was queued from (seed 000: "Track device IDs").
      const journal = (await server.app.outpost.store.opLog('clinic-a', 5000)).filter((o) =>
        o.opId.includes(id),
      );
      expect(journal.map((o) => [o.status, o.userId, o.deviceId])).toEqual([
        ['applied', seedUserId, 'tablet-crash'],
      ]);
    });

    it('a client-given id makes queueing again harmless; another user cannot take it', async () => {
      const body = {
        id: 'op-7f3a-0001',
        deviceId: 'tablet-ids',
        operation: 'CREATE',
        resourceType: 'patient',
        resourceId: uuidv7(),
        data: { name: 'Mphatso N.' },
        createdAtClient: new Date(now()).toISOString(),
      };
      const first = await queue(worker, body);
      expect(first.status).toBe(201);
      expect(first.body.id).toBe('op-7f3a-0001');
      const second = await queue(worker, body);
      expect(second.status).toBe(200);
      expect(second.body).toEqual({
        id: 'op-7f3a-0001',
        status: 'PENDING',
        message: 'Operation already queued',
      });
      expect(await pending(worker, 'deviceId=tablet-ids')).toHaveLength(1);
      const taken = await queue(nurse, body);
      expect(taken.status).toBe(409);
      expect(taken.body.error.code).toBe('CONFLICT');
    });
  });

  describe('conflicts', () => {
    /** A patient a v1 client moved to Dedza (version 2) while the worker's offline edit was based on version 1. */
    async function staleVillageEdit(
      device: string,
    ): Promise<{ patient: string; item: string; conflictId: string }> {
      const patient = await newPatient({ village: 'Ntcheu' });
      await push(server, nurse, [
        { collection: 'patients', type: 'update', id: patient, baseVersion: 1, data: { village: 'Dedza' } },
      ]);
      const item = await queued({
        deviceId: device,
        operation: 'UPDATE',
        resourceType: 'patient',
        resourceId: patient,
        data: { village: 'Balaka' },
        version: 1,
        createdAtClient: new Date(now() - 60_000).toISOString(),
      });
      const processed = await processItem(worker, item);
      expect(processed.body).toMatchObject({
        status: 'CONFLICT',
        resolutionOptions: ['CLIENT_WINS', 'SERVER_WINS', 'MANUAL'],
        conflict: { kind: 'version', fields: ['village'], outcome: 'open' },
      });
      return { patient, item, conflictId: processed.body.conflict?.id ?? '' };
    }

    it('CLIENT_WINS, by an administrator, writes the offline data and v1 pull shows it', async () => {
      const { patient, item, conflictId } = await staleVillageEdit('tablet-cw');
      // The conflict desk decides who settles: in the field clinic, administrators.
      const refused = await resolve(worker, item, 'CLIENT_WINS');
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
      expect((await pending(worker, 'deviceId=tablet-cw')).map((i) => i.status)).toEqual(['CONFLICT']);

      const res = await resolve(admin, item, 'CLIENT_WINS');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: item,
        status: 'SYNCED',
        resolution: 'CLIENT_WINS',
        conflictId,
        result: { id: patient, version: 3, data: { name: 'Amina K.', village: 'Balaka' } },
      });
      expect(await pulled('patients', patient)).toMatchObject({ version: 3, data: { village: 'Balaka' } });
      expect(await pending(worker, 'deviceId=tablet-cw')).toEqual([]);
      const conflict = await server.request<Conflict>({
        method: 'GET',
        url: `/v1/conflicts/${conflictId}`,
        token: admin,
      });
      expect(conflict.body).toMatchObject({ outcome: 'client-won', strategy: 'client-wins' });

      const twice = await resolve(admin, item, 'SERVER_WINS');
      expect(twice.status).toBe(409);
      expect(twice.body.error.code).toBe('CONFLICT');
    });

    it('SERVER_WINS keeps the server version and the item is done', async () => {
      const { patient, item, conflictId } = await staleVillageEdit('tablet-sw');
      const res = await resolve(admin, item, 'SERVER_WINS');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'SYNCED',
        resolution: 'SERVER_WINS',
        result: { id: patient, version: 2, data: { village: 'Dedza' } },
      });
      expect(await pulled('patients', patient)).toMatchObject({ version: 2, data: { village: 'Dedza' } });
      expect(await pending(worker, 'deviceId=tablet-sw')).toEqual([]);
      const conflict = await server.request<Conflict>({
        method: 'GET',
        url: `/v1/conflicts/${conflictId}`,
        token: admin,
      });
      expect(conflict.body).toMatchObject({ outcome: 'server-won', resolvedBy: expect.any(String) });
      // Processing the settled item again changes nothing and reports it done.
      const again = await processItem(worker, item);
      expect(again.body).toMatchObject({
        status: 'SYNCED',
        result: { version: 2, data: { village: 'Dedza' } },
      });
    });

    it('MANUAL flags the item and leaves record and conflict for an administrator at /v1/conflicts', async () => {
      const { patient, item, conflictId } = await staleVillageEdit('tablet-manual');
      const res = await resolve(worker, item, 'MANUAL');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: item, status: 'CONFLICT', resolution: 'MANUAL', conflictId });
      expect(await pulled('patients', patient)).toMatchObject({ version: 2, data: { village: 'Dedza' } });
      expect(await pending(worker, 'deviceId=tablet-manual')).toEqual([
        expect.objectContaining({ id: item, status: 'CONFLICT', resolution: 'MANUAL', conflictId }),
      ]);

      // The administrator merges by hand; the queue item reads as done.
      const merged = await server.request({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/resolve`,
        token: admin,
        body: { strategy: 'merge', mergedData: { village: 'Balaka (Dedza road)' } },
      });
      expect(merged.status).toBe(200);
      expect(await pending(worker, 'deviceId=tablet-manual')).toEqual([]);
      expect(await stats(admin, 'deviceId=tablet-manual')).toMatchObject({
        body: { total: 1, synced: 1, conflicts: 0 },
      });
      // An undo reopens the conflict, and the item is a CONFLICT again.
      const undone = await server.request({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/undo`,
        token: admin,
      });
      expect(undone.status).toBe(200);
      expect((await pending(worker, 'deviceId=tablet-manual')).map((i) => i.status)).toEqual(['CONFLICT']);
    });

    it('createdAtClient orders offline edits for last-write-wins: older loses, newer wins', async () => {
      const encounter = await newEncounter('Flu');
      await push(server, nurse, [
        {
          collection: 'encounters',
          type: 'update',
          id: encounter,
          baseVersion: 1,
          data: { diagnosis: 'Malaria' },
        },
      ]);
      const edit = (minutes: number) =>
        queued({
          deviceId: 'tablet-lww',
          operation: 'UPDATE',
          resourceType: 'encounter',
          resourceId: encounter,
          data: { diagnosis: minutes < 0 ? 'Typhoid' : 'Dengue' },
          version: 1,
          createdAtClient: new Date(now() + minutes * 60_000).toISOString(),
        });
      const older = await processItem(worker, await edit(-30));
      expect(older.body).toMatchObject({ status: 'CONFLICT', conflict: { outcome: 'server-won' } });
      expect((await pulled('encounters', encounter))?.data).toMatchObject({ diagnosis: 'Malaria' });

      const newer = await processItem(worker, await edit(0));
      expect(newer.body).toMatchObject({ status: 'SYNCED', result: { data: { diagnosis: 'Dengue' } } });
      expect((await pulled('encounters', encounter))?.data).toMatchObject({ diagnosis: 'Dengue' });
    });
  });

  describe('clock skew (seed 004: timestamp skew)', () => {
    it('a createdAtClient ahead of the server’s clock counts as now: a tablet set hours ahead does not win every later edit', async () => {
      const encounter = await newEncounter('Flu');
      const edit = (diagnosis: string, createdAtClient: string) =>
        queued({
          deviceId: 'tablet-skew',
          operation: 'UPDATE',
          resourceType: 'encounter',
          resourceId: encounter,
          data: { diagnosis },
          version: 1,
          createdAtClient,
        });
      const wrongClock = await processItem(
        worker,
        await edit('Malaria', new Date(now() + 6 * 3_600_000).toISOString()),
      );
      expect(wrongClock.body).toMatchObject({ status: 'SYNCED', result: { data: { diagnosis: 'Malaria' } } });

      // A minute later another edit, made on the same version, is the later one and wins.
      offsetMs += 60_000;
      const later = await processItem(worker, await edit('Typhoid', new Date(now()).toISOString()));
      expect(later.body).toMatchObject({ status: 'SYNCED', result: { data: { diagnosis: 'Typhoid' } } });
      expect((await pulled('encounters', encounter))?.data).toMatchObject({ diagnosis: 'Typhoid' });
    });
  });

  describe('FAILED and retry', () => {
    it('a failed item waits out its backoff, then a retry applies it; retryCount counts the retries', async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0.5);
      const patient = uuidv7();
      const id = await queued({
        deviceId: 'tablet-retry',
        operation: 'CREATE',
        resourceType: 'encounter',
        data: { patientId: patient, diagnosis: 'Pneumonia' },
      });
      const before = now();
      const failed = await processItem(worker, id);
      expect(failed.body).toMatchObject({
        status: 'FAILED',
        code: 'UNRESOLVED_REFERENCE',
        retryCount: 0,
      });
      const firstWait = backoffDelay(1, queueRetryPolicy, () => 0.5);
      const nextAt = Date.parse(failed.body.nextAttemptAt ?? '');
      expect(nextAt - before).toBeGreaterThanOrEqual(firstWait);
      expect(nextAt - now()).toBeLessThanOrEqual(firstWait);
      expect(await pending(worker, 'deviceId=tablet-retry')).toEqual([
        expect.objectContaining({ id, status: 'FAILED', errorCode: 'UNRESOLVED_REFERENCE', retryCount: 0 }),
      ]);

      // Not due yet: nothing is tried.
      const early = await retry(worker, 'deviceId=tablet-retry');
      expect(early.body).toMatchObject({ retried: 0, waiting: 1, exhausted: 0 });
      expect(early.body.items).toEqual([expect.objectContaining({ id, status: 'FAILED', retryCount: 0 })]);

      // The patient arrives through v1; once the wait has passed, the retry applies the encounter.
      await push(server, nurse, [
        { collection: 'patients', type: 'create', id: patient, data: { name: 'Yamikani T.' } },
      ]);
      offsetMs += firstWait + 1;
      const due = await retry(worker, `deviceId=tablet-retry&userId=${seedUserId}`);
      expect(due.status).toBe(200);
      expect(due.body).toMatchObject({ retried: 1, synced: 1, failed: 0, waiting: 0 });
      expect(due.body.items).toEqual([expect.objectContaining({ id, status: 'SYNCED', retryCount: 1 })]);
      expect(await pending(worker, 'deviceId=tablet-retry')).toEqual([]);
      const { changes } = await pullAll(server, admin, { collections: 'encounters' });
      expect(changes.filter((c) => c.data?.['diagnosis'] === 'Pneumonia')).toHaveLength(1);
    });

    it('each failed retry waits twice as long up to the cap, and after the last allowed attempt the item stays FAILED', async () => {
      // Half of every ceiling: the default 80 attempts move the server's clock about 9 hours, within
      // the 12-hour life of the tokens this file's tests share.
      vi.spyOn(Math, 'random').mockReturnValue(0.5);
      const id = await queued({
        deviceId: 'tablet-exhaust',
        operation: 'UPDATE',
        resourceType: 'patient',
        resourceId: uuidv7(),
        data: { village: 'Mzuzu' },
      });
      let t0 = now();
      const failed = await processItem(worker, id);
      let t1 = now();
      expect(failed.body).toMatchObject({ status: 'FAILED', code: 'NOT_FOUND', retryCount: 0 });
      let item: PendingItem | undefined = (await pending(worker, 'deviceId=tablet-exhaust'))[0];
      for (let retries = 1; retries < queueRetryPolicy.maxAttempts; retries += 1) {
        // The wait planned after each failure is core's backoff for that many failed attempts, so
        // it doubles from one attempt to the next until the queue's cap.
        const planned = backoffDelay(retries, queueRetryPolicy, () => 0.5);
        const nextAt = Date.parse(item?.nextAttemptAt ?? '');
        expect(nextAt - t1).toBeLessThanOrEqual(planned);
        expect(nextAt - t0).toBeGreaterThanOrEqual(planned);
        offsetMs += nextAt - now() + 1;
        t0 = now();
        const res = await retry(worker, 'deviceId=tablet-exhaust');
        t1 = now();
        expect(res.body).toMatchObject({ retried: 1, failed: 1 });
        item = res.body.items[0];
        expect(item).toMatchObject({ status: 'FAILED', retryCount: retries, errorCode: 'NOT_FOUND' });
      }
      expect(item?.nextAttemptAt).toBeNull();
      offsetMs += queueRetryPolicy.maxMs;
      const exhausted = await retry(worker, 'deviceId=tablet-exhaust');
      expect(exhausted.body).toMatchObject({ retried: 0, exhausted: 1 });
      expect(exhausted.body.items).toEqual([
        expect.objectContaining({ id, status: 'FAILED', retryCount: queueRetryPolicy.maxAttempts - 1 }),
      ]);
    });
  });

  describe('signed notes and locked intake forms (seed 004)', () => {
    it('an edit of one is refused once and kept: no next attempt, and retry neither sends it again nor archives it twice', async () => {
      const patient = await newPatient();
      const encounter = uuidv7();
      const note = uuidv7();
      const form = uuidv7();
      await push(server, nurse, [
        { collection: 'encounters', type: 'create', id: encounter, data: { patientId: patient } },
        {
          collection: 'clinicalNotes',
          type: 'create',
          id: note,
          data: {
            encounterId: encounter,
            body: 'Wound clean, dressing changed.',
            signatureHash: 'sha256:9f2c',
          },
        },
        { collection: 'intakeForms', type: 'create', id: form, data: { patientId: patient, isLocked: true } },
      ]);
      const device = 'tablet-signed';
      const edits: Array<[string, string, string, Record<string, unknown>]> = [
        ['clinicalNote', note, 'IMMUTABLE', { body: 'Wound infected, antibiotics started.' }],
        ['intakeForm', form, 'LOCKED', { answers: { smoker: 'yes' } }],
      ];
      for (const [resourceType, resourceId, code, data] of edits) {
        const item = await queued({
          deviceId: device,
          operation: 'UPDATE',
          resourceType,
          resourceId,
          data,
          version: 1,
        });
        const refused = await processItem(worker, item);
        expect(refused.body).toMatchObject({ status: 'FAILED', code, retryCount: 0, nextAttemptAt: null });
      }
      // Sorted: two items queued within one millisecond may list either way round.
      expect(
        (await pending(worker, `deviceId=${device}`)).map((i) => [i.errorCode, i.nextAttemptAt]).sort(),
      ).toEqual([
        ['IMMUTABLE', null],
        ['LOCKED', null],
      ]);

      // However long the worker waits, retrying changes nothing and archives nothing more.
      offsetMs += queueRetryPolicy.maxMs + 1;
      const retried = await retry(worker, `deviceId=${device}`);
      expect(retried.body).toMatchObject({ retried: 0, failed: 0, waiting: 0, exhausted: 2 });
      expect(retried.body.items.map((i) => [i.status, i.retryCount])).toEqual([
        ['FAILED', 0],
        ['FAILED', 0],
      ]);
      for (const [, resourceId, code, data] of edits) {
        const archived = await server.request<{ conflicts: Conflict[] }>({
          method: 'GET',
          url: `/v1/conflicts?recordId=${resourceId}`,
          token: admin,
        });
        expect(archived.body.conflicts).toEqual([
          expect.objectContaining({
            kind: code.toLowerCase(),
            outcome: 'rejected',
            client: expect.objectContaining({ data }),
          }),
        ]);
        const rejections = await server.request<{ rejections: unknown[] }>({
          method: 'GET',
          url: `/v1/rejections?recordId=${resourceId}`,
          token: admin,
        });
        expect(rejections.body.rejections).toHaveLength(1);
      }
      expect((await pulled('clinicalNotes', note))?.data).toMatchObject({
        body: 'Wound clean, dressing changed.',
      });
    });
  });

  describe('who may do what', () => {
    it('a userId other than the signed-in user is 403 and stores nothing', async () => {
      const res = await queue(worker, {
        userId: 'someone-else',
        deviceId: 'tablet-403',
        operation: 'CREATE',
        resourceType: 'patient',
        data: { name: 'Nobody' },
        createdAtClient: new Date(now()).toISOString(),
      });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.any(String) });
      expect(await pending(worker, 'deviceId=tablet-403')).toEqual([]);
      expect((await stats(admin, 'deviceId=tablet-403')).body).toMatchObject({ total: 0 });
      for (const url of [
        '/api/v1/sync/pending?userId=someone-else',
        '/api/v1/sync/retry?userId=someone-else',
      ]) {
        const other = await server.request<ErrorAnswer>({
          method: url.includes('retry') ? 'POST' : 'GET',
          url,
          token: worker,
        });
        expect(other.status).toBe(403);
      }
    });

    it('another clinic, or another user of the same clinic, can neither see nor process an item', async () => {
      const id = await queued({
        deviceId: 'tablet-private',
        operation: 'CREATE',
        resourceType: 'patient',
        data: { name: 'Private P.' },
      });
      for (const token of [otherClinic, otherAdmin, nurse]) {
        const processed = await processItem(token, id);
        expect(processed.status).toBe(404);
        expect(processed.body.error.code).toBe('NOT_FOUND');
        expect(await pending(token, 'deviceId=tablet-private')).toEqual([]);
      }
      expect((await resolve(otherAdmin, id, 'SERVER_WINS')).status).toBe(404);
      expect((await stats(otherAdmin, 'deviceId=tablet-private')).body).toMatchObject({ total: 0 });
      expect((await pending(worker, 'deviceId=tablet-private')).map((i) => i.status)).toEqual(['PENDING']);
    });

    it("a v1 push naming an item's op id first, from this clinic or another, neither takes its place nor shows its outcome", async () => {
      const itemId = `op-${uuidv7()}`;
      // Another user of the clinic, and another clinic, push v1 ops under the op id the item's
      // first attempt will have (the documented `queue-api:<item>`), before the worker queues it.
      const otherPatient = uuidv7();
      const squat = await push(server, nurse, [
        {
          opId: `queue-api:${itemId}`,
          collection: 'patients',
          type: 'create',
          id: otherPatient,
          data: { name: 'Someone Else' },
        },
      ]);
      expect(squat.results[0]?.status).toBe('applied');
      // Whatever op id the item moves on to, the nurse may have taken it too.
      const more = await push(
        server,
        nurse,
        ['~1', '~2'].map((link) => ({
          opId: `queue-api:${itemId}${link}`,
          collection: 'patients',
          type: 'update' as const,
          id: otherPatient,
          data: { notes: `took ${link}` },
        })),
      );
      expect(more.results.map((r) => r.status)).toEqual(['applied', 'applied']);
      const elsewhere = await push(server, otherClinic, [
        {
          opId: `queue-api:${itemId}`,
          collection: 'patients',
          type: 'create',
          id: uuidv7(),
          data: { name: 'Other Clinic' },
        },
      ]);
      expect(elsewhere.results[0]?.status).toBe('applied');

      const patientId = uuidv7();
      const queuedRes = await queue(worker, {
        id: itemId,
        deviceId: 'tablet-squat',
        operation: 'CREATE',
        resourceType: 'patient',
        resourceId: patientId,
        data: { name: 'Chisomo W.' },
        createdAtClient: new Date(now()).toISOString(),
      });
      expect(queuedRes.status).toBe(201);
      const processed = await processItem(worker, itemId);
      // The worker's own patient is created, and the answer names it, not the nurse's record.
      expect(processed.body).toMatchObject({
        status: 'SYNCED',
        result: { id: patientId, version: 1, data: { name: 'Chisomo W.' } },
      });
      expect(await pulled('patients', patientId)).toMatchObject({ data: { name: 'Chisomo W.' } });
      expect((await pulled('patients', otherPatient))?.data).toMatchObject({ name: 'Someone Else' });
      // Processing again replays the worker's outcome, still applying once.
      expect((await processItem(worker, itemId)).body).toMatchObject({
        status: 'SYNCED',
        result: { id: patientId, version: 1 },
      });
      const { changes } = await pullAll(server, admin, { collections: 'patients' });
      expect(changes.filter((c) => c.data?.['name'] === 'Chisomo W.')).toHaveLength(1);
    });

    it('needs a bearer token like every route', async () => {
      const res = await server.request<ErrorAnswer>({ method: 'GET', url: '/api/v1/sync/pending' });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    });

    it('stats are for administrators, and count what happened to the items', async () => {
      expect((await stats(worker, '')).status).toBe(403);
      expect((await stats(nurse, `userId=${seedUserId}`)).body).toMatchObject({
        error: { code: 'FORBIDDEN' },
      });

      const device = 'tablet-stats';
      const patient = await newPatient({ village: 'Ntcheu' });
      for (const name of ['A', 'B', 'C']) {
        const id = await queued({
          deviceId: device,
          operation: 'CREATE',
          resourceType: 'patient',
          data: { name },
        });
        expect((await processItem(worker, id)).body.status).toBe('SYNCED');
      }
      const failing = await queued({
        deviceId: device,
        operation: 'UPDATE',
        resourceType: 'patient',
        resourceId: uuidv7(),
        data: { name: 'Gone' },
      });
      expect((await processItem(worker, failing)).body.status).toBe('FAILED');
      await push(server, nurse, [
        { collection: 'patients', type: 'update', id: patient, baseVersion: 1, data: { village: 'Dedza' } },
      ]);
      const conflicting = await queued({
        deviceId: device,
        operation: 'UPDATE',
        resourceType: 'patient',
        resourceId: patient,
        data: { village: 'Balaka' },
        version: 1,
      });
      expect((await processItem(worker, conflicting)).body.status).toBe('CONFLICT');
      await queued({
        deviceId: device,
        operation: 'CREATE',
        resourceType: 'patient',
        data: { name: 'Later' },
      });

      const figures = await stats(admin, `userId=${seedUserId}&deviceId=${device}`);
      expect(figures.status).toBe(200);
      expect(figures.body).toEqual({
        total: 6,
        pending: 1,
        synced: 3,
        failed: 1,
        conflicts: 1,
        syncRate: '50.00%',
      });
      // Settling the conflict counts the item as synced: 4 of 6.
      expect((await resolve(admin, conflicting, 'SERVER_WINS')).status).toBe(200);
      expect((await stats(admin, `deviceId=${device}`)).body).toMatchObject({
        synced: 4,
        conflicts: 0,
        syncRate: '66.67%',
      });
      // Another clinic's administrator sees none of it.
      expect((await stats(otherAdmin, `deviceId=${device}`)).body).toEqual({
        total: 0,
        pending: 0,
        synced: 0,
        failed: 0,
        conflicts: 0,
        syncRate: '100.00%',
      });
    });
  });

  describe('bad input', () => {
    const good = {
      deviceId: 'tablet-bad',
      operation: 'CREATE',
      resourceType: 'patient',
      data: { name: 'Fine' },
      createdAtClient: '2025-11-30T10:00:00.000Z',
    };
    const bad: Array<[string, unknown]> = [
      ['not JSON', '{"deviceId": "tablet-bad", '],
      ['not an object', ['CREATE']],
      ['no deviceId', { ...good, deviceId: undefined }],
      ['an unknown operation', { ...good, operation: 'UPSERT' }],
      ['an unknown resourceType', { ...good, resourceType: 'spaceship' }],
      ['an UPDATE without resourceId', { ...good, operation: 'UPDATE' }],
      ['a CREATE without data', { ...good, data: undefined }],
      ['data that is a list', { ...good, data: ['Fine'] }],
      ['a createdAtClient that is no time', { ...good, createdAtClient: 'yesterday' }],
      ['a negative version', { ...good, version: -1 }],
      ['a resourceId with spaces', { ...good, resourceId: 'not an id' }],
      // Built as text: JSON.stringify cannot write a value this deep, and the queue could not store it.
      [
        'data nested 20 000 levels deep',
        JSON.stringify({ ...good, data: { name: 'DEEP' } }).replace(
          '"DEEP"',
          '['.repeat(20_000) + ']'.repeat(20_000),
        ),
      ],
      ['data nested past 32 levels', { ...good, data: { name: nested(32) } }],
      ['data with half of a character', { ...good, data: { name: 'cut \ud83d' } }],
      ['a deviceId with half of a character', { ...good, deviceId: 'tablet-bad\ud83d' }],
      ['data with a key named __proto__', JSON.stringify(good).replace('"name"', '"__proto__"')],
    ];

    it.each(bad)('a body with %s is 400 with the error shape and stores nothing', async (_what, body) => {
      const res = await queue(worker, body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.any(String) }),
      });
      expect(await pending(worker, 'deviceId=tablet-bad')).toEqual([]);
      expect((await stats(admin, 'deviceId=tablet-bad')).body).toMatchObject({ total: 0 });
    });

    it('bad queries and unknown items are 4xx with the error shape', async () => {
      const empty = await server.request<ErrorAnswer>({
        method: 'GET',
        url: '/api/v1/sync/pending?deviceId=',
        token: worker,
      });
      expect(empty.status).toBe(400);
      expect(empty.body.error.code).toBe('VALIDATION_FAILED');
      const missing = await processItem(worker, uuidv7());
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('NOT_FOUND');
      const noResolution = await server.request<ErrorAnswer>({
        method: 'PATCH',
        url: `/api/v1/sync/resolve/${uuidv7()}`,
        token: worker,
      });
      expect(noResolution.status).toBe(400);
      const pendingItem = await queued({
        deviceId: 'tablet-bad-2',
        operation: 'CREATE',
        resourceType: 'patient',
        data: { name: 'P' },
      });
      const notInConflict = await resolve(worker, pendingItem, 'MANUAL');
      expect(notInConflict.status).toBe(409);
      expect(notInConflict.body.error.code).toBe('CONFLICT');
    });
  });

  describe('for a role that may create records it may not read', () => {
    const kioskClinic = defineSchema({
      name: 'kiosk-clinic',
      collections: {
        patients: collection({
          fields: z.object({ name: z.string().min(1), notes: z.string().optional() }),
          conflict: { strategy: 'merge', fallback: 'manual' },
          permissions: {
            admin: ['read', 'create', 'update', 'delete', 'resolve'],
            kiosk: ['create'],
          },
        }),
      },
    });
    const secret = 'TB treatment, defaulted twice';
    let clinic: TestServer;
    let kiosk: string;
    let clinicAdmin: string;

    beforeAll(async () => {
      clinic = await startTestServer(kind, { schema: kioskClinic });
      kiosk = await signToken({ sub: 'kiosk-1', tenant: 'clinic-a', roles: ['kiosk'] });
      clinicAdmin = await signToken({ sub: 'admin-1', tenant: 'clinic-a', roles: ['admin'] });
    });
    afterAll(async () => {
      await clinic.close();
      await clinic.storage.destroy();
    });

    it('processing a registration never shows the kiosk what the stored patient record holds', async () => {
      const merged = uuidv7();
      const settled = uuidv7();
      await push(clinic, clinicAdmin, [
        { collection: 'patients', type: 'create', id: merged, data: { name: 'Thabo N.', notes: secret } },
        { collection: 'patients', type: 'create', id: settled, data: { name: 'Lindiwe M.', notes: secret } },
      ]);
      const registered = async (resourceId: string, name: string) => {
        const res = await clinic.request<QueueAnswer>({
          method: 'POST',
          url: '/api/v1/sync/queue',
          token: kiosk,
          body: {
            deviceId: 'kiosk-desk',
            operation: 'CREATE',
            resourceType: 'patient',
            resourceId,
            data: { name },
            createdAtClient: new Date().toISOString(),
          },
        });
        expect(res.status).toBe(201);
        return res.body.id;
      };
      const processed = (id: string) =>
        clinic.request<ProcessAnswer>({ method: 'POST', url: `/api/v1/sync/process/${id}`, token: kiosk });

      // The same patient registered again: merged into the stored record, which holds more.
      const first = await processed(await registered(merged, 'Thabo N.'));
      expect(first.body).toMatchObject({ status: 'SYNCED', result: { id: merged } });
      expect(JSON.stringify(first.body)).not.toContain(secret);

      // Another name under a stored id: a conflict for a person; once settled, the item is synced.
      const itemId = await registered(settled, 'Someone else');
      const conflict = await processed(itemId);
      expect(conflict.body.status).toBe('CONFLICT');
      expect(JSON.stringify(conflict.body)).not.toContain(secret);
      const resolvedRes = await clinic.request({
        method: 'POST',
        url: `/v1/conflicts/${conflict.body.conflict?.id}/resolve`,
        token: clinicAdmin,
        body: { strategy: 'server-wins' },
      });
      expect(resolvedRes.status).toBe(200);
      const after = await processed(itemId);
      expect(after.body).toMatchObject({ status: 'SYNCED', result: { id: settled } });
      expect(JSON.stringify(after.body)).not.toContain(secret);
    });
  });

  describe('on a schema with server-assigned ids', () => {
    let vet: TestServer;

    beforeAll(async () => {
      vet = await startTestServer(kind, { server: { tenantSchemas: { 'vet-a': vetPractice } } });
    });
    afterAll(async () => {
      await vet.close();
      await vet.storage.destroy();
    });

    it('a CREATE without resourceId gets the server’s id, and a later item can point at it', async () => {
      const token = await vet.token('vet@vet-a.test');
      const send = async (body: Record<string, unknown>) => {
        const queuedRes = await vet.request<QueueAnswer>({
          method: 'POST',
          url: '/api/v1/sync/queue',
          token,
          body: { deviceId: 'vet-tablet', createdAtClient: new Date().toISOString(), ...body },
        });
        expect(queuedRes.status).toBe(201);
        return vet.request<ProcessAnswer>({
          method: 'POST',
          url: `/api/v1/sync/process/${queuedRes.body.id}`,
          token,
        });
      };
      const owner = await send({
        operation: 'CREATE',
        resourceType: 'user',
        data: { name: 'Ann B.', role: 'CLIENT' },
      });
      expect(owner.body).toMatchObject({ status: 'SYNCED', result: { id: expect.stringMatching(/^\d+$/) } });
      const pet = await send({
        operation: 'CREATE',
        resourceType: 'pet',
        data: { name: 'Rex', ownerId: owner.body.result?.id },
      });
      expect(pet.body).toMatchObject({
        status: 'SYNCED',
        result: {
          id: expect.stringMatching(/^\d+$/),
          resourceType: 'pet',
          data: { ownerId: owner.body.result?.id },
        },
      });
    });
  });
});
