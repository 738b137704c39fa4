// While the client's circuit breaker rests, a sync sends nothing, and so counts no attempt: an op
// stops on its own only after `retry.maxAttempts` sends that left the device (docs/client.md), and
// syncs asked for after each save while the server restarts do not use those up.
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
    expect((await client.sync()).success).toBe(true);

    expect(op?.attempts).toBeLessThanOrEqual(pushRequests - 1);
    expect((await client.collection('patients').get(p.id))?.pending).toBe(false);
  });
});
