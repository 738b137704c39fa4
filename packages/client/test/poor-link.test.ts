// A weak signal (the health probe slow to answer, so the link reads "poor"): pushes go in smaller
// batches and pull pages are smaller, so a request lost on the way takes less with it; on a good
// link again, the sizes the app chose. Against a real server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { SyncClient } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

/** The network, with the health probe held `probeDelayMs` (a slow link), and what each sync request asked. */
function watchedNetwork() {
  const network = new TestNetwork();
  const seen = { pushSizes: [] as number[], pullLimits: [] as number[] };
  const link = { probeDelayMs: 0 };
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === '/v1/health' && link.probeDelayMs > 0)
      await new Promise((resolve) => setTimeout(resolve, link.probeDelayMs));
    if (url.pathname === '/v1/sync/pull') seen.pullLimits.push(Number(url.searchParams.get('limit')));
    if (url.pathname === '/v1/sync/push' && typeof init?.body === 'string')
      seen.pushSizes.push((JSON.parse(init.body) as { ops: unknown[] }).ops.length);
    return network.fetch(input, init);
  };
  return { fetch, seen, link };
}

async function registerPatients(client: SyncClient, count: number, from: number): Promise<void> {
  const patients = client.collection('patients');
  for (let i = 0; i < count; i++) await patients.create({ name: `Patient ${from + i}` });
}

describe('sync on a poor link', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => {
    await server.close();
  });

  it('pushes at most 10 ops a request and pulls 200 changes a page while the link is poor; the chosen sizes once it is good again', async () => {
    const { fetch, seen, link } = watchedNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      fetch,
      compressRequests: false,
      batchSize: 50,
      pullLimit: 1000,
    });
    link.probeDelayMs = 1_100;
    expect((await client.network.check()).quality).toBe('poor');
    await registerPatients(client, 25, 0);
    expect((await client.sync()).success).toBe(true);
    expect(seen.pushSizes).toEqual([10, 10, 5]);
    expect(seen.pullLimits.every((limit) => limit === 200)).toBe(true);
    expect(client.queue.stats().waiting).toBe(0);

    link.probeDelayMs = 0;
    expect((await client.network.check()).quality).not.toBe('poor');
    seen.pushSizes.length = 0;
    seen.pullLimits.length = 0;
    await registerPatients(client, 25, 25);
    expect((await client.sync()).success).toBe(true);
    expect(seen.pushSizes).toEqual([25]);
    expect(seen.pullLimits.every((limit) => limit === 1000)).toBe(true);
  });

  it('takes its own poor-link sizes, keeps a smaller batchSize of the app, and poorLink: false keeps the sizes whatever the link', async () => {
    const own = watchedNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      fetch: own.fetch,
      compressRequests: false,
      batchSize: 4,
      poorLink: { batchSize: 6, pullLimit: 50 },
    });
    own.link.probeDelayMs = 1_100;
    await client.network.check();
    await registerPatients(client, 9, 100);
    await client.sync();
    expect(own.seen.pushSizes).toEqual([4, 4, 1]);
    expect(own.seen.pullLimits.every((limit) => limit === 50)).toBe(true);

    const off = watchedNetwork();
    const steady = await openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
      fetch: off.fetch,
      compressRequests: false,
      poorLink: false,
    });
    off.link.probeDelayMs = 1_100;
    expect((await steady.network.check()).quality).toBe('poor');
    await registerPatients(steady, 12, 200);
    await steady.sync();
    expect(off.seen.pushSizes).toEqual([12]);
    expect(off.seen.pullLimits.every((limit) => limit === 1000)).toBe(true);

    await expect(
      openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), {
        poorLink: { batchSize: 0 },
      }),
    ).rejects.toThrow(/poorLink\.batchSize must be a whole number from 1/);
  });
});
