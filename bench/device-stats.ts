// `npx tsx bench/device-stats.ts [--rows N] [--devices N]`: what GET /v1/sync/stats/devices costs a
// clinic whose op journal holds N rows (default 100,000), on SQLite and PostgreSQL (decision 0036).
// Not part of `npm run bench`. Two journals: every row received in the last week (the recent
// figures read them all), and the same rows spread over 100 days (the week holds 7% of them).
// Times the store's two reads apart (the figures per device over the whole journal; the recent
// counts and delays over the week) and the whole request through the HTTP stack.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { formatHlc, loginResponseSchema } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { createSyncServer, ensureUsers, openPostgres, openSqlite } from '@outpost/server';
import type { Database } from '@outpost/server';
import { startPostgres } from '../packages/server/test/postgres-harness';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '100000' }, devices: { type: 'string', default: '40' } },
});
const rows = Number(values.rows);
const deviceCount = Number(values.devices);
const day = 24 * 60 * 60 * 1000;
const now = Date.parse('2025-06-01T12:00:00.000Z');
const tenant = 'bench';
const admin = { email: 'admin@bench.test', password: 'bench-password-1', tenant, roles: ['admin'] };

/** `rows` journal rows over `spreadDays` before now, each made 0 to 3 days before it arrived. */
async function fill(database: Database, spreadDays: number): Promise<void> {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const chunk = 1000;
  for (let start = 0; start < rows; start += chunk) {
    const batch = [];
    for (let i = start; i < Math.min(rows, start + chunk); i += 1) {
      const device = i % deviceCount;
      const received = now - Math.floor(random() * spreadDays * day);
      const made = received - Math.floor(random() * 3 * day);
      const status = random() < 0.05 ? 'rejected' : random() < 0.05 ? 'conflict' : 'applied';
      batch.push({
        tenant,
        op_id: `op-${i}`,
        client_id: `client-${device}`,
        device_id: `device-${device}`,
        user_id: `user-${device % 10}`,
        collection: 'patients',
        record_id: `record-${i}`,
        op_type: 'create',
        status,
        result: '{"version":1}',
        received_at: new Date(received).toISOString(),
        duplicates: 0,
        hlc: formatHlc({ ms: made, counter: 0, node: `device-${device}` }),
      });
    }
    await database.db.insertInto('ops').values(batch).execute();
  }
}

/** The median of `runs` timings of `work`, in milliseconds, after one warm-up run. */
async function time(work: () => Promise<unknown>, runs = 7): Promise<number> {
  await work();
  const ms: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    await work();
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(runs / 2)] ?? Number.NaN;
}

async function measure(kind: string, open: () => Promise<Database>, spreadDays: number): Promise<void> {
  const database = await open();
  const app = await createSyncServer({
    schema: fieldClinic,
    database,
    auth: { jwtSecret: 'bench-secret-that-is-at-least-32-characters-long' },
    limits: { rateLimitPerMinute: false },
    now: () => new Date(now),
  });
  try {
    await ensureUsers(app.outpost.store, [admin]);
    await fill(database, spreadDays);
    // PostgreSQL plans with statistics, as a clinic's database has them after autovacuum's first pass.
    if (database.kind === 'postgres') await sql`analyze ops`.execute(database.db);
    const login = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: admin.email, password: admin.password },
    });
    const token = loginResponseSchema.parse(login.json()).token;
    const store = app.outpost.store;
    const since = new Date(now - 7 * day).toISOString();
    const all = await time(() => store.deviceActivity(tenant));
    const recent = await time(() => store.recentDeviceOps(tenant, since));
    const request = await time(async () => {
      const res = await app.inject({
        method: 'GET',
        url: '/v1/sync/stats/devices',
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.statusCode !== 200) throw new Error(`stats answered ${res.statusCode}`);
    });
    const inWindow = (await store.recentDeviceOps(tenant, since)).reduce((n, d) => n + d.total, 0);
    console.log(
      `${kind.padEnd(10)} ${String(rows).padStart(7)} rows, ${String(inWindow).padStart(7)} in the week: ` +
        `per-device figures ${all.toFixed(1)} ms, recent counts and delays ${recent.toFixed(1)} ms, ` +
        `whole request ${request.toFixed(1)} ms`,
    );
  } finally {
    await app.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'outpost-device-stats-'));
const postgres = await startPostgres();
try {
  for (const spreadDays of [7, 100]) {
    await measure('sqlite', () => openSqlite(join(dir, `spread-${spreadDays}.sqlite`)), spreadDays);
    const url = new URL(postgres.url);
    const name = `device_stats_${spreadDays}`;
    const { Client } = await import('pg');
    const client = new Client({ connectionString: postgres.url });
    await client.connect();
    await client.query(`create database ${name}`);
    await client.end();
    url.pathname = `/${name}`;
    await measure('postgres', () => openPostgres(url.toString()), spreadDays);
  }
} finally {
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
