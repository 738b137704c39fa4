import type { Kysely, Transaction } from 'kysely';
import { deviceNameKey } from '@outpost/core';
import type { Tables } from './tables';

/** A named device of a clinic, as stored. */
export interface DeviceNameRow {
  deviceId: string;
  name: string;
  namedAt: string;
  /** The user id of the person who named it. */
  namedBy: string;
}

/** What became of a naming: `taken` when another device of the clinic already has that name. */
export type DeviceNaming = 'named' | 'renamed' | 'unnamed' | 'unchanged' | 'taken';

/** Thrown inside the transaction to roll a naming back whose name turned out taken. */
class NameTaken extends Error {}

/**
 * The names a clinic gives its devices (migration 0027, decision 0056), written once with Kysely
 * for SQLite and PostgreSQL. The tenant is the caller's, from the verified token; the route decides
 * who may name which device before it gets here.
 */
export class DeviceNamesStore {
  constructor(private readonly db: Kysely<Tables>) {}

  /**
   * Every named device of the clinic, by name; with `visibleTo`, only those that person synced on
   * or named herself (a new tablet she named before its first sync), and `alsoDevice`.
   */
  async list(
    tenant: string,
    visibleTo?: { userId: string; alsoDevice?: string | undefined },
  ): Promise<DeviceNameRow[]> {
    let query = this.db
      .selectFrom('device_names as n')
      .select(['n.device_id', 'n.name', 'n.named_at', 'n.named_by'])
      .where('n.tenant', '=', tenant);
    if (visibleTo !== undefined)
      query = query.where(({ eb, exists, or, selectFrom }) =>
        or([
          eb('n.named_by', '=', visibleTo.userId),
          exists(
            selectFrom('devices as d')
              .select('d.device_id')
              .where('d.tenant', '=', tenant)
              .where('d.user_id', '=', visibleTo.userId)
              .whereRef('d.device_id', '=', 'n.device_id'),
          ),
          ...(visibleTo.alsoDevice !== undefined ? [eb('n.device_id', '=', visibleTo.alsoDevice)] : []),
        ]),
      );
    const rows = await query.orderBy('n.name_key').orderBy('n.device_id').execute();
    return rows.map((r) => ({
      deviceId: r.device_id,
      name: r.name,
      namedAt: r.named_at,
      namedBy: r.named_by,
    }));
  }

  /**
   * Who of the clinic has synced on the device, as far as naming it goes: nobody, the person
   * `userId` (perhaps with others), or others only. One read of the device's rows.
   */
  async syncedBy(tenant: string, deviceId: string, userId: string): Promise<'nobody' | 'caller' | 'others'> {
    const row = await this.db
      .selectFrom('devices')
      .select(({ eb, fn }) => [
        fn.countAll().as('people'),
        fn.max(eb.case().when('user_id', '=', userId).then(1).else(0).end()).as('caller'),
      ])
      .where('tenant', '=', tenant)
      .where('device_id', '=', deviceId)
      .executeTakeFirstOrThrow();
    if (Number(row.people) === 0) return 'nobody';
    return Number(row.caller) === 1 ? 'caller' : 'others';
  }

  /**
   * Names the device `name`, or removes its name (null), with `within` (its audit event) in the
   * same transaction. A name another device of the clinic has (`deviceNameKey` alike) is refused
   * and nothing is written: the unique index decides, so two people giving two tablets one name at
   * the same moment cannot both succeed. Asking for the name it already has writes nothing.
   */
  async name(
    tenant: string,
    deviceId: string,
    name: string | null,
    by: { userId: string; at: string },
    within: (trx: Transaction<Tables>, naming: Exclude<DeviceNaming, 'taken' | 'unchanged'>) => Promise<void>,
  ): Promise<DeviceNaming> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const before = await trx
          .selectFrom('device_names')
          .select('name')
          .where('tenant', '=', tenant)
          .where('device_id', '=', deviceId)
          .executeTakeFirst();
        if (name === null && before === undefined) return 'unchanged';
        if (name !== null && before?.name === name) return 'unchanged';
        await trx
          .deleteFrom('device_names')
          .where('tenant', '=', tenant)
          .where('device_id', '=', deviceId)
          .execute();
        if (name !== null) {
          // With this device's own row gone, the only conflict left is the name's: nothing is
          // inserted when another device has it.
          const inserted = await trx
            .insertInto('device_names')
            .values({
              tenant,
              device_id: deviceId,
              name,
              name_key: deviceNameKey(name),
              named_by: by.userId,
              named_at: by.at,
            })
            .onConflict((oc) => oc.doNothing())
            .executeTakeFirst();
          if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) throw new NameTaken();
        }
        const naming = name === null ? 'unnamed' : before === undefined ? 'named' : 'renamed';
        await within(trx, naming);
        return naming;
      });
    } catch (error) {
      if (error instanceof NameTaken) return 'taken';
      throw error;
    }
  }
}
