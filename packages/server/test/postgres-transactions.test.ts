// Transactions on PostgreSQL send BEGIN with their first statement (database.ts,
// beginWithFirstStatement). What a caller relies on must hold all the same: every statement runs
// inside the one transaction, a failure rolls all of it back, and the connection goes back to the
// pool clean.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../src/storage/database';
import type { Database } from '../src/index';
import { dialects } from './server-fixture';
import { freshPostgresDatabase } from './postgres';

describe.skipIf(!dialects().includes('postgres'))('transactions on PostgreSQL', () => {
  let database: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const fresh = await freshPostgresDatabase();
    drop = fresh.drop;
    // One connection, so every transaction below reuses the one the one before released.
    database = await openPostgres(fresh.url, { maxConnections: 1 });
    await sql`create table notes (id int primary key, body text not null)`.execute(database.db);
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  const bodies = async () =>
    (await sql<{ body: string }>`select body from notes order by id`.execute(database.db)).rows.map(
      (r) => r.body,
    );

  it('runs every statement of a transaction in that one transaction', async () => {
    const ids = await database.db.transaction().execute(async (trx) => {
      const first = await sql<{ id: string }>`select txid_current()::text as id`.execute(trx);
      await sql`insert into notes values (1, 'kept')`.execute(trx);
      const last = await sql<{ id: string }>`select txid_current()::text as id`.execute(trx);
      return [first.rows[0]?.id, last.rows[0]?.id];
    });
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBe(ids[0]);
    expect(await bodies()).toEqual(['kept']);
  });

  it('rolls back everything when a later statement fails, and the connection is clean after', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await sql`insert into notes values (2, 'lost')`.execute(trx);
        await sql`insert into notes values (1, 'duplicate key')`.execute(trx);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await bodies()).toEqual(['kept']);
    // Outside a transaction, on the same (only) connection: no transaction is left open on it.
    const state = await sql<{ open: boolean }>`select now() <> statement_timestamp() as open`.execute(
      database.db,
    );
    expect(state.rows[0]?.open).toBe(false);
  });

  it('rolls back when the first statement fails, and when the code fails before any statement', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await sql`insert into nowhere values (1)`.execute(trx);
      }),
    ).rejects.toThrow(/nowhere/);
    await expect(
      database.db.transaction().execute(async () => {
        throw new Error('refused before writing');
      }),
    ).rejects.toThrow('refused before writing');
    await database.db.transaction().execute(async (trx) => {
      await sql`insert into notes values (3, 'after')`.execute(trx);
    });
    expect(await bodies()).toEqual(['kept', 'after']);
  });

  it('commits a transaction that ran no statement', async () => {
    await expect(database.db.transaction().execute(async () => 'nothing to do')).resolves.toBe(
      'nothing to do',
    );
    expect(await bodies()).toEqual(['kept', 'after']);
  });
});
