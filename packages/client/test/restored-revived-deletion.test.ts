// A deletion the clinic undid, and a server restored from a backup from before both (decision
// 0050, "Deletions"). The tablet deletes Joseph, and the server acknowledges it. The office, which
// had not seen the deletion, moves him to the Ntcheu clinic: a conflict with the deletion, which the
// administrator settles for the office's change, so Joseph is alive again. The tablet keeps only
// its own villages' patients, so it lets him go. Then the server is restored from a backup taken
// before all of it, which has Joseph alive. The tablet must not give its deletion back: the clinic
// revived him after it, and the deletion no longer stands.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SyncClient } from '../src/index';
import { restoredClinic } from './restored-clinic';
import { syncAfterRestart } from './restored-practice';
import type { Cleanups, RestoredClinic } from './restored-clinic';

const day = 24 * 60 * 60 * 1000;

describe('a deletion the clinic undid is not given back to a server restored from before it', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    vi.useRealTimers();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** The tablet keeps its own villages' patients: Ntcheu's are another clinic's round. */
  const ownVillages = { patients: (r: { data: Record<string, unknown> }) => r.data['village'] !== 'Ntcheu' };

  /**
   * The office moves Joseph to Ntcheu from the version it saw before the tablet's deletion: a
   * conflict with it, which the administrator settles for the office's change.
   */
  async function officeRevives(c: RestoredClinic, seenVersion: number): Promise<void> {
    await c.officePush(
      {
        collection: 'patients',
        type: 'update',
        id: c.joseph.id,
        baseVersion: seenVersion,
        data: { village: 'Ntcheu' },
      },
      'conflict',
    );
    const conflict = (await c.openConflicts()).find((k) => k.recordId === c.joseph.id) as
      { id: string; recordId: string } | undefined;
    if (conflict === undefined) throw new Error("the office's change made no conflict");
    expect(await c.settle(conflict.id, 'client-wins')).toBe(200);
    expect((await c.onServer()).get(c.joseph.id)).toEqual({ name: 'Joseph', village: 'Ntcheu' });
  }

  /** After the restore: Joseph alive on the server and on the tablet, and no delete was sent. */
  async function josephStaysAlive(c: RestoredClinic, tablet: SyncClient): Promise<void> {
    await c.restore();
    expect((await c.onServer().catch(() => c.onServer())).has(c.joseph.id)).toBe(true);
    const result = await syncAfterRestart(tablet);
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    expect(c.pushed).toEqual([]);
    expect((await c.onServer()).get(c.joseph.id)).toEqual({ name: 'Joseph' });
    expect((await tablet.collection('patients').get(c.joseph.id))?.data).toEqual({ name: 'Joseph' });
    expect((await c.onServer()).get(c.amina.id)).toEqual({ name: 'Amina' });
  }

  it('when the revival reaches the tablet after the delete op left its outbox', async () => {
    const c = await restoredClinic(cleanups, { recordFilter: ownVillages });
    await c.backup();
    const seenVersion = (await c.patients.get(c.joseph.id))?.version ?? 0;
    await c.patients.delete(c.joseph.id);
    expect((await c.sync()).success).toBe(true);

    // Two days on, the app is opened again: the outbox lets the delete op go, and keeps the deletion.
    await c.tablet.close();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * day);
    const tablet = await c.openTablet();
    expect(tablet.queue.list()).toEqual([]);
    vi.useRealTimers();

    await officeRevives(c, seenVersion);
    // The tablet hears of it, and lets Joseph go: Ntcheu is not its round.
    expect((await syncAfterRestart(tablet)).success).toBe(true);
    expect(await tablet.collection('patients').get(c.joseph.id)).toBeNull();

    await josephStaysAlive(c, tablet);
  });

  it('when the revival reaches the tablet while its outbox still keeps the delete op', async () => {
    const c = await restoredClinic(cleanups, { recordFilter: ownVillages });
    await c.backup();
    const seenVersion = (await c.patients.get(c.joseph.id))?.version ?? 0;
    await c.patients.delete(c.joseph.id);
    expect((await c.sync()).success).toBe(true);
    expect(c.tablet.queue.list().filter((o) => o.type === 'delete' && o.status === 'done')).toHaveLength(1);

    await officeRevives(c, seenVersion);
    expect((await c.sync()).success).toBe(true);
    expect(await c.patients.get(c.joseph.id)).toBeNull();
    // The deletion no longer stands: its op, still in the queue view, says so.
    expect(c.tablet.queue.list().filter((o) => o.type === 'delete')).toEqual([
      expect.objectContaining({ status: 'done', undone: true }),
    ]);

    await josephStaysAlive(c, c.tablet);
  });
});
