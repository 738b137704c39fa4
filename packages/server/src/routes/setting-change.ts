import type { SyncStore } from '../storage/sync-store';
import { insertAudit } from '../storage/sync-store';

/**
 * Sets a clinic's setting (null: back to its defaults) and writes its `setting-changed` event in
 * the same transaction: who, when, which setting (as `recordId`) and `outcome` (what it became, in
 * the setting's own words: `custom`, `defaults`, `never`). Every route that changes a setting says
 * so to the audit alike.
 */
export function changeSetting(
  store: SyncStore,
  by: { tenant: string; userId: string; at: string },
  name: string,
  value: unknown,
  outcome: string,
): Promise<void> {
  return store.tenantSettings.set(by.tenant, name, value, { userId: by.userId, at: by.at }, (trx) =>
    insertAudit(trx, [
      {
        tenant: by.tenant,
        at: by.at,
        userId: by.userId,
        deviceId: null,
        action: 'setting-changed',
        collection: null,
        recordId: name,
        outcome,
      },
    ]),
  );
}
