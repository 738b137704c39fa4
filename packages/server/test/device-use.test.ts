// Devices a clinic takes out of use (decision 0057): PUT /v1/device-use by an administrator, for
// a device someone of the clinic synced on; the statistics then say since when it is out of use,
// until it syncs again or is put back; audited; refused to anyone else and for bad input, storing
// nothing. On SQLite files and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditResponseSchema, deviceStatsResponseSchema, syncAlerts, uuidv7 } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint } from './security/fingerprint';
import { push } from './sync-client';

const url = '/v1/device-use';
const day = 24 * 60 * 60 * 1000;

describe.each(dialects())('devices out of use on %s', (kind) => {
  let server: TestServer;
  let clock = Date.parse('2026-03-02T09:00:00.000Z');
  let admin: string;
  let nurse: string;
  let otherAdmin: string;

  /** A pull from the device, which the server counts as a sync on it. */
  async function syncOn(token: string, deviceId: string): Promise<void> {
    const res = await server.request({ method: 'GET', url: `/v1/sync/pull?deviceId=${deviceId}`, token });
    expect(res.status).toBe(200);
  }

  async function put(body: unknown, token = admin) {
    return server.request({ method: 'PUT', url, token, body });
  }

  /** Each device's `outOfUseSince` in the statistics, by user email and device. */
  async function outOfUse(): Promise<Record<string, string | null | undefined>> {
    const res = await server.request({ method: 'GET', url: '/v1/sync/stats/devices', token: admin });
    expect(res.status).toBe(200);
    const { devices } = deviceStatsResponseSchema.parse(res.body);
    return Object.fromEntries(devices.map((d) => [`${d.email} ${d.deviceId}`, d.outOfUseSince]));
  }

  /** Moves the server's clock on, signing in again: a token of days ago has expired. */
  async function later(ms: number): Promise<void> {
    clock += ms;
    admin = await server.tokenNow('admin@clinic-a.test');
    nurse = await server.tokenNow('nurse@clinic-a.test');
    otherAdmin = await server.tokenNow('admin@vet-a.test');
  }

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { now: () => new Date(clock) } });
    await later(0);
    // The nurse's old tablet, shared with the administrator, and her new one.
    await push(
      server,
      nurse,
      [{ collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Ama' } }],
      {
        deviceId: 'old-tablet',
      },
    );
    await syncOn(admin, 'old-tablet');
    await later(10 * day);
    await syncOn(nurse, 'new-tablet');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  it('lets an administrator take a silent tablet out of use, and the statistics say since when', async () => {
    const res = await put({ deviceId: 'old-tablet', inUse: false });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deviceId: 'old-tablet', outOfUseSince: '2026-03-12T09:00:00.000Z' });
    // Both people's rows of the tablet; the new tablet is in use.
    expect(await outOfUse()).toEqual({
      'nurse@clinic-a.test old-tablet': '2026-03-12T09:00:00.000Z',
      'admin@clinic-a.test old-tablet': '2026-03-12T09:00:00.000Z',
      'nurse@clinic-a.test new-tablet': null,
    });

    // "Needs attention" no longer lists it as silent, with the figures the route answers.
    const stats = deviceStatsResponseSchema.parse(
      (await server.request({ method: 'GET', url: '/v1/sync/stats/devices', token: admin })).body,
    );
    expect(syncAlerts(stats.devices, new Date(stats.asOf ?? ''), stats.alertThresholds)).toEqual([]);

    // Asking again changes nothing: it stays out of use since the first time.
    await later(day);
    const again = await put({ deviceId: 'old-tablet', inUse: false });
    expect(again.body).toEqual({ deviceId: 'old-tablet', outOfUseSince: '2026-03-12T09:00:00.000Z' });
  });

  it('puts a device back in use when it syncs again, and on request', async () => {
    // The nurse found her old tablet and synced on it: it is in use again for her, by itself.
    await later(day);
    await syncOn(nurse, 'old-tablet');
    expect(await outOfUse()).toMatchObject({
      'nurse@clinic-a.test old-tablet': null,
      'admin@clinic-a.test old-tablet': '2026-03-12T09:00:00.000Z',
    });
    // Taken out of use once more: from now.
    await later(day);
    expect((await put({ deviceId: 'old-tablet', inUse: false })).body).toEqual({
      deviceId: 'old-tablet',
      outOfUseSince: '2026-03-15T09:00:00.000Z',
    });
    // And put back by the administrator.
    await later(day);
    expect((await put({ deviceId: 'old-tablet', inUse: true })).body).toEqual({
      deviceId: 'old-tablet',
      outOfUseSince: null,
    });
    expect(await outOfUse()).toMatchObject({
      'nurse@clinic-a.test old-tablet': null,
      'admin@clinic-a.test old-tablet': null,
    });
    // Putting back a device in use changes nothing.
    expect((await put({ deviceId: 'new-tablet', inUse: true })).body).toEqual({
      deviceId: 'new-tablet',
      outOfUseSince: null,
    });
  });

  it('audits each change of use, naming the device, and nothing when nothing changed', async () => {
    const res = await server.request({ method: 'GET', url: '/v1/audit?action=device-use', token: admin });
    expect(res.status).toBe(200);
    const { events } = auditResponseSchema.parse(res.body);
    expect(events.map((e) => [e.at, e.email, e.recordId, e.outcome])).toEqual([
      ['2026-03-16T09:00:00.000Z', 'admin@clinic-a.test', 'old-tablet', 'in-use'],
      ['2026-03-15T09:00:00.000Z', 'admin@clinic-a.test', 'old-tablet', 'out-of-use'],
      ['2026-03-12T09:00:00.000Z', 'admin@clinic-a.test', 'old-tablet', 'out-of-use'],
    ]);
  });

  it('is for administrators, for devices of their own clinic, and changes nothing otherwise', async () => {
    const before = await fingerprint(server.app.outpost.store);
    const forbidden = await put({ deviceId: 'new-tablet', inUse: false }, nurse);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({
      error: { code: 'FORBIDDEN', message: 'taking a device out of use is for administrators' },
    });
    // Another clinic's device answers as a device never seen.
    const unknown = await put({ deviceId: 'never-seen', inUse: false });
    const otherClinic = await put({ deviceId: 'new-tablet', inUse: false }, otherAdmin);
    expect(unknown.status).toBe(404);
    expect(otherClinic.status).toBe(404);
    expect(otherClinic.body).toEqual(unknown.body);
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
  });

  it('refuses bad input with 400 and a message in words, and stores nothing', async () => {
    const before = await fingerprint(server.app.outpost.store);
    const bad: Array<[string, unknown, string]> = [
      ['no inUse', { deviceId: 'new-tablet' }, 'inUse must be true or false'],
      ['inUse as text', { deviceId: 'new-tablet', inUse: 'no' }, 'inUse must be true or false'],
      ['no device', { inUse: false }, 'deviceId must be text'],
      ['half a character', { deviceId: 'new-tablet\ud800', inUse: false }, 'deviceId may not hold half'],
      ['a tenant', { deviceId: 'new-tablet', inUse: false, tenant: 'vet-a' }, 'not tenant'],
      ['a list', ['new-tablet'], 'send { "deviceId": "…", "inUse": false }'],
    ];
    for (const [what, body, message] of bad) {
      const res = await put(body);
      expect(res.status, what).toBe(400);
      expect(res.body, what).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
      expect((res.body as { error: { message: string } }).error.message, what).toContain(message);
    }
    const malformed = await server.app.inject({
      method: 'PUT',
      url,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: '{"deviceId": "new-tablet", "inUse": fa',
    });
    expect(malformed.statusCode).toBe(400);
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
  });
});
