// A clinic's screen lock, kept on the server (decision 0048): GET /v1/clinic-settings for anyone
// signed in to the clinic (each tablet applies it), PUT /v1/admin/screen-lock for administrators,
// per clinic, audited. On SQLite files and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditResponseSchema, clinicSettingsResponseSchema } from '@outpost/core';
import type { ClinicSettingsResponse } from '@outpost/core';
import { createStorage, dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint } from './security/fingerprint';
import { signToken } from './security/tokens';

const settingsUrl = '/v1/clinic-settings';
const lockUrl = '/v1/admin/screen-lock';

const byDefault: ClinicSettingsResponse = {
  screenLock: { afterMinutes: 10, custom: false, updatedAt: null, updatedBy: null, updatedByEmail: null },
};

describe.each(dialects())('the screen lock per clinic on %s', (kind) => {
  let server: TestServer;
  let clock = Date.parse('2026-03-02T09:00:00.000Z');
  let admin: string;
  let adminId: string;
  let nurse: string;
  /** clinic-b's clinician, and its administrator as its identity provider signs them. */
  let nurseB: string;
  let adminB: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { now: () => new Date(clock) } });
    admin = await server.token('admin@clinic-a.test');
    nurse = await server.token('nurse@clinic-a.test');
    nurseB = await server.token('nurse@clinic-b.test');
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

  async function read(token = nurse): Promise<ClinicSettingsResponse> {
    const res = await server.request({ method: 'GET', url: settingsUrl, token });
    expect(res.status).toBe(200);
    return clinicSettingsResponseSchema.parse(res.body);
  }

  async function put(body: unknown, token = admin) {
    return server.request({ method: 'PUT', url: lockUrl, token, body });
  }

  it('locks after 10 minutes before the clinic sets anything, for every clinic', async () => {
    expect(await read()).toEqual(byDefault);
    expect(await read(admin)).toEqual(byDefault);
    expect(await read(nurseB)).toEqual(byDefault);
  });

  it("keeps an administrator's minutes, says who set them when, and every clinician reads them", async () => {
    clock = Date.parse('2026-03-02T09:15:00.000Z');
    const res = await put({ screenLock: { afterMinutes: 2 } });
    expect(res.status).toBe(200);
    const expected = {
      screenLock: {
        afterMinutes: 2,
        custom: true,
        updatedAt: '2026-03-02T09:15:00.000Z',
        updatedBy: adminId,
        updatedByEmail: 'admin@clinic-a.test',
      },
    };
    expect(clinicSettingsResponseSchema.parse(res.body)).toEqual(expected);
    expect(res.body).toEqual(expected);
    // The nurse's tablet learns it: the one reading that matters.
    expect(await read(nurse)).toEqual(expected);

    // Never: tablets a single person carries.
    clock = Date.parse('2026-03-02T09:20:00.000Z');
    expect((await put({ screenLock: { afterMinutes: null } })).status).toBe(200);
    expect(await read()).toEqual({
      screenLock: { ...expected.screenLock, afterMinutes: null, updatedAt: '2026-03-02T09:20:00.000Z' },
    });
    // The bounds themselves are taken.
    for (const afterMinutes of [1, 240]) {
      expect((await put({ screenLock: { afterMinutes } })).status).toBe(200);
      expect((await read()).screenLock.afterMinutes).toBe(afterMinutes);
    }
  });

  it('goes back to the default on { screenLock: null }', async () => {
    expect((await put({ screenLock: { afterMinutes: 30 } })).status).toBe(200);
    const res = await put({ screenLock: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(byDefault);
    expect(await read()).toEqual(byDefault);
    // Asking for the default again changes nothing more.
    expect((await put({ screenLock: null })).body).toEqual(byDefault);
  });

  it('refuses bad input with 400 and a message in words, and stores nothing', async () => {
    expect((await put({ screenLock: { afterMinutes: 15 } })).status).toBe(200);
    const stored = await read();
    const before = await fingerprint(server.app.outpost.store);
    const bad: Array<[string, unknown, string]> = [
      ['no minutes', { screenLock: { afterMinutes: 0 } }, 'the screen lock must be at least 1 minute'],
      ['a negative time', { screenLock: { afterMinutes: -5 } }, 'the screen lock must be at least 1 minute'],
      [
        'a whole day',
        { screenLock: { afterMinutes: 1440 } },
        'the screen lock must be at most 240 minutes (4 hours)',
      ],
      [
        'half a minute',
        { screenLock: { afterMinutes: 2.5 } },
        'the screen lock must be a whole number of minutes',
      ],
      [
        'minutes as text',
        { screenLock: { afterMinutes: '10' } },
        'the screen lock must be a number of minutes, or null for never',
      ],
      [
        'no minutes given',
        { screenLock: {} },
        'the screen lock must be a number of minutes, or null for never',
      ],
      [
        'seconds beside',
        { screenLock: { afterMinutes: 10, afterSeconds: 30 } },
        'the screen lock takes afterMinutes only, not afterSeconds',
      ],
      [
        'another clinic named',
        { screenLock: null, tenant: 'clinic-b' },
        'the request takes screenLock only, not tenant',
      ],
      [
        'the minutes alone',
        { afterMinutes: 10 },
        'the screen lock must be { "afterMinutes": minutes or null }, or null for the default',
      ],
      [
        'a bare number',
        { screenLock: 10 },
        'the screen lock must be { "afterMinutes": minutes or null }, or null for the default',
      ],
      [
        'a list',
        [10],
        'send { "screenLock": { "afterMinutes": minutes or null } }, or { "screenLock": null } for the default',
      ],
    ];
    for (const [what, body, message] of bad) {
      const res = await put(body);
      expect(res.status, what).toBe(400);
      expect(res.body, what).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
      expect((res.body as { error: { message: string } }).error.message, what).toContain(message);
    }
    // Not JSON, no body, another content type, a prototype key: refused before the route reads it.
    for (const [what, payload, contentType, status] of [
      ['malformed JSON', '{"screenLock": {"afterMinutes": 1', 'application/json', 400],
      ['an empty body', '', 'application/json', 400],
      ['a prototype key', '{"screenLock": null, "__proto__": {"custom": true}}', 'application/json', 400],
      ['a form', 'afterMinutes=1', 'application/x-www-form-urlencoded', 415],
    ] as const) {
      const res = await server.app.inject({
        method: 'PUT',
        url: lockUrl,
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

  it("refuses a clinician's change (403 FORBIDDEN) before reading it, and changes nothing", async () => {
    expect((await put({ screenLock: { afterMinutes: 15 } })).status).toBe(200);
    const stored = await read();
    const before = await fingerprint(server.app.outpost.store);
    // Good and bad bodies alike: what a clinician sends is not looked at.
    for (const body of [
      { screenLock: { afterMinutes: null } },
      { screenLock: null },
      { screenLock: 'never' },
    ]) {
      const res = await put(body, nurse);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        error: { code: 'FORBIDDEN', message: 'the screen lock is set by administrators' },
      });
    }
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    expect(await read()).toEqual(stored);
    // Signed in with no token: 401, as every route.
    expect((await server.request({ method: 'GET', url: settingsUrl })).status).toBe(401);
  });

  it("keeps each clinic's apart: clinic-b neither reads nor changes clinic-a's", async () => {
    expect((await put({ screenLock: { afterMinutes: 5 } })).status).toBe(200);
    const clinicA = await read();
    expect(await read(nurseB)).toEqual(byDefault);

    const untouched = await fingerprint(server.app.outpost.store, 'clinic-a');
    const res = await put({ screenLock: { afterMinutes: null } }, adminB);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      screenLock: { afterMinutes: null, custom: true, updatedBy: 'admin-b', updatedByEmail: null },
    });
    expect((await read(nurseB)).screenLock.afterMinutes).toBeNull();
    // clinic-a's stays as it was, in its answers and in the database.
    expect(await fingerprint(server.app.outpost.store, 'clinic-a')).toEqual(untouched);
    expect(await read()).toEqual(clinicA);
    expect((await put({ screenLock: null }, adminB)).status).toBe(200);
    expect(await read()).toEqual(clinicA);
  });

  it('audits each change: who, when, and to minutes, never or the default', async () => {
    clock = Date.parse('2026-03-02T11:00:00.000Z');
    expect((await put({ screenLock: { afterMinutes: 3 } })).status).toBe(200);
    clock = Date.parse('2026-03-02T11:05:00.000Z');
    expect((await put({ screenLock: { afterMinutes: null } })).status).toBe(200);
    clock = Date.parse('2026-03-02T11:10:00.000Z');
    expect((await put({ screenLock: null })).status).toBe(200);
    // A refused change is no change: the 400 and the 403 below are not in the trail as one.
    expect((await put({ screenLock: { afterMinutes: 0 } })).status).toBe(400);
    expect((await put({ screenLock: { afterMinutes: 3 } }, nurse)).status).toBe(403);

    const res = await server.request({
      method: 'GET',
      url: '/v1/audit?action=setting-changed&from=2026-03-02T10:30:00Z',
      token: admin,
    });
    expect(res.status).toBe(200);
    const { events } = auditResponseSchema.parse(res.body);
    expect(events.map((e) => [e.at, e.email, e.action, e.recordId, e.outcome])).toEqual([
      ['2026-03-02T11:10:00.000Z', 'admin@clinic-a.test', 'setting-changed', 'screen-lock', 'defaults'],
      ['2026-03-02T11:05:00.000Z', 'admin@clinic-a.test', 'setting-changed', 'screen-lock', 'never'],
      ['2026-03-02T11:00:00.000Z', 'admin@clinic-a.test', 'setting-changed', 'screen-lock', 'custom'],
    ]);
    expect(events.every((e) => e.userId === adminId)).toBe(true);
    // clinic-b's changes are in clinic-b's trail only.
    const trailB = auditResponseSchema.parse(
      (await server.request({ method: 'GET', url: '/v1/audit?action=setting-changed', token: adminB })).body,
    );
    expect(trailB.events.map((e) => [e.userId, e.recordId, e.outcome])).toEqual([
      ['admin-b', 'screen-lock', 'defaults'],
      ['admin-b', 'screen-lock', 'never'],
    ]);
  });

  it('keeps the screen lock across a restart on the same data', async () => {
    const storage = await createStorage(kind);
    try {
      const first = await startTestServer(kind, { storage, server: { now: () => new Date(clock) } });
      const token = await first.token('admin@clinic-a.test');
      const set = await first.request({
        method: 'PUT',
        url: lockUrl,
        token,
        body: { screenLock: { afterMinutes: 45 } },
      });
      expect(set.status).toBe(200);
      await first.close();

      const second = await startTestServer(kind, { storage, server: { now: () => new Date(clock) } });
      const res = await second.request({ method: 'GET', url: settingsUrl, token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(set.body);
      expect(res.body).toMatchObject({ screenLock: { afterMinutes: 45, custom: true } });
      await second.close();
    } finally {
      await storage.destroy();
    }
  });
});
