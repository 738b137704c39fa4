// Defect: a sync refused by the client's own open circuit breaker (no request leaves the device)
// still counts as a failed send of every op of the batch: sendBatch marks the ops sent/in-flight,
// then markFailedAttempt adds an attempt. Syncs asked for while the breaker rests (one after each
// save, with autoSync.afterWrite as the clinic app has it) use up `retry.maxAttempts` without
// sending anything, and the change "gives up on the network": when the server is back, automatic
// syncs no longer send it; it waits for a person's "Sync now". docs/client.md: an op stops "after
// `retry.maxAttempts` failed sends".
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import { ManualTimers, TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('the circuit breaker and the retry limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('does not count syncs the open breaker kept from sending as failed sends', async () => {
    const network = new TestNetwork();
    let pushRequests = 0;
    const counting: typeof fetch = (input, init) => {
      if (new URL(String(input)).pathname === '/v1/sync/push') pushRequests += 1;
      return network.fetch(input, init);
    };
    const timers = new ManualTimers();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      fetch: counting,
      timers,
    });
    const p = await client.collection('patients').create({ name: 'Tadala' });
    await client.sync();

    // The server answers 503 for a few seconds (a restart). The nurse keeps saving her visit
    // notes; each save asks for a sync (what autoSync.afterWrite does).
    network.mode = 'server-error';
    await client.collection('patients').update(p.id, { village: 'Dedza' });
    for (let i = 0; i < 8; i++) {
      await client.sync();
      await timers.advance(1_000);
    }
    const op = client.queue.list().find((o) => o.status !== 'done');

    // The server is back; the breaker's cool-down passes; the next automatic sync runs.
    network.mode = 'online';
    await timers.advance(60_000);
    expect((await client.sync()).ok).toBe(true);

    expect(op?.attempts).toBeLessThanOrEqual(pushRequests - 1);
    expect((await client.collection('patients').get(p.id))?.pending).toBe(false);
  });
});
