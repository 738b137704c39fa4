// A deletion older than the outbox's retention, and a server restored from a backup from before it
// (decision 0050, "Deletions"). The tablet deletes a patient after the backup and the server
// acknowledges it; the tablet's app is opened again two days later, and its outbox lets the delete
// op go (keepCompletedMs, a day). Then the server is restored from that backup, which has the
// patient alive. Without the deletion kept past the op (keepDeletionsMs), the re-read brought the
// patient back, alive, on the server and the tablet, and nobody was told: the clinician's deletion
// was undone. Now the tablet deletes the patient again, at the deletion's own time.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { restoredClinic } from './restored-clinic';
import { syncAfterRestart } from './restored-practice';
import type { Cleanups } from './restored-clinic';

const day = 24 * 60 * 60 * 1000;

describe('a deletion older than the outbox keeps its op, and a server restored from before it', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    vi.useRealTimers();
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('stays deleted on the restored server and on the tablet, though the delete op left the outbox days ago', async () => {
    const c = await restoredClinic(cleanups);
    await c.backup();
    // After the backup: Joseph deleted (a patient entered twice), and Grace registered then deleted,
    // which the backup never had. The server acknowledges all of it.
    const grace = await c.patients.create({ name: 'Grace' });
    expect((await c.sync()).success).toBe(true);
    await c.patients.delete(c.joseph.id);
    await c.patients.delete(grace.id);
    expect((await c.sync()).success).toBe(true);
    const deletes = c.tablet.queue.list().filter((o) => o.type === 'delete' && o.status === 'done');
    expect(deletes).toHaveLength(2);

    // Two days on, the app is opened again: the outbox lets its acknowledged ops go, the deletes too.
    // Only the device's Date moves (the server's tokens would not hold two days on); the store is
    // the same.
    await c.tablet.close();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * day);
    const tablet = await c.openTablet();
    expect(tablet.queue.list()).toEqual([]);
    vi.useRealTimers();

    await c.restore();
    // The backup has Joseph alive. Tried twice: the first request may meet the connection kept
    // alive to the server that was stopped.
    expect((await c.onServer().catch(() => c.onServer())).has(c.joseph.id)).toBe(true);
    const result = await syncAfterRestart(tablet);
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Joseph deleted again, and Grace's deletion given back (a colleague's tablet holding her would
    // give her back as a create, which then meets it).
    expect(result.restored).toEqual({ resent: 2 });
    expect(c.pushed).toHaveLength(2);
    for (const opId of c.pushed) expect(deletes.map((o) => o.opId)).not.toContain(opId);

    const server = await c.onServer();
    expect(server.has(c.joseph.id)).toBe(false);
    expect(server.has(grace.id)).toBe(false);
    expect(server.get(c.amina.id)).toEqual({ name: 'Amina' });
    const patients = tablet.collection('patients');
    expect(await patients.get(c.joseph.id)).toBeNull();
    expect(await patients.get(grace.id)).toBeNull();
    expect((await patients.get(c.amina.id))?.data).toEqual({ name: 'Amina' });
    expect(tablet.queue.stats().pending).toBe(0);

    // And the next sync has nothing more to give back.
    c.pushed.length = 0;
    const next = await syncAfterRestart(tablet);
    expect(next.restored).toBeUndefined();
    expect(c.pushed).toEqual([]);
  });
});
