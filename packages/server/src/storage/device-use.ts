import type { Kysely, Transaction } from 'kysely';
import type { Tables } from './tables';

/** What became of a request to take a device out of use, or to put it back. */
export type DeviceUseChange = 'out-of-use' | 'in-use' | 'unchanged';

/**
 * The devices a clinic took out of use (migration 0028, decision 0057), written once with Kysely
 * for SQLite and PostgreSQL. A mark is in effect while the device has not synced since it was made:
 * a tablet that syncs again is in use, and neither push nor pull writes anything for that. The
 * tenant is the caller's, from the verified token; the route decides who may change it.
 */
export class DeviceUseStore {
  constructor(private readonly db: Kysely<Tables>) {}

  /** Since when each device of the clinic was taken out of use, by device id, in effect or not. */
  async marks(tenant: string): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('devices_out_of_use')
      .select(['device_id', 'since'])
      .where('tenant', '=', tenant)
      .execute();
    return new Map(rows.map((r) => [r.device_id, r.since]));
  }

  /**
   * Takes the device out of use from `by.at`, with `within` (its audit event) in the same
   * transaction; returns since when it is out of use. A device already out of use, and not synced
   * since, keeps its first time and nothing is written.
   */
  async takeOutOfUse(
    tenant: string,
    deviceId: string,
    by: { userId: string; at: string },
    within: (trx: Transaction<Tables>) => Promise<void>,
  ): Promise<{ change: DeviceUseChange; since: string }> {
    return this.db.transaction().execute(async (trx) => {
      const mark = await trx
        .selectFrom('devices_out_of_use')
        .select('since')
        .where('tenant', '=', tenant)
        .where('device_id', '=', deviceId)
        .executeTakeFirst();
      if (mark !== undefined && !(await syncedAfter(trx, tenant, deviceId, mark.since)))
        return { change: 'unchanged', since: mark.since };
      await trx
        .insertInto('devices_out_of_use')
        .values({ tenant, device_id: deviceId, since: by.at, marked_by: by.userId })
        .onConflict((oc) =>
          oc.columns(['tenant', 'device_id']).doUpdateSet({ since: by.at, marked_by: by.userId }),
        )
        .execute();
      await within(trx);
      return { change: 'out-of-use', since: by.at };
    });
  }

  /**
   * Puts the device back in use, with `within` (its audit event) in the same transaction. A device
   * not out of use (never taken out, or synced since) is `unchanged`, with no event; a mark that
   * lapsed is removed all the same.
   */
  async putInUse(
    tenant: string,
    deviceId: string,
    within: (trx: Transaction<Tables>) => Promise<void>,
  ): Promise<DeviceUseChange> {
    return this.db.transaction().execute(async (trx) => {
      const removed = await trx
        .deleteFrom('devices_out_of_use')
        .where('tenant', '=', tenant)
        .where('device_id', '=', deviceId)
        .returning('since')
        .executeTakeFirst();
      if (removed === undefined || (await syncedAfter(trx, tenant, deviceId, removed.since)))
        return 'unchanged';
      await within(trx);
      return 'in-use';
    });
  }
}

/** Whether anyone synced on the device after `since`: a mark made before is no longer in effect. */
async function syncedAfter(
  trx: Transaction<Tables>,
  tenant: string,
  deviceId: string,
  since: string,
): Promise<boolean> {
  const row = await trx
    .selectFrom('devices')
    .select('device_id')
    .where('tenant', '=', tenant)
    .where('device_id', '=', deviceId)
    .where('last_sync_at', '>', since)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
