// The client SDK's budgets (issue: client SDK): a whole queued day synced end to end, the
// dependency order of a large outbox, and temp-id rewriting across a large local store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTempId, orderOps } from '@outpost/core';
import type { IdMapping } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { createSyncServer, ensureUsers, openSqlite } from '@outpost/server';
import { createSyncClient, memoryStore } from '../packages/client/src/index';
import type { LocalRecord } from '../packages/client/src/index';
import { rewriteTempIds } from '../packages/client/src/temp-ids/rewrite-temp-ids';
import { vetPracticeOutbox } from './dependency-order';
import { row } from './report';
import type { BenchContext, BenchRow, Benchmark } from './report';
import { median } from './sync-throughput';

const fmt = (times: readonly number[]) => times.map((t) => `${t.toFixed(0)} ms`).join(', ');

/** 10,000 ops queued offline on a memory store, then one sync() against a loopback server on SQLite. */
async function endToEnd(context: BenchContext): Promise<BenchRow> {
  const ops = 10_000;
  const budgetMs = 2000;
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bench-client-'));
  const app = await createSyncServer({
    schema: fieldClinic,
    database: await openSqlite(join(dir, 'outpost.sqlite')),
    auth: { jwtSecret: 'bench-secret-bench-secret-bench-secret' },
    limits: { rateLimitPerMinute: false },
    logger: false,
  });
  try {
    // One clinic per run, so every run pulls only its own day, as a fresh device would.
    await ensureUsers(
      app.outpost.store,
      Array.from({ length: context.runs }, (_, run) => ({
        email: `nurse-${run}@bench.test`,
        password: 'bench',
        tenant: `bench-${run}`,
        roles: ['clinician'],
      })),
    );
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const tokenFor = async (run: number) => {
      const login = await fetch(`${url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `nurse-${run}@bench.test`, password: 'bench' }),
      });
      return ((await login.json()) as { token: string }).token;
    };
    const times: number[] = [];
    for (let run = 0; run < context.runs; run++) {
      const token = await tokenFor(run);
      const client = await createSyncClient({
        schema: fieldClinic,
        url,
        getToken: async () => token,
        store: memoryStore(),
        deviceId: `bench-${run}`,
        autoSync: false,
        probeIntervalMs: false,
      });
      // A clinic's day: patients, each with two encounters and a prescription. All creates, so
      // coalescing folds nothing away: 10,000 ops travel.
      let queued = 0;
      while (queued < ops) {
        const p = await client.collection('patients').create({ name: `Patient ${queued}` });
        const e = await client.collection('encounters').create({ patientId: p.id, diagnosis: 'malaria' });
        await client
          .collection('prescriptions')
          .create({ patientId: p.id, encounterId: e.id, drug: 'ACT', dose: '1 tab' });
        await client.collection('encounters').create({ patientId: p.id, notes: 'follow up in a week' });
        queued += 4;
      }
      const start = performance.now();
      const result = await client.sync();
      times.push(performance.now() - start);
      if (!result.success || result.pushed.applied === 0)
        throw new Error(`sync failed: ${JSON.stringify(result.error)}`);
      await client.close();
    }
    const ms = median(times);
    context.log(
      `sync of ${ops.toLocaleString('en-US')} queued ops (batches of 50, then the pull of them): ${fmt(times)}; target under ${budgetMs} ms`,
    );
    return row('client-sync-10k-ops', 'ops/s', ops / (ms / 1000), ops / (budgetMs / 1000), 1);
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function dependencyOrder(context: BenchContext): BenchRow {
  const outbox = vetPracticeOutbox(100_000);
  const budgetMs = 500;
  orderOps(outbox, vetPractice);
  const times: number[] = [];
  for (let i = 0; i < context.runs; i++) {
    const start = performance.now();
    orderOps(outbox, vetPractice);
    times.push(performance.now() - start);
  }
  context.log(`dependency order of 100,000 ops: ${fmt(times)}; target under ${budgetMs} ms`);
  return row(
    'client-dependency-order-100k',
    'ops/s',
    100_000 / (median(times) / 1000),
    100_000 / (budgetMs / 1000),
    1,
  );
}

/** 100,000 local records, 10,000 of them under temp ids that the others reference. */
function tempIdRewrite(context: BenchContext): BenchRow {
  const budgetMs = 500;
  const mappings: IdMapping[] = [];
  const records: LocalRecord[] = [];
  const now = Date.UTC(2026, 10, 22);
  for (let i = 0; i < 10_000; i++) {
    const tempId = makeTempId('pets', now + i);
    mappings.push({ collection: 'pets', tempId, id: String(1000 + i) });
    records.push({
      collection: 'pets',
      id: tempId,
      data: { name: `Pet ${i}`, ownerId: '7' },
      deleted: false,
      version: 0,
      hlc: '',
      updatedAt: '',
    });
  }
  for (let i = 0; records.length < 100_000; i++) {
    const pet = mappings[i % mappings.length] as IdMapping;
    records.push({
      collection: 'appointments',
      id: makeTempId('appointments', now + i),
      data: { title: 'Check-up', date: '2026-11-22', petId: i % 3 === 0 ? pet.tempId : String(i) },
      deleted: false,
      version: 0,
      hlc: '',
      updatedAt: '',
    });
  }
  const times: number[] = [];
  for (let i = 0; i < context.runs; i++) {
    const start = performance.now();
    const batch = rewriteTempIds(vetPractice, mappings, { records, outbox: [], conflicts: [] });
    times.push(performance.now() - start);
    if (batch.deleteRecords.length !== 10_000) throw new Error('temp-id rewrite missed records');
  }
  context.log(
    `temp-id rewrite, 10,000 mappings over 100,000 records: ${fmt(times)}; target under ${budgetMs} ms`,
  );
  return row(
    'client-temp-id-rewrite',
    'records/s',
    100_000 / (median(times) / 1000),
    100_000 / (budgetMs / 1000),
    1,
  );
}

/** Rows are rates against the budget's rate, so ratio >= 1 means within budget. */
export const clientBudgets: Benchmark = {
  name: 'client',
  async run(context) {
    return [dependencyOrder(context), tempIdRewrite(context), await endToEnd(context)];
  },
};
