// A real sync server on SQLite over loopback, for hooks that must be seen against what the server
// really answers (the files another device attached), and a fetch a test can cut.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fieldClinic } from '@outpost/examples';
import { createSyncServer, ensureUsers, openSqlite } from '@outpost/server';
import type { LimitOptions } from '@outpost/server';

const password = 'react-test-password';

export interface RealServer {
  url: string;
  token(email: string): Promise<string>;
  close(): Promise<void>;
}

/** The field clinic's server with clinic A's nurse and administrator, and a porter whose role reads nothing. */
export async function startRealServer(limits: LimitOptions = {}): Promise<RealServer> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-react-'));
  const app = await createSyncServer({
    schema: fieldClinic,
    database: await openSqlite(join(dir, 'outpost.sqlite')),
    auth: { jwtSecret: 'react-test-secret-react-test-secret' },
    limits: { rateLimitPerMinute: false, ...limits },
  });
  await ensureUsers(app.outpost.store, [
    { email: 'nurse@clinic-a.test', tenant: 'clinic-a', roles: ['clinician'], password },
    { email: 'admin@clinic-a.test', tenant: 'clinic-a', roles: ['admin'], password },
    { email: 'porter@clinic-a.test', tenant: 'clinic-a', roles: ['porter'], password },
  ]);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    async token(email) {
      const res = await fetch(`${url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      return ((await res.json()) as { token: string }).token;
    },
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The real network, until the test cuts it; every request to a files route is logged. */
export class CuttableFetch {
  reachable = true;
  /** The link drops under every request for a record's files, while the rest goes through. */
  dropLists = false;
  readonly fileRequests: string[] = [];

  readonly fetch: typeof fetch = (input, init) => {
    if (!this.reachable) return Promise.reject(new TypeError('Failed to fetch'));
    const url = new URL(String(input));
    if (url.pathname.startsWith('/v1/files'))
      this.fileRequests.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    if (this.dropLists && url.pathname === '/v1/files')
      return Promise.reject(new TypeError('Failed to fetch'));
    return fetch(input, init);
  };

  /** How many times the files of a record were asked for. */
  get lists(): number {
    return this.fileRequests.filter((r) => r === 'GET /v1/files').length;
  }
}
