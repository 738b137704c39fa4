// The client keeps a session alive with the server's refresh tokens (decision 0032): a token
// session refreshes an expired access token before a request, saves the new pair before using it,
// refreshes once for every context sharing it, keeps the old token offline, ends on a refusal,
// retries a lost answer with the same token, and signs out. Against a real server on SQLite whose
// clock the test moves (three "days" offline in a moment).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { isOutpostError } from '@outpost/core';
import type { LoginResponse } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { createSyncServer, ensureUsers, openSqlite } from '@outpost/server';
import {
  createHttpTransport,
  createSyncClient,
  createTokenSession,
  inProcessLock,
  memoryStore,
} from '../src/index';
import { createFileTransport } from '../src/files/file-transport';
import type { StoredSession, SyncClient, TokenSession, TokenSessionOptions } from '../src/index';
import { TestNetwork, password } from './client-fixture';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const nurse = 'nurse@clinic-a.test';

/** The app's storage of the session, as IndexedDB would keep it: a copy in, a copy out. */
class SessionStorage {
  value: StoredSession | null = null;
  readonly saves: Array<StoredSession | null> = [];
  /** What happened, in order, with the requests a test logs beside it. */
  constructor(private readonly log: string[] = []) {}
  load = async (): Promise<StoredSession | null> => (this.value ? structuredClone(this.value) : null);
  save = async (session: StoredSession | null): Promise<void> => {
    this.saves.push(session ? structuredClone(session) : null);
    this.value = session ? structuredClone(session) : null;
    this.log.push(`save ${session?.token ?? 'null'}`);
  };
}

describe('token session: staying signed in with refresh tokens', () => {
  let dir: string;
  let app: FastifyInstance;
  let url: string;
  /** The server's clock, which the test moves; a device's clock is this plus its skew. */
  const clock = { ms: 0 };
  let network: TestNetwork;
  const clients: SyncClient[] = [];

  beforeEach(async () => {
    clock.ms = Math.floor(Date.now() / 1000) * 1000;
    dir = mkdtempSync(join(tmpdir(), 'outpost-session-'));
    app = await createSyncServer({
      schema: fieldClinic,
      database: await openSqlite(join(dir, 'outpost.sqlite')),
      auth: { jwtSecret: 'client-test-secret-client-test-secret' },
      limits: { rateLimitPerMinute: false },
      now: () => new Date(clock.ms),
    });
    await ensureUsers(app.outpost.store, [
      { email: nurse, password, tenant: 'clinic-a', roles: ['clinician'] },
    ]);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    network = new TestNetwork();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A session over the test network, on a device whose clock is `skewMs` off the server's. */
  function session(
    storage: SessionStorage,
    extra: Partial<TokenSessionOptions> & { skewMs?: number } = {},
  ): TokenSession {
    const { skewMs = 0, ...rest } = extra;
    return createTokenSession({
      url,
      fetch: network.fetch,
      load: storage.load,
      save: storage.save,
      lock: inProcessLock(),
      deviceId: 'tablet-7',
      now: () => clock.ms + skewMs,
      ...rest,
    });
  }

  async function openClient(tokens: TokenSession, fetch: typeof globalThis.fetch = network.fetch) {
    const client = await createSyncClient({
      schema: fieldClinic,
      url,
      getToken: tokens.getToken,
      renewToken: tokens.refreshNow,
      store: memoryStore(),
      deviceId: 'tablet-7',
      fetch,
      autoSync: false,
      probeIntervalMs: false,
    });
    clients.push(client);
    return client;
  }

  const refreshesSent = () => network.sent.filter((s) => s.path === '/v1/auth/refresh');
  const sessionAudit = async () =>
    (await app.outpost.store.auditEvents('clinic-a', 10_000))
      .filter((e) => ['refresh', 'refresh-failed', 'logout'].includes(e.action))
      .map((e) => `${e.action} ${e.outcome}`);
  /** What the server holds of a record now, read with a fresh sign-in. */
  async function onServer(collection: string, id: string) {
    const { token } = await createHttpTransport({ url }).login(nurse, password);
    return createHttpTransport({ url, getToken: async () => token }).getRecord(collection, id);
  }
  const newPatient = (client: SyncClient, name: string) =>
    client.collection('patients').create({ name, village: 'Balaka' });

  it('after three days offline, the expired token is refreshed with no password: the push lands, and the new pair was saved before the push was sent', async () => {
    const log: string[] = [];
    const storage = new SessionStorage(log);
    const tokens = session(storage);
    const login = await tokens.signIn(nurse, password);
    expect(storage.value).toMatchObject({
      token: login.token,
      expiresAt: login.expiresAt,
      refreshToken: login.refreshToken,
      refreshExpiresAt: login.refreshExpiresAt,
      user: { tenant: 'clinic-a' },
    });
    const logged: typeof fetch = async (input, init) => {
      const path = new URL(String(input)).pathname;
      const bearer = new Headers(init?.headers).get('authorization')?.slice('Bearer '.length) ?? '-';
      log.push(`${path} ${bearer}`);
      return network.fetch(input, init);
    };
    const client = await openClient(tokens, logged);
    const patient = await newPatient(client, 'Amina K.');

    clock.ms += 3 * day;
    const unauthorized: string[] = [];
    client.on('unauthorized', (e) => unauthorized.push(e.code));
    const result = await client.sync();

    expect(result.success).toBe(true);
    expect(client.queue.stats().pending).toBe(0);
    expect((await onServer('patients', patient.id))?.data).toMatchObject({ name: 'Amina K.' });
    expect(unauthorized).toEqual([]);
    expect(refreshesSent()).toHaveLength(1);
    expect(refreshesSent()[0]?.body).toEqual({ refreshToken: login.refreshToken, deviceId: 'tablet-7' });
    const saved = storage.value;
    expect(saved?.token).not.toBe(login.token);
    expect(saved?.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(saved?.refreshToken).not.toBe(login.refreshToken);
    expect(Date.parse(saved?.expiresAt ?? '')).toBe(clock.ms + 12 * hour);
    // The new pair was stored, then sent: a crash after the refresh would have lost nothing.
    const pushAt = log.indexOf(`/v1/sync/push ${saved?.token}`);
    expect(log.indexOf(`save ${saved?.token}`)).toBeGreaterThan(-1);
    expect(log.indexOf(`save ${saved?.token}`)).toBeLessThan(pushAt);
    expect(log.filter((l) => l.startsWith(`/v1/sync/push ${login.token}`))).toEqual([]);
    expect(await sessionAudit()).toEqual(['refresh ok']);
  });

  it('two contexts on one store and one lock (a tab and the service worker) refresh once, and both send the same new token', async () => {
    const storage = new SessionStorage();
    const lock = inProcessLock();
    const tab = session(storage, { lock });
    const worker = session(storage, { lock });
    const login = await tab.signIn(nurse, password);
    clock.ms += 3 * day;

    const [a, b, c, d] = await Promise.all([
      tab.getToken(),
      worker.getToken(),
      tab.getToken(),
      worker.getToken(),
    ]);
    expect(a).not.toBe(login.token);
    expect(new Set([a, b, c, d])).toEqual(new Set([a]));
    expect(refreshesSent()).toHaveLength(1);
    expect(storage.saves.filter((s) => s !== null)).toHaveLength(2); // the login, the one refresh
    // The server saw one exchange: none answered again, none taken as reuse.
    expect(await sessionAudit()).toEqual(['refresh ok']);

    // Both sync with it.
    const fromTab = await openClient(tab);
    const fromWorker = await openClient(worker);
    await newPatient(fromTab, 'Amina K.');
    await newPatient(fromWorker, 'Chisomo B.');
    expect((await fromTab.sync()).success).toBe(true);
    expect((await fromWorker.sync()).success).toBe(true);
    expect(refreshesSent()).toHaveLength(1);
  });

  it('with no lock given, sessions of one JavaScript realm share one (no navigator.locks here)', async () => {
    const storage = new SessionStorage();
    const one = session(storage, { lock: undefined });
    const two = session(storage, { lock: undefined });
    await one.signIn(nurse, password);
    clock.ms += 3 * day;
    const [a, b] = await Promise.all([one.getToken(), two.getToken()]);
    expect(a).toBe(b);
    expect(refreshesSent()).toHaveLength(1);
  });

  it('two contexts that share nothing, refreshing the same token within the grace, both get a working pair', async () => {
    const first = new SessionStorage();
    const tab = session(first);
    await tab.signIn(nurse, password);
    // The worker holds its own copy of the same sign-in, and its own lock.
    const second = new SessionStorage();
    second.value = structuredClone(first.value);
    const worker = session(second);
    clock.ms += 3 * day;

    const fromTab = await tab.getToken();
    clock.ms += 30_000;
    const fromWorker = await worker.getToken();
    expect(refreshesSent()).toHaveLength(2);
    // One refresh token lives on: the same successor, answered again.
    expect(second.value?.refreshToken).toBe(first.value?.refreshToken);
    expect(await sessionAudit()).toEqual(['refresh ok', 'refresh repeated']);
    for (const token of [fromTab, fromWorker]) {
      const pulled = await createHttpTransport({ url, getToken: async () => token }).pull({ limit: 1 });
      expect(pulled.changes).toEqual([]);
    }
  });

  it('a refresh refused 401 ends the session: the push fails 401, unauthorized fires, the outbox keeps the change, and the saved session holds no refresh token', async () => {
    const storage = new SessionStorage();
    const tokens = session(storage);
    const login = await tokens.signIn(nurse, password);
    // Revoked elsewhere (an administrator, a sign-out on another device of this family).
    await createHttpTransport({ url }).logout(login.refreshToken ?? '');
    const client = await openClient(tokens);
    await newPatient(client, 'Tamara G.');
    clock.ms += 3 * day;
    const unauthorized: string[] = [];
    client.on('unauthorized', (e) => unauthorized.push(e.code));

    const result = await client.sync();
    expect(result.success).toBe(false);
    expect(result.error?.code).toBe('UNAUTHORIZED');
    expect(unauthorized).toEqual(['UNAUTHORIZED']);
    expect(client.queue.stats().pending).toBe(1);
    expect(storage.value).toEqual({
      token: login.token,
      expiresAt: login.expiresAt,
      user: login.user,
      receivedAt: expect.any(String),
    });
    expect(await sessionAudit()).toEqual(['logout ok', 'refresh-failed revoked']);
    // The token it used up is never sent again; the app asks for the password.
    expect(await tokens.getToken()).toBe(login.token);
    await client.sync();
    expect(refreshesSent()).toHaveLength(1);

    // Signed in again: the change goes.
    await tokens.signIn(nurse, password);
    expect((await client.sync()).success).toBe(true);
    expect(client.queue.stats().pending).toBe(0);
  });

  it('offline, getToken answers the expired token without throwing and saves nothing; back online it refreshes', async () => {
    const storage = new SessionStorage();
    const tokens = session(storage);
    const login = await tokens.signIn(nurse, password);
    const client = await openClient(tokens);
    await newPatient(client, 'Amina K.');
    clock.ms += 3 * day;
    network.mode = 'offline';
    let tries = 0;
    const counting = createTokenSession({
      url,
      fetch: async (input, init) => {
        if (new URL(String(input)).pathname === '/v1/auth/refresh') tries++;
        return network.fetch(input, init);
      },
      load: storage.load,
      save: storage.save,
      lock: inProcessLock(),
      now: () => clock.ms,
    });
    const unauthorized: string[] = [];
    client.on('unauthorized', (e) => unauthorized.push(e.code));

    await expect(counting.getToken()).resolves.toBe(login.token);
    expect(tries).toBe(2); // the refresh, and the same once more at once
    const result = await client.sync();
    expect(result.success).toBe(false);
    expect(result.error?.code).not.toBe('UNAUTHORIZED');
    expect(unauthorized).toEqual([]);
    expect(client.queue.stats().pending).toBe(1);
    expect(storage.saves).toHaveLength(1); // the login's
    expect(storage.value?.refreshToken).toBe(login.refreshToken);

    network.mode = 'online';
    expect((await client.sync()).success).toBe(true);
    expect(storage.value?.token).not.toBe(login.token);
    expect(await sessionAudit()).toEqual(['refresh ok']);
  });

  it('an answer lost after the server rotated: the same token goes again at once, the grace gives a working pair, and it keeps refreshing later', async () => {
    const storage = new SessionStorage();
    const tokens = session(storage);
    const login = await tokens.signIn(nurse, password);
    clock.ms += 3 * day;
    // The request reaches the server, which rotates; the answer never arrives.
    network.loseNextAnswers(1);
    const token = await tokens.getToken();

    const sent = refreshesSent().map((s) => s.body);
    expect(sent).toEqual([
      { refreshToken: login.refreshToken, deviceId: 'tablet-7' },
      { refreshToken: login.refreshToken, deviceId: 'tablet-7' },
    ]);
    expect(await sessionAudit()).toEqual(['refresh ok', 'refresh repeated']);
    expect(token).not.toBe(login.token);
    expect(storage.value?.token).toBe(token);
    const client = await openClient(tokens);
    await newPatient(client, 'Amina K.');
    expect((await client.sync()).success).toBe(true);

    // The refresh token saved is the live one: long after the grace it still refreshes.
    clock.ms += 3 * day;
    const later = await tokens.getToken();
    expect(later).not.toBe(token);
    expect(await sessionAudit()).toEqual(['refresh ok', 'refresh repeated', 'refresh ok']);
  });

  it('signOut ends the session on the server (its refresh token is refused afterwards) and saves null; offline it still signs out', async () => {
    const storage = new SessionStorage();
    const tokens = session(storage);
    const login = await tokens.signIn(nurse, password);
    await expect(tokens.signOut()).resolves.toEqual({ revoked: true });
    expect(storage.value).toBeNull();
    expect(await tokens.getToken()).toBeNull();
    const refused = await createHttpTransport({ url })
      .refresh(login.refreshToken ?? '')
      .catch((e: unknown) => e);
    expect(isOutpostError(refused) && refused.code).toBe('UNAUTHORIZED');

    const again = await tokens.signIn(nurse, password);
    network.mode = 'offline';
    await expect(tokens.signOut()).resolves.toEqual({ revoked: false });
    expect(storage.value).toBeNull();
    // Offline, the server still takes it until it expires: the device no longer holds it.
    await expect(createHttpTransport({ url }).refresh(again.refreshToken ?? '')).resolves.toMatchObject({
      refreshToken: expect.any(String),
    });
  });

  it('changePassword: a wrong current password changes nothing; the right one saves the new session, which syncs, and the old token is refused', async () => {
    const storage = new SessionStorage();
    const tokens = session(storage);
    const login = await tokens.signIn(nurse, password);
    const client = await openClient(tokens);
    const unauthorized: string[] = [];
    client.on('unauthorized', (e) => unauthorized.push(e.code));

    const wrong = await tokens
      .changePassword('not her password', 'her very own password')
      .catch((e: unknown) => e);
    expect(isOutpostError(wrong) && [wrong.code, wrong.message]).toEqual([
      'FORBIDDEN',
      'the current password is wrong',
    ]);
    const short = await tokens.changePassword(password, 'short').catch((e: unknown) => e);
    expect(isOutpostError(short) && [short.code, short.message]).toEqual([
      'VALIDATION_FAILED',
      'password must be at least 12 characters',
    ]);
    expect(storage.value?.token).toBe(login.token);

    // Two days offline first: the token is renewed before the change goes, not refused.
    clock.ms += 2 * day;
    const changed = await tokens.changePassword(password, 'her very own password');
    expect(storage.value).toMatchObject({ token: changed.token, refreshToken: changed.refreshToken });
    const sent = network.sent.filter((s) => s.path === '/v1/auth/password').at(-1);
    expect(sent?.body).toEqual({
      currentPassword: password,
      newPassword: 'her very own password',
      deviceId: 'tablet-7',
    });
    const patient = await newPatient(client, 'Changed-password patient');
    expect((await client.sync()).success).toBe(true);
    expect(unauthorized).toEqual([]);
    const { token } = await createHttpTransport({ url }).login(nurse, 'her very own password');
    const onServerNow = await createHttpTransport({ url, getToken: async () => token }).getRecord(
      'patients',
      patient.id,
    );
    expect(onServerNow?.data).toMatchObject({ name: 'Changed-password patient' });
    const old = await createHttpTransport({ url, getToken: async () => login.token })
      .getRecord('patients', patient.id)
      .catch((e: unknown) => e);
    expect(isOutpostError(old) && old.code).toBe('UNAUTHORIZED');
    await expect(createHttpTransport({ url }).login(nurse, password)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
  });

  it('a push refused 401 to a token the device took for valid (its clock 13 hours behind) is renewed and sent once more, and applied once', async () => {
    const storage = new SessionStorage();
    const tokens = session(storage, { skewMs: -13 * hour });
    const login = await tokens.signIn(nurse, password);
    const client = await openClient(tokens);
    const patient = await newPatient(client, 'Amina K.');
    const unauthorized: string[] = [];
    client.on('unauthorized', (e) => unauthorized.push(e.code));
    // Expired on the server; by the tablet's clock, 12 hours left.
    clock.ms += 13 * hour;
    expect(await tokens.getToken()).toBe(login.token);

    const result = await client.sync();
    expect(result.success).toBe(true);
    expect(unauthorized).toEqual([]);
    expect(client.queue.stats().pending).toBe(0);
    const pushes = network.pushes();
    expect(pushes).toHaveLength(2);
    expect(pushes[1]?.ops.map((o) => o.opId)).toEqual(pushes[0]?.ops.map((o) => o.opId));
    expect(refreshesSent()).toHaveLength(1);
    expect(storage.value?.token).not.toBe(login.token);
    const record = await onServer('patients', patient.id);
    expect(record).toMatchObject({ version: 1, data: { name: 'Amina K.' } });
  });

  it('a tablet clock 13 hours ahead does not refresh at every request: a token just received is used until refreshBeforeMs has passed', async () => {
    const storage = new SessionStorage();
    const tokens = session(storage, { skewMs: 13 * hour });
    const login = await tokens.signIn(nurse, password);
    // By the tablet's clock the token expired an hour ago; the server takes it.
    for (let i = 0; i < 10; i++) expect(await tokens.getToken()).toBe(login.token);
    expect(refreshesSent()).toHaveLength(0);
    const client = await openClient(tokens);
    await newPatient(client, 'Amina K.');
    expect((await client.sync()).success).toBe(true);

    clock.ms += 6 * minute;
    const next = await tokens.getToken();
    expect(next).not.toBe(login.token);
    for (let i = 0; i < 10; i++) expect(await tokens.getToken()).toBe(next);
    expect(refreshesSent()).toHaveLength(1);
  });

  it('a refresh the server fails (503) serves a token still valid, and throws for an expired one rather than let it be refused 401', async () => {
    const storage = new SessionStorage();
    const tokens = session(storage);
    const login = await tokens.signIn(nurse, password);
    const client = await openClient(tokens);
    await newPatient(client, 'Amina K.');
    const unauthorized: string[] = [];
    client.on('unauthorized', (e) => unauthorized.push(e.code));
    network.mode = 'server-error';
    // Four minutes left: due for a refresh, which fails; the token in hand still serves.
    clock.ms += 12 * hour - 4 * minute;
    expect(await tokens.getToken()).toBe(login.token);
    clock.ms += 5 * minute;
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'INTERNAL' });
    const result = await client.sync();
    expect(result.error?.code).toBe('INTERNAL');
    expect(unauthorized).toEqual([]);
    expect(storage.saves).toHaveLength(1);
    network.mode = 'online';
    expect((await client.sync()).success).toBe(true);
  });
});

describe('http transport: refresh, logout and renewToken', () => {
  const answer = (status: number, body: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  const login: LoginResponse = {
    token: 'access-2',
    expiresAt: '2031-03-01T20:00:00.000Z',
    user: { id: 'u1', tenant: 'clinic-a', roles: ['clinician'] },
    refreshToken: 'r'.repeat(43),
    refreshExpiresAt: '2031-03-31T08:00:00.000Z',
  };

  it('refresh and logout send the token with no bearer and check the answers against core schemas; a 401 of any body is UNAUTHORIZED', async () => {
    const seen: Array<{ path: string; auth: string | null; body: unknown }> = [];
    let next: Response = answer(200, login);
    const api = createHttpTransport({
      url: 'http://server.test',
      getToken: async () => 'access-1',
      fetch: async (input, init) => {
        seen.push({
          path: new URL(String(input)).pathname,
          auth: new Headers(init?.headers).get('authorization'),
          body: JSON.parse(String(init?.body)) as unknown,
        });
        return next;
      },
    });
    await expect(api.refresh('old', 'tablet-7')).resolves.toEqual(login);
    expect(seen[0]).toEqual({
      path: '/v1/auth/refresh',
      auth: null,
      body: { refreshToken: 'old', deviceId: 'tablet-7' },
    });
    // A login's answer without a refresh token is not a refresh's.
    next = answer(200, { ...login, refreshToken: undefined });
    await expect(api.refresh('old')).rejects.toMatchObject({ code: 'INTERNAL' });
    next = answer(401, {
      error: { code: 'UNAUTHORIZED', message: 'refresh token is not valid: sign in again' },
    });
    await expect(api.refresh('old')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    next = new Response('<html>401</html>', { status: 401 });
    await expect(api.refresh('old')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });

    next = new Response(null, { status: 204 });
    await expect(api.logout('old')).resolves.toBeUndefined();
    expect(seen.at(-1)).toEqual({ path: '/v1/auth/logout', auth: null, body: { refreshToken: 'old' } });
    next = answer(429, { error: { code: 'RATE_LIMITED', message: 'too many requests' } });
    await expect(api.logout('old')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('renewToken: a request refused 401 goes once more with the token it answers; null, the same token or a failure leave it refused', async () => {
    const bearers: Array<string | null> = [];
    const pull = { changes: [], cursor: 'c1', hasMore: false };
    let renewed: () => Promise<string | null> = async () => 'fresh';
    const rejectedSeen: Array<string | null> = [];
    const api = createHttpTransport({
      url: 'http://server.test',
      getToken: async () => 'stale',
      renewToken: (rejected) => {
        rejectedSeen.push(rejected);
        return renewed();
      },
      fetch: async (_input, init) => {
        const bearer = new Headers(init?.headers).get('authorization');
        bearers.push(bearer);
        return bearer === 'Bearer fresh'
          ? answer(200, pull)
          : answer(401, { error: { code: 'UNAUTHORIZED', message: 'token is invalid or expired' } });
      },
    });
    await expect(api.pull()).resolves.toMatchObject({ cursor: 'c1' });
    expect(bearers).toEqual(['Bearer stale', 'Bearer fresh']);
    expect(rejectedSeen).toEqual(['stale']);

    for (const give of [async () => null, async () => 'stale']) {
      renewed = give;
      bearers.length = 0;
      await expect(api.pull()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      expect(bearers).toEqual(['Bearer stale']);
    }
    renewed = async () => {
      throw new TypeError('fetch failed: network is offline');
    };
    await expect(api.pull()).rejects.toThrow(TypeError);
    // Sent again once at most: a second refusal is the answer.
    renewed = async () => 'also-stale';
    bearers.length = 0;
    await expect(api.pull()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(bearers).toEqual(['Bearer stale', 'Bearer also-stale']);
  });

  it('a photo chunk refused 401 goes once more, same bytes, with the renewed token; only a final refusal is told', async () => {
    const sent: Array<{ bearer: string | null; bytes: number[] }> = [];
    let renewed = 'fresh';
    const told: string[] = [];
    const files = createFileTransport({
      url: 'http://server.test',
      getToken: async () => 'stale',
      renewToken: async () => renewed,
      onUnauthorized: (error) => told.push(error.code),
      fetch: async (_input, init) => {
        const bearer = new Headers(init?.headers).get('authorization');
        sent.push({ bearer, bytes: [...(init?.body as Uint8Array)] });
        return bearer === 'Bearer fresh'
          ? answer(200, { received: 1, chunkCount: 2, complete: false })
          : answer(401, { error: { code: 'UNAUTHORIZED', message: 'token is invalid or expired' } });
      },
    });
    const bytes = new Uint8Array([7, 8, 9]);
    await expect(files.putChunk('f1', 0, bytes, 'a'.repeat(64))).resolves.toEqual({
      received: 1,
      chunkCount: 2,
      complete: false,
    });
    expect(sent).toEqual([
      { bearer: 'Bearer stale', bytes: [7, 8, 9] },
      { bearer: 'Bearer fresh', bytes: [7, 8, 9] },
    ]);
    expect(told).toEqual([]);

    renewed = 'stale';
    await expect(files.putChunk('f1', 0, bytes, 'a'.repeat(64))).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(told).toEqual(['UNAUTHORIZED']);
  });
});
