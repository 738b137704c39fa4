// Pull pages on PostgreSQL are read in the position index's order even on a table PostgreSQL has no
// statistics for yet (a new clinic's first import, until autovacuum analyzes it). Planned as the
// planner would plan it then, a page read fetches and sorts every row after the cursor, and a first
// sync grows with the square of the records (dialect-sql's inPositionOrder).
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { inPositionOrder } from '../src/storage/dialect-sql';
import type { Database } from '../src/index';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { push } from './sync-client';

const pageRead = sql<{ 'QUERY PLAN': string }>`explain select id from records
  where tenant = ${'clinic-a'} and position > ${100} order by position limit 1001`;

const planOf = async (database: Database, through: 'a page read' | 'any other read') => {
  const read = (db: Parameters<typeof pageRead.execute>[0]) => pageRead.execute(db);
  const result = through === 'a page read' ? await inPositionOrder(database, read) : await read(database.db);
  return result.rows.map((r) => r['QUERY PLAN']).join('\n');
};

describe.skipIf(!dialects().includes('postgres'))('page reads on PostgreSQL', () => {
  let server: TestServer;
  let database: Database;

  beforeAll(async () => {
    server = await startTestServer('postgres');
    database = await server.storage.open();
    const nurse = await server.token('nurse@clinic-a.test');
    for (let batch = 0; batch < 4; batch++) {
      const { results } = await push(
        server,
        nurse,
        Array.from({ length: 500 }, (_, i) => ({
          collection: 'patients',
          type: 'create' as const,
          id: uuidv7(),
          data: { name: `Patient ${batch}-${i}` },
        })),
      );
      expect(results.filter((r) => r.status !== 'applied')).toEqual([]);
    }
  });
  afterAll(async () => {
    await database?.close();
    await server?.close();
  });

  it('walks the position index before the table has statistics, where another read would sort', async () => {
    // The premise: without statistics, PostgreSQL plans this read as a sort of every row after the cursor.
    expect(await planOf(database, 'any other read')).toMatch(/Sort/);
    const plan = await planOf(database, 'a page read');
    expect(plan).toMatch(/Index Scan using records_by_position/);
    expect(plan).not.toMatch(/Sort|Bitmap/);
  });

  it('does so as well on a database handle without connections of its own for page reads', async () => {
    const { pageReads: _pageReads, ...withoutPageReads } = database;
    const plan = await planOf(withoutPageReads, 'a page read');
    expect(plan).toMatch(/Index Scan using records_by_position/);
    expect(plan).not.toMatch(/Sort|Bitmap/);
  });
});
