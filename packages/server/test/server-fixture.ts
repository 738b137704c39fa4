// Test fixture: a real sync server over a real database (a SQLite file in a temp folder, or a
// fresh database on the run's PostgreSQL), driven through Fastify's inject (the full HTTP stack
// without a socket) or, for concurrency tests, over a real loopback port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Schema } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { createSyncServer, ensureUsers, openPostgres, openSqlite } from '../src/index';
import type { SyncServerOptions } from '../src/index';
import { freshPostgresDatabase, postgresUrl } from './postgres';

export type DialectName = 'sqlite' | 'postgres';

export const testSecret = 'test-secret-that-is-long-enough-for-hs256-signing';
export const password = 'correct horse battery staple';

/** The dialects this run can test: PostgreSQL unless absent and not required (then it is left out locally). */
export function dialects(): DialectName[] {
  return postgresUrl() === null ? ['sqlite'] : ['sqlite', 'postgres'];
}

export interface Storage {
  kind: DialectName;
  /** Opens (or reopens) the same database. */
  open(): ReturnType<typeof openSqlite>;
  /** Removes the database for good. */
  destroy(): Promise<void>;
}

/**
 * A server's SQLite database at `<dir>/outpost.sqlite`, as `npm start` keeps it with
 * OUTPOST_DATA=dir: for the tests of backups, which read that file beside the server. Its destroy()
 * removes the folder; closing the server does not.
 */
export function sqliteStorageIn(dir: string): Storage {
  return {
    kind: 'sqlite',
    open: () => openSqlite(join(dir, 'outpost.sqlite')),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function createStorage(kind: DialectName): Promise<Storage> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'outpost-test-'));
    return {
      kind,
      open: () => openSqlite(join(dir, 'outpost.sqlite')),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const pg = await freshPostgresDatabase();
  return { kind, open: () => openPostgres(pg.url), destroy: () => pg.drop() };
}

export const testUsers = [
  { email: 'nurse@clinic-a.test', tenant: 'clinic-a', roles: ['clinician'] },
  { email: 'admin@clinic-a.test', tenant: 'clinic-a', roles: ['admin'] },
  { email: 'nurse@clinic-b.test', tenant: 'clinic-b', roles: ['clinician'] },
  { email: 'vet@vet-a.test', tenant: 'vet-a', roles: ['clinician'] },
  { email: 'admin@vet-a.test', tenant: 'vet-a', roles: ['admin'] },
] as const;
export type TestEmail = (typeof testUsers)[number]['email'];

export interface TestServer {
  app: FastifyInstance;
  storage: Storage;
  token(email: TestEmail): Promise<string>;
  /** A token signed in now, by the server's clock: for a test that moves the clock past the cached ones. */
  tokenNow(email: TestEmail): Promise<string>;
  /** JSON request through the full HTTP stack; returns status and parsed body. */
  request<T = unknown>(options: {
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    url: string;
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
  }): Promise<{ status: number; body: T; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startTestServer(
  kind: DialectName,
  options: { schema?: Schema; storage?: Storage; server?: Partial<SyncServerOptions> } = {},
): Promise<TestServer> {
  const storage = options.storage ?? (await createStorage(kind));
  const database = await storage.open();
  const app = await createSyncServer({
    schema: options.schema ?? fieldClinic,
    database,
    auth: { jwtSecret: testSecret },
    limits: { rateLimitPerMinute: false },
    ...options.server,
  });
  await ensureUsers(
    app.outpost.store,
    testUsers.map((u) => ({ ...u, password })),
  );
  const tokens = new Map<string, string>();
  const server: TestServer = {
    app,
    storage,
    async token(email) {
      const cached = tokens.get(email);
      if (cached) return cached;
      const token = await server.tokenNow(email);
      tokens.set(email, token);
      return token;
    },
    async tokenNow(email) {
      const res = await server.request<{ token: string }>({
        method: 'POST',
        url: '/v1/auth/login',
        body: { email, password },
      });
      if (res.status !== 200) throw new Error(`login failed for ${email}: ${res.status}`);
      return res.body.token;
    },
    async request({ method, url, token, body, headers }) {
      const res = await app.inject({
        method,
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = res.body;
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // not JSON: the test sees the text
      }
      return { status: res.statusCode, body: parsed as never, headers: res.headers };
    },
    async close() {
      await app.close();
    },
  };
  return server;
}
