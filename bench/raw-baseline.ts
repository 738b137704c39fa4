// The raw side: the least work that stores the same rows in the same `records` table and reads
// them back, with no HTTP, no validation, no op journal and no tenant lock. What ours costs beyond
// this is the price of being a sync server.
import { stampFields } from '@outpost/core';
import type { Database } from '@outpost/server';
import { pullPageSize, pushBatchSize, timed, withStatistics } from './push-pull';
import type { SyncTimings } from './push-pull';
import { inBatches } from './workload';
import type { PatientCreateOp } from './workload';

const tenant = 'bench';

/**
 * Writes `ops` as records, one transaction and one multi-row upsert per 500 rows (the push batch
 * size), then reads them back by keyset pages of 1000, parsing each row's JSON data.
 *
 * It goes through the Kysely handle that openSqlite/openPostgres return, i.e. the same driver, pool
 * and connection settings (WAL, synchronous=FULL on SQLite) as our server; so the ratio measures our
 * server's own work, not a difference in query builder or durability. Closes `database` at the end.
 */
export async function measureRaw(database: Database, ops: readonly PatientCreateOp[]): Promise<SyncTimings> {
  const { db } = database;
  try {
    const at = new Date().toISOString();
    let position = 0;
    const push = await timed(async () => {
      for (const batch of inBatches(ops, pushBatchSize)) {
        // Rows are built inside the timing: turning data into JSON text is work any server does.
        const rows = batch.map((op) => ({
          tenant,
          collection: op.collection,
          id: op.id,
          data: JSON.stringify(op.data),
          version: 1,
          // The same per-field metadata ours stores, so both sides write rows of the same size.
          field_meta: JSON.stringify(stampFields({}, Object.keys(op.data), 1, op.hlc)),
          deleted: 0,
          hlc: op.hlc,
          updated_at: at,
          updated_by: 'bench-user',
          position: ++position,
        }));
        await db.transaction().execute((trx) =>
          trx
            .insertInto('records')
            .values(rows)
            .onConflict((oc) =>
              oc.columns(['tenant', 'collection', 'id']).doUpdateSet((eb) => ({
                data: eb.ref('excluded.data'),
                version: eb.ref('excluded.version'),
                field_meta: eb.ref('excluded.field_meta'),
                deleted: eb.ref('excluded.deleted'),
                hlc: eb.ref('excluded.hlc'),
                updated_at: eb.ref('excluded.updated_at'),
                updated_by: eb.ref('excluded.updated_by'),
                position: eb.ref('excluded.position'),
              })),
            )
            .execute(),
        );
      }
      return ops.length;
    });

    await withStatistics(database);
    const pull = await timed(async () => {
      let after = 0;
      let rows = 0;
      for (;;) {
        const page = await db
          .selectFrom('records')
          .selectAll()
          .where('tenant', '=', tenant)
          .where('position', '>', after)
          .orderBy('position')
          .limit(pullPageSize)
          .execute();
        for (const row of page) {
          const data: unknown = JSON.parse(row.data);
          if (typeof data !== 'object' || data === null)
            throw new Error(`raw pull: row ${row.id} has no data`);
          after = row.position;
        }
        rows += page.length;
        if (page.length < pullPageSize) break;
      }
      if (rows !== ops.length) throw new Error(`raw pull read ${rows} rows, expected ${ops.length}`);
      return rows;
    });
    return { push, pull };
  } finally {
    await database.close();
  }
}
