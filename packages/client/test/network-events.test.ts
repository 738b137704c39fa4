// The client's 'network' event as a UI hears it: every change of what `client.network` shows,
// "checking" included, while the client still syncs exactly once when the server answers again.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { NetworkSnapshot, SyncResult } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe("the client's network event", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => {
    await server.close();
  });

  it('tells when the device starts and stops checking the connection, and syncs once on reconnect', async () => {
    const network = new TestNetwork();
    const events = new EventTarget();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      autoSync: { onReconnect: true, intervalMs: 0 },
      probeIntervalMs: 0,
      events,
    });
    await client.network.check(); // the probe made when the client opened
    const heard: Array<Pick<NetworkSnapshot, 'online' | 'isTransitioning'>> = [];
    client.on('network', ({ online, isTransitioning }) => heard.push({ online, isTransitioning }));
    const syncs: SyncResult[] = [];
    client.on('sync', (result) => syncs.push(result));

    // The browser says offline: offline and checking at once, then the probe confirms it.
    network.mode = 'offline';
    events.dispatchEvent(new Event('offline'));
    expect(client.network.isTransitioning).toBe(true);
    expect(heard).toEqual([{ online: false, isTransitioning: true }]);
    await client.network.check();
    expect(heard).toEqual([
      { online: false, isTransitioning: true },
      { online: false, isTransitioning: false },
    ]);
    await client.collection('patients').create({ name: 'Made while offline' });

    // The browser says online: checking, still offline, until the server answers the probe.
    network.mode = 'online';
    const probe = network.holdNext('/v1/health');
    events.dispatchEvent(new Event('online'));
    await probe.reached;
    expect(heard.slice(2)).toEqual([{ online: false, isTransitioning: true }]);
    expect(syncs).toHaveLength(0);
    probe.release();
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ waiting: 0, completed: 1 }));
    expect(heard.slice(2)).toEqual([
      { online: false, isTransitioning: true },
      { online: true, isTransitioning: false },
    ]);
    // Exactly one sync for the reconnect, though two channels of the monitor told of it.
    await vi.waitFor(() => expect(client.isSyncing).toBe(false));
    expect(syncs).toHaveLength(1);
    expect(network.pushes()).toHaveLength(1);
  });
});
