// Conflict and rejection listings page by archive id. A host whose clock runs behind (a second
// instance on the same PostgreSQL, or this one restarted after its clock was set back) must still
// make ids that sort after those already listed, or a person paging through open conflicts never
// sees the ones it raises.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { ConflictListResponse, RejectionListResponse } from '@outpost/core';
import { createStorage, dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { push } from './sync-client';

/** Raises a prescription conflict (settled by a person: it stays open) through `server`. */
async function raiseConflict(server: TestServer, token: string, prescriptionId: string, dose: string) {
  const res = await push(server, token, [
    { collection: 'prescriptions', type: 'update', id: prescriptionId, baseVersion: 1, data: { dose } },
  ]);
  expect(res.results[0]?.status).toBe('conflict');
  return res.results[0]?.conflict?.id ?? '';
}

/** Follows a listing's nextCursor from `cursor` to its end; returns the ids seen. */
async function pageOn(server: TestServer, token: string, path: string, cursor: string | null) {
  const ids: string[] = [];
  for (let next = cursor; next !== null;) {
    const page = await server.request<{ nextCursor: string | null } & Record<string, unknown>>({
      method: 'GET',
      url: `${path}${path.includes('?') ? '&' : '?'}limit=1&cursor=${next}`,
      token,
    });
    const items = (page.body['conflicts'] ?? page.body['rejections']) as Array<{ id: string }>;
    ids.push(...items.map((c) => c.id));
    next = page.body.nextCursor;
  }
  return ids;
}

describe.each(dialects())('archive listings across hosts whose clocks differ, on %s', (kind) => {
  it('a conflict and a refusal made by a host a second behind still come after the cursor', async () => {
    const storage = await createStorage(kind);
    const opened: TestServer[] = [];
    try {
      const a = await startTestServer(kind, { storage });
      opened.push(a);
      const nurse = await a.token('nurse@clinic-a.test');
      const admin = await a.token('admin@clinic-a.test');
      const patientId = uuidv7();
      const rx = uuidv7();
      await push(a, nurse, [
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Amina K.' } },
        {
          collection: 'prescriptions',
          type: 'create',
          id: rx,
          data: { patientId, drug: 'Amoxicillin', dose: '250 mg' },
        },
        { collection: 'prescriptions', type: 'update', id: rx, baseVersion: 1, data: { dose: '500 mg' } },
        { collection: 'patients', type: 'update', id: uuidv7(), baseVersion: 1, data: { name: 'Nobody' } },
        { collection: 'patients', type: 'update', id: uuidv7(), baseVersion: 1, data: { name: 'No one' } },
      ]);
      const c1 = await raiseConflict(a, nurse, rx, '100 mg');
      const c2 = await raiseConflict(a, nurse, rx, '200 mg');

      // The administrator reads the first page of each listing.
      const conflicts = await a.request<ConflictListResponse>({
        method: 'GET',
        url: '/v1/conflicts?status=open&limit=1',
        token: admin,
      });
      expect(conflicts.body.conflicts.map((c) => c.id)).toEqual([c1]);
      const rejections = await a.request<RejectionListResponse>({
        method: 'GET',
        url: '/v1/rejections?limit=1',
        token: admin,
      });
      expect(rejections.body.rejections).toHaveLength(1);

      // Another host, its clock a second behind, with its own randomness as another process has:
      // beside the first on PostgreSQL; on SQLite, this server restarted after its clock was set back.
      if (kind === 'sqlite') await opened.pop()?.close();
      const b = await startTestServer(kind, {
        storage,
        server: { now: () => new Date(Date.now() - 1000), randomBytes: (n) => randomBytes(n) },
      });
      opened.push(b);
      const c3 = await raiseConflict(b, nurse, rx, '300 mg');
      const refused = await push(b, nurse, [
        {
          collection: 'patients',
          type: 'update',
          id: uuidv7(),
          baseVersion: 1,
          data: { name: 'Nobody either' },
        },
      ]);
      expect(refused.results[0]?.status).toBe('rejected');

      // Paging on from the cursors given before, every entry the archives hold is seen.
      const seenConflicts = [
        c1,
        ...(await pageOn(b, admin, '/v1/conflicts?status=open', conflicts.body.nextCursor)),
      ];
      expect(seenConflicts).toEqual([c1, c2, c3]);
      const seenRejections = [
        ...rejections.body.rejections.map((r) => r.id),
        ...(await pageOn(b, admin, '/v1/rejections', rejections.body.nextCursor)),
      ];
      const all = await b.request<RejectionListResponse>({
        method: 'GET',
        url: '/v1/rejections',
        token: admin,
      });
      expect(all.body.rejections).toHaveLength(3);
      expect(seenRejections).toEqual(all.body.rejections.map((r) => r.id));
    } finally {
      for (const s of opened) await s.close();
      await storage.destroy();
    }
  });
});
