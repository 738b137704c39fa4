// A fingerprint of everything the store keeps, for "a refused request changes nothing": per table,
// its row count and a hash of its rows in key order, of every tenant or of one. audit_events is left
// out on purpose: refused requests are audited there by design (decisions/0014). A file's chunks
// are hashed by their bytes' SHA-256, so a fingerprint costs little however large they are.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { SyncStore } from '../../src/storage/sync-store';

const tables = {
  tenant_state: ['tenant'],
  records: ['tenant', 'collection', 'id'],
  ops: ['tenant', 'op_id'],
  temp_ids: ['tenant', 'client_id', 'temp_id'],
  id_counters: ['tenant', 'collection'],
  restored_numbers: ['tenant', 'collection', 'epoch', 'lost_id'],
  conflicts: ['id'],
  conflict_resolutions: ['id'],
  rejections: ['id'],
  users: ['id'],
  devices: ['tenant', 'user_id', 'device_id'],
  sync_queue: ['tenant', 'id'],
  files: ['tenant', 'id'],
  file_chunks: ['tenant', 'file_id', 'idx'],
  refresh_tokens: ['token_hash'],
  tenant_settings: ['tenant', 'name'],
  device_names: ['tenant', 'device_id'],
  devices_out_of_use: ['tenant', 'device_id'],
} as const;

export type Fingerprint = Record<keyof typeof tables, { rows: number; hash: string }>;

/** A row with its bytes (a chunk, on either database) as their SHA-256, the rest as it is. */
function plain(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key,
      value instanceof Uint8Array ? `bytes:${createHash('sha256').update(value).digest('hex')}` : value,
    ]),
  );
}

/** Every tenant's rows, or with `tenant` only that tenant's (every table here has the column). */
export async function fingerprint(store: SyncStore, tenant?: string): Promise<Fingerprint> {
  const entries = await Promise.all(
    Object.entries(tables).map(async ([table, keys]) => {
      const where = tenant === undefined ? sql`` : sql`where ${sql.ref('tenant')} = ${tenant}`;
      const { rows } = await sql<
        Record<string, unknown>
      >`select * from ${sql.table(table)} ${where} order by ${sql.join(keys.map((k) => sql.ref(k)))}`.execute(
        store.db,
      );
      const hash = createHash('sha256');
      for (const row of rows) hash.update(JSON.stringify(plain(row))).update('\n');
      return [table, { rows: rows.length, hash: hash.digest('hex').slice(0, 16) }] as const;
    }),
  );
  return Object.fromEntries(entries) as Fingerprint;
}

/** How many refused requests the audit holds, all tenants together. */
export async function refusalCount(store: SyncStore): Promise<number> {
  const row = await store.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('action', '=', 'refused')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The newest refusal in the audit. */
export async function lastRefusal(store: SyncStore) {
  return (
    (await store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'refused')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst()) ?? null
  );
}
