import type { DemoRecord } from '@outpost/examples';
import type { ServerContext } from '../create-sync-server';
import { applyPush } from '../push/apply-push';

/**
 * Seeds demo records through the same push path a device uses. Fixed opIds make it idempotent:
 * on the next start every op is a duplicate and nothing changes. Answers what was refused.
 */
export async function seedDemoRecords(
  ctx: ServerContext,
  tenant: string,
  records: readonly DemoRecord[],
): Promise<string[]> {
  const { results } = await applyPush(
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
  // Demo data the schema refuses is a mistake in the examples: told at start (not fatal, as the
  // server serves without it), never left unseen.
  return results
    .filter((r) => (r.originalStatus ?? r.status) !== 'applied')
    .map((r) => `${r.collection}/${r.id}: ${r.error?.message ?? r.status}`);
}
