import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NetworkMonitor, networkThresholds, qualityForLatency } from './network-monitor';
import type { NetworkStatus } from './network-monitor';

const start = Date.UTC(2024, 10, 2, 8);
const url = 'http://clinic-server.test:8080/';

type Server = (init: RequestInit | undefined) => Promise<Response>;

/** A server that answers after `latencyMs` of fake time, like a real one it stops on abort. */
const answersAfter =
  (latencyMs: number, status = 200): Server =>
  (init) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => resolve(new Response('{"status":"ok","database":"sqlite","version":"0.1.0"}', { status })),
        latencyMs,
      );
      init?.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new DOMException('The operation was aborted.', 'AbortError'));
      });
    });

/** No route to the server: the request fails at once. */
const unreachable: Server = () => Promise.reject(new TypeError('fetch failed'));

/** A request that never answers and ignores its abort signal: only the monitor's own timeout ends it. */
const hangs: Server = () => new Promise<Response>(() => undefined);

/** A fetch whose behaviour the test switches as the network changes. */
function fakeNetwork(initial: Server) {
  let server = initial;
  const fetch = vi.fn<typeof globalThis.fetch>((_input, init) => server(init));
  return {
    fetch,
    set(next: Server) {
      server = next;
    },
  };
}

function monitorFor(network: ReturnType<typeof fakeNetwork>, extra: { events?: EventTarget } = {}) {
  return new NetworkMonitor({ url, fetch: network.fetch, events: extra.events ?? null });
}

describe('NetworkMonitor', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: start });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks GET <url>/v1/health and rates the answer by its round trip', async () => {
    const network = fakeNetwork(answersAfter(120));
    const monitor = monitorFor(network);
    const checked = monitor.check();
    await vi.advanceTimersByTimeAsync(120);
    expect(await checked).toEqual({
      online: true,
      quality: 'excellent',
      latencyMs: 120,
      lastCheckedAt: start + 120,
    });
    const [input, init] = network.fetch.mock.calls[0] ?? [];
    expect(input).toBe('http://clinic-server.test:8080/v1/health');
    expect(init).toMatchObject({ method: 'GET', cache: 'no-store' });
    expect(init?.signal).toBeInstanceOf(AbortSignal);
  });

  it.each([
    [50, 200, { online: true, quality: 'excellent', latencyMs: 50 }],
    [299, 200, { online: true, quality: 'excellent', latencyMs: 299 }],
    [300, 200, { online: true, quality: 'good', latencyMs: 300 }],
    [999, 200, { online: true, quality: 'good', latencyMs: 999 }],
    [1_000, 200, { online: true, quality: 'poor', latencyMs: 1_000 }],
    [8_000, 200, { online: true, quality: 'poor', latencyMs: 8_000 }],
    // The server is reachable but unwell: online, yet not a link to push a big batch over.
    [40, 503, { online: true, quality: 'poor', latencyMs: 40 }],
  ] as const)('an answer after %i ms with status %i reads as %o', async (latency, status, expected) => {
    const monitor = monitorFor(fakeNetwork(answersAfter(latency, status)));
    const checked = monitor.check();
    await vi.advanceTimersByTimeAsync(latency);
    expect(await checked).toMatchObject(expected);
  });

  it('reads a failed request as offline', async () => {
    const monitor = monitorFor(fakeNetwork(unreachable));
    expect(await monitor.check()).toEqual({
      online: false,
      quality: 'offline',
      latencyMs: null,
      lastCheckedAt: start,
    });
  });

  it('gives up on a hanging request after the timeout and reads it as offline', async () => {
    const monitor = monitorFor(fakeNetwork(hangs));
    let settled: NetworkStatus | undefined;
    void monitor.check().then((status) => (settled = status));
    await vi.advanceTimersByTimeAsync(networkThresholds.probeTimeoutMs - 1);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toEqual({
      online: false,
      quality: 'offline',
      latencyMs: null,
      lastCheckedAt: start + networkThresholds.probeTimeoutMs,
    });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the thresholds in one place', () => {
    expect(networkThresholds).toMatchObject({ excellentBelowMs: 300, goodBelowMs: 1_000 });
    expect([0, 299, 300, 999, 1_000].map(qualityForLatency)).toEqual([
      'excellent',
      'excellent',
      'good',
      'good',
      'poor',
    ]);
  });

  it('shares one probe between callers who ask at the same time', async () => {
    const network = fakeNetwork(answersAfter(100));
    const monitor = monitorFor(network);
    const both = Promise.all([monitor.check(), monitor.check()]);
    await vi.advanceTimersByTimeAsync(100);
    const [a, b] = await both;
    expect(a).toBe(b);
    expect(network.fetch).toHaveBeenCalledOnce();
  });

  it('probes at start and every 30 s until stopped', async () => {
    const network = fakeNetwork(answersAfter(10));
    const monitor = monitorFor(network);
    monitor.start();
    monitor.start();
    expect(network.fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(network.fetch).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(network.fetch).toHaveBeenCalledTimes(4);
    monitor.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(network.fetch).toHaveBeenCalledTimes(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('abandons a probe still out when stopped, leaving the status as it was', async () => {
    const network = fakeNetwork(answersAfter(5_000));
    const monitor = monitorFor(network);
    monitor.start();
    await vi.advanceTimersByTimeAsync(1_000);
    monitor.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(monitor.status).toEqual({ online: true, quality: 'good', latencyMs: null, lastCheckedAt: null });
  });

  it('tells listeners when online or quality changes, and only then', async () => {
    const network = fakeNetwork(answersAfter(100));
    const monitor = monitorFor(network);
    const seen: [NetworkStatus['quality'], NetworkStatus['quality']][] = [];
    const unsubscribe = monitor.subscribe((status, previous) =>
      seen.push([previous.quality, status.quality]),
    );
    const check = async (server: Parameters<typeof network.set>[0], ms: number) => {
      network.set(server);
      const done = monitor.check();
      await vi.advanceTimersByTimeAsync(ms);
      await done;
    };
    await check(answersAfter(100), 100);
    await check(answersAfter(150), 150); // a new latency, the same quality: nothing to tell
    await check(answersAfter(600), 600);
    await check(unreachable, 0);
    await check(unreachable, 0);
    unsubscribe();
    await check(answersAfter(100), 100);
    expect(seen).toEqual([
      ['good', 'excellent'],
      ['excellent', 'good'],
      ['good', 'offline'],
    ]);
  });

  it('keeps telling the other listeners when one throws', async () => {
    const monitor = monitorFor(fakeNetwork(unreachable));
    const thrown: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (task) =>
      original(() => {
        try {
          task();
        } catch (error) {
          thrown.push(error);
        }
      });
    try {
      const told = vi.fn();
      monitor.subscribe(() => {
        throw new Error('broken indicator');
      });
      monitor.subscribe(told);
      await monitor.check();
      await Promise.resolve();
      expect(told).toHaveBeenCalledOnce();
      expect(thrown).toEqual([new Error('broken indicator')]);
    } finally {
      globalThis.queueMicrotask = original;
    }
  });

  describe('with browser online/offline events', () => {
    it('goes offline at once on an offline event, transitioning until a probe confirms it', async () => {
      const events = new EventTarget();
      const network = fakeNetwork(answersAfter(50));
      const monitor = monitorFor(network, { events });
      monitor.start();
      await vi.advanceTimersByTimeAsync(50);
      expect(monitor.status.online).toBe(true);
      const listener = vi.fn();
      monitor.subscribe(listener);

      network.set(unreachable);
      events.dispatchEvent(new Event('offline'));
      expect(monitor.status).toMatchObject({ online: false, quality: 'offline' });
      expect(monitor.isTransitioning).toBe(true);
      expect(listener).toHaveBeenCalledOnce();
      expect(listener).toHaveBeenLastCalledWith(
        expect.objectContaining({ online: false }),
        expect.objectContaining({ online: true }),
      );
      await vi.advanceTimersByTimeAsync(0);
      expect(monitor.isTransitioning).toBe(false);
      expect(monitor.status).toMatchObject({ online: false, quality: 'offline', lastCheckedAt: start + 50 });
      expect(listener).toHaveBeenCalledOnce();
      monitor.stop();
    });

    it('trusts the server over a wrong offline event (Wi-Fi dropped, the cable still works)', async () => {
      const events = new EventTarget();
      const network = fakeNetwork(answersAfter(50));
      const monitor = monitorFor(network, { events });
      monitor.start();
      await vi.advanceTimersByTimeAsync(50);

      network.set(answersAfter(2_000));
      events.dispatchEvent(new Event('offline'));
      expect(monitor.status.online).toBe(false);
      await vi.advanceTimersByTimeAsync(1_999);
      expect(monitor.isTransitioning).toBe(true);
      await vi.advanceTimersByTimeAsync(1);
      expect(monitor.isTransitioning).toBe(false);
      expect(monitor.status).toMatchObject({ online: true, quality: 'poor', latencyMs: 2_000 });
      monitor.stop();
    });

    it('comes back online only when the server answers the probe after an online event', async () => {
      const events = new EventTarget();
      const network = fakeNetwork(unreachable);
      const monitor = monitorFor(network, { events });
      const reconnects = vi.fn();
      monitor.subscribe((status, previous) => {
        if (status.online && !previous.online) reconnects();
      });
      monitor.start();
      await vi.advanceTimersByTimeAsync(0);
      expect(monitor.status.online).toBe(false);

      network.set(answersAfter(400));
      events.dispatchEvent(new Event('online'));
      expect(monitor.isTransitioning).toBe(true);
      expect(monitor.status.online).toBe(false);
      await vi.advanceTimersByTimeAsync(399);
      expect(monitor.status.online).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(monitor.isTransitioning).toBe(false);
      expect(monitor.status).toMatchObject({ online: true, quality: 'good', latencyMs: 400 });
      expect(reconnects).toHaveBeenCalledOnce();
      monitor.stop();
    });

    it('drops the answer of a probe sent before the network changed', async () => {
      const events = new EventTarget();
      const network = fakeNetwork(hangs);
      const monitor = monitorFor(network, { events });
      monitor.start();
      await vi.advanceTimersByTimeAsync(1_000);
      network.set(unreachable);
      events.dispatchEvent(new Event('offline'));
      await vi.advanceTimersByTimeAsync(0);
      expect(monitor.status.online).toBe(false);
      expect(monitor.isTransitioning).toBe(false);
      network.set(answersAfter(30));
      events.dispatchEvent(new Event('online'));
      await vi.advanceTimersByTimeAsync(30);
      expect(monitor.status).toMatchObject({ online: true, quality: 'excellent' });
      // The first, hanging probe was abandoned: its timeout passing changes nothing.
      await vi.advanceTimersByTimeAsync(networkThresholds.probeTimeoutMs);
      expect(monitor.status).toMatchObject({ online: true, quality: 'excellent' });
      expect(network.fetch).toHaveBeenCalledTimes(3);
      monitor.stop();
    });

    it('tells transition listeners when isTransitioning flips on and off, and status listeners only of status', async () => {
      const events = new EventTarget();
      const network = fakeNetwork(answersAfter(50));
      const monitor = monitorFor(network, { events });
      monitor.start();
      await vi.advanceTimersByTimeAsync(50);
      const flips: boolean[] = [];
      const statuses: boolean[] = [];
      // What a UI reads when told of a status change: the flag already as it is.
      const readWithStatus: boolean[] = [];
      monitor.subscribeTransitioning((transitioning) => flips.push(transitioning));
      monitor.subscribe((status) => {
        statuses.push(status.online);
        readWithStatus.push(monitor.isTransitioning);
      });

      // Offline, confirmed by the probe: on at the event, off at the answer; one status change.
      network.set(unreachable);
      events.dispatchEvent(new Event('offline'));
      expect(flips).toEqual([true]);
      await vi.advanceTimersByTimeAsync(0);
      expect(flips).toEqual([true, false]);
      expect(statuses).toEqual([false]);
      expect(readWithStatus).toEqual([true]);

      // Online: on at the event, off when the server answers, told after the status listeners.
      network.set(answersAfter(200));
      events.dispatchEvent(new Event('online'));
      expect(flips).toEqual([true, false, true]);
      // A second event while checking restarts the probe but flips nothing.
      events.dispatchEvent(new Event('online'));
      expect(flips).toEqual([true, false, true]);
      await vi.advanceTimersByTimeAsync(200);
      expect(flips).toEqual([true, false, true, false]);
      expect(statuses).toEqual([false, true]);
      expect(readWithStatus).toEqual([true, false]);

      // Stopped while checking: nobody will answer, so the flag goes off and says so.
      events.dispatchEvent(new Event('offline'));
      expect(flips).toEqual([true, false, true, false, true]);
      monitor.stop();
      expect(monitor.isTransitioning).toBe(false);
      expect(flips).toEqual([true, false, true, false, true, false]);
    });

    it('stops listening when stopped', async () => {
      const events = new EventTarget();
      const network = fakeNetwork(answersAfter(10));
      const monitor = monitorFor(network, { events });
      monitor.start();
      monitor.stop();
      events.dispatchEvent(new Event('offline'));
      expect(monitor.status.online).toBe(true);
      expect(network.fetch).toHaveBeenCalledTimes(1);
    });
  });

  it('runs in Node without a window, trusting the initial guess until the first probe', async () => {
    const monitor = new NetworkMonitor({
      url,
      fetch: fakeNetwork(unreachable).fetch,
      initiallyOnline: false,
    });
    expect(monitor.status).toEqual({
      online: false,
      quality: 'offline',
      latencyMs: null,
      lastCheckedAt: null,
    });
    monitor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(monitor.status.lastCheckedAt).toBe(start);
    monitor.stop();
  });
});
