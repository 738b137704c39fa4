// Sessions that outlive an access token (decision 0032): refresh tokens handed out at login,
// exchanged one for the next at each refresh, a used one sent again ending its family (but for a
// short grace that answers a lost exchange again), logout, and what is stored: hashes only. On real
// SQLite files and a real PostgreSQL.
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { refreshResponseSchema, uuidv7 } from '@outpost/core';
import type { RefreshResponse } from '@outpost/core';
import { createSyncServer, openSqlite } from '../src/index';
import { fieldClinic } from '@outpost/examples';
import { dialects, password, startTestServer, testSecret } from './server-fixture';
import type { Storage, TestEmail, TestServer } from './server-fixture';
import { push } from './sync-client';
import { freePort } from './free-port';
import { exitCode, spawnStartCommand, stopCommand, untilRunning } from './start-command-process';

const hour = 60 * 60 * 1000;
const day = 24 * hour;
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const tokenForm = /^[A-Za-z0-9_-]{43}$/;

interface ErrorAnswer {
  error: { code: string; message: string };
}

/** A clock the test moves; the server reads it for tokens, expiry and the grace. */
function testClock() {
  const clock = { ms: Date.parse('2031-03-01T08:00:00.000Z'), now: () => new Date(clock.ms) };
  return clock;
}

type RefreshTokenRowOnDisk = {
  token_hash: string;
  tenant: string;
  user_id: string;
  family_id: string;
  issued_at: string;
  expires_at: string;
  used_at: string | null;
  replaced_by: string | null;
  revoked_at: string | null;
};

async function rows(server: TestServer): Promise<RefreshTokenRowOnDisk[]> {
  return server.app.outpost.store.db
    .selectFrom('refresh_tokens')
    .selectAll()
    .orderBy('issued_at')
    .orderBy('token_hash')
    .execute();
}

async function sessionAudit(server: TestServer, tenant: string) {
  const events = await server.app.outpost.store.auditEvents(tenant, 10_000);
  return events
    .filter((e) => ['login', 'refresh', 'refresh-failed', 'logout'].includes(e.action))
    .map((e) => [e.action, e.outcome, e.deviceId]);
}

describe.each(dialects())('refresh tokens on %s', (kind) => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      await s.close();
      await s.storage.destroy();
    }
  });

  async function start(clock = testClock(), auth: Record<string, unknown> = {}) {
    const server = await startTestServer(kind, {
      server: { now: clock.now, auth: { jwtSecret: testSecret, ...auth } },
    });
    servers.push(server);
    return server;
  }

  async function login(server: TestServer, email: TestEmail) {
    const res = await server.request<RefreshResponse>({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email, password },
    });
    expect(res.status).toBe(200);
    return res.body;
  }

  function refresh(server: TestServer, refreshToken: unknown, extra: Record<string, unknown> = {}) {
    return server.request<RefreshResponse & ErrorAnswer>({
      method: 'POST',
      url: '/v1/auth/refresh',
      body: { refreshToken, ...extra },
    });
  }

  function logout(server: TestServer, refreshToken: unknown) {
    return server.request<ErrorAnswer | null>({
      method: 'POST',
      url: '/v1/auth/logout',
      body: { refreshToken },
    });
  }

  function expectRefused(res: { status: number; body: unknown }, status: number, code: string) {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toMatchObject({ error: { code, message: expect.any(String) } });
  }

  /** A second instance of `server`'s database, as behind a load balancer, on the same clock. */
  function secondInstance(server: TestServer, clock: ReturnType<typeof testClock>) {
    return startTestServer(kind, {
      storage: server.storage,
      server: { now: clock.now, auth: { jwtSecret: testSecret } },
    });
  }

  const statusOf = async (on: TestServer, token: string) =>
    (await on.request({ method: 'GET', url: '/v1/sync/status', token })).status;

  /** The token is refused 401 for a pull and a push alike, the pull saying `why`. */
  async function expectSyncRefused(server: TestServer, token: string, why: RegExp) {
    const refused = await server.request<ErrorAnswer>({ method: 'GET', url: '/v1/sync/pull', token });
    expectRefused(refused, 401, 'UNAUTHORIZED');
    expect(refused.body.error.message).toMatch(why);
    expectRefused(
      await server.request({ method: 'POST', url: '/v1/sync/push', token, body: { deviceId: 'd', ops: [] } }),
      401,
      'UNAUTHORIZED',
    );
  }

  it('login gives a refresh token; a refresh gives a working access token and the next refresh token; the used one sent after the grace ends the family', async () => {
    const clock = testClock();
    const server = await start(clock);
    const first = await login(server, 'nurse@clinic-a.test');
    expect(first.refreshToken).toMatch(tokenForm);
    expect(first.refreshExpiresAt).toBe(new Date(clock.ms + 30 * day).toISOString());

    // Three days offline: the access token expired long ago.
    clock.ms += 3 * day;
    const stale = await server.request({ method: 'GET', url: '/v1/sync/pull', token: first.token });
    expectRefused(stale, 401, 'UNAUTHORIZED');

    const second = await refresh(server, first.refreshToken, { deviceId: 'tablet-7' });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(refreshResponseSchema.parse(second.body)).toEqual(second.body);
    expect(second.body.refreshToken).toMatch(tokenForm);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect(second.body.user).toEqual(first.user);
    expect(second.body.expiresAt).toBe(new Date(clock.ms + 12 * hour).toISOString());
    expect(second.body.refreshExpiresAt).toBe(new Date(clock.ms + 30 * day).toISOString());

    // The new access token syncs: a push applies, a pull reads it back.
    const id = uuidv7();
    const pushed = await push(server, second.body.token, [
      { collection: 'patients', type: 'create', id, data: { name: 'Typed offline' } },
    ]);
    expect(pushed.results[0]?.status).toBe('applied');
    const pulled = await server.request<{ changes: Array<{ id: string }> }>({
      method: 'GET',
      url: '/v1/sync/pull',
      token: second.body.token,
    });
    expect(pulled.status).toBe(200);
    expect(pulled.body.changes.map((c) => c.id)).toContain(id);

    // The used token, sent again after the grace: two holders of one token. Refused, and the whole
    // family with it: the token the device holds now is refused too.
    clock.ms += 61_000;
    const stolen = await refresh(server, first.refreshToken);
    expectRefused(stolen, 401, 'UNAUTHORIZED');
    expectRefused(await refresh(server, second.body.refreshToken), 401, 'UNAUTHORIZED');
    // A token of another login (another device of hers) goes on.
    const other = await login(server, 'nurse@clinic-a.test');
    expect((await refresh(server, other.refreshToken)).status).toBe(200);

    const stored = await rows(server);
    const family = stored.filter((r) => r.family_id === stored[0]?.family_id);
    expect(family).toHaveLength(2);
    expect(family.every((r) => r.revoked_at !== null)).toBe(true);
    // The other login's family: its first token used, its second the one live token left.
    const live = stored.filter((r) => r.revoked_at === null);
    expect(live.map((r) => (r.used_at === null ? 'live' : 'used')).sort()).toEqual(['live', 'used']);
    expect(await sessionAudit(server, 'clinic-a')).toEqual([
      ['login', 'ok', null],
      ['refresh', 'ok', 'tablet-7'],
      ['refresh-failed', 'reused', null],
      ['refresh-failed', 'revoked', null],
      ['login', 'ok', null],
      ['refresh', 'ok', null],
    ]);
  });

  it('a lost answer: the used token sent again within the grace gets the same next token, which works', async () => {
    const clock = testClock();
    const server = await start(clock);
    const first = await login(server, 'nurse@clinic-a.test');
    clock.ms += 13 * hour;
    const answered = await refresh(server, first.refreshToken);
    expect(answered.status).toBe(200);

    // The answer never reached the tablet; it tries again 40 s later with the token it still holds.
    clock.ms += 40_000;
    const again = await refresh(server, first.refreshToken);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.refreshToken).toBe(answered.body.refreshToken);
    expect(again.body.refreshExpiresAt).toBe(answered.body.refreshExpiresAt);
    const pulled = await server.request({ method: 'GET', url: '/v1/sync/pull', token: again.body.token });
    expect(pulled.status).toBe(200);
    // Nothing more was stored: the exchange was answered again, not made twice.
    expect(await rows(server)).toHaveLength(2);

    // The tablet goes on with what it got; once that is used, the first token coming back (even
    // within the grace) is not a lost answer, and ends the family.
    clock.ms += 5_000;
    const third = await refresh(server, again.body.refreshToken);
    expect(third.status).toBe(200);
    expectRefused(await refresh(server, first.refreshToken), 401, 'UNAUTHORIZED');
    expectRefused(await refresh(server, third.body.refreshToken), 401, 'UNAUTHORIZED');
    expect(await sessionAudit(server, 'clinic-a')).toEqual([
      ['login', 'ok', null],
      ['refresh', 'ok', null],
      ['refresh', 'repeated', null],
      ['refresh', 'ok', null],
      ['refresh-failed', 'reused', null],
      ['refresh-failed', 'revoked', null],
    ]);
  });

  it('refuses expired, unknown, malformed and misshapen tokens, and another clinic cannot be reached, never 5xx and storing nothing', async () => {
    const clock = testClock();
    const server = await start(clock);
    const nurse = await login(server, 'nurse@clinic-a.test');
    const clinicB = await login(server, 'nurse@clinic-b.test');
    const expiring = await login(server, 'admin@clinic-a.test');
    clock.ms += 30 * day + 1000;
    // nurse and clinic-b refreshed in time (their own 30 days start again); the admin did not.
    clock.ms -= 2000;
    const nurseNow = await refresh(server, nurse.refreshToken);
    const clinicBNow = await refresh(server, clinicB.refreshToken);
    expect([nurseNow.status, clinicBNow.status]).toEqual([200, 200]);
    clock.ms += 2000 + 61_000;
    const before = await rows(server);

    const unauthorized: unknown[] = [
      expiring.refreshToken,
      randomBytes(32).toString('base64url'),
      // Malformed: short, too long, outside base64url, an access token, padded base64.
      'abc',
      `${nurseNow.body.refreshToken}A`,
      `${nurseNow.body.refreshToken.slice(0, 42)}+`,
      nurseNow.body.token,
      `${randomBytes(32).toString('base64')}`,
      ' '.repeat(43),
    ];
    for (const token of unauthorized) {
      const res = await refresh(server, token);
      expectRefused(res, 401, 'UNAUTHORIZED');
      expect(res.body.error.message).toBe('refresh token is not valid: sign in again');
    }
    const misshapen: unknown[] = [
      undefined,
      null,
      5,
      '',
      'x'.repeat(513),
      ['a'],
      { token: nurseNow.body.refreshToken },
    ];
    for (const value of misshapen) expectRefused(await refresh(server, value), 400, 'VALIDATION_FAILED');
    for (const body of ['not json', '[]', '"text"', '{"refreshToken":"a","deviceId":7}']) {
      const res = await server.request({ method: 'POST', url: '/v1/auth/refresh', body });
      expectRefused(res, 400, 'VALIDATION_FAILED');
    }
    // Nothing stored, nothing changed: the live tokens still work after all that.
    expect(await rows(server)).toEqual(before);

    // clinic-b's token, sent with clinic-a's bearer and a tenant of its own choosing, is clinic-b's
    // session: the tenant comes from the stored token, and clinic-a's records are not found with it.
    const crossed = await server.request<RefreshResponse>({
      method: 'POST',
      url: '/v1/auth/refresh',
      token: nurseNow.body.token,
      body: { refreshToken: clinicBNow.body.refreshToken, tenant: 'clinic-a', user: { tenant: 'clinic-a' } },
    });
    expect(crossed.status).toBe(200);
    expect(crossed.body.user.tenant).toBe('clinic-b');
    expect(decodeJwt(crossed.body.token)).toMatchObject({ tenant: 'clinic-b', roles: ['clinician'] });
    const id = uuidv7();
    await push(server, nurseNow.body.token, [
      { collection: 'patients', type: 'create', id, data: { name: 'A' } },
    ]);
    const read = await server.request({
      method: 'GET',
      url: `/v1/records/patients/${id}`,
      token: crossed.body.token,
    });
    expectRefused(read, 404, 'NOT_FOUND');

    // A user moved to another clinic (or removed) holds no session of the old one: 401, family ended.
    const count = (await rows(server)).length;
    const db = server.app.outpost.store.db;
    await db
      .updateTable('users')
      .set({ tenant: 'clinic-b' })
      .where('email', '=', 'nurse@clinic-a.test')
      .execute();
    expectRefused(await refresh(server, nurseNow.body.refreshToken), 401, 'UNAUTHORIZED');
    await db
      .updateTable('users')
      .set({ tenant: 'clinic-a' })
      .where('email', '=', 'nurse@clinic-a.test')
      .execute();
    expectRefused(await refresh(server, nurseNow.body.refreshToken), 401, 'UNAUTHORIZED');
    await db.deleteFrom('users').where('email', '=', 'nurse@clinic-b.test').execute();
    expectRefused(await refresh(server, crossed.body.refreshToken), 401, 'UNAUTHORIZED');
    expect(await rows(server)).toHaveLength(count);
    // Every family ended but the admin's, whose one token merely expired.
    expect((await rows(server)).filter((r) => r.revoked_at === null).map((r) => r.token_hash)).toEqual([
      sha256Hex(expiring.refreshToken),
    ]);

    expect(await sessionAudit(server, 'clinic-a')).toEqual([
      ['login', 'ok', null],
      ['login', 'ok', null],
      ['refresh', 'ok', null],
      ['refresh-failed', 'expired', null],
      ['refresh-failed', 'user-unknown', null],
      ['refresh-failed', 'revoked', null],
    ]);
    expect((await sessionAudit(server, 'clinic-b')).map(([a, o]) => `${a} ${o}`)).toEqual([
      'login ok',
      'refresh ok',
      'refresh ok',
      'refresh-failed user-unknown',
    ]);
    // Tokens no row holds name nobody: audited without tenant or user, and never the token's text.
    const nobody = (await sessionAudit(server, '')).map(([a, o]) => `${a} ${o}`);
    expect(nobody).toEqual([
      'refresh-failed unknown',
      ...Array.from({ length: 6 }, () => 'refresh-failed malformed'),
    ]);
    const audit = JSON.stringify(await server.app.outpost.store.auditEvents('', 10_000));
    for (const token of [nurse.refreshToken, nurseNow.body.refreshToken, expiring.refreshToken])
      expect(audit).not.toContain(token);
  });

  it('each refresh starts 30 days again, up to 90 days from the login: then the password is asked', async () => {
    const clock = testClock();
    const server = await start(clock);
    const loggedInAt = clock.ms;
    let current = (await login(server, 'nurse@clinic-a.test')).refreshToken;
    for (let n = 1; n <= 4; n++) {
      clock.ms += 20 * day;
      const res = await refresh(server, current);
      expect(res.status, `refresh ${n}`).toBe(200);
      expect(res.body.refreshExpiresAt).toBe(
        new Date(Math.min(clock.ms + 30 * day, loggedInAt + 90 * day)).toISOString(),
      );
      current = res.body.refreshToken;
    }
    // 80 days in, the last token says it ends at day 90; at day 90 it is refused.
    clock.ms = loggedInAt + 90 * day;
    expectRefused(await refresh(server, current), 401, 'UNAUTHORIZED');
    expect((await sessionAudit(server, 'clinic-a')).at(-1)).toEqual(['refresh-failed', 'expired', null]);
  });

  it('takes its lifetimes from auth.refreshTtlSeconds and auth.refreshMaxAgeSeconds, and refuses nonsense ones', async () => {
    const clock = testClock();
    const server = await start(clock, { refreshTtlSeconds: 3600, refreshMaxAgeSeconds: 7200 });
    const loggedInAt = clock.ms;
    const first = await login(server, 'nurse@clinic-a.test');
    expect(first.refreshExpiresAt).toBe(new Date(loggedInAt + 3600_000).toISOString());
    clock.ms += 3000_000;
    const second = await refresh(server, first.refreshToken);
    expect(second.body.refreshExpiresAt).toBe(new Date(clock.ms + 3600_000).toISOString());
    clock.ms += 3000_000;
    const third = await refresh(server, second.body.refreshToken);
    expect(third.body.refreshExpiresAt).toBe(new Date(loggedInAt + 7200_000).toISOString());
    clock.ms = loggedInAt + 7200_000;
    expectRefused(await refresh(server, third.body.refreshToken), 401, 'UNAUTHORIZED');

    for (const bad of [0, -1, 1.5, Number.NaN]) {
      const database = await openSqlite(':memory:');
      await expect(
        createSyncServer({
          schema: fieldClinic,
          database,
          auth: { jwtSecret: testSecret, refreshTtlSeconds: bad },
        }),
      ).rejects.toThrow(/auth.refreshTtlSeconds/);
      await database.close();
    }
  });

  it('logout ends the family: its tokens are refused afterwards; an unknown token is answered 204 alike', async () => {
    const clock = testClock();
    const server = await start(clock);
    const first = await login(server, 'nurse@clinic-a.test');
    const second = await refresh(server, first.refreshToken);
    const out = await logout(server, second.body.refreshToken);
    expect(out.status).toBe(204);
    expect(out.body).toBeNull();
    expectRefused(await refresh(server, second.body.refreshToken), 401, 'UNAUTHORIZED');
    // Within the grace of its use, the first token gets nothing either: its family is over.
    expectRefused(await refresh(server, first.refreshToken), 401, 'UNAUTHORIZED');
    // A logout with an older token of a family ends it just the same.
    const other = await login(server, 'nurse@clinic-a.test');
    const otherNext = await refresh(server, other.refreshToken);
    expect((await logout(server, other.refreshToken)).status).toBe(204);
    expectRefused(await refresh(server, otherNext.body.refreshToken), 401, 'UNAUTHORIZED');

    const before = await rows(server);
    // No oracle: unknown, malformed and already-ended tokens get the same empty 204.
    for (const token of [randomBytes(32).toString('base64url'), 'abc', second.body.refreshToken]) {
      const res = await logout(server, token);
      expect(res.status).toBe(204);
      expect(res.body).toBeNull();
    }
    expectRefused(await logout(server, 42), 400, 'VALIDATION_FAILED');
    expect(await rows(server)).toEqual(before);
    expect((await sessionAudit(server, 'clinic-a')).map(([a, o]) => `${a} ${o}`)).toEqual([
      'login ok',
      'refresh ok',
      'logout ok',
      'refresh-failed revoked',
      'refresh-failed revoked',
      'login ok',
      'refresh ok',
      'logout ok',
      'refresh-failed revoked',
      'logout ok',
    ]);
    expect((await sessionAudit(server, '')).map(([a, o]) => `${a} ${o}`)).toEqual([
      'logout unknown',
      'logout unknown',
    ]);
  });

  it('end-sessions ends every session of a user on every device (a lost tablet); an admin names anyone of the clinic, a clinician only themselves', async () => {
    const clock = testClock();
    const server = await start(clock);
    const tabletA = await login(server, 'nurse@clinic-a.test');
    const tabletB = await login(server, 'nurse@clinic-a.test');
    const bRenewed = await refresh(server, tabletB.refreshToken);
    const admin = await login(server, 'admin@clinic-a.test');
    const nurseId = tabletA.user.id;
    const endSessions = (token: string, body: unknown) =>
      server.request<{ ended: number } & ErrorAnswer>({
        method: 'POST',
        url: '/v1/auth/end-sessions',
        token,
        body,
      });

    // A clinician may not end another person's sessions, whoever they are: nothing changes.
    const before = await rows(server);
    expectRefused(await endSessions(tabletA.token, { userId: admin.user.id }), 403, 'FORBIDDEN');
    expectRefused(await endSessions(tabletA.token, { userId: 'no-such-user' }), 403, 'FORBIDDEN');
    // Another clinic's clinician is refused as any clinician is; another workplace's administrator
    // finds no such user, as for one who never existed.
    const otherClinic = await login(server, 'nurse@clinic-b.test');
    expectRefused(await endSessions(otherClinic.token, { userId: nurseId }), 403, 'FORBIDDEN');
    const vetAdmin = await login(server, 'admin@vet-a.test');
    expectRefused(await endSessions(vetAdmin.token, { userId: nurseId }), 404, 'NOT_FOUND');
    expectRefused(await endSessions(vetAdmin.token, { userId: 'no-such-user' }), 404, 'NOT_FOUND');
    expectRefused(await endSessions(admin.token, { userId: nurseId, extra: 1 }), 400, 'VALIDATION_FAILED');
    expectRefused(await endSessions(admin.token, {}), 400, 'VALIDATION_FAILED');
    expect((await rows(server)).filter((r) => r.user_id === nurseId)).toEqual(
      before.filter((r) => r.user_id === nurseId),
    );

    // The admin ends both of the nurse's sessions: neither tablet renews any more.
    const ended = await endSessions(admin.token, { userId: nurseId });
    expect(ended.status).toBe(200);
    expect(ended.body).toEqual({ ended: 2 });
    expectRefused(await refresh(server, tabletA.refreshToken), 401, 'UNAUTHORIZED');
    expectRefused(await refresh(server, bRenewed.body.refreshToken), 401, 'UNAUTHORIZED');
    // Nobody else's session was touched: the admin still renews.
    expect((await refresh(server, admin.refreshToken)).status).toBe(200);
    // Again: nothing left to end.
    expect((await endSessions(admin.token, { userId: nurseId })).body).toEqual({ ended: 0 });
    // Anyone may end their own: the nurse signs in again and ends hers from a third tablet.
    const third = await login(server, 'nurse@clinic-a.test');
    expect((await endSessions(third.token, { userId: nurseId })).body).toEqual({ ended: 1 });
    expectRefused(await refresh(server, third.refreshToken), 401, 'UNAUTHORIZED');

    const trail = await server.app.outpost.store.auditEvents('clinic-a', 10_000);
    expect(
      trail.filter((e) => e.action === 'sessions-ended').map((e) => [e.userId, e.recordId, e.outcome]),
    ).toEqual([
      [admin.user.id, nurseId, '2 ended'],
      [admin.user.id, nurseId, '0 ended'],
      [nurseId, nurseId, '1 ended'],
    ]);
  });

  it('end-sessions refuses the access tokens already given at once, here and on another instance within 5 s; a sign-in afterwards works at once', async () => {
    const clock = testClock();
    const server = await start(clock);
    // A second instance of the same database, as behind a load balancer.
    const other = await secondInstance(server, clock);
    try {
      const lost = await login(server, 'nurse@clinic-a.test');
      const renewed = (await refresh(server, (await login(server, 'nurse@clinic-a.test')).refreshToken)).body;
      const admin = await login(server, 'admin@clinic-a.test');
      for (const token of [lost.token, renewed.token, admin.token]) {
        expect(await statusOf(server, token)).toBe(200);
        expect(await statusOf(other, token)).toBe(200);
      }

      const ended = await server.request<{ ended: number }>({
        method: 'POST',
        url: '/v1/auth/end-sessions',
        token: admin.token,
        body: { userId: lost.user.id },
      });
      expect(ended.body).toEqual({ ended: 2 });
      // Here at once, the clock not moved: both of the nurse's tokens, the renewed one too.
      for (const token of [lost.token, renewed.token]) {
        await expectSyncRefused(server, token, /ended: sign in again/);
      }
      expect(await statusOf(server, admin.token)).toBe(200);
      // The other instance read the nurse's generation a moment ago; within 5 s it reads it again.
      clock.ms += 5_000;
      expect(await statusOf(other, lost.token)).toBe(401);
      expect(await statusOf(other, renewed.token)).toBe(401);
      expect(await statusOf(other, admin.token)).toBe(200);

      // The nurse signs in again in the same second: her new token works on both instances.
      const again = await login(server, 'nurse@clinic-a.test');
      expect(decodeJwt(again.token).sv).toBe(1);
      expect(await statusOf(server, again.token)).toBe(200);
      expect(await statusOf(other, again.token)).toBe(200);
      expect(await statusOf(other, (await refresh(other, again.refreshToken)).body.token)).toBe(200);

      // Each refusal is in the audit, as the lost tablet's.
      const trail = await server.app.outpost.store.auditEvents('clinic-a', 10_000);
      const refusals = trail.filter((e) => e.action === 'refused' && e.outcome === 'ended-session');
      expect(refusals.length).toBeGreaterThanOrEqual(4);
      expect(new Set(refusals.map((e) => e.userId))).toEqual(new Set([lost.user.id]));
    } finally {
      await other.close();
    }
  });

  it("logout refuses the access tokens of that session at once, here and on another instance within 5 s; the person's other sessions go on", async () => {
    const clock = testClock();
    const server = await start(clock);
    const other = await secondInstance(server, clock);
    try {
      // The tablet signed out, with the token it had before its last refresh and the one after.
      const tablet = await login(server, 'nurse@clinic-a.test');
      const renewed = (await refresh(server, tablet.refreshToken)).body;
      // Each access token names its session, the family of the refresh tokens stored.
      const [family] = new Set((await rows(server)).map((r) => r.family_id));
      expect(decodeJwt(tablet.token).sid).toBe(family);
      expect(decodeJwt(renewed.token).sid).toBe(family);
      // The same nurse on her phone: another session.
      const phone = await login(server, 'nurse@clinic-a.test');
      expect(decodeJwt(phone.token).sid).not.toBe(family);
      // A token from before access tokens named their session: nothing to end it by but its user.
      const older = await server.app.outpost.tokens.issue(
        { userId: tablet.user.id, tenant: 'clinic-a', roles: tablet.user.roles, sessionGeneration: 0 },
        clock.now(),
      );
      for (const token of [tablet.token, renewed.token, phone.token, older.token]) {
        expect(await statusOf(server, token)).toBe(200);
        expect(await statusOf(other, token)).toBe(200);
      }

      expect((await logout(server, renewed.refreshToken)).status).toBe(204);
      // Here at once, the clock not moved: both access tokens of the tablet's session.
      for (const token of [tablet.token, renewed.token]) {
        await expectSyncRefused(server, token, /signed out: sign in again/);
      }
      expect(await statusOf(server, phone.token)).toBe(200);
      expect(await statusOf(server, older.token)).toBe(200);
      // The other instance read the session a moment ago; within 5 s it reads it again.
      clock.ms += 5_000;
      expect(await statusOf(other, tablet.token)).toBe(401);
      expect(await statusOf(other, renewed.token)).toBe(401);
      expect(await statusOf(other, phone.token)).toBe(200);

      // A refresh token used twice ends its session as a thief's would: its access tokens with it,
      // on every instance once each reads the session again.
      const next = (await refresh(server, phone.refreshToken)).body;
      clock.ms += 61_000;
      expectRefused(await refresh(server, phone.refreshToken), 401, 'UNAUTHORIZED');
      clock.ms += 5_000;
      for (const token of [phone.token, next.token]) {
        expect(await statusOf(server, token)).toBe(401);
        expect(await statusOf(other, token)).toBe(401);
      }

      // A sign-in afterwards works at once, on both.
      const again = await login(server, 'nurse@clinic-a.test');
      expect(await statusOf(server, again.token)).toBe(200);
      expect(await statusOf(other, again.token)).toBe(200);

      const trail = await server.app.outpost.store.auditEvents('clinic-a', 10_000);
      const refusals = trail.filter((e) => e.action === 'refused' && e.outcome === 'signed-out');
      expect(refusals.length).toBeGreaterThanOrEqual(4);
      expect(new Set(refusals.map((e) => e.userId))).toEqual(new Set([tablet.user.id]));
    } finally {
      await other.close();
    }
  });

  it('a token inserted into a family while it was being revoked is still refused', async () => {
    // On PostgreSQL, a revocation's UPDATE does not see a row a rotation commits after it began:
    // any revoked row of a family refuses every token of it.
    const clock = testClock();
    const server = await start(clock);
    const first = await login(server, 'nurse@clinic-a.test');
    const [row] = await rows(server);
    if (!row) throw new Error('no row');
    expect((await logout(server, first.refreshToken)).status).toBe(204);
    const late = randomBytes(32).toString('base64url');
    await server.app.outpost.store.refreshTokens.insert({
      hash: sha256Hex(late),
      tenant: row.tenant,
      userId: row.user_id,
      familyId: row.family_id,
      familyIssuedAt: row.issued_at,
      issuedAt: clock.now().toISOString(),
      expiresAt: new Date(clock.ms + day).toISOString(),
    });
    expectRefused(await refresh(server, late), 401, 'UNAUTHORIZED');
    expect((await rows(server)).every((r) => r.revoked_at !== null)).toBe(true);
  });

  it('concurrent refreshes of one token: one next token for all of them, never two live families', async () => {
    const clock = testClock();
    const server = await start(clock);
    const first = await login(server, 'nurse@clinic-a.test');
    const answers = await Promise.all(Array.from({ length: 12 }, () => refresh(server, first.refreshToken)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(new Set(answers.map((a) => a.body.refreshToken)).size).toBe(1);
    let stored = await rows(server);
    expect(stored).toHaveLength(2);
    expect(new Set(stored.map((r) => r.family_id)).size).toBe(1);
    expect(stored.filter((r) => r.used_at === null && r.revoked_at === null)).toHaveLength(1);
    const outcomes = (await sessionAudit(server, 'clinic-a')).map(([a, o]) => `${a} ${o}`);
    expect(outcomes.filter((o) => o === 'refresh ok')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'refresh repeated')).toHaveLength(11);

    // The next token, sent at once by twelve, and the one before it by twelve more after the grace:
    // every reuse is refused, none fails, and the family ends whole.
    const next = answers[0]?.body.refreshToken ?? '';
    clock.ms += 61_000;
    const racing = await Promise.all([
      ...Array.from({ length: 12 }, () => refresh(server, next)),
      ...Array.from({ length: 12 }, () => refresh(server, first.refreshToken)),
    ]);
    for (const res of racing) expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    expect(racing.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(12);
    // Whatever was answered 200 in that race is one next token of the family, and refused now.
    const won = new Set(racing.filter((r) => r.status === 200).map((r) => r.body.refreshToken));
    expect(won.size).toBeLessThanOrEqual(1);
    for (const token of won) expectRefused(await refresh(server, token), 401, 'UNAUTHORIZED');
    stored = await rows(server);
    expect(new Set(stored.map((r) => r.family_id)).size).toBe(1);
    expect(stored.filter((r) => r.revoked_at === null)).toEqual([]);
  });

  it('the refreshed token carries the roles the user has now', async () => {
    const clock = testClock();
    const server = await start(clock);
    const admin = await login(server, 'admin@clinic-a.test');
    const stats = (token: string) => server.request({ method: 'GET', url: '/v1/sync/stats', token });
    expect((await stats(admin.token)).status).toBe(200);
    await server.app.outpost.store.db
      .updateTable('users')
      .set({ roles: JSON.stringify(['clinician']) })
      .where('email', '=', 'admin@clinic-a.test')
      .execute();
    const next = await refresh(server, admin.refreshToken);
    expect(next.status).toBe(200);
    expect(next.body.user.roles).toEqual(['clinician']);
    expect(decodeJwt(next.body.token)).toMatchObject({ tenant: 'clinic-a', roles: ['clinician'] });
    expectRefused(await stats(next.body.token), 403, 'FORBIDDEN');
    // Given back, the role comes back at the next refresh.
    await server.app.outpost.store.db
      .updateTable('users')
      .set({ roles: JSON.stringify(['admin', 'clinician']) })
      .where('email', '=', 'admin@clinic-a.test')
      .execute();
    const again = await refresh(server, next.body.refreshToken);
    expect(again.body.user.roles).toEqual(['admin', 'clinician']);
    expect((await stats(again.body.token)).status).toBe(200);
  });

  it('counts refresh and logout against the address, like login', async () => {
    const server = await startTestServer(kind, {
      server: { limits: { rateLimitPerMinute: 4 } },
    });
    servers.push(server);
    const first = await login(server, 'nurse@clinic-a.test');
    expect((await refresh(server, first.refreshToken)).status).toBe(200);
    expectRefused(await refresh(server, 'abc'), 401, 'UNAUTHORIZED');
    expect((await logout(server, 'abc')).status).toBe(204);
    const limited = await refresh(server, first.refreshToken);
    expectRefused(limited, 429, 'RATE_LIMITED');
    expectRefused(await logout(server, first.refreshToken), 429, 'RATE_LIMITED');
    // Refused before the route: nothing was revoked.
    const stored = await rows(server);
    expect(stored).toHaveLength(2);
    expect(stored.every((r) => r.revoked_at === null)).toBe(true);
  });

  it('purges a family once its every token expired, and keeps the others', async () => {
    const clock = testClock();
    const server = await start(clock);
    const old = await login(server, 'nurse@clinic-a.test');
    clock.ms += 20 * day;
    const kept = await login(server, 'nurse@clinic-a.test');
    clock.ms += 11 * day;
    // The old family's only token expired a day ago; the other has nine days left.
    expect(await server.app.outpost.store.refreshTokens.purge(clock.now().toISOString())).toBe(1);
    const left = await rows(server);
    expect(left.map((r) => r.token_hash)).toEqual([sha256Hex(kept.refreshToken)]);
    expectRefused(await refresh(server, old.refreshToken), 401, 'UNAUTHORIZED');
    expect((await refresh(server, kept.refreshToken)).status).toBe(200);
  });
});

describe('refresh tokens across a restart on SQLite', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a refresh token survives a restart on the same data folder, and the database holds only its hash', async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-refresh-'));
    const storage: Storage = {
      kind: 'sqlite',
      open: () => openSqlite(join(dir, 'outpost.sqlite')),
      destroy: async () => undefined,
    };
    const first = await startTestServer('sqlite', { storage });
    const login = await first.request<RefreshResponse>({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email: 'nurse@clinic-a.test', password },
    });
    const { refreshToken } = login.body;
    await first.close();

    const second = await startTestServer('sqlite', { storage });
    try {
      const next = await second.request<RefreshResponse>({
        method: 'POST',
        url: '/v1/auth/refresh',
        body: { refreshToken },
      });
      expect(next.status).toBe(200);
      const pulled = await second.request({ method: 'GET', url: '/v1/sync/pull', token: next.body.token });
      expect(pulled.status).toBe(200);

      const stored = await second.app.outpost.store.db.selectFrom('refresh_tokens').selectAll().execute();
      expect(stored.map((r) => r.token_hash).sort()).toEqual(
        [sha256Hex(refreshToken), sha256Hex(next.body.refreshToken)].sort(),
      );
      for (const token of [refreshToken, next.body.refreshToken]) {
        expect(JSON.stringify(stored)).not.toContain(token);
        // Nor anywhere in the files: the database, its write-ahead log.
        const files = readdirSync(dir).map((file) => ({ file, bytes: readFileSync(join(dir, file)) }));
        for (const { file, bytes } of files)
          expect(bytes.includes(Buffer.from(token)), `${file} holds a refresh token`).toBe(false);
        // The hash is there, as text: the search would have found the token had it been stored so.
        expect(files.some(({ bytes }) => bytes.includes(Buffer.from(sha256Hex(token))))).toBe(true);
      }
    } finally {
      await second.close();
    }
  });
});

describe('npm start: refresh lifetimes from the environment', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) await stopCommand(child);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function startCommand(port: number, env: Record<string, string>) {
    const dataDir = mkdtempSync(join(tmpdir(), 'outpost-refresh-start-'));
    dirs.push(dataDir);
    const started = spawnStartCommand({ PORT: String(port), OUTPOST_DATA: dataDir, ...env });
    children.push(started.child);
    return started;
  }

  it('takes OUTPOST_REFRESH_TTL_SECONDS and OUTPOST_REFRESH_MAX_AGE_SECONDS, and stops on nonsense naming the variable', async () => {
    const port = await freePort();
    const server = startCommand(port, {
      OUTPOST_REFRESH_TTL_SECONDS: '3600',
      OUTPOST_REFRESH_MAX_AGE_SECONDS: '1800',
    });
    await untilRunning(server);
    const before = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nurse@clinic-a.test', password: 'outpost-demo' }),
    });
    const body = (await res.json()) as RefreshResponse;
    // The earlier of the two: 30 minutes from the login.
    const expires = Date.parse(body.refreshExpiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 1800_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 1800_000);

    for (const [name, value] of [
      ['OUTPOST_REFRESH_TTL_SECONDS', '30d'],
      ['OUTPOST_REFRESH_MAX_AGE_SECONDS', '0'],
    ] as const) {
      const refused = startCommand(await freePort(), { [name]: value });
      expect(await exitCode(refused)).toBe(1);
      expect(refused.output()).toContain(
        `${name}: expected a whole number of seconds from 1, got "${value}"`,
      );
    }
  });
});
