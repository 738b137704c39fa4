// The audit trail (who, device, when, which record, outcome; never record contents) and the
// status and statistics endpoints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { push } from './sync-client';

describe.each(dialects())('audit, status and stats on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let admin: string;
  const id = uuidv7();

  beforeAll(async () => {
    server = await startTestServer(kind);
    nurse = await server.token('nurse@clinic-a.test');
    admin = await server.token('admin@clinic-a.test');
    await server.request({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email: 'nurse@clinic-a.test', password: 'wrong' },
    });
    await push(
      server,
      nurse,
      [
        {
          collection: 'patients',
          type: 'create',
          id,
          data: { name: 'Confidential Name', notes: 'HIV positive' },
        },
        { collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'Secret Village' } },
        { collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'Other Village' } },
        { collection: 'patients', type: 'create', id: uuidv7(), data: {} },
      ],
      { deviceId: 'tablet-7' },
    );
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  it('records every push op and login with who, device, when, record and outcome', async () => {
    const ops = await server.app.outpost.store.opLog('clinic-a');
    // The ops of one push share their arrival time, so the log does not promise their order.
    expect(ops).toHaveLength(4);
    expect(ops.map((o) => [o.type, o.recordId, o.deviceId, o.status])).toEqual(
      expect.arrayContaining([
        ['create', id, 'tablet-7', 'applied'],
        ['update', id, 'tablet-7', 'applied'],
        ['update', id, 'tablet-7', 'conflict'],
        ['create', expect.any(String), 'tablet-7', 'rejected'],
      ]),
    );
    for (const o of ops) {
      expect(o.userId).toBeTruthy();
      expect(Date.parse(o.receivedAt)).not.toBeNaN();
    }
    const events = await server.app.outpost.store.auditEvents('clinic-a');
    expect(events.map((e) => [e.action, e.outcome])).toEqual(
      expect.arrayContaining([
        ['login', 'ok'],
        ['login-failed', 'wrong-password'],
      ]),
    );
  });

  it('keeps record contents out of the audit trail', async () => {
    const ops = await server.app.outpost.store.opLog('clinic-a');
    const events = await server.app.outpost.store.auditEvents('clinic-a');
    const text = JSON.stringify([ops, events]);
    for (const secret of ['Confidential Name', 'HIV positive', 'Secret Village', 'Other Village'])
      expect(text).not.toContain(secret);
  });

  it("reports the caller's queue health per device", async () => {
    const status = await server.request<Record<string, unknown>>({
      method: 'GET',
      url: '/v1/sync/status?deviceId=tablet-7',
      token: nurse,
    });
    expect(status.body).toMatchObject({
      ops: { applied: 2, conflict: 1, rejected: 1, duplicate: 0 },
      // Both updates changed the village: patients merge, and the same field waits for a person.
      openConflicts: 1,
    });
    expect(Date.parse(String(status.body['lastSyncAt']))).not.toBeNaN();
    const other = await server.request({
      method: 'GET',
      url: '/v1/sync/status?deviceId=another',
      token: nurse,
    });
    expect(other.body).toMatchObject({
      lastSyncAt: null,
      ops: { applied: 0, conflict: 0, rejected: 0, duplicate: 0 },
    });
  });

  it('gives administrators seed 000 statistics', async () => {
    const stats = await server.request({ method: 'GET', url: '/v1/sync/stats', token: admin });
    expect(stats.body).toEqual({
      total: 4,
      pending: 0,
      synced: 2,
      failed: 1,
      conflicts: 1,
      syncRate: '50.00%',
    });
    const none = await server.request({
      method: 'GET',
      url: '/v1/sync/stats?deviceId=unknown',
      token: admin,
    });
    expect(none.body).toMatchObject({ total: 0, syncRate: '100.00%' });
  });

  it('breaks the statistics down by device and user, for administrators only', async () => {
    await push(
      server,
      admin,
      [{ collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'B' } }],
      {
        deviceId: 'office-pc',
      },
    );
    const res = await server.request<{ devices: Array<Record<string, unknown>> }>({
      method: 'GET',
      url: '/v1/sync/stats/devices',
      token: admin,
    });
    expect(res.status).toBe(200);
    expect(res.body.devices).toHaveLength(2);
    expect(res.body.devices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          email: 'nurse@clinic-a.test',
          deviceId: 'tablet-7',
          total: 4,
          synced: 2,
          failed: 1,
          conflicts: 1,
          openConflicts: 1,
          syncRate: '50.00%',
        }),
        expect.objectContaining({ email: 'admin@clinic-a.test', deviceId: 'office-pc', total: 1, synced: 1 }),
      ]),
    );
    const denied = await server.request({ method: 'GET', url: '/v1/sync/stats/devices', token: nurse });
    expect(denied.status).toBe(403);
    const otherClinic = await server.request<{ devices: unknown[] }>({
      method: 'GET',
      url: '/v1/sync/stats/devices',
      token: await server.token('nurse@clinic-b.test'),
    });
    expect(otherClinic.status).toBe(403);
  });

  it('counts a tablet that only reads as syncing, at the end of its pull, and writes it once a pull', async () => {
    const lastSyncOf = async (deviceId: string) => {
      const res = await server.request<{ devices: Array<{ deviceId: string; lastSyncAt: string | null }> }>({
        method: 'GET',
        url: '/v1/sync/stats/devices',
        token: admin,
      });
      return res.body.devices.find((d) => d.deviceId === deviceId)?.lastSyncAt;
    };
    // A page that is not the pull's last does not count yet: the pull has not ended.
    const first = await server.request<{ cursor: string; hasMore: boolean }>({
      method: 'GET',
      url: '/v1/sync/pull?limit=1&deviceId=reading-tablet',
      token: nurse,
    });
    expect(first.body.hasMore).toBe(true);
    expect(await lastSyncOf('reading-tablet')).toBeUndefined();
    let cursor = first.body.cursor;
    for (let more = true; more;) {
      const page = await server.request<{ cursor: string; hasMore: boolean }>({
        method: 'GET',
        url: `/v1/sync/pull?limit=1&deviceId=reading-tablet&cursor=${encodeURIComponent(cursor)}`,
        token: nurse,
      });
      expect(page.status).toBe(200);
      ({ cursor, hasMore: more } = page.body);
    }
    const at = await lastSyncOf('reading-tablet');
    expect(Date.parse(at ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });
});
