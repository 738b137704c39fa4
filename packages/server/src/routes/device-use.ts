import type { FastifyInstance } from 'fastify';
import type { Transaction } from 'kysely';
import { deviceUseRequestSchema } from '@outpost/core';
import type { DeviceUseResponse } from '@outpost/core';
import { administrator } from '../http/caller';
import { parseInWords } from '../http/errors';
import type { DeviceUseChange } from '../storage/device-use';
import type { SyncStore } from '../storage/sync-store';
import type { Tables } from '../storage/tables';
import { auditDeviceChange, unknownDevice } from './device-names';
import type { DeviceChangeBy } from './device-names';

/**
 * Takes a device out of use (`inUse` false) or puts it back, and writes its `device-use` event in
 * the same transaction when that changed anything: who, when, which device (as `recordId`), and
 * `out-of-use` or `in-use`. Every caller (the route, the demo's seeding) says so to the audit alike.
 */
export async function setDeviceUse(
  store: SyncStore,
  by: DeviceChangeBy,
  deviceId: string,
  inUse: boolean,
): Promise<{ change: DeviceUseChange; outOfUseSince: string | null }> {
  const audit = (outcome: 'out-of-use' | 'in-use') => (trx: Transaction<Tables>) =>
    auditDeviceChange(trx, by, 'device-use', deviceId, outcome);
  if (inUse) {
    const change = await store.deviceUse.putInUse(by.tenant, deviceId, audit('in-use'));
    return { change, outOfUseSince: null };
  }
  const { change, since } = await store.deviceUse.takeOutOfUse(
    by.tenant,
    deviceId,
    { userId: by.userId, at: by.at },
    audit('out-of-use'),
  );
  return { change, outOfUseSince: since };
}

/**
 * `PUT /v1/device-use` (an addition to PROTOCOL.md, docs/server.md; decision 0057): an
 * administrator takes a device of the clinic out of use (a tablet broken, lost or replaced), so
 * "Needs attention" no longer lists it as silent, or puts it back. A sync after the mark puts the
 * device back in use by itself. Audited as `device-use`.
 */
export async function deviceUseRoutes(app: FastifyInstance): Promise<void> {
  const { store, adminRoles, now } = app.outpost;

  app.put('/v1/device-use', async (request): Promise<DeviceUseResponse> => {
    const auth = administrator(request, adminRoles, 'taking a device out of use is for administrators');
    const { deviceId, inUse } = parseInWords(deviceUseRequestSchema, request.body);
    // The devices the statistics list: an id nobody of the clinic syncs on names no device there,
    // and answers as another clinic's device does.
    if ((await store.deviceNames.syncedBy(auth.tenant, deviceId, auth.userId)) === 'nobody')
      throw unknownDevice();
    const at = now().toISOString();
    const { outOfUseSince } = await setDeviceUse(
      store,
      { tenant: auth.tenant, userId: auth.userId, at },
      deviceId,
      inUse,
    );
    return { deviceId, outOfUseSince };
  });
}
