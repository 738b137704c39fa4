// Test-file helpers for the PostgreSQL started by postgres-global-setup.ts.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { inject } from 'vitest';
import { postgresRequired } from './postgres-harness';

/** The run's PostgreSQL URL, or null when none is available (then PostgreSQL tests should skip). */
export function postgresUrl(): string | null {
  const url = inject('postgresUrl');
  if (url === null && postgresRequired()) {
    throw new Error('PostgreSQL is required (CI=true or OUTPOST_REQUIRE_POSTGRES=1) but none was started');
  }
  return url;
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the run's server, so each test file works in isolation. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const serverUrl = postgresUrl();
  if (serverUrl === null) throw new Error('no PostgreSQL is available for this run');

  // Hex only, so the name needs no quoting.
  const name = `outpost_t_${randomBytes(8).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE (PostgreSQL 13+) terminates connections the test left open.
    drop: async () => {
      await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
