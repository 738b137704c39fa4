// `npx tsx bench/profile.ts [--ops N]`: where our push and pull spend their time, phase by phase, on
// SQLite and PostgreSQL. Not part of `npm run bench`: it reaches into server internals (applyPush,
// SyncStore) to time each layer without the ones above it, and exists to explain a missed target.
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  UnknownRow,
} from 'kysely';
import { HlcClock, pushOpSchema } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { SyncStore } from '@outpost/server';
import type { Database } from '@outpost/server';
import { applyPush } from '../packages/server/src/push/apply-push';
import { startPostgres } from '../packages/server/test/postgres-harness';
import type { RunningPostgres } from '../packages/server/test/postgres-harness';
import { postgresDriver, sqliteDriver } from './drivers';
import type { Driver } from './drivers';
import { measureOurs, pullPage, pullPageSize, pushBatchSize, startBenchServer } from './push-pull';
import { measureRaw } from './raw-baseline';
import { inBatches, patientCreates } from './workload';
import type { PatientCreateOp } from './workload';

/** Milliseconds per label, summed. */
class Phases {
  readonly ms = new Map<string, number>();
  /** When the last SQL statement returned: what follows it inside a transaction is the commit. */
  lastSqlEnd = 0;

  add(label: string, ms: number): void {
    this.ms.set(label, (this.ms.get(label) ?? 0) + ms);
  }

  async time<T>(label: string, work: () => Promise<T> | T): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.add(label, performance.now() - start);
    }
  }
}

/** The first table a query names (its first TableNode), found by walking its operation tree. */
function tableOf(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  if ('kind' in node && node.kind === 'TableNode') return identifierOf(node);
  for (const child of Object.values(node)) {
    const found = tableOf(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** For raw SQL, its first word (select, insert...), so lookups and inserts into one table read apart. */
function rawVerb(node: unknown): string {
  if (typeof node !== 'object' || node === null || !('sqlFragments' in node)) return '';
  const fragments = node.sqlFragments;
  const first = Array.isArray(fragments) && typeof fragments[0] === 'string' ? fragments[0] : '';
  return ` ${first.trim().split(/\s+/)[0]?.toLowerCase() ?? ''}`;
}

/** The first identifier under a node: for a TableNode, the table's name. */
function identifierOf(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  if ('kind' in node && node.kind === 'IdentifierNode' && 'name' in node && typeof node.name === 'string') {
    return node.name;
  }
  for (const child of Object.values(node)) {
    const found = identifierOf(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Times every statement from Kysely's compile to its result, labelled by kind and table, e.g.
 * `sql InsertQueryNode records`. BEGIN and COMMIT do not pass through plugins.
 */
function sqlTimer(phases: Phases): KyselyPlugin {
  const started = new WeakMap<object, { label: string; at: number }>();
  return {
    transformQuery(args: PluginTransformQueryArgs) {
      started.set(args.queryId, {
        label: `sql ${args.node.kind}${rawVerb(args.node)} ${tableOf(args.node) ?? '?'}`,
        at: performance.now(),
      });
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const s = started.get(args.queryId);
      phases.lastSqlEnd = performance.now();
      if (s) phases.add(s.label, phases.lastSqlEnd - s.at);
      return args.result;
    },
  };
}

/** Push straight into applyPush, no HTTP: validation, logic and SQL, with SQL timed per statement. */
async function profilePush(
  database: Database,
  ops: readonly PatientCreateOp[],
  phases: Phases,
): Promise<void> {
  const store = new SyncStore({ ...database, db: database.db.withPlugin(sqlTimer(phases)) });
  const ctx = {
    tenant: 'bench',
    userId: 'bench-user',
    roles: ['clinician'],
    clientId: 'bench-client',
    deviceId: 'bench-tablet',
    clock: new HlcClock({ node: 'server' }),
    now: () => new Date(),
  };
  const patients = fieldClinic.collection('patients');
  if (!patients) throw new Error('field-clinic has no patients');
  try {
    for (const batch of inBatches(ops, pushBatchSize)) {
      const json = await phases.time('http body: JSON.stringify (client)', () =>
        JSON.stringify({ clientId: ctx.clientId, deviceId: ctx.deviceId, ops: batch }),
      );
      const body = await phases.time(
        'http body: JSON.parse (server)',
        () => JSON.parse(json) as { ops: unknown[] },
      );
      // The same two zod passes applyPush makes per op, timed alone (applyPush repeats them below).
      await phases.time('zod (inside applyPush): pushOpSchema', () =>
        body.ops.map((op) => pushOpSchema.safeParse(op)),
      );
      await phases.time('zod (inside applyPush): patients fields', () =>
        batch.map((op) => patients.fields.safeParse(op.data)),
      );
      const response = await phases.time('applyPush total (incl. zod, sql, commit)', () =>
        applyPush(store, fieldClinic, ctx, body.ops),
      );
      phases.add('commit (last statement to applyPush resolved)', performance.now() - phases.lastSqlEnd);
      await phases.time('http response: JSON.stringify', () => JSON.stringify(response));
    }
  } finally {
    await database.close();
  }
}

/**
 * Pull through the real route with app.inject (no socket, no compression), SQL timed per statement;
 * then, on the exact body the route produced, what @fastify/compress and the client add.
 */
async function profilePull(
  database: Database,
  ops: readonly PatientCreateOp[],
  phases: Phases,
): Promise<void> {
  // Fill it the fast way; only reading is profiled here.
  await measureRaw({ ...database, close: async () => {} }, ops);
  const { app, headers, close } = await startBenchServer(
    { ...database, db: database.db.withPlugin(sqlTimer(phases)) },
    { acceptEncoding: 'identity' },
  );
  try {
    let cursor: string | undefined;
    for (let hasMore = true; hasMore;) {
      const query = new URLSearchParams({ limit: String(pullPageSize) });
      if (cursor !== undefined) query.set('cursor', cursor);
      const response = await phases.time('route total via app.inject (incl. sql)', () =>
        app.inject({ method: 'GET', url: `/v1/sync/pull?${query}`, headers }),
      );
      const body = response.body;
      // What the server sends: brotli at quality 1 to a browser, gzip at level 1 to a gzip-only client.
      const br = await phases.time('response: brotli quality 1 (a browser)', () =>
        brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } }),
      );
      const gz = await phases.time('response: gzip level 1 (a gzip-only client)', () =>
        gzipSync(body, { level: 1 }),
      );
      phases.add('bytes: json', body.length);
      phases.add('bytes: brotli quality 1', br.length);
      phases.add('bytes: gzip level 1', gz.length);
      const page = await phases.time('client: JSON.parse', () => pullPage(JSON.parse(body)));
      cursor = page.cursor;
      hasMore = page.hasMore;
    }
  } finally {
    await close();
  }
}

function print(title: string, phases: Phases, totalMs: number): void {
  console.log(`\n${title}  (% of ${totalMs.toFixed(0)} ms)`);
  for (const [label, value] of [...phases.ms].sort((a, b) => b[1] - a[1])) {
    const text = label.startsWith('bytes')
      ? `${(value / 1024 / 1024).toFixed(1)} MB`
      : `${value.toFixed(0).padStart(6)} ms  ${((value / totalMs) * 100).toFixed(0).padStart(3)}%`;
    console.log(`  ${label.padEnd(45)} ${text}`);
  }
}

async function profile(driver: Driver, count: number): Promise<void> {
  const ops = patientCreates(count);
  const warm = patientCreates(2000, 2);
  await measureOurs(await driver.freshDatabase(), warm);
  await profilePush(await driver.freshDatabase(), warm, new Phases());

  const e2e = await measureOurs(await driver.freshDatabase(), ops);
  // The raw baseline with the same SQL timer, so each statement can be compared one to one.
  const rawPhases = new Phases();
  const rawDatabase = await driver.freshDatabase();
  const raw = await measureRaw({ ...rawDatabase, db: rawDatabase.db.withPlugin(sqlTimer(rawPhases)) }, ops);
  console.log(`\n=== ${driver.name}, ${count} ops`);
  console.log(
    `end to end over HTTP: push ${(e2e.push.seconds * 1000).toFixed(0)} ms, pull ${(e2e.pull.seconds * 1000).toFixed(0)} ms;` +
      ` raw: push ${(raw.push.seconds * 1000).toFixed(0)} ms, pull ${(raw.pull.seconds * 1000).toFixed(0)} ms`,
  );

  print('raw baseline, push + pull', rawPhases, (raw.push.seconds + raw.pull.seconds) * 1000);

  const push = new Phases();
  await profilePush(await driver.freshDatabase(), ops, push);
  print('push without HTTP, against the end-to-end push', push, e2e.push.seconds * 1000);

  const pull = new Phases();
  await profilePull(await driver.freshDatabase(), ops, pull);
  print('pull without HTTP, against the end-to-end pull', pull, e2e.pull.seconds * 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { ops: { type: 'string' } }, strict: true });
  const count = Number(values.ops ?? 20_000);
  const sqlite = sqliteDriver();
  let postgres: RunningPostgres | undefined;
  try {
    postgres = await startPostgres();
    for (const driver of [sqlite, postgresDriver(postgres.url)]) await profile(driver, count);
  } finally {
    await sqlite.dispose();
    await postgres?.stop();
  }
}

main().catch((error: unknown) => {
  console.error('[profile] failed:', error);
  process.exitCode = 1;
});
