// A cursor (or WatermelonDB's lastPulledAt) above the last position a clinic handed out was never
// issued by this database: the server was restored from an older backup, or a bare number came from
// another clinic. Read on from it, a pull would skip every change until the clinic's positions
// passed it, and the device would never know. It is told to start over instead (410, with
// `details.reason: 'restored'`). The v1 cursors here, from another database, are caught by the
// epoch they carry (decision 0050; restore-epoch.test.ts) as well.
import { afterEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { ErrorBody } from '@outpost/core';
import { createStorage, dialects, startTestServer } from './server-fixture';
import type { Storage, TestServer } from './server-fixture';
import { pullAll, push } from './sync-client';

const patient = (name: string) => ({
  collection: 'patients',
  type: 'create' as const,
  id: uuidv7(),
  data: { name },
});

describe.each(dialects())('a cursor ahead of the clinic’s data, on %s', (kind) => {
  const started: TestServer[] = [];
  const storages: Storage[] = [];

  afterEach(async () => {
    for (const s of started.splice(0)) await s.close();
    for (const s of storages.splice(0)) await s.destroy();
  });

  async function serverOn(storage?: Storage): Promise<TestServer> {
    const own = storage ?? (await createStorage(kind));
    if (!storage) storages.push(own);
    const s = await startTestServer(kind, { storage: own });
    started.push(s);
    return s;
  }

  it('sends a device whose cursor is from before a restore back to the start, where the new records are', async () => {
    // The clinic's database as it was at the last backup: one patient. The same clinic's server
    // went on to store four more, and a tablet pulled them all before the database was lost.
    const restored = await serverOn();
    const nurseThen = await restored.token('nurse@clinic-a.test');
    await push(restored, nurseThen, [patient('Amina')]);
    const lost = await serverOn();
    const nurseBefore = await lost.token('nurse@clinic-a.test');
    await push(lost, nurseBefore, [patient('Amina'), patient('Joseph'), patient('Grace'), patient('Thoko')]);
    const tablet = await pullAll(lost, nurseBefore);

    // Back on the restored database (same secret), a colleague registers a patient at once.
    const nurse = await restored.token('nurse@clinic-a.test');
    const [registered] = (await push(restored, nurse, [patient('Chikondi')])).results;

    const res = await restored.request<ErrorBody>({
      method: 'GET',
      url: `/v1/sync/pull?cursor=${tablet.cursor}`,
      token: nurse,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(410);
    expect(res.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
    const fresh = await pullAll(restored, nurse);
    expect(fresh.changes.map((c) => c.data?.['name']).sort()).toEqual(['Amina', 'Chikondi']);
    expect(fresh.changes.map((c) => c.id)).toContain(registered?.id);
  });

  it('goes on from a cursor this database issued, with nothing new since', async () => {
    const s = await serverOn();
    const nurse = await s.token('nurse@clinic-a.test');
    await push(s, nurse, [patient('Amina')]);
    const first = await pullAll(s, nurse);
    const again = await pullAll(s, nurse, { cursor: first.cursor });
    expect(again.changes).toEqual([]);
  });

  it('sends a SmartDMV device whose sync point is from before a restore back to the start', async () => {
    interface SeedPage {
      changes: Array<{ entityType: string }>;
      nextTimestamp: string | null;
      timestamp: string;
    }
    const restored = await serverOn();
    await push(restored, await restored.token('nurse@clinic-a.test'), [patient('Amina')]);
    const lost = await serverOn();
    const nurseBefore = await lost.token('nurse@clinic-a.test');
    await push(lost, nurseBefore, [patient('Amina'), patient('Joseph'), patient('Grace')]);
    const page = await lost.request<SeedPage>({
      method: 'GET',
      url: '/api/sync/pull?lastSyncTimestamp=',
      token: nurseBefore,
    });
    expect(page.body.changes).toHaveLength(3);

    const nurse = await restored.token('nurse@clinic-a.test');
    await push(restored, nurse, [patient('Chikondi')]);
    const syncPoint = encodeURIComponent(page.body.nextTimestamp ?? page.body.timestamp);
    const res = await restored.request<ErrorBody>({
      method: 'GET',
      url: `/api/sync/pull?lastSyncTimestamp=${syncPoint}`,
      token: nurse,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(410);
    expect(res.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });
  });

  describe('WatermelonDB', () => {
    const pullUrl = (lastPulledAt: number | null) =>
      `/watermelon/sync/pull?last_pulled_at=${lastPulledAt}&schema_version=1&migration=null`;
    interface PullBody {
      changes: Record<string, { updated: Array<{ id: string }> }>;
      timestamp: number;
    }

    it('a lastPulledAt from a clinic that got further is refused, and the device gets its own clinic’s records from the start', async () => {
      const s = await serverOn();
      const nurseA = await s.token('nurse@clinic-a.test');
      await push(s, nurseA, [patient('Amina'), patient('Joseph'), patient('Grace')]);
      const a = await s.request<PullBody>({ method: 'GET', url: pullUrl(null), token: nurseA });
      expect(a.status).toBe(200);

      // clinic-b's tablet was handed clinic-a's lastPulledAt (a device moved between clinics).
      const nurseB = await s.token('nurse@clinic-b.test');
      const [own] = (await push(s, nurseB, [patient('Kondwani')])).results;
      const refused = await s.request<ErrorBody>({
        method: 'GET',
        url: pullUrl(a.body.timestamp),
        token: nurseB,
      });
      expect(refused.status, JSON.stringify(refused.body)).toBe(410);
      expect(refused.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { reason: 'restored' } });

      const pushed = await s.request<ErrorBody>({
        method: 'POST',
        url: `/watermelon/sync/push?last_pulled_at=${a.body.timestamp}`,
        token: nurseB,
        body: { patients: { created: [], updated: [{ id: own?.id, name: 'Kondwani B.' }], deleted: [] } },
      });
      expect(pushed.status, JSON.stringify(pushed.body)).toBe(410);
      expect(pushed.body.error.details).toEqual({ reason: 'restored' });

      const fresh = await s.request<PullBody>({ method: 'GET', url: pullUrl(null), token: nurseB });
      expect(fresh.body.changes['patients']?.updated.map((r) => r.id)).toEqual([own?.id]);
    });
  });
});
