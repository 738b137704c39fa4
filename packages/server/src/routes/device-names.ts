import type { FastifyInstance } from 'fastify';
import { deviceNameRequestSchema, deviceNamesQuerySchema, outpostError } from '@outpost/core';
import type { DeviceNameResponse, DeviceNamesResponse, OutpostError } from '@outpost/core';
import { caller, isAdministrator } from '../http/caller';
import { parseInWords, parseQuery } from '../http/errors';
import type { DeviceNaming } from '../storage/device-names';
import type { SyncStore } from '../storage/sync-store';
import { insertAudit } from '../storage/sync-store';

/** Who changes something of a device, and when. */
export interface DeviceChangeBy {
  tenant: string;
  userId: string;
  at: string;
}

/**
 * The audit event of a change to a device (its name, its use): who, when, which device (as
 * `recordId`) and `outcome`; never a name, which may be a person's.
 */
export function auditDeviceChange(
  trx: Parameters<typeof insertAudit>[0],
  by: DeviceChangeBy,
  action: 'device-named' | 'device-use',
  deviceId: string,
  outcome: string,
): Promise<void> {
  return insertAudit(trx, [
    {
      tenant: by.tenant,
      at: by.at,
      userId: by.userId,
      deviceId: null,
      action,
      collection: null,
      recordId: deviceId,
      outcome,
    },
  ]);
}

/**
 * The refusal of a device nobody of the caller's clinic synced on: the same 404 as for another
 * clinic's device, so an answer tells nothing of other clinics.
 */
export function unknownDevice(): OutpostError {
  return outpostError('NOT_FOUND', 'no device of this clinic has synced with this id');
}

/**
 * Names a device (null: removes its name) and writes its `device-named` event (named, renamed or
 * unnamed) in the same transaction. Every naming (the route, the demo's seeding) says so to the
 * audit alike.
 */
export function nameDevice(
  store: SyncStore,
  by: DeviceChangeBy,
  deviceId: string,
  name: string | null,
): Promise<DeviceNaming> {
  return store.deviceNames.name(by.tenant, deviceId, name, { userId: by.userId, at: by.at }, (trx, done) =>
    auditDeviceChange(trx, by, 'device-named', deviceId, done),
  );
}

/**
 * `GET` and `PUT /v1/device-names` (an addition to PROTOCOL.md, docs/server.md; decision 0056): the
 * names a clinic gives its devices, shown by the statistics, the audit log and each tablet's Sync
 * details. A person reads and names the devices she syncs on, and names a new one; an
 * administrator reads and names those of the whole clinic. Audited as `device-named`.
 */
export async function deviceNameRoutes(app: FastifyInstance): Promise<void> {
  const { store, adminRoles, now } = app.outpost;

  app.get('/v1/device-names', async (request): Promise<DeviceNamesResponse> => {
    const auth = caller(request);
    const { deviceId } = parseQuery(deviceNamesQuerySchema, request.query, 'device names query');
    // An administrator reads every name (the statistics, the audit log); anyone else those of the
    // devices they sync on or named (their own tablet, the devices their refused changes came
    // from), and of the device they ask from: device ids are no secret within a clinic.
    const devices = await store.deviceNames.list(
      auth.tenant,
      isAdministrator(auth, adminRoles) ? undefined : { userId: auth.userId, alsoDevice: deviceId },
    );
    const emails = await store.emailsOf(auth.tenant, [...new Set(devices.map((d) => d.namedBy))]);
    return { devices: devices.map((d) => ({ ...d, namedByEmail: emails.get(d.namedBy) ?? null })) };
  });

  app.put('/v1/device-names', async (request): Promise<DeviceNameResponse> => {
    const auth = caller(request);
    const { deviceId, name } = parseInWords(deviceNameRequestSchema, request.body);
    const admin = isAdministrator(auth, adminRoles);
    const syncedBy = await store.deviceNames.syncedBy(auth.tenant, deviceId, auth.userId);
    if (admin) {
      // An administrator names the devices the statistics list: a name for an id nobody of the
      // clinic syncs on would name nothing there.
      if (syncedBy === 'nobody') throw unknownDevice();
    } else if (syncedBy === 'others') {
      // Anyone else names a device she syncs on, or a new one (a tablet named as it is set up,
      // before its first change is sent); not one only her colleagues sync on.
      throw outpostError(
        'FORBIDDEN',
        'you may name a device you sync on, or a new one; an administrator names the others',
      );
    }
    const at = now().toISOString();
    const naming = await nameDevice(store, { tenant: auth.tenant, userId: auth.userId, at }, deviceId, name);
    if (naming === 'taken')
      throw outpostError('CONFLICT', `another device of this clinic is already named "${name ?? ''}"`);
    return { deviceId, name };
  });
}
