// The records key (decision 0054): the key a device encrypts a person's records under, kept by the
// server and handed out only to a proof of the person's password (a login, their own password
// change), never to a refresh. Made at their first sign-in, once even when two come at once, and
// the same ever after: through their own password change, an administrator's reset, a disabling,
// a restart. Never in the audit nor in a log line. On SQLite files and PostgreSQL.
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginResponseSchema, personResponseSchema } from '@outpost/core';
import type { LoginResponse } from '@outpost/core';
import { createStorage, dialects, password, startTestServer } from './server-fixture';
import { signToken } from './security/tokens';
import type { TestServer } from './server-fixture';

interface ErrorAnswer {
  error: { code: string; message: string };
}

/** 32 bytes in base64url without padding: 43 characters of its alphabet. */
const keyShape = /^[A-Za-z0-9_-]{43}$/;

const officePassword = 'the office set this one';
const ownPassword = 'a password only Chikondi knows';
const resetPassword = 'the office set another one';
const ownAgain = 'Chikondi chose again after the reset';

describe.each(dialects())('the records key on %s', (kind) => {
  let server: TestServer;
  const logLines: string[] = [];
  let admin: string;

  beforeAll(async () => {
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    server = await startTestServer(kind, { server: { logger: { level: 'trace', stream: logs } } });
    admin = await server.token('admin@clinic-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  const login = (email: string, pass = password, on = server) =>
    on.request<LoginResponse & ErrorAnswer>({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email, password: pass },
    });
  const keyOf = async (email: string, pass = password) => {
    const res = await login(email, pass);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return loginResponseSchema.parse(res.body).recordsKey;
  };
  const changePassword = (token: string, currentPassword: string, newPassword: string) =>
    server.request<LoginResponse & ErrorAnswer>({
      method: 'POST',
      url: '/v1/auth/password',
      token,
      body: { currentPassword, newPassword, deviceId: 'chikondi-tablet' },
    });
  /** A person the administrator adds, with a password the office chose: she has no key yet. */
  const addPerson = async (email: string) => {
    const added = await server.request({
      method: 'POST',
      url: '/v1/admin/users',
      token: admin,
      body: { email, password: officePassword, roles: ['clinician'] },
    });
    expect(added.status).toBe(201);
    return personResponseSchema.parse(added.body).person.id;
  };
  const resetBy = (id: string, body: unknown) =>
    server.request({ method: 'PATCH', url: `/v1/admin/users/${id}`, token: admin, body });

  it('a login answers the person’s key: 43 characters of base64url, the same at every login, another person’s another', async () => {
    const first = await keyOf('nurse@clinic-a.test');
    expect(first).toMatch(keyShape);
    expect(await keyOf('nurse@clinic-a.test')).toBe(first);
    const other = await keyOf('nurse@clinic-b.test');
    expect(other).toMatch(keyShape);
    expect(other).not.toBe(first);
    // A wrong password learns nothing of it.
    const wrong = await login('nurse@clinic-a.test', 'not her password at all');
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(first);
  });

  it('two logins at once of a person with no key yet end with one key', async () => {
    await addPerson('tiwonge@clinic-a.test');
    const first = await login('tiwonge@clinic-a.test', officePassword);
    expect((await changePassword(first.body.token, officePassword, ownPassword)).status).toBe(200);
    // Her key gone, as on a server restored from a backup taken before she had one.
    await server.app.outpost.store.db
      .updateTable('users')
      .set({ records_key: null })
      .where('email', '=', 'tiwonge@clinic-a.test')
      .execute();
    const both = await Promise.all([
      login('tiwonge@clinic-a.test', ownPassword),
      login('tiwonge@clinic-a.test', ownPassword),
    ]);
    expect(both.map((res) => res.status)).toEqual([200, 200]);
    const [one, two] = both.map((res) => loginResponseSchema.parse(res.body).recordsKey);
    expect(one).toMatch(keyShape);
    expect(two).toBe(one);
    expect(await keyOf('tiwonge@clinic-a.test', ownPassword)).toBe(one);
  });

  it('asked for at once, many times over, each person’s key is made once (the store, beside the logins)', async () => {
    // Two logins rarely meet at the key (each first checks a slow password hash): the store is
    // asked directly, four times at once for each of twenty people. On PostgreSQL's pool they do
    // meet: a write without `records_key IS NULL` hands most of these people two keys.
    const { people } = server.app.outpost.store;
    for (let i = 0; i < 20; i++) {
      const id = await addPerson(`person-${i}@clinic-a.test`);
      const keys = await Promise.all([1, 2, 3, 4].map(() => people.recordsKey('clinic-a', id)));
      expect(new Set(keys).size, `person ${i}: ${keys.join(' ')}`).toBe(1);
      expect(keys[0]).toMatch(keyShape);
      expect(await people.recordsKey('clinic-a', id)).toBe(keys[0]);
    }
    // Nobody, or someone of another clinic: no key, and none made.
    const nurseB = await server.app.outpost.store.findUserByEmail('nurse@clinic-b.test');
    expect(await people.recordsKey('clinic-a', nurseB?.id ?? '')).toBeNull();
    expect(await people.recordsKey('clinic-a', 'nobody')).toBeNull();
  });

  it('outlives her own password change, an administrator’s reset and a disabling', async () => {
    const id = await addPerson('chikondi@clinic-a.test');
    // Signed in with the password the office chose, and knows: no key yet.
    const signedIn = await login('chikondi@clinic-a.test', officePassword);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).not.toHaveProperty('recordsKey');

    // Her own password: the answer carries her key, made now, for her device to seal under it.
    const changed = await changePassword(signedIn.body.token, officePassword, ownPassword);
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const key = loginResponseSchema.parse(changed.body).recordsKey;
    expect(key).toMatch(keyShape);
    expect(await keyOf('chikondi@clinic-a.test', ownPassword)).toBe(key);

    // The office resets it: a sign-in with the password the office knows gets no key, nor does its
    // token; once she chooses her own, the same key, and her records still open.
    expect((await resetBy(id, { password: resetPassword })).status).toBe(200);
    const afterReset = await login('chikondi@clinic-a.test', resetPassword);
    expect(afterReset.status).toBe(200);
    expect(afterReset.body).not.toHaveProperty('recordsKey');
    const askedWithReset = await server.request({
      method: 'GET',
      url: '/v1/auth/records-key',
      token: afterReset.body.token,
    });
    expect(askedWithReset.status).toBe(403);
    expect(askedWithReset.body).not.toHaveProperty('recordsKey');
    const chosenAgain = await changePassword(afterReset.body.token, resetPassword, ownAgain);
    expect(loginResponseSchema.parse(chosenAgain.body).recordsKey).toBe(key);

    // Disabled, she gets no key (a wrong password's 401); enabled again, the same one.
    expect((await resetBy(id, { disabled: true })).status).toBe(200);
    const refused = await login('chikondi@clinic-a.test', ownAgain);
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).not.toContain(key);
    expect((await resetBy(id, { disabled: false })).status).toBe(200);
    expect(await keyOf('chikondi@clinic-a.test', ownAgain)).toBe(key);
  });

  it('a refresh answers no key: a refresh token is no proof of the password', async () => {
    const { refreshToken = '' } = (await login('nurse@clinic-a.test')).body;
    const refreshed = await server.request<Record<string, unknown>>({
      method: 'POST',
      url: '/v1/auth/refresh',
      body: { refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toHaveProperty('token');
    expect(refreshed.body).not.toHaveProperty('recordsKey');
  });

  it('a session the server accepts may ask for its own key; once it ended, it may not', async () => {
    const signedIn = loginResponseSchema.parse((await login('nurse@clinic-b.test')).body);
    const ask = (token?: string) =>
      server.request<{ recordsKey?: string } & ErrorAnswer>({
        method: 'GET',
        url: '/v1/auth/records-key',
        ...(token !== undefined ? { token } : {}),
      });
    const asked = await ask(signedIn.token);
    expect(asked.status).toBe(200);
    expect(asked.body).toEqual({ recordsKey: signedIn.recordsKey });
    expect((await ask()).status).toBe(401);

    // Signed out on the tablet: the session's access token no longer opens anything.
    const loggedOut = await server.request({
      method: 'POST',
      url: '/v1/auth/logout',
      body: { refreshToken: signedIn.refreshToken },
    });
    expect(loggedOut.status).toBe(204);
    const after = await ask(signedIn.token);
    expect(after.status).toBe(401);
    expect(after.body).not.toHaveProperty('recordsKey');

    // A person of the clinic's identity provider: a good token, no account here, no key.
    const outsider = await signToken({
      sub: 'signed-in-elsewhere',
      tenant: 'clinic-a',
      roles: ['clinician'],
    });
    const none = await ask(outsider);
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('NOT_FOUND');
    expect(none.body).not.toHaveProperty('recordsKey');
  });

  it('is in no audit row and no log line', async () => {
    const key = (await keyOf('admin@clinic-a.test')) ?? '';
    expect(key).toMatch(keyShape);
    const keys = await server.app.outpost.store.db
      .selectFrom('users')
      .select('records_key')
      .where('records_key', 'is not', null)
      .execute();
    expect(keys.length).toBeGreaterThanOrEqual(5);
    const { rows } = await sql<Record<string, unknown>>`select * from audit_events`.execute(
      server.app.outpost.store.db,
    );
    expect(rows.filter((row) => row['action'] === 'login').length).toBeGreaterThan(0);
    const audit = JSON.stringify(rows);
    const logs = logLines.join('');
    expect(logs).toContain('/v1/auth/login');
    for (const { records_key: stored } of keys) {
      expect(audit).not.toContain(stored ?? '');
      expect(logs).not.toContain(stored ?? '');
    }
  });
});

describe.each(dialects())('the records key across a restart on %s', (kind) => {
  it('is the same key after the server starts again on the same data', async () => {
    const storage = await createStorage(kind);
    try {
      const signIn = async (on: TestServer) => {
        const res = await on.request<LoginResponse>({
          method: 'POST',
          url: '/v1/auth/login',
          body: { email: 'nurse@clinic-a.test', password },
        });
        expect(res.status).toBe(200);
        return res.body.recordsKey;
      };
      const first = await startTestServer(kind, { storage });
      const key = await signIn(first);
      expect(key).toMatch(keyShape);
      await first.close();
      const second = await startTestServer(kind, { storage });
      try {
        expect(await signIn(second)).toBe(key);
      } finally {
        await second.close();
      }
    } finally {
      await storage.destroy();
    }
  });
});
