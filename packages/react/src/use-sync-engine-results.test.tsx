// @vitest-environment happy-dom
// The page's origin is not the test server's: let its fetch reach the server as an app served by it would.
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// useSyncEngine and useSyncQueue against a real server, read by the names seeds 001 and 003 give
// them: a sync's `progress.percentage`, its result's `success` and `duration`, and the queue's
// `stats.completed`, the changes the server confirmed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { startRealServer } from '../test/real-server';
import type { RealServer } from '../test/real-server';
import { useSyncEngine, useSyncQueue } from './index';

let server: RealServer;
beforeAll(async () => {
  server = await startRealServer();
});
afterAll(() => server.close());
afterEach(cleanup);

function SyncView() {
  const { progress, lastResult } = useSyncEngine();
  const { stats } = useSyncQueue();
  const shown =
    progress === null
      ? 'no progress'
      : `${progress.phase} ${progress.percentage ?? '?'}% (${progress.processed} of ${progress.total ?? '?'})`;
  const result =
    lastResult === null
      ? 'not synced'
      : `${lastResult.success ? 'success' : 'failure'} in ${lastResult.duration} ms`;
  return (
    <p>
      {shown}; {result}; {stats.pending} pending, {stats.completed} completed
    </p>
  );
}

describe('useSyncEngine and useSyncQueue: what a sync tells, in the seeds’ names', () => {
  it('shows the push’s percentage, then a success with its duration, and counts what the server confirmed as completed', async () => {
    let now = Date.UTC(2026, 10, 22, 8, 0, 0);
    // Each request takes 250 ms by the client's clock; the push waits until the test lets it go.
    let letPushGo = () => {};
    const pushHeld = new Promise<void>((resolve) => (letPushGo = resolve));
    const token = await server.token('nurse@clinic-a.test');
    const client = await openClient({
      url: server.url,
      getToken: async () => token,
      fetch: async (input, init) => {
        if (new URL(String(input)).pathname === '/v1/sync/push') await pushHeld;
        now += 250;
        return fetch(input, init);
      },
      timers: { now: () => now, setTimeout: () => null, clearTimeout: () => undefined },
    });
    await client.collection('patients').create({ name: 'Amina K.' });
    await client.collection('patients').create({ name: 'Grace M.' });
    const view = await render(client, <SyncView />);
    expect(view.text()).toBe('no progress; not synced; 2 pending, 0 completed');

    // The push has counted what it sends, and waits for the server.
    const pushCounted = new Promise<void>((resolve) => {
      const stop = client.on('progress', (p) => {
        if (p.phase !== 'push' || p.total === null) return;
        stop();
        resolve();
      });
    });
    let syncing: Promise<unknown> = Promise.resolve();
    await acting(async () => {
      syncing = client.sync();
      await pushCounted;
    });
    expect(view.text()).toBe('push 0% (0 of 2); not synced; 0 pending, 0 completed');

    await acting(async () => {
      letPushGo();
      await syncing;
    });
    const result = client.lastResult!;
    expect(result).toMatchObject({ success: true, pushed: { applied: 2 } });
    // Measured from the sync's start to its finish: at least the push and the pull, 250 ms each.
    expect(result.duration).toBe(Date.parse(result.finishedAt) - Date.parse(result.startedAt));
    expect(result.duration).toBeGreaterThanOrEqual(500);
    expect(view.text()).toBe(`done 100% (0 of 0); success in ${result.duration} ms; 0 pending, 2 completed`);
  });
});
