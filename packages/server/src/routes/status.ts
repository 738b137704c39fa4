import type { FastifyInstance } from 'fastify';
import { statsQuerySchema, statusQuerySchema, syncRate } from '@outpost/core';
import type { DeviceStatsResponse, StatsResponse, StatusResponse } from '@outpost/core';
import type { OpCounts } from '../storage/sync-store';
import { administrator, caller } from '../http/caller';
import { parseQuery } from '../http/errors';
import { alertThresholdsOf } from './alert-thresholds';

/**
 * How far back a device's recent figures (`recent`, `delay`) reach: a week of arrivals, weekend
 * and outreach days included, so a device is judged on its week and not on one bad day years ago
 * (decision 0036).
 */
export const recentWindowMs = 7 * 24 * 60 * 60 * 1000;

export async function statusRoutes(app: FastifyInstance): Promise<void> {
  const { store, adminRoles, now } = app.outpost;

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
    const auth = administrator(request, adminRoles, 'statistics are for administrators');
    const filter = parseQuery(statsQuerySchema, request.query, 'stats query');
    return statsOf(await store.countOps(auth.tenant, filter));
  });

  /**
   * The same figures for each device of the tenant, with its user and last sync; and, over the
   * last week of arrivals, its ops, failures, conflicts and how long its changes took to arrive;
   * and the clinic's alert thresholds, which say which of them need attention (decision 0042).
   */
  app.get('/v1/sync/stats/devices', async (request): Promise<DeviceStatsResponse> => {
    const auth = administrator(request, adminRoles, 'statistics are for administrators');
    const asOf = now();
    const recentSince = new Date(asOf.getTime() - recentWindowMs).toISOString();
    const [devices, recentOps, alerts] = await Promise.all([
      store.deviceActivity(auth.tenant),
      store.recentDeviceOps(auth.tenant, recentSince),
      alertThresholdsOf(store, auth.tenant),
    ]);
    const recent = new Map(recentOps.map((r) => [`${r.userId}\u0000${r.deviceId}`, r]));
    return {
      devices: devices.map((d) => {
        const r = recent.get(`${d.userId}\u0000${d.deviceId}`);
        return {
          userId: d.userId,
          email: d.email,
          deviceId: d.deviceId,
          lastSyncAt: d.lastSyncAt,
          outOfUseSince: d.outOfUseSince,
          openConflicts: d.openConflicts,
          ...statsOf(d.counts),
          recent: { total: r?.total ?? 0, failed: r?.failed ?? 0, conflicts: r?.conflicts ?? 0 },
          delay: r?.delay ?? null,
        };
      }),
      asOf: asOf.toISOString(),
      recentSince,
      alertThresholds: alerts.thresholds,
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
