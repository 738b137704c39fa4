import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase, postgresUrl } from './postgres';

const url = postgresUrl();

describe.skipIf(!url)('postgres harness', () => {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let client: Client;

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    client = new Client({ connectionString: database.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('runs PostgreSQL 15', async () => {
    const { rows } = await client.query<{ version: string }>('SELECT version()');
    expect(rows[0]?.version).toContain('PostgreSQL 15');
  });

  it('works in its own database', async () => {
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    expect(rows[0]?.name).toMatch(/^outpost_t_[0-9a-f]{16}$/);
  });

  it('writes and reads a row', async () => {
    await client.query('CREATE TABLE note (id integer PRIMARY KEY, body text NOT NULL)');
    await client.query('INSERT INTO note (id, body) VALUES ($1, $2)', [1, 'héllo']);
    const { rows } = await client.query<{ id: number; body: string }>('SELECT id, body FROM note');
    expect(rows).toEqual([{ id: 1, body: 'héllo' }]);
  });

  it('drops a fresh database even with a connection still open', async () => {
    const other = await freshPostgresDatabase();
    const name = new URL(other.url).pathname.slice(1);
    const leftOpen = new Client({ connectionString: other.url });
    leftOpen.on('error', () => {}); // the forced drop terminates this connection
    await leftOpen.connect();
    await other.drop();
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    expect(rows).toEqual([]);
    await leftOpen.end().catch(() => {});
  });
});
