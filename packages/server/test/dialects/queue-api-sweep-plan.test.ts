// The server's own retry of seed 000's queue reads sync_queue across every tenant twice a minute.
// Its queries, exactly as the sweep builds them, are served by the index sync_queue_due (migration
// 0011) on SQLite and PostgreSQL: the plans say so, over a queue holding thousands of settled items.
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimLeaseMs } from '../../src/dialects/queue-api/queue-processor';
import { queueRetryPolicy } from '../../src/dialects/queue-api/queue-api-options';
import type { QueueStore } from '../../src/dialects/queue-api/queue-store';
import { dialects, startTestServer } from '../server-fixture';
import type { DialectName, TestServer } from '../server-fixture';

const now = Date.parse('2026-03-02T15:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A stored item as a queue of a few clinics holds it after weeks of use. */
function row(i: number, status: string, nextAttemptAt: string | null, updatedAt: string) {
  return {
    tenant: `clinic-${i % 7}`,
    id: `q-plan-${status}-${i}`,
    user_id: `user-${i % 23}`,
    device_id: `tablet-${i % 41}`,
    operation: 'CREATE',
    resource_type: 'encounter',
    collection: 'encounters',
    resource_id: null,
    record_id: `record-${i}`,
    data: JSON.stringify({ diagnosis: 'Malaria' }),
    version: null,
    created_at_client: iso(now - 86_400_000 + i),
    hlc: `${i}`,
    status,
    retry_count: status === 'FAILED' ? i % 5 : 0,
    next_attempt_at: nextAttemptAt,
    error: status === 'FAILED' ? JSON.stringify({ code: 'UNRESOLVED_REFERENCE', message: 'x' }) : null,
    attempt_roles: status === 'SYNCED' ? null : JSON.stringify(['clinician']),
    conflict_id: null,
    resolution: null,
    queued_at: iso(now - 86_400_000 + i),
    updated_at: updatedAt,
    synced_at: status === 'SYNCED' ? updatedAt : null,
  };
}

describe.each(dialects())('the queue sweep’s queries on %s', (kind: DialectName) => {
  let server: TestServer;
  let queue: QueueStore;

  /** The database's own account of how it would run `query`, one line per step. */
  async function planOf(query: CompiledQuery): Promise<string> {
    const db = server.app.outpost.store.db;
    const prefix = kind === 'sqlite' ? 'explain query plan ' : 'explain ';
    const result = await db.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw(prefix + query.sql, [...query.parameters]),
    );
    return result.rows.map((r) => String(kind === 'sqlite' ? r['detail'] : r['QUERY PLAN'])).join('\n');
  }

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { queueApi: { retryIntervalMs: false } } });
    queue = server.app.queueApi.processor.queue;
    const db = server.app.outpost.store.db;
    const rows = [];
    // Mostly settled items, which the sweep must not read; a few hundred failures, most of them due
    // (more than a batch), some planned for later, some out of attempts; a few items under way.
    for (let i = 0; i < 6_000; i++) rows.push(row(i, 'SYNCED', null, iso(now - 3_600_000)));
    for (let i = 0; i < 400; i++) rows.push(row(i, 'FAILED', iso(now - 60_000 * (i + 1)), iso(now)));
    for (let i = 400; i < 500; i++) rows.push(row(i, 'FAILED', iso(now + 60_000 * i), iso(now)));
    for (let i = 500; i < 600; i++) rows.push(row(i, 'FAILED', null, iso(now)));
    for (let i = 0; i < 5; i++) rows.push(row(i, 'SYNCING', null, iso(now - 2 * claimLeaseMs + i)));
    for (let at = 0; at < rows.length; at += 500) {
      await db
        .insertInto('sync_queue')
        .values(rows.slice(at, at + 500))
        .execute();
    }
    // PostgreSQL plans from statistics, as a server's autovacuum would have gathered them by now.
    if (kind === 'postgres') await sql`analyze sync_queue`.execute(db);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('finds the due FAILED items through sync_queue_due, in its order: no scan of the table, no sort', async () => {
    const due = queue.dueQuery(iso(now), { maxAttempts: queueRetryPolicy.maxAttempts, limit: 100 });
    const plan = await planOf(due.compile());
    if (kind === 'sqlite') {
      expect(plan).toMatch(
        /SEARCH q USING INDEX sync_queue_due \(status=\? AND next_attempt_at>\? AND next_attempt_at<\?\)/,
      );
      expect(plan).not.toMatch(/SCAN q\b|TEMP B-TREE/);
    } else {
      expect(plan).toMatch(/Index Scan using sync_queue_due on sync_queue q/);
      expect(plan).not.toMatch(/Seq Scan on sync_queue|Sort/);
    }
    // And it answers what the sweep needs: the 100 due longest, longest first.
    const items = await queue.due(iso(now), { maxAttempts: queueRetryPolicy.maxAttempts, limit: 100 });
    expect(items).toHaveLength(100);
    expect(items.map((i) => i.id)).toEqual(Array.from({ length: 100 }, (_, k) => `q-plan-FAILED-${399 - k}`));
  });

  it('finds the SYNCING items whose claim lapsed through sync_queue_due by their status', async () => {
    const stalled = queue.stalledQuery(iso(now - claimLeaseMs), { limit: 100 });
    const plan = await planOf(stalled.compile());
    if (kind === 'sqlite') {
      expect(plan).toMatch(/SEARCH q USING INDEX sync_queue_due \(status=\?\)/);
      expect(plan).not.toMatch(/SCAN q\b/);
    } else {
      expect(plan).toMatch(/(Index|Bitmap Index) Scan (using|on) sync_queue_due/);
      expect(plan).not.toMatch(/Seq Scan on sync_queue/);
    }
    expect((await queue.stalled(iso(now - claimLeaseMs), { limit: 100 })).map((i) => i.id)).toEqual(
      Array.from({ length: 5 }, (_, k) => `q-plan-SYNCING-${k}`),
    );
  });
});
