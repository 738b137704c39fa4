// @vitest-environment happy-dom
// The page's origin is not the test server's: let its fetch reach the server as an app served by it would.
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// useSyncQueue against a real server: the queue view shows seed 004's status times, the last good
// sync as soon as a sync ends (even one that changed no op), and lets acknowledged changes go
// after the client's retention.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { startRealServer } from '../test/real-server';
import type { RealServer } from '../test/real-server';
import { useSyncQueue } from './index';

let server: RealServer;
beforeAll(async () => {
  server = await startRealServer();
});
afterAll(() => server.close());
afterEach(cleanup);

function Status() {
  const { stats, operations } = useSyncQueue();
  return (
    <p>
      {stats.waiting} waiting since {stats.oldestPendingAt ?? 'never'}; {operations.length} listed; last
      synced {stats.lastSyncAt ?? 'never'}
    </p>
  );
}

describe('useSyncQueue: status times and retention', () => {
  it('shows when the oldest change waits from and when the device last synced, and drops what the server has', async () => {
    let now = Date.UTC(2026, 10, 22, 8, 0, 0);
    const token = await server.token('nurse@clinic-a.test');
    const client = await openClient({
      url: server.url,
      getToken: async () => token,
      fetch: (input, init) => fetch(input, init),
      keepCompletedMs: 0,
      timers: { now: () => now, setTimeout: () => null, clearTimeout: () => undefined },
    });
    const view = await render(client, <Status />);
    expect(view.text()).toBe('0 waiting since never; 0 listed; last synced never');

    await acting(() => client.collection('patients').create({ name: 'Amina K.' }));
    expect(view.text()).toBe('1 waiting since 2026-11-22T08:00:00.000Z; 1 listed; last synced never');

    now += 60_000;
    expect((await acting(() => client.sync())).success).toBe(true);
    expect(view.text()).toBe('0 waiting since never; 0 listed; last synced 2026-11-22T08:01:00.000Z');

    // A sync with nothing to send changes no op: the view still shows its time.
    now += 60_000;
    expect((await acting(() => client.sync())).success).toBe(true);
    expect(view.text()).toBe('0 waiting since never; 0 listed; last synced 2026-11-22T08:02:00.000Z');
  });
});
