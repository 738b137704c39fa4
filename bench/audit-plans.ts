// `npx tsx bench/audit-plans.ts [--ops N] [--without-indexes]`: how PostgreSQL plans the reads of
// GET /v1/audit (SyncStore.listAudit) for a clinic with N push ops (default 100,000) and a tenth as
// many audit events, beside another clinic of the same size. Prints each read's plan and time, as
// EXPLAIN ANALYZE gives them; `--without-indexes` drops migration 0016's indexes first, to compare.
// Not part of `npm run bench`: it explains the index choice of decision 0035.
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { openPostgres, SyncStore } from '@outpost/server';
import type { Database } from '@outpost/server';
import type { AuditFilter, AuditPosition } from '../packages/server/src/storage/sync-store';
import type { Tables } from '../packages/server/src/storage/tables';
import { startPostgres } from '../packages/server/test/postgres-harness';

const { values } = parseArgs({
  options: { ops: { type: 'string', default: '100000' }, 'without-indexes': { type: 'boolean' } },
});
const opCount = Number(values.ops);

/** Pushes of 50 ops, one a minute, from 10 users on 20 tablets; one person who left long ago. */
async function fill(client: pg.Client, tenant: string): Promise<void> {
  const time = (expr: string) => `to_char(timestamp '2026-01-01' + ${expr}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  await client.query(
    `insert into ops (tenant, op_id, client_id, device_id, user_id, collection, record_id, op_type,
       status, result, received_at, duplicates)
     select $1, lpad(g::text, 10, '0') || '-op', 'client', 'tablet-' || (g / 50) % 20,
       'user-' || (g / 50) % 10, 'patients', 'rec-' || g % 5000, 'update', 'applied', '{"version":2}',
       ${time("(g / 50) * interval '1 minute'")}, 0
     from generate_series(1, $2::int) as g`,
    [tenant, opCount],
  );
  await client.query(
    `insert into ops (tenant, op_id, client_id, device_id, user_id, collection, record_id, op_type,
       status, result, received_at, duplicates)
     select $1, 'rare-' || g, 'client', 'tablet-old', 'user-rare', 'patients', 'rec-' || g, 'create',
       'applied', '{"version":1}', ${time("g * interval '1 second'")}, 0
     from generate_series(1, 50) as g`,
    [tenant],
  );
  await client.query(
    `insert into audit_events (tenant, at, user_id, device_id, action, collection, record_id, route, outcome)
     select $1, ${time("g * interval '10 minutes'")}, 'user-' || g % 10, null,
       case when g % 7 = 0 then 'refused' else 'login' end, null, null, null, 'ok'
     from generate_series(1, $2::int) as g`,
    [tenant, Math.round(opCount / 10)],
  );
}

const running = await startPostgres();
try {
  const setup = await openPostgres(running.url);
  await setup.close();
  const client = new pg.Client({ connectionString: running.url });
  await client.connect();
  if (values['without-indexes'])
    for (const index of ['audit_by_time', 'audit_by_user_time', 'ops_by_time'])
      await client.query(`drop index ${index}`);
  await fill(client, 'clinic-a');
  await fill(client, 'clinic-b');
  await client.query('analyze');

  const captured: Array<{ sql: string; parameters: readonly unknown[] }> = [];
  const pool = new pg.Pool({ connectionString: running.url, max: 2 });
  const db = new Kysely<Tables>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query')
        captured.push({ sql: event.query.sql, parameters: event.query.parameters });
    },
  });
  const database: Database = { kind: 'postgres', db, close: () => db.destroy() };
  const store = new SyncStore(database);

  // Pushes come a minute apart: the one halfway through the clinic's history.
  const middle = new Date(Date.parse('2026-01-01T00:00:00Z') + (opCount / 50 / 2) * 60_000).toISOString();
  const cases: Array<{ name: string; filter: AuditFilter; before?: AuditPosition }> = [
    { name: 'the clinic, first page', filter: {} },
    {
      name: 'the clinic, a page halfway back',
      filter: {},
      before: { at: middle, source: 'op', opId: '0000050000-op' },
    },
    { name: 'one of ten people', filter: { userId: 'user-3' } },
    { name: 'a person with 50 ops long ago', filter: { userId: 'user-rare' } },
    { name: 'one of twenty tablets', filter: { deviceId: 'tablet-5' } },
    { name: 'one day', filter: { from: '2026-01-02T00:00:00.000Z', to: '2026-01-03T00:00:00.000Z' } },
    { name: 'sign-ins of one person', filter: { userId: 'user-3', actions: ['login'] } },
    { name: 'one record', filter: { recordId: 'rec-42' } },
  ];
  for (const c of cases) {
    captured.length = 0;
    await store.listAudit('clinic-a', c.filter, { limit: 101, ...(c.before ? { before: c.before } : {}) });
    console.log(`\n=== ${c.name}`);
    for (const q of captured) {
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers, costs off) ${q.sql}`,
        [...q.parameters],
      );
      console.log(plan.rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n'));
    }
  }
  await store.close();
  await client.end();
} finally {
  await running.stop();
}
