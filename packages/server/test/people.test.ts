// A clinic's people, managed by its administrators (decision 0044): GET and POST /v1/admin/users,
// PATCH /v1/admin/users/:id. A person added signs in and pushes; a disabled one cannot sign in,
// renew a session or use the token in hand; a new password or other roles end every session at
// once; a clinic never locks itself out; every change is audited; no answer nor log line holds a
// password or its hash. On SQLite files and PostgreSQL.
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditResponseSchema, peopleResponseSchema, personResponseSchema, uuidv7 } from '@outpost/core';
import type { Person, RefreshResponse } from '@outpost/core';
import { dialects, password, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint } from './security/fingerprint';
import { signToken } from './security/tokens';
import { push } from './sync-client';

const url = '/v1/admin/users';
const midwifeEmail = 'grace@clinic-a.test';
const firstPassword = 'first password of grace';
/** The password she chooses at her first sign-in (decision 0047). */
const ownPassword = 'grace chose this herself';
const secondPassword = 'second password of grace';
const ownSecondPassword = 'grace chose this one too';

interface ErrorAnswer {
  error: { code: string; message: string };
}

describe.each(dialects())('people of a clinic on %s', (kind) => {
  let server: TestServer;
  const logLines: string[] = [];
  /** Every answer's text, for the check that none holds a password or a hash. */
  const answers: string[] = [];
  let admin: string;
  let adminId: string;
  let nurse: string;
  let midwife: Person;

  beforeAll(async () => {
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    server = await startTestServer(kind, { server: { logger: { level: 'trace', stream: logs } } });
    admin = await server.token('admin@clinic-a.test');
    nurse = await server.token('nurse@clinic-a.test');
    adminId = (await server.app.outpost.store.findUserByEmail('admin@clinic-a.test'))?.id ?? '';
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function send<T = unknown>(options: Parameters<TestServer['request']>[0]) {
    const res = await server.request<T>(options);
    answers.push(JSON.stringify(res.body));
    return res;
  }

  async function login(email: string, pass: string) {
    return send<RefreshResponse & ErrorAnswer>({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email, password: pass },
    });
  }

  /** Signs in with a password the office set, and chooses her own, as the app makes her (decision 0047). */
  async function chooseOwn(email: string, given: string, own: string) {
    const first = await login(email, given);
    expect(first.body.user.passwordChangeDue).toBe(true);
    const res = await send<RefreshResponse>({
      method: 'POST',
      url: '/v1/auth/password',
      token: first.body.token,
      body: { currentPassword: given, newPassword: own },
    });
    expect(res.status).toBe(200);
    return res.body;
  }

  const refresh = (refreshToken: string) =>
    send<RefreshResponse & ErrorAnswer>({ method: 'POST', url: '/v1/auth/refresh', body: { refreshToken } });
  const status = async (token: string) =>
    (await send({ method: 'GET', url: '/v1/sync/status', token })).status;
  const change = (id: string, body: unknown, token = admin) =>
    send<{ person: Person } & ErrorAnswer>({ method: 'PATCH', url: `${url}/${id}`, token, body });

  async function list(token = admin) {
    const res = await send({ method: 'GET', url, token });
    expect(res.status).toBe(200);
    return peopleResponseSchema.parse(res.body);
  }

  /** The clinic's audit of people, oldest first: action, outcome, who, whom. */
  async function peopleAudit(tenant = 'clinic-a') {
    const events = await server.app.outpost.store.auditEvents(tenant, 10_000);
    return events
      .filter((e) => e.action === 'user-created' || e.action === 'user-changed')
      .map((e) => [e.action, e.outcome, e.userId, e.recordId]);
  }

  it('an administrator adds a midwife, who signs in and pushes; the list shows her, never a hash', async () => {
    const before = await list();
    expect(before.people.map((p) => p.email)).toEqual(['admin@clinic-a.test', 'nurse@clinic-a.test']);
    expect(before.roles).toEqual(['admin', 'clinician']);
    expect(before.adminRoles).toEqual(['admin']);

    const res = await send({
      method: 'POST',
      url,
      token: admin,
      body: { email: ' Grace@Clinic-A.test', password: firstPassword, roles: ['clinician'] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    midwife = personResponseSchema.parse(res.body).person;
    expect(midwife).toMatchObject({
      email: midwifeEmail,
      roles: ['clinician'],
      disabled: false,
      disabledAt: null,
    });
    expect(Object.keys(res.body as object)).toEqual(['person']);

    const signedIn = await login('GRACE@clinic-a.test', firstPassword);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user).toEqual({
      id: midwife.id,
      tenant: 'clinic-a',
      roles: ['clinician'],
      passwordChangeDue: true,
    });
    const own = await chooseOwn(midwifeEmail, firstPassword, ownPassword);
    const pushed = await push(server, own.token, [
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Grace’s first patient' } },
    ]);
    expect(pushed.results[0]?.status).toBe('applied');

    const after = await list();
    expect(after.people.map((p) => [p.email, p.roles, p.disabled])).toEqual([
      ['admin@clinic-a.test', ['admin'], false],
      [midwifeEmail, ['clinician'], false],
      ['nurse@clinic-a.test', ['clinician'], false],
    ]);
    // Another clinic's administrator sees their own people only.
    const otherAdmin = await signToken({ sub: 'admin-b', tenant: 'clinic-b', roles: ['admin'] });
    expect((await list(otherAdmin)).people.map((p) => p.email)).toEqual(['nurse@clinic-b.test']);
    expect(await peopleAudit()).toEqual([['user-created', 'ok', adminId, midwife.id]]);
  });

  it('refuses a clinician on every route (403) before reading anything, and stores nothing', async () => {
    const before = await fingerprint(server.app.outpost.store);
    for (const [method, path, body] of [
      ['GET', url, undefined],
      ['POST', url, { email: 'x@clinic-a.test', password: 'long enough password', roles: ['admin'] }],
      ['PATCH', `${url}/${adminId}`, { disabled: true }],
      ['PATCH', `${url}/${uuidv7()}`, { roles: ['admin'] }],
    ] as const) {
      const res = await send<ErrorAnswer>({ method, url: path, token: nurse, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error).toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringMatching(/administrators/),
      });
    }
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
  });

  it('refuses bad input (400), an unknown role (400) and a taken email (409, any clinic), storing nothing', async () => {
    const store = server.app.outpost.store;
    const before = await fingerprint(store);
    const good = { email: 'new@clinic-a.test', password: 'long enough password', roles: ['clinician'] };
    const cases: Array<[unknown, number, RegExp]> = [
      [{ ...good, email: 'not an email' }, 400, /email must look like/],
      [{ ...good, password: 'too short' }, 400, /at least 12 characters/],
      [{ ...good, password: 'x'.repeat(1025) }, 400, /at most 1024/],
      // Long enough, but among a guesser's first tries (decision 0053): common, or her own email.
      [{ ...good, password: 'qwertyuiopasdf' }, 400, /password is too easy to guess/],
      [{ ...good, password: 'new@clinic-a.test' }, 400, /password is too easy to guess/],
      [{ ...good, roles: [] }, 400, /at least one role/],
      [
        { ...good, roles: ['surgeon'] },
        400,
        /unknown role "surgeon": this clinic's roles are admin, clinician/,
      ],
      [{ ...good, admin: true }, 400, /./],
      ['{"email":', 400, /./],
      [{ ...good, email: 'NURSE@clinic-b.test' }, 409, /already signs in with this email/],
      [{ ...good, email: midwifeEmail }, 409, /already/],
    ];
    for (const [body, code, message] of cases) {
      const res = await send<ErrorAnswer>({ method: 'POST', url, token: admin, body });
      expect(res.status, JSON.stringify(body)).toBe(code);
      expect(res.body.error.code).toBe(code === 400 ? 'VALIDATION_FAILED' : 'CONFLICT');
      expect(res.body.error.message).toMatch(message);
    }
    for (const body of [
      {},
      { disabled: 'yes' },
      { roles: ['surgeon'] },
      { password: 'short' },
      { password: 'passwordpassword' },
      { email: 'x@y.z' },
    ]) {
      const res = await change(midwife.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect(await fingerprint(store)).toEqual(before);
  });

  it("answers 404 for another clinic's person and for nobody, and leaves them untouched", async () => {
    const store = server.app.outpost.store;
    const other = await store.findUserByEmail('nurse@clinic-b.test');
    const before = await fingerprint(store);
    for (const id of [other?.id ?? '', uuidv7(), 'x'.repeat(129)]) {
      for (const body of [{ disabled: true }, { password: 'a new password for her' }, { roles: ['admin'] }]) {
        const res = await change(encodeURIComponent(id), body);
        expect(res.status).toBe(404);
        expect(res.body.error).toEqual({ code: 'NOT_FOUND', message: 'no such person' });
      }
    }
    expect(await fingerprint(store)).toEqual(before);
    expect((await login('nurse@clinic-b.test', password)).status).toBe(200);
  });

  it('disabling her refuses at once her access token, her refresh and her sign-in; enabling lets her in again', async () => {
    const session = (await login(midwifeEmail, ownPassword)).body;
    expect(await status(session.token)).toBe(200);

    const disabled = await change(midwife.id, { disabled: true });
    expect(disabled.status).toBe(200);
    expect(disabled.body.person).toMatchObject({ disabled: true, disabledAt: expect.any(String) });
    expect(await status(session.token)).toBe(401);
    expect((await refresh(session.refreshToken)).status).toBe(401);
    const refused = await login(midwifeEmail, ownPassword);
    const wrong = await login(midwifeEmail, 'not her password at all');
    // The same answer as a wrong password: nobody learns that the account exists.
    expect([refused.status, refused.body]).toEqual([wrong.status, wrong.body]);
    expect(refused.status).toBe(401);
    const failures = (await server.app.outpost.store.auditEvents('clinic-a', 10_000))
      .filter((e) => e.action === 'login-failed' && e.userId === midwife.id)
      .map((e) => e.outcome);
    expect(failures.slice(-2)).toEqual(['disabled', 'wrong-password']);
    expect((await list()).people.find((p) => p.id === midwife.id)?.disabled).toBe(true);

    // Disabling her again changes nothing and audits nothing more.
    const audited = (await peopleAudit()).length;
    expect((await change(midwife.id, { disabled: true })).body.person.disabledAt).toBe(
      disabled.body.person.disabledAt,
    );
    expect(await peopleAudit()).toHaveLength(audited);

    const enabled = await change(midwife.id, { disabled: false });
    expect(enabled.body.person).toMatchObject({ disabled: false, disabledAt: null });
    const again = await login(midwifeEmail, ownPassword);
    expect(again.status).toBe(200);
    expect(await status(again.body.token)).toBe(200);
    expect((await peopleAudit()).slice(-2)).toEqual([
      ['user-changed', 'disabled', adminId, midwife.id],
      ['user-changed', 'enabled', adminId, midwife.id],
    ]);
  });

  it('a new password ends her sessions at once, and only the new password signs her in', async () => {
    const session = (await login(midwifeEmail, ownPassword)).body;
    const res = await change(midwife.id, { password: secondPassword });
    expect(res.status).toBe(200);
    expect(await status(session.token)).toBe(401);
    expect((await refresh(session.refreshToken)).status).toBe(401);
    expect((await login(midwifeEmail, ownPassword)).status).toBe(401);
    // The office knows the new one: she signs in with it to choose her own, and nothing else.
    const fresh = await login(midwifeEmail, secondPassword);
    expect(fresh.status).toBe(200);
    expect(await status(fresh.body.token)).toBe(403);
    expect(await status((await chooseOwn(midwifeEmail, secondPassword, ownSecondPassword)).token)).toBe(200);
    expect((await peopleAudit()).at(-1)).toEqual(['user-changed', 'password', adminId, midwife.id]);
  });

  it('a change of roles ends her sessions, and her next token carries the new roles', async () => {
    const session = (await login(midwifeEmail, ownSecondPassword)).body;
    const res = await change(midwife.id, { roles: ['admin', 'clinician'] });
    expect(res.body.person.roles).toEqual(['admin', 'clinician']);
    expect(await status(session.token)).toBe(401);
    expect((await refresh(session.refreshToken)).status).toBe(401);
    const promoted = await login(midwifeEmail, ownSecondPassword);
    expect(decodeJwt(promoted.body.token).roles).toEqual(['admin', 'clinician']);
    expect((await list(promoted.body.token)).people).toHaveLength(3);
    // The same roles again are no change: her session goes on.
    expect((await change(midwife.id, { roles: ['clinician', 'admin'] })).status).toBe(200);
    expect(await status(promoted.body.token)).toBe(200);
    expect((await peopleAudit()).at(-1)).toEqual(['user-changed', 'roles', adminId, midwife.id]);
  });

  it('an administrator cannot disable or demote themselves, nor anyone the clinic’s last enabled administrator (409)', async () => {
    const store = server.app.outpost.store;
    const before = await fingerprint(store);
    const self = [
      [{ disabled: true }, /cannot disable yourself/],
      [{ roles: ['clinician'] }, /cannot take your own administrator role away/],
      [{ roles: ['clinician'], password: 'a brand new password' }, /cannot take your own/],
    ] as const;
    for (const [body, message] of self) {
      const res = await change(adminId, body);
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(message) });
    }
    // Grace is an administrator now: the clinic's two. With her demoted, admin@ is the last one,
    // whom an administrator signed in through the clinic's identity provider may not remove.
    expect((await change(midwife.id, { roles: ['clinician'] })).status).toBe(200);
    const itDesk = await signToken({ sub: 'it-desk', tenant: 'clinic-a', roles: ['admin'] });
    const middle = await fingerprint(store);
    for (const body of [{ disabled: true }, { roles: ['clinician'] }]) {
      const res = await change(adminId, body, itDesk);
      expect(res.status).toBe(409);
      expect(res.body.error.message).toMatch(/last enabled administrator/);
    }
    expect(await fingerprint(store)).toEqual(middle);
    expect(before).not.toEqual(middle);
    expect(await status(admin)).toBe(200);
    // Another role beside admin is no demotion.
    const both = await change(adminId, { roles: ['admin', 'clinician'] }, itDesk);
    expect(both.status).toBe(200);
    expect(await status(admin)).toBe(401);
    admin = (await login('admin@clinic-a.test', password)).body.token;
    expect(await status(admin)).toBe(200);
  });

  it('audits each change with who and whom, the audit page names the person, and nothing holds a password or a hash', async () => {
    expect(await peopleAudit()).toEqual([
      ['user-created', 'ok', adminId, midwife.id],
      ['user-changed', 'disabled', adminId, midwife.id],
      ['user-changed', 'enabled', adminId, midwife.id],
      ['user-changed', 'password', adminId, midwife.id],
      ['user-changed', 'roles', adminId, midwife.id],
      ['user-changed', 'roles', adminId, midwife.id],
      ['user-changed', 'roles', 'it-desk', adminId],
    ]);
    const trail = await send({
      method: 'GET',
      url: '/v1/audit?action=user-created,user-changed',
      token: admin,
    });
    const events = auditResponseSchema.parse(trail.body).events;
    expect(events.at(-1)).toMatchObject({
      action: 'user-created',
      email: 'admin@clinic-a.test',
      recordEmail: midwifeEmail,
    });
    expect(events[0]).toMatchObject({ recordEmail: 'admin@clinic-a.test', email: null, userId: 'it-desk' });

    const hashes = (
      await server.app.outpost.store.db.selectFrom('users').select('password_hash').execute()
    ).map((r) => r.password_hash);
    const secrets = [
      firstPassword,
      ownPassword,
      secondPassword,
      ownSecondPassword,
      password,
      'a brand new password',
      ...hashes,
    ];
    expect(logLines.length).toBeGreaterThan(10);
    for (const text of [...answers, ...logLines]) {
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toContain('scrypt$');
      expect(text).not.toContain('password_hash');
    }
  });
});

describe.each(dialects())('two administrators demoting each other at once on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  const signIn = async (email: string, pass: string) => {
    const res = await server.request<RefreshResponse>({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email, password: pass },
    });
    expect(res.status).toBe(200);
    return res.body;
  };
  const demote = (id: string, token: string) =>
    server.request({ method: 'PATCH', url: `${url}/${id}`, token, body: { roles: ['clinician'] } });
  const enabledAdmins = async (token: string) =>
    peopleResponseSchema
      .parse((await server.request({ method: 'GET', url, token })).body)
      .people.filter((p) => !p.disabled && p.roles.includes('admin'))
      .map((p) => p.email);

  it('one of them wins and the clinic keeps an administrator, every time', async () => {
    const deputyPassword = 'deputy password of the clinic';
    let first = await signIn('admin@clinic-a.test', password);
    const added = await server.request({
      method: 'POST',
      url,
      token: first.token,
      body: { email: 'deputy@clinic-a.test', password: deputyPassword, roles: ['admin'] },
    });
    expect(added.status).toBe(201);
    // Her own password first (decision 0047): the office's lets her do nothing else.
    const given = await signIn('deputy@clinic-a.test', deputyPassword);
    const chosen = await server.request({
      method: 'POST',
      url: '/v1/auth/password',
      token: given.token,
      body: { currentPassword: deputyPassword, newPassword: `${deputyPassword}, her own` },
    });
    expect(chosen.status).toBe(200);
    let second = await signIn('deputy@clinic-a.test', `${deputyPassword}, her own`);
    for (let round = 0; round < 6; round++) {
      const answers = await Promise.all([
        demote(second.user.id, first.token),
        demote(first.user.id, second.token),
      ]);
      const statuses = answers.map((a) => a.status);
      // The one that came second found the other's change made: the last administrator (409), or
      // its own session already ended by its demotion (401). Never both demoted.
      expect(
        statuses.filter((s) => s === 200),
        JSON.stringify(answers.map((a) => a.body)),
      ).toHaveLength(1);
      expect(statuses.filter((s) => s === 409 || s === 401)).toHaveLength(1);
      const winner = statuses[0] === 200 ? first : second;
      const loser = winner === first ? second : first;
      const [winnerEmail] = await enabledAdmins(winner.token).then((emails) => {
        expect(emails).toHaveLength(1);
        return emails;
      });
      expect(winnerEmail).toBe(winner === first ? 'admin@clinic-a.test' : 'deputy@clinic-a.test');
      // The next round: the one left makes the other an administrator again, and both sign in anew.
      const back = await server.request({
        method: 'PATCH',
        url: `${url}/${loser.user.id}`,
        token: winner.token,
        body: { roles: ['admin'] },
      });
      expect(back.status).toBe(200);
      first = await signIn('admin@clinic-a.test', password);
      second = await signIn('deputy@clinic-a.test', `${deputyPassword}, her own`);
      expect(await enabledAdmins(first.token)).toHaveLength(2);
    }
  });
});
