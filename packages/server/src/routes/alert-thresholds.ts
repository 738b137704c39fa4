import type { FastifyInstance } from 'fastify';
import {
  alertThresholdsRequestSchema,
  answeredAlertThresholdsSchema,
  syncAlertThresholds,
} from '@outpost/core';
import type { AlertThresholdsResponse, SyncAlertThresholds } from '@outpost/core';
import { administrator } from '../http/caller';
import { parseOrThrow } from '../http/errors';
import type { SyncStore } from '../storage/sync-store';
import { changeSetting } from './setting-change';

/** The name the clinic's alert thresholds are kept under in `tenant_settings`. */
export const alertThresholdsSetting = 'alert-thresholds';

/**
 * The tenant's alert thresholds as stored, the defaults filled in (decision 0042). A stored value
 * this server cannot read (none is written unchecked) counts as not set, rather than failing the
 * statistics with it.
 */
export async function alertThresholdsOf(
  store: SyncStore,
  tenant: string,
): Promise<{
  thresholds: SyncAlertThresholds;
  custom: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
}> {
  const stored = await store.tenantSettings.get(tenant, alertThresholdsSetting);
  const read = stored ? answeredAlertThresholdsSchema.safeParse(stored.value) : null;
  if (!stored || !read?.success)
    return { thresholds: { ...syncAlertThresholds }, custom: false, updatedAt: null, updatedBy: null };
  return {
    thresholds: { ...syncAlertThresholds, ...read.data },
    custom: true,
    updatedAt: stored.updatedAt,
    updatedBy: stored.updatedBy,
  };
}

/**
 * `GET` and `PUT /v1/admin/alert-thresholds` (an addition to PROTOCOL.md, docs/server.md): the
 * thresholds by which the clinic's devices are said to need attention, kept per clinic on the
 * server. Read and set by the roles that read the devices' statistics (`adminRoles`).
 */
export async function alertThresholdsRoutes(app: FastifyInstance): Promise<void> {
  const { store, adminRoles, now } = app.outpost;

  const refusal = 'alert thresholds are for administrators';

  const answer = async (tenant: string): Promise<AlertThresholdsResponse> => {
    const current = await alertThresholdsOf(store, tenant);
    const emails = current.updatedBy === null ? new Map() : await store.emailsOf(tenant, [current.updatedBy]);
    return {
      ...current,
      updatedByEmail: current.updatedBy === null ? null : (emails.get(current.updatedBy) ?? null),
    };
  };

  app.get('/v1/admin/alert-thresholds', async (request): Promise<AlertThresholdsResponse> => {
    const auth = administrator(request, adminRoles, refusal);
    return answer(auth.tenant);
  });

  /** The whole set, or `{ thresholds: null }` for the defaults; audited as `setting-changed`. */
  app.put('/v1/admin/alert-thresholds', async (request): Promise<AlertThresholdsResponse> => {
    const auth = administrator(request, adminRoles, refusal);
    const { thresholds } = parseOrThrow(alertThresholdsRequestSchema, request.body, 'alert thresholds');
    const at = now().toISOString();
    await changeSetting(
      store,
      { tenant: auth.tenant, userId: auth.userId, at },
      alertThresholdsSetting,
      thresholds,
      thresholds === null ? 'defaults' : 'custom',
    );
    return answer(auth.tenant);
  });
}
