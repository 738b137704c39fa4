import type { FastifyInstance } from 'fastify';
import { answeredScreenLockSchema, screenLockBounds, screenLockRequestSchema } from '@outpost/core';
import type { ClinicSettingsResponse, ScreenLockResponse } from '@outpost/core';
import { administrator, caller } from '../http/caller';
import { parseInWords } from '../http/errors';
import type { SyncStore } from '../storage/sync-store';
import { changeSetting } from './setting-change';

/** The name the clinic's screen lock is kept under in `tenant_settings`. */
export const screenLockSetting = 'screen-lock';

/**
 * The tenant's screen lock as stored, or the default (decision 0048). A stored value this server
 * cannot read (none is written unchecked) counts as not set: the default still locks the tablets,
 * which is the safe side for records left on a desk.
 */
async function screenLockOf(store: SyncStore, tenant: string): Promise<ScreenLockResponse> {
  const stored = await store.tenantSettings.get(tenant, screenLockSetting);
  const read = stored ? answeredScreenLockSchema.safeParse(stored.value) : null;
  if (!stored || !read?.success)
    return {
      afterMinutes: screenLockBounds.defaultMinutes,
      custom: false,
      updatedAt: null,
      updatedBy: null,
      updatedByEmail: null,
    };
  const emails = await store.emailsOf(tenant, [stored.updatedBy]);
  return {
    afterMinutes: read.data.afterMinutes,
    custom: true,
    updatedAt: stored.updatedAt,
    updatedBy: stored.updatedBy,
    updatedByEmail: emails.get(stored.updatedBy) ?? null,
  };
}

/**
 * `GET /v1/clinic-settings` and `PUT /v1/admin/screen-lock` (an addition to PROTOCOL.md,
 * docs/server.md): the settings every device of a clinic applies, kept per clinic on the server.
 * Every signed-in person of the clinic reads them, as each tablet must apply them; the roles in
 * `adminRoles` set them. The tenant is the token's.
 */
export async function clinicSettingsRoutes(app: FastifyInstance): Promise<void> {
  const { store, adminRoles, now } = app.outpost;

  const answer = async (tenant: string): Promise<ClinicSettingsResponse> => ({
    screenLock: await screenLockOf(store, tenant),
  });

  app.get('/v1/clinic-settings', async (request): Promise<ClinicSettingsResponse> => {
    const auth = caller(request);
    return answer(auth.tenant);
  });

  /** `{ screenLock: { afterMinutes } }`, or `{ screenLock: null }` for the default; audited. */
  app.put('/v1/admin/screen-lock', async (request): Promise<ClinicSettingsResponse> => {
    const auth = administrator(request, adminRoles, 'the screen lock is set by administrators');
    // In words: the administrator's form shows the refusal as it is.
    const { screenLock } = parseInWords(screenLockRequestSchema, request.body);
    const at = now().toISOString();
    // "Never" is a value of its own ({ afterMinutes: null }); only null drops the row.
    const outcome = screenLock === null ? 'defaults' : screenLock.afterMinutes === null ? 'never' : 'custom';
    await changeSetting(
      store,
      { tenant: auth.tenant, userId: auth.userId, at },
      screenLockSetting,
      screenLock,
      outcome,
    );
    return answer(auth.tenant);
  });
}
