// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { acting, cleanup, clientWithHeldProbes, openClient, render } from '../test/react-fixture';
import { useNetworkStatus } from './index';

afterEach(cleanup);

function NetworkBadge() {
  const { isOnline, isTransitioning, connectionQuality } = useNetworkStatus();
  return (
    <p>
      {isOnline ? 'online' : 'offline'} ({connectionQuality}){isTransitioning ? ', checking' : ''}
    </p>
  );
}

describe('useNetworkStatus', () => {
  it("follows the client's network monitor as the device loses and regains the server", async () => {
    let serverReachable = true;
    const events = new EventTarget();
    const client = await openClient({
      events,
      probeIntervalMs: 0,
      fetch: async () => {
        if (!serverReachable) throw new TypeError('Failed to fetch');
        return new Response(JSON.stringify({ status: 'ok', database: 'sqlite', version: 'x' }), {
          status: 200,
        });
      },
    });
    await client.network.check(); // the probe made when the client opened
    const view = await render(client, <NetworkBadge />);
    expect(view.text()).toBe('online (excellent)');

    await acting(async () => {
      serverReachable = false;
      events.dispatchEvent(new Event('offline'));
      await client.network.check();
    });
    expect(view.text()).toBe('offline (offline)');

    await acting(async () => {
      serverReachable = true;
      events.dispatchEvent(new Event('online'));
      await client.network.check();
    });
    expect(view.text()).toBe('online (excellent)');
  });

  it("says it is checking the connection from the browser's event until the server's answer", async () => {
    const { client, events, holdProbes, answer } = await clientWithHeldProbes();
    const view = await render(client, <NetworkBadge />);
    expect(view.text()).toBe('online (excellent)');

    // Offline, and the probe confirms it: checking until then, and not after.
    holdProbes(false);
    await acting(async () => {
      events.dispatchEvent(new Event('offline'));
    });
    expect(view.text()).toBe('offline (offline), checking');
    await acting(answer);
    expect(view.text()).toBe('offline (offline)');

    // Online: checking while the probe is out, still offline until the server answers.
    holdProbes(true);
    await acting(async () => {
      events.dispatchEvent(new Event('online'));
    });
    expect(view.text()).toBe('offline (offline), checking');
    await acting(answer);
    // The quality is the held probe's round trip: whatever it was, no longer checking.
    expect(view.text()).toMatch(/^online \((excellent|good|poor)\)$/);
  });
});
