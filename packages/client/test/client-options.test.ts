// Settings that cannot work are refused when the client is made, not found out days later.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { SyncClientOptions } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('client options', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  const open = (extra: Partial<SyncClientOptions>) =>
    openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), extra);

  it('refuses a batch size that would never finish a push, and other sizes no sync could use', async () => {
    // batchSize 0 made the push loop spin without end: the tab froze at the first sync.
    await expect(open({ batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(open({ batchSize: 2.5 })).rejects.toThrow(/batchSize/);
    // The server refuses pages over 5000: every pull would fail.
    await expect(open({ pullLimit: 10_000 })).rejects.toThrow(/pullLimit/);
    // No attempt allowed: every op would give up before it was ever tried again.
    await expect(open({ retry: { maxAttempts: 0 } })).rejects.toThrow(/maxAttempts/);
  });

  it('pushes everything in batches of the size asked for, in order', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      batchSize: 3,
    });
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await client.collection('patients').create({ name: `P${i}` })).id);
    const result = await client.sync();
    expect(result.pushed).toMatchObject({ sent: 7, applied: 7 });
    expect(network.pushes().map((p) => p.ops.length)).toEqual([3, 3, 1]);
    expect(network.pushes().flatMap((p) => p.ops.map((o) => o.id))).toEqual(made);
  });
});
