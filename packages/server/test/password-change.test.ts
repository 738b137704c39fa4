// A person's own password (decision 0047): POST /v1/auth/password changes it, proving the current
// one, ends their other sessions and answers a new one. A person an administrator added, or gave
// a new password, signs in with a password the administrator knows: every route but the change
// (and the schema a sign-in page reads) refuses them 403 until they choose their own. On SQLite
// files and PostgreSQL.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginResponseSchema, peopleResponseSchema, personResponseSchema, uuidv7 } from '@outpost/core';
import type { LoginResponse } from '@outpost/core';
import { dialects, password, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint } from './security/fingerprint';
import { signToken } from './security/tokens';
import { push } from './sync-client';

interface ErrorAnswer {
  error: { code: string; message: string; details?: unknown };
}

const firstPassword = 'the password the office chose';
const ownPassword = 'a password only Amina knows';

describe.each(dialects())('choosing one’s own password on %s', (kind) => {
  let server: TestServer;
  let admin: string;
  let aminaId: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    admin = await server.token('admin@clinic-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  const login = (email: string, pass: string) =>
    server.request<LoginResponse & ErrorAnswer>({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email, password: pass },
    });
  const changePassword = (token: string, body: unknown) =>
    server.request<LoginResponse & ErrorAnswer>({ method: 'POST', url: '/v1/auth/password', token, body });
  const refresh = (refreshToken: string) =>
    server.request<ErrorAnswer>({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken } });
  const statusOf = async (token: string, url = '/v1/sync/status') =>
    (await server.request({ method: 'GET', url, token })).status;
  const events = async (action: string) =>
    (await server.app.outpost.store.auditEvents('clinic-a', 10_000))
      .filter((e) => e.action === action)
      .map((e) => [e.userId, e.recordId, e.outcome]);
  const person = async (id: string) =>
    peopleResponseSchema
      .parse((await server.request({ method: 'GET', url: '/v1/admin/users', token: admin })).body)
      .people.find((p) => p.id === id);

  it('a person an administrator added is refused everything but the change until she chooses her own', async () => {
    const added = await server.request({
      method: 'POST',
      url: '/v1/admin/users',
      token: admin,
      body: { email: 'amina@clinic-a.test', password: firstPassword, roles: ['clinician'] },
    });
    expect(added.status).toBe(201);
    aminaId = personResponseSchema.parse(added.body).person.id;
    expect(personResponseSchema.parse(added.body).person.passwordChangeDue).toBe(true);

    const signedIn = await login('amina@clinic-a.test', firstPassword);
    expect(signedIn.status).toBe(200);
    expect(loginResponseSchema.parse(signedIn.body).user).toEqual({
      id: aminaId,
      tenant: 'clinic-a',
      roles: ['clinician'],
      passwordChangeDue: true,
    });
    const { token, refreshToken = '' } = signedIn.body;

    // Her records and every other route wait; what the sign-in page reads of the clinic does not.
    const before = await fingerprint(server.app.outpost.store);
    for (const url of ['/v1/sync/pull', '/v1/sync/status', '/v1/conflicts', '/api/v1/sync/stats']) {
      const res = await server.request<ErrorAnswer>({ method: 'GET', url, token });
      expect(res.status, url).toBe(403);
      expect(res.body.error).toEqual({
        code: 'FORBIDDEN',
        message:
          'choose your own password first (POST /v1/auth/password): this one was set by an administrator',
      });
    }
    const pushed = await server.request({
      method: 'POST',
      url: '/v1/sync/push',
      token,
      body: {
        clientId: 'amina-tablet',
        deviceId: 'amina-tablet',
        ops: [{ opId: uuidv7(), hlc: '1', collection: 'patients', type: 'create', id: uuidv7(), data: {} }],
      },
    });
    expect(pushed.status).toBe(403);
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    expect(await statusOf(token, '/v1/schema')).toBe(200);
    const refusals = (await server.app.outpost.store.auditEvents('clinic-a', 10_000)).filter(
      (e) => e.action === 'refused' && e.userId === aminaId,
    );
    expect(refusals.map((e) => e.outcome)).toEqual(Array(5).fill('password-change-due'));

    // A refresh gives her a token that still waits for the change.
    const renewed = await refresh(refreshToken);
    expect(renewed.status).toBe(200);
    const renewedToken = loginResponseSchema.parse(renewed.body).token;
    expect(decodeJwt(renewedToken).pcd).toBe(true);
    expect(await statusOf(renewedToken)).toBe(403);
  });

  it('refuses a wrong current password (403, audited) and a bad new one (400 in words), changing nothing', async () => {
    const { token } = (await login('amina@clinic-a.test', firstPassword)).body;
    const before = await fingerprint(server.app.outpost.store);
    const wrong = await changePassword(token, {
      currentPassword: 'not her password',
      newPassword: ownPassword,
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error).toMatchObject({ code: 'FORBIDDEN', message: 'the current password is wrong' });
    const bad: Array<[unknown, string]> = [
      [
        { currentPassword: firstPassword, newPassword: 'too short' },
        'password must be at least 12 characters',
      ],
      [
        { currentPassword: firstPassword, newPassword: firstPassword },
        'the new password must differ from the current one',
      ],
      [
        { currentPassword: firstPassword, newPassword: '123456789012' },
        'password is too easy to guess: This is a commonly used password.',
      ],
      // Long enough, but made of her own email: the first thing a guesser tries (decision 0053).
      [
        { currentPassword: firstPassword, newPassword: 'amina@clinic-a.test' },
        'password is too easy to guess',
      ],
      [{ currentPassword: firstPassword }, 'password must be text'],
      [
        { currentPassword: firstPassword, newPassword: ownPassword, role: 'admin' },
        'Unrecognized key: "role"',
      ],
      ['"not an object"', 'expected object'],
    ];
    for (const [body, message] of bad) {
      const res = await changePassword(token, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message, JSON.stringify(body)).toContain(message);
    }
    expect(
      (await changePassword('', { currentPassword: firstPassword, newPassword: ownPassword })).status,
    ).toBe(401);
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    expect(await events('password-change-failed')).toEqual([[aminaId, aminaId, 'wrong-password']]);
    expect(await events('password-changed')).toEqual([]);
    // The first password still signs her in, still waiting for the change.
    expect((await login('amina@clinic-a.test', firstPassword)).body.user?.passwordChangeDue).toBe(true);
  });

  it('her own password ends every earlier session, and the new session syncs', async () => {
    const tablet = (await login('amina@clinic-a.test', firstPassword)).body;
    const phone = (await login('amina@clinic-a.test', firstPassword)).body;
    const changed = await changePassword(tablet.token, {
      currentPassword: firstPassword,
      newPassword: ownPassword,
      deviceId: 'amina-tablet',
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const session = loginResponseSchema.parse(changed.body);
    expect(session.user).toEqual({ id: aminaId, tenant: 'clinic-a', roles: ['clinician'] });
    expect(session.refreshToken).toEqual(expect.any(String));
    expect(decodeJwt(session.token).pcd).toBeUndefined();

    // The new session works, and renews itself without the change coming back.
    const pushed = await push(server, session.token, [
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Amina’s first patient' } },
    ]);
    expect(pushed.results[0]?.status).toBe('applied');
    const renewed = await refresh(session.refreshToken ?? '');
    expect(renewed.status).toBe(200);
    expect(loginResponseSchema.parse(renewed.body).user.passwordChangeDue).toBeUndefined();

    // Both earlier sessions are over: their access tokens and their refresh tokens.
    for (const earlier of [tablet, phone]) {
      expect(await statusOf(earlier.token)).toBe(401);
      expect((await refresh(earlier.refreshToken ?? '')).status).toBe(401);
    }
    expect((await login('amina@clinic-a.test', firstPassword)).status).toBe(401);
    const again = await login('amina@clinic-a.test', ownPassword);
    expect(again.status).toBe(200);
    expect(again.body.user?.passwordChangeDue).toBeUndefined();
    expect(await statusOf(again.body.token)).toBe(200);

    expect(await events('password-changed')).toEqual([[aminaId, aminaId, 'ok']]);
    const audited = (await server.app.outpost.store.auditEvents('clinic-a', 10_000)).find(
      (e) => e.action === 'password-changed',
    );
    expect(audited?.deviceId).toBe('amina-tablet');
    expect((await person(aminaId))?.passwordChangeDue).toBe(false);
  });

  it('a new password an administrator sets is due to be changed again', async () => {
    const res = await server.request({
      method: 'PATCH',
      url: `/v1/admin/users/${aminaId}`,
      token: admin,
      body: { password: 'the office resets it' },
    });
    expect(res.status).toBe(200);
    expect(personResponseSchema.parse(res.body).person.passwordChangeDue).toBe(true);
    const signedIn = await login('amina@clinic-a.test', 'the office resets it');
    expect(signedIn.body.user?.passwordChangeDue).toBe(true);
    expect(await statusOf(signedIn.body.token)).toBe(403);
    const changed = await changePassword(signedIn.body.token, {
      currentPassword: 'the office resets it',
      newPassword: 'Amina chose again',
    });
    expect(changed.status).toBe(200);
    expect(await statusOf(changed.body.token)).toBe(200);
  });

  it('anyone may change their own; of two changes made at once with the same password, one wins', async () => {
    const nurse = (await login('nurse@clinic-a.test', password)).body;
    expect(nurse.user?.passwordChangeDue).toBeUndefined();
    const [a, b] = await Promise.all([
      changePassword(nurse.token, { currentPassword: password, newPassword: 'the nurse on her tablet' }),
      changePassword(nurse.token, { currentPassword: password, newPassword: 'the nurse on her phone' }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body.error.message).toBe('the password was changed meanwhile: sign in again');
    const winner = a.status === 200 ? 'the nurse on her tablet' : 'the nurse on her phone';
    const other = a.status === 200 ? 'the nurse on her phone' : 'the nurse on her tablet';
    expect((await login('nurse@clinic-a.test', winner)).status).toBe(200);
    expect((await login('nurse@clinic-a.test', other)).status).toBe(401);
    expect(await events('password-changed')).toHaveLength(3);
  });

  it('a person of the clinic’s identity provider is told their password is not kept here', async () => {
    const outsider = await signToken({ sub: 'idp-person', tenant: 'clinic-a', roles: ['clinician'] });
    const res = await changePassword(outsider, {
      currentPassword: 'anything',
      newPassword: 'anything else here',
    });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toBe("this account's password is kept by the clinic's sign-in service");
  });
});
