import type { DemoRecord } from '@outpost/examples';
import type { ServerContext } from '../create-sync-server';
import { applyPush } from '../push/apply-push';

/**
 * Seeds demo records through the same push path a device uses. Fixed opIds make it idempotent:
 * on the next start every op is a duplicate and nothing changes.
 */
export async function seedDemoRecords(
  ctx: ServerContext,
  tenant: string,
  records: readonly DemoRecord[],
): Promise<void> {
  await applyPush(
    ctx.store,
    ctx.schemaFor(tenant),
    {
      tenant,
      userId: 'demo-seed',
      roles: ['admin'],
      clientId: 'demo-seed',
      deviceId: 'demo-seed',
      clock: ctx.clock,
      now: ctx.now,
    },
    records.map((r) => ({
      opId: `demo-seed-${r.id}`,
      collection: r.collection,
      type: 'create',
      id: r.id,
      data: r.data,
    })),
  );
}
