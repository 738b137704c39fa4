import type { DemoRecord } from '@outpost/examples';
import type { ServerContext } from '../create-sync-server';
import { applyPush } from '../push/apply-push';
import { nameDevice } from '../routes/device-names';
import { setDeviceUse } from '../routes/device-use';

/** The device the demo records come from, and the name the Statistics page shows for it. */
const demoDevice = { id: 'demo-seed', name: 'Demo data (seeded at start)' };

/**
 * Seeds demo records through the same push path a device uses. Fixed opIds make it idempotent:
 * on the next start every op is a duplicate and nothing changes. The device they come from is
 * named (decision 0056), so a newcomer's Statistics page says what it is, and out of use (decision
 * 0057): it is no tablet, and a demo left running for days would list it as silent. Answers what
 * was refused.
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
      deviceId: demoDevice.id,
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
  // Named once: a later start finds the name there and writes nothing; a name the clinic gave
  // another device meanwhile is left to it.
  const by = { tenant, userId: 'demo-seed', at: ctx.now().toISOString() };
  await nameDevice(ctx.store, by, demoDevice.id, demoDevice.name);
  // Again at each start: the seeding's push is a sync, which puts the device back in use.
  await setDeviceUse(ctx.store, by, demoDevice.id, false);
  // Demo data the schema refuses is a mistake in the examples: told at start (not fatal, as the
  // server serves without it), never left unseen.
  return results
    .filter((r) => (r.originalStatus ?? r.status) !== 'applied')
    .map((r) => `${r.collection}/${r.id}: ${r.error?.message ?? r.status}`);
}
