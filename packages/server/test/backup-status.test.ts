// GET /v1/admin/backups (decision 0049): what a clinic's administrators are told of the server's
// scheduled backups: when the last was taken and when the next is due, and while they fail, since
// when and why in words, never the server's paths.
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupStatusResponseSchema } from '@outpost/core';
import type { BackupStatusResponse } from '@outpost/core';
import { backupPlaces } from './backup-places';
import { sqliteStorageIn, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';

const hour = 60 * 60 * 1000;

describe('GET /v1/admin/backups', () => {
  const places = backupPlaces('outpost-backup-status-');
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    await places.cleanUp();
  });

  async function statusOf(server: TestServer, token: string): Promise<BackupStatusResponse> {
    const res = await server.request<BackupStatusResponse>({
      method: 'GET',
      url: '/v1/admin/backups',
      token,
    });
    expect(res.status).toBe(200);
    return backupStatusResponseSchema.parse(res.body);
  }

  it('tells administrators when the server last backed up, and why its backups fail, naming no path', async () => {
    const data = places.folder();
    const stick = places.folder();
    const server = await startTestServer('sqlite', {
      storage: sqliteStorageIn(data),
      server: {
        backups: {
          database: join(data, 'outpost.sqlite'),
          folder: stick,
          everyMs: 6 * hour,
          keep: 3,
          firstDelayMs: hour,
        },
      },
    });
    servers.push(server);
    const admin = await server.token('admin@clinic-a.test');
    const before = Date.now();

    const first = await statusOf(server, admin);
    expect(first).toMatchObject({
      scheduled: true,
      everyHours: 6,
      keep: 3,
      encrypted: false,
      lastBackupAt: null,
      failing: null,
    });
    // The first is due an hour after the start (firstDelayMs), the folder having none.
    expect(Date.parse(first.scheduled ? (first.nextAt ?? '') : '')).toBeGreaterThanOrEqual(
      before + hour - 5_000,
    );

    // A clinician is not told.
    const nurse = await server.token('nurse@clinic-a.test');
    const refused = await server.request({ method: 'GET', url: '/v1/admin/backups', token: nurse });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN' } });

    const schedule = server.app.outpost.backups;
    if (!schedule) throw new Error('the server has no backup schedule');
    expect((await schedule.runNow()).ok).toBe(true);
    const backedUp = await statusOf(server, admin);
    if (!backedUp.scheduled) throw new Error('not scheduled');
    expect(Date.parse(backedUp.lastBackupAt ?? '')).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(Date.parse(backedUp.nextAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(backedUp.lastBackupAt ?? '') + 6 * hour - 5_000,
    );

    // The stick is pulled out: every backup fails until it is back.
    renameSync(stick, `${stick}-away`);
    expect((await schedule.runNow()).ok).toBe(false);
    const failed = await statusOf(server, admin);
    if (!failed.scheduled) throw new Error('not scheduled');
    expect(failed.failing).toMatchObject({ reason: 'FOLDER_GONE' });
    expect(failed.lastBackupAt).toBe(backedUp.lastBackupAt);
    expect(JSON.stringify(failed)).not.toContain(stick);
    await new Promise((r) => setTimeout(r, 20));
    expect((await schedule.runNow()).ok).toBe(false);
    const still = await statusOf(server, admin);
    if (!still.scheduled) throw new Error('not scheduled');
    // Failing since the first failure, the last one later.
    expect(still.failing?.since).toBe(failed.failing?.since);
    expect(Date.parse(still.failing?.at ?? '')).toBeGreaterThan(Date.parse(failed.failing?.at ?? ''));

    renameSync(`${stick}-away`, stick);
    expect((await schedule.runNow()).ok).toBe(true);
    const mended = await statusOf(server, admin);
    expect(mended).toMatchObject({ scheduled: true, failing: null });
  });

  it('says none are scheduled on a server that takes none', async () => {
    const server = await startTestServer('sqlite', { storage: sqliteStorageIn(places.folder()) });
    servers.push(server);
    expect(await statusOf(server, await server.token('admin@vet-a.test'))).toEqual({ scheduled: false });
  });
});
