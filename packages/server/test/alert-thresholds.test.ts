// A clinic's own alert thresholds, kept on the server (decision 0042): GET and PUT
// /v1/admin/alert-thresholds, for administrators, per clinic, audited, and answered with the
// devices' statistics. On SQLite files and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alertThresholdsResponseSchema,
  auditResponseSchema,
  deviceStatsResponseSchema,
  syncAlertThresholds,
} from '@outpost/core';
import type { AlertThresholdsResponse } from '@outpost/core';
import { createStorage, dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint } from './security/fingerprint';
import { signToken } from './security/tokens';

const hour = 60 * 60 * 1000;
const day = 24 * hour;
const url = '/v1/admin/alert-thresholds';

/** A clinic that wants to hear of a tablet after a day, and sooner than usual of everything else. */
const watchful = {
  silentWarningAfterMs: day,
  silentCriticalAfterMs: 2 * day,
  failureRateAbove: 0.05,
  openConflictsAtLeast: 3,
  slowMedianAboveMs: 12 * hour,
};

const defaults = {
  thresholds: syncAlertThresholds,
  custom: false,
  updatedAt: null,
  updatedBy: null,
  updatedByEmail: null,
};

describe.each(dialects())('alert thresholds per clinic on %s', (kind) => {
  let server: TestServer;
  let clock = Date.parse('2026-03-02T09:00:00.000Z');
  let admin: string;
  let adminId: string;
  let nurse: string;
  /** clinic-b's administrator, as its identity provider signs them. */
  let adminB: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { now: () => new Date(clock) } });
    admin = await server.token('admin@clinic-a.test');
    nurse = await server.token('nurse@clinic-a.test');
    adminId = (await server.app.outpost.store.findUserByEmail('admin@clinic-a.test'))?.id ?? '';
    adminB = await signToken(
      { sub: 'admin-b', tenant: 'clinic-b', roles: ['admin'] },
      { now: new Date(clock), expiresInSeconds: 6 * 60 * 60 },
    );
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function read(token = admin): Promise<AlertThresholdsResponse> {
    const res = await server.request({ method: 'GET', url, token });
    expect(res.status).toBe(200);
    return alertThresholdsResponseSchema.parse(res.body);
  }

  async function put(body: unknown, token = admin) {
    return server.request({ method: 'PUT', url, token, body });
  }

  async function statsThresholds(token = admin) {
    const res = await server.request({ method: 'GET', url: '/v1/sync/stats/devices', token });
    expect(res.status).toBe(200);
    return deviceStatsResponseSchema.parse(res.body).alertThresholds;
  }

  it('answers the defaults before any clinic set its own, in the statistics too', async () => {
    expect(await read()).toEqual(defaults);
    expect(await read(adminB)).toEqual(defaults);
    expect(await statsThresholds()).toEqual(syncAlertThresholds);
  });

  it("keeps an administrator's thresholds, says who set them when, and judges the statistics by them", async () => {
    clock = Date.parse('2026-03-02T09:15:00.000Z');
    const res = await put({ thresholds: watchful });
    expect(res.status).toBe(200);
    const expected = {
      thresholds: watchful,
      custom: true,
      updatedAt: '2026-03-02T09:15:00.000Z',
      updatedBy: adminId,
      updatedByEmail: 'admin@clinic-a.test',
    };
    expect(alertThresholdsResponseSchema.parse(res.body)).toEqual(expected);
    expect(await read()).toEqual(expected);
    expect(await statsThresholds()).toEqual(watchful);

    // Changed again: the whole set is replaced.
    clock = Date.parse('2026-03-02T09:20:00.000Z');
    const again = { ...watchful, openConflictsAtLeast: 1 };
    expect((await put({ thresholds: again })).status).toBe(200);
    expect(await read()).toMatchObject({ thresholds: again, updatedAt: '2026-03-02T09:20:00.000Z' });
  });

  it('goes back to the defaults on { thresholds: null }', async () => {
    expect((await put({ thresholds: watchful })).status).toBe(200);
    const res = await put({ thresholds: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(defaults);
    expect(await read()).toEqual(defaults);
    expect(await statsThresholds()).toEqual(syncAlertThresholds);
    // Asking for the defaults again changes nothing more.
    expect((await put({ thresholds: null })).body).toEqual(defaults);
  });

  it('refuses a clinician (403 FORBIDDEN) for reading and for changing, and changes nothing', async () => {
    expect((await put({ thresholds: watchful })).status).toBe(200);
    const before = await fingerprint(server.app.outpost.store);
    for (const body of [
      { thresholds: { ...watchful, silentWarningAfterMs: 2 * hour } },
      { thresholds: null },
    ]) {
      const res = await put(body, nurse);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        error: { code: 'FORBIDDEN', message: 'alert thresholds are for administrators' },
      });
    }
    const got = await server.request({ method: 'GET', url, token: nurse });
    expect(got.status).toBe(403);
    expect(got.body).toMatchObject({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    expect((await read()).thresholds).toEqual(watchful);
  });

  it('refuses bad input with 400 and the error shape, and changes nothing', async () => {
    expect((await put({ thresholds: watchful })).status).toBe(200);
    const stored = await read();
    const before = await fingerprint(server.app.outpost.store);
    const bad: Array<[string, unknown, string]> = [
      [
        'a time as text',
        { thresholds: { ...watchful, silentWarningAfterMs: '1 day' } },
        'thresholds.silentWarningAfterMs',
      ],
      [
        'a rate as text',
        { thresholds: { ...watchful, failureRateAbove: '5%' } },
        'thresholds.failureRateAbove',
      ],
      [
        'a part of a millisecond',
        { thresholds: { ...watchful, slowMedianAboveMs: hour + 0.5 } },
        'thresholds.slowMedianAboveMs',
      ],
      [
        'under an hour',
        { thresholds: { ...watchful, silentWarningAfterMs: hour - 1 } },
        'thresholds.silentWarningAfterMs',
      ],
      [
        'over a year',
        { thresholds: { ...watchful, silentCriticalAfterMs: 366 * day } },
        'thresholds.silentCriticalAfterMs',
      ],
      [
        'every change failing',
        { thresholds: { ...watchful, failureRateAbove: 1 } },
        'thresholds.failureRateAbove',
      ],
      [
        'a negative rate',
        { thresholds: { ...watchful, failureRateAbove: -0.1 } },
        'thresholds.failureRateAbove',
      ],
      [
        'no conflict at all',
        { thresholds: { ...watchful, openConflictsAtLeast: 0 } },
        'thresholds.openConflictsAtLeast',
      ],
      [
        'half a conflict',
        { thresholds: { ...watchful, openConflictsAtLeast: 1.5 } },
        'thresholds.openConflictsAtLeast',
      ],
      [
        'urgent before the check',
        { thresholds: { ...watchful, silentWarningAfterMs: 3 * day, silentCriticalAfterMs: 2 * day } },
        'thresholds.silentCriticalAfterMs',
      ],
      ['an unknown threshold', { thresholds: { ...watchful, quietHours: 2 } }, 'thresholds'],
      ['an unknown key beside', { thresholds: watchful, clinic: 'clinic-b' }, ''],
      [
        'a threshold left out',
        { thresholds: { ...watchful, slowMedianAboveMs: undefined } },
        'thresholds.slowMedianAboveMs',
      ],
      ['no thresholds', {}, 'thresholds'],
      ['thresholds as a list', { thresholds: [day, 2 * day] }, 'thresholds'],
      ['the thresholds alone', watchful, ''],
    ];
    for (const [what, body, path] of bad) {
      const res = await put(body);
      expect(res.status, what).toBe(400);
      expect(res.body, what).toMatchObject({
        error: { code: 'VALIDATION_FAILED', message: 'alert thresholds is invalid' },
      });
      const details = (res.body as { error: { details: Array<{ path: string; message: string }> } }).error
        .details;
      expect(
        details.some((d) => d.path === path && d.message.length > 0),
        `${what}: ${JSON.stringify(details)}`,
      ).toBe(true);
    }
    // Not JSON, no body, another content type, a prototype key: refused before the route reads it.
    for (const [what, payload, contentType, status] of [
      ['malformed JSON', '{"thresholds": {"silentWarningAfterMs": 864', 'application/json', 400],
      ['an empty body', '', 'application/json', 400],
      ['a prototype key', `{"thresholds": null, "__proto__": {"custom": true}}`, 'application/json', 400],
      ['a form', 'thresholds=null', 'application/x-www-form-urlencoded', 415],
    ] as const) {
      const res = await server.app.inject({
        method: 'PUT',
        url,
        headers: { authorization: `Bearer ${admin}`, 'content-type': contentType },
        payload,
      });
      expect(res.statusCode, what).toBe(status);
      expect(JSON.parse(res.body), what).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    expect(await read()).toEqual(stored);
  });

  it("keeps each clinic's thresholds apart: clinic-b neither reads nor changes clinic-a's", async () => {
    expect((await put({ thresholds: watchful })).status).toBe(200);
    const clinicA = await read();
    expect(await read(adminB)).toEqual(defaults);
    expect(await statsThresholds(adminB)).toEqual(syncAlertThresholds);

    const relaxed = {
      ...syncAlertThresholds,
      silentWarningAfterMs: 5 * day,
      silentCriticalAfterMs: 10 * day,
    };
    const untouched = await fingerprint(server.app.outpost.store, 'clinic-a');
    const res = await put({ thresholds: relaxed }, adminB);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      thresholds: relaxed,
      custom: true,
      updatedBy: 'admin-b',
      updatedByEmail: null,
    });
    expect(await read(adminB)).toMatchObject({ thresholds: relaxed });
    expect(await statsThresholds(adminB)).toEqual(relaxed);
    expect((await put({ thresholds: null }, adminB)).status).toBe(200);
    // clinic-a's stays as it was, in its answers and in the database.
    expect(await fingerprint(server.app.outpost.store, 'clinic-a')).toEqual(untouched);
    expect(await read()).toEqual(clinicA);
    expect(await statsThresholds()).toEqual(watchful);
  });

  it('audits each change: who, when, and whether to own thresholds or the defaults', async () => {
    clock = Date.parse('2026-03-02T11:00:00.000Z');
    expect((await put({ thresholds: watchful })).status).toBe(200);
    clock = Date.parse('2026-03-02T11:05:00.000Z');
    expect((await put({ thresholds: null })).status).toBe(200);
    // A refused change is no change: the 400 below is not in the trail as one.
    expect((await put({ thresholds: { ...watchful, openConflictsAtLeast: 0 } })).status).toBe(400);

    const res = await server.request({
      method: 'GET',
      url: '/v1/audit?action=setting-changed&from=2026-03-02T10:30:00Z',
      token: admin,
    });
    expect(res.status).toBe(200);
    const { events } = auditResponseSchema.parse(res.body);
    expect(events.map((e) => [e.at, e.userId, e.email, e.action, e.recordId, e.outcome])).toEqual([
      [
        '2026-03-02T11:05:00.000Z',
        adminId,
        'admin@clinic-a.test',
        'setting-changed',
        'alert-thresholds',
        'defaults',
      ],
      [
        '2026-03-02T11:00:00.000Z',
        adminId,
        'admin@clinic-a.test',
        'setting-changed',
        'alert-thresholds',
        'custom',
      ],
    ]);
    // clinic-b's changes are in clinic-b's trail only.
    const all = auditResponseSchema.parse(
      (await server.request({ method: 'GET', url: '/v1/audit?action=setting-changed', token: admin })).body,
    );
    expect(all.events.every((e) => e.userId === adminId)).toBe(true);
    const trailB = auditResponseSchema.parse(
      (await server.request({ method: 'GET', url: '/v1/audit?action=setting-changed', token: adminB })).body,
    );
    expect(trailB.events.map((e) => [e.userId, e.outcome])).toEqual([
      ['admin-b', 'defaults'],
      ['admin-b', 'custom'],
    ]);
  });

  it('keeps the thresholds across a restart on the same data', async () => {
    const storage = await createStorage(kind);
    try {
      const first = await startTestServer(kind, { storage, server: { now: () => new Date(clock) } });
      const token = await first.token('admin@clinic-a.test');
      const set = await first.request({ method: 'PUT', url, token, body: { thresholds: watchful } });
      expect(set.status).toBe(200);
      await first.close();

      const second = await startTestServer(kind, { storage, server: { now: () => new Date(clock) } });
      const res = await second.request({ method: 'GET', url, token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(set.body);
      expect(res.body).toMatchObject({ thresholds: watchful, custom: true });
      const stats = await second.request({ method: 'GET', url: '/v1/sync/stats/devices', token });
      expect(deviceStatsResponseSchema.parse(stats.body).alertThresholds).toEqual(watchful);
      await second.close();
    } finally {
      await storage.destroy();
    }
  });
});
