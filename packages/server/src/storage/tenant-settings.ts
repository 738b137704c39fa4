import type { Kysely, Transaction } from 'kysely';
import type { Tables } from './tables';

/** A clinic's setting as stored: its value as parsed JSON, and who set it when. */
export interface TenantSetting {
  value: unknown;
  updatedAt: string;
  /** The user id of the person who set it. */
  updatedBy: string;
}

/** Writes what goes with a change of a setting (its audit event) in the same transaction. */
export type WithinSettingChange = (trx: Transaction<Tables>) => Promise<void>;

/**
 * A clinic's own settings by name (migration 0019), written once with Kysely for SQLite and
 * PostgreSQL. The tenant is the caller's, from the verified token; the route that owns a setting
 * checks its value before it gets here.
 */
export class TenantSettingsStore {
  constructor(private readonly db: Kysely<Tables>) {}

  /** The setting, or null where the clinic set none (the defaults). */
  async get(tenant: string, name: string): Promise<TenantSetting | null> {
    const row = await this.db
      .selectFrom('tenant_settings')
      .select(['value', 'updated_at', 'updated_by'])
      .where('tenant', '=', tenant)
      .where('name', '=', name)
      .executeTakeFirst();
    return row
      ? { value: JSON.parse(row.value) as unknown, updatedAt: row.updated_at, updatedBy: row.updated_by }
      : null;
  }

  /**
   * Sets the setting to `value` (null: drops it, back to the defaults), with `within` in the same
   * transaction: the change and its audit are kept together or not at all.
   */
  async set(
    tenant: string,
    name: string,
    value: unknown,
    by: { userId: string; at: string },
    within: WithinSettingChange,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      if (value === null) {
        await trx
          .deleteFrom('tenant_settings')
          .where('tenant', '=', tenant)
          .where('name', '=', name)
          .execute();
      } else {
        const row = { value: JSON.stringify(value), updated_at: by.at, updated_by: by.userId };
        await trx
          .insertInto('tenant_settings')
          .values({ tenant, name, ...row })
          .onConflict((oc) => oc.columns(['tenant', 'name']).doUpdateSet(row))
          .execute();
      }
      await within(trx);
    });
  }
}
