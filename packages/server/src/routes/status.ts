import type { FastifyInstance } from 'fastify';
import { OutpostError, statsQuerySchema, statusQuerySchema, syncRate } from '@outpost/core';
import type { DeviceStatsResponse, StatsResponse, StatusResponse } from '@outpost/core';
import type { OpCounts } from '../storage/sync-store';
import { caller } from '../http/caller';
import { parseQuery } from '../http/errors';

export async function statusRoutes(app: FastifyInstance): Promise<void> {
  const { store, adminRoles } = app.outpost;

  /** The caller's own queue health, as the server saw it. */
  app.get('/v1/sync/status', async (request): Promise<StatusResponse> => {
    const auth = caller(request);
    const { deviceId } = parseQuery(statusQuerySchema, request.query, 'status query');
    const filter = { userId: auth.userId, ...(deviceId !== undefined ? { deviceId } : {}) };
    const [counts, lastSyncAt, openConflicts] = await Promise.all([
      store.countOps(auth.tenant, filter),
      store.lastSyncAt(auth.tenant, auth.userId, deviceId),
      store.countOpenConflicts(auth.tenant, filter),
    ]);
    return {
      lastSyncAt,
      ops: {
        applied: counts.applied,
        conflict: counts.conflict,
        rejected: counts.rejected,
        duplicate: counts.duplicate,
      },
      openConflicts,
    };
  });

  /** Seed 000's statistics over the ops this tenant's devices sent, for administrators. */
  app.get('/v1/sync/stats', async (request): Promise<StatsResponse> => {
    const auth = caller(request);
    if (!auth.roles.some((r) => adminRoles.includes(r)))
      throw new OutpostError('FORBIDDEN', 'statistics are for administrators');
    const filter = parseQuery(statsQuerySchema, request.query, 'stats query');
    return statsOf(await store.countOps(auth.tenant, filter));
  });

  /** The same figures for each device of the tenant, with its user and last sync. */
  app.get('/v1/sync/stats/devices', async (request): Promise<DeviceStatsResponse> => {
    const auth = caller(request);
    if (!auth.roles.some((r) => adminRoles.includes(r)))
      throw new OutpostError('FORBIDDEN', 'statistics are for administrators');
    const devices = await store.deviceActivity(auth.tenant);
    return {
      devices: devices.map((d) => ({
        userId: d.userId,
        email: d.email,
        deviceId: d.deviceId,
        lastSyncAt: d.lastSyncAt,
        openConflicts: d.openConflicts,
        ...statsOf(d.counts),
      })),
    };
  });
}

function statsOf(counts: OpCounts): StatsResponse {
  return {
    total: counts.total,
    pending: counts.pending,
    synced: counts.applied,
    failed: counts.rejected,
    conflicts: counts.conflict,
    syncRate: syncRate(counts.applied, counts.total),
  };
}
