// Automatic sync turned off and on while the client runs (seed 001's `autoSyncEnabled`), against a
// real server: a nurse on a costly data plan says "sync only when I press Sync now", and later
// turns it back on, without closing the client. Off, nothing the person did not ask for reaches
// the server; on again, what was asked for resumes at once.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { ClientClosedError, memoryStore } from '../src/index';
import type { AutoSyncSettings, SyncClient, SyncClientOptions } from '../src/index';
import {
  ManualTimers,
  TestNetwork,
  closeClient,
  closeClients,
  openClient,
  settle,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

const nurse = 'nurse@clinic-a.test';
const hour = 60 * 60_000;

afterEach(closeClients);

/** Requests of a sync or the live stream: everything but the network monitor's health probes. */
const syncRequests = (network: TestNetwork) => network.sent.filter((s) => s.path !== '/v1/health');

async function idle(client: SyncClient): Promise<void> {
  await vi.waitFor(() => expect(client.isSyncing).toBe(false));
}

describe('automatic sync turned off and on while the client runs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  /**
   * A tablet on manual time whose network monitor probes when it opens and on the browser's
   * online/offline events (`events`), never on a timer of its own, so time can pass with no
   * request but what a sync sends.
   */
  async function tablet(deviceId: string, extra: Partial<SyncClientOptions> = {}) {
    const network = new TestNetwork();
    const events = new EventTarget();
    const timers = new ManualTimers();
    const client = await openClient(server, nurse, memoryStore(), network, {
      deviceId,
      events,
      timers,
      probeIntervalMs: 0,
      random: () => 0.5,
      ...extra,
    });
    await client.network.check(); // the probe made when the client opened has its answer
    const told: Array<AutoSyncSettings | false> = [];
    client.on('autoSync', (settings) => told.push(settings));
    return { client, network, events, timers, told };
  }

  /** The browser loses the network and gets it back; the monitor's probes confirm both. */
  async function reconnect(client: SyncClient, network: TestNetwork, events: EventTarget) {
    network.mode = 'offline';
    events.dispatchEvent(new Event('offline'));
    await client.network.check();
    expect(client.network.status.online).toBe(false);
    network.mode = 'online';
    events.dispatchEvent(new Event('online'));
    await client.network.check();
    expect(client.network.status.online).toBe(true);
    await settle();
  }

  /** A colleague's tablet, which syncs only when asked. */
  const colleague = () =>
    openClient(server, nurse, memoryStore(), new TestNetwork(), { deviceId: 'colleague' });

  it('turned off: a write, a file attached, the interval passing, a reconnect and a colleague\'s change send nothing; "Sync now" still works', async () => {
    const { client, network, events, timers, told } = await tablet('runtime-off', {
      autoSync: { onReconnect: true, intervalMs: 60_000, afterWrite: true, live: true },
    });
    await vi.waitFor(() => expect(network.openLiveStreams).toBe(1));
    await idle(client);
    expect(client.autoSync).toEqual({ onReconnect: true, intervalMs: 60_000, afterWrite: true, live: true });

    client.setAutoSync(false);
    expect(client.autoSync).toBe(false);
    expect(told).toEqual([false]);
    // The live stream is closed, and the interval timer is gone: no timer waits at all.
    await vi.waitFor(() => expect(network.openLiveStreams).toBe(0));
    expect(timers.waiting()).toEqual([]);
    const before = syncRequests(network).length;

    const patient = await client.collection('patients').create({ name: 'Chisomo W.' });
    await client.files.attach(new Blob(['a wound photo']), {
      collection: 'patients',
      recordId: patient.id,
      name: 'wound.jpg',
    });
    await settle();
    await timers.advance(hour);
    await reconnect(client, network, events);
    const other = await colleague();
    await other.collection('patients').create({ name: "A colleague's patient" });
    await other.sync();
    await timers.advance(hour);
    await settle();
    expect(syncRequests(network)).toHaveLength(before);
    expect(client.queue.stats()).toMatchObject({ pending: 1, completed: 0 });
    expect(client.isSyncing).toBe(false);

    // A person's "Sync now", and an app's own sync(), always go.
    const asked = await client.sync({ manual: true });
    expect(asked).toMatchObject({
      success: true,
      pushed: { applied: 1 },
      files: { uploaded: 1, waiting: 0 },
    });
    expect(asked.pulled).toBeGreaterThan(0);
    expect(await client.collection('patients').get(patient.id)).toMatchObject({ pending: false });
    await client.collection('patients').update(patient.id, { village: 'Mzuzu' });
    expect(await client.sync()).toMatchObject({ success: true, pushed: { applied: 1 } });
    // The manual sync opened no stream: live stays off until turned on.
    await settle();
    expect(network.openLiveStreams).toBe(0);
    expect(network.sent.filter((s) => s.path === '/v1/sync/events')).toHaveLength(1);
  });

  it('turned on again: waiting changes go at once, then the interval, after-write, reconnect and live syncs resume as asked', async () => {
    const { client, network, events, timers, told } = await tablet('runtime-on', { autoSync: false });
    expect(client.autoSync).toBe(false);
    const patients = client.collection('patients');
    const first = await patients.create({ name: 'Made while off' });
    await settle();
    expect(syncRequests(network)).toHaveLength(0);

    // On, with changes waiting while the server answers: they go now, not at the next timer.
    client.setAutoSync({ intervalMs: 60_000 });
    expect(client.autoSync).toEqual({
      onReconnect: true,
      intervalMs: 60_000,
      afterWrite: false,
      live: false,
    });
    expect(told).toEqual([client.autoSync]);
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 1 }));
    await idle(client);
    expect(await patients.get(first.id)).toMatchObject({ pending: false });

    // The interval: a write waits for it (no after-write sync asked for), and goes when it passes.
    const second = await patients.create({ name: 'Sent by the interval' });
    await settle();
    expect(client.queue.stats().pending).toBe(1);
    await timers.advance(60_000);
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 2 }));
    await idle(client);
    expect(await patients.get(second.id)).toMatchObject({ pending: false });

    // After each write: the next one goes by itself, and changing a setting that already sent by
    // itself starts no sync of its own.
    const pushesBefore = network.pushes().length;
    client.setAutoSync({ intervalMs: 60_000, afterWrite: true });
    await settle();
    expect(network.pushes()).toHaveLength(pushesBefore);
    await patients.create({ name: 'Sent after the write' });
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 3 }));
    await idle(client);

    // On reconnect: made offline, sent when the server answers again.
    network.mode = 'offline';
    events.dispatchEvent(new Event('offline'));
    await client.network.check();
    await patients.create({ name: 'Made offline' });
    network.mode = 'online';
    events.dispatchEvent(new Event('online'));
    await client.network.check();
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 4 }));
    await idle(client);

    // Live, asked for: the stream opens and a colleague's change shows with no sync asked for.
    client.setAutoSync({ onReconnect: false, intervalMs: 0, live: true });
    await vi.waitFor(() => expect(network.openLiveStreams).toBe(1));
    await idle(client);
    expect(timers.waiting()).toEqual([]); // the interval is off now
    const other = await colleague();
    const theirs = await other.collection('patients').create({ name: 'Seen through the stream' });
    await other.sync();
    await vi.waitFor(async () =>
      expect(await patients.get(theirs.id)).toMatchObject({ data: { name: 'Seen through the stream' } }),
    );

    // Off and on again: the stream closes and opens again.
    client.setAutoSync(false);
    await vi.waitFor(() => expect(network.openLiveStreams).toBe(0));
    client.setAutoSync({ onReconnect: false, intervalMs: 0, live: true });
    await vi.waitFor(() => expect(network.openLiveStreams).toBe(1));
    expect(told).toHaveLength(5);
    expect(told.at(-1)).toEqual({ onReconnect: false, intervalMs: 0, afterWrite: false, live: true });
  });

  it('tells `autoSync` only when the settings change, and turned on with nothing waiting sends nothing', async () => {
    const { client, network, told } = await tablet('runtime-events', { autoSync: false });
    client.setAutoSync(false);
    expect(told).toEqual([]);
    client.setAutoSync({});
    expect(told).toEqual([{ onReconnect: true, intervalMs: 300_000, afterWrite: false, live: false }]);
    // The same settings written out in full change nothing.
    client.setAutoSync({ onReconnect: true, intervalMs: 300_000, afterWrite: false, live: false });
    expect(told).toHaveLength(1);
    expect(Object.isFrozen(client.autoSync)).toBe(true);
    await settle();
    expect(syncRequests(network)).toHaveLength(0);
  });

  it('refuses a setting the option refuses, with the same error, and keeps the one in effect', async () => {
    const invalid: Array<[string, unknown, RegExp]> = [
      ['a negative interval', { intervalMs: -1 }, /autoSync\.intervalMs/],
      ['an interval that is not a number', { intervalMs: Number.NaN }, /autoSync\.intervalMs/],
      ['an endless interval', { intervalMs: Number.POSITIVE_INFINITY }, /autoSync\.intervalMs/],
      ['an interval past what a timer keeps', { intervalMs: 2 ** 31 }, /autoSync\.intervalMs/],
      ['an interval given as text', { intervalMs: '60000' }, /autoSync\.intervalMs/],
      ['a switch that is not true or false', { onReconnect: 'yes' }, /autoSync\.onReconnect/],
      ['a setting it does not have', { enabled: false }, /no setting named enabled/],
      ["seed 001's name", { syncOnReconnect: true }, /no setting named syncOnReconnect/],
      ['true', true, /autoSync must be/],
      ['null', null, /autoSync must be/],
      ['a word', 'off', /autoSync must be/],
    ];
    const { client, timers, told } = await tablet('runtime-invalid', {
      autoSync: { onReconnect: true, intervalMs: 60_000 },
    });
    const inEffect = client.autoSync;
    for (const [what, value, message] of invalid) {
      const atOpening = await openClient(server, nurse, memoryStore(), new TestNetwork(), {
        autoSync: value as SyncClientOptions['autoSync'],
      }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(atOpening, what).toBeInstanceOf(Error);
      expect((atOpening as Error).message, what).toMatch(message);
      let whileRunning: unknown = null;
      try {
        client.setAutoSync(value as never);
      } catch (err) {
        whileRunning = err;
      }
      expect(whileRunning, what).toBeInstanceOf((atOpening as Error).constructor);
      expect((whileRunning as Error).message, what).toBe((atOpening as Error).message);
      expect(client.autoSync, what).toBe(inEffect);
    }
    // Left out at opening is the default; `setAutoSync` takes the setting whole.
    expect(() => client.setAutoSync(undefined as never)).toThrow(/autoSync must be/);
    expect(told).toEqual([]);
    // The interval timer runs on as before.
    expect(timers.waiting()).toEqual([60_000]);
    await client.collection('patients').create({ name: 'Still synced on the interval' });
    await timers.advance(60_000);
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 1 }));
  });

  it('lets a sync already running finish when turned off', async () => {
    const { client, network } = await tablet('runtime-running', {
      autoSync: { onReconnect: true, intervalMs: 60_000, afterWrite: true },
    });
    const pull = network.holdNext('/v1/sync/pull');
    await client.collection('patients').create({ name: 'Sent as it was turned off' });
    await pull.reached;
    expect(client.isSyncing).toBe(true);
    client.setAutoSync(false);
    pull.release();
    await idle(client);
    expect(client.lastResult).toMatchObject({ success: true, pushed: { applied: 1 } });
    expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 1 });
  });

  it('turned off, a sync that failed is still tried again by the backoff timer, as with autoSync: false from the start', async () => {
    const { client, network, timers } = await tablet('runtime-retry', {
      autoSync: { onReconnect: true, intervalMs: 60_000 },
    });
    client.setAutoSync(false);
    await client.collection('patients').create({ name: 'Asked for on a weak signal' });
    network.mode = 'offline';
    expect((await client.sync({ manual: true })).success).toBe(false);
    network.mode = 'online';
    await timers.advance(10_000);
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 1 }));
  });

  it('turned on with a sync on reconnect while known offline, the backoff timer waits for the server (decision 0024)', async () => {
    const { client, network, events, timers } = await tablet('runtime-way-back', {
      autoSync: false,
      probeIntervalMs: 30_000,
    });
    const pushTries = () => network.pushes().length;
    await client.collection('patients').create({ name: 'Made before the link went' });
    network.mode = 'offline';
    events.dispatchEvent(new Event('offline'));
    await client.network.check();
    // Nothing reaches the server while offline anyway: count the syncs the timer tries.
    let tries = 0;
    const counting = client.on('sync', () => (tries += 1));
    client.setAutoSync({ onReconnect: true, intervalMs: 0 });
    expect((await client.sync()).success).toBe(false);
    expect(tries).toBe(1);
    await timers.advance(hour);
    await idle(client);
    // With no way back (autoSync false) the timer would have tried again and again.
    expect(tries).toBe(1);
    counting();
    network.mode = 'online';
    await timers.advance(30_000); // the monitor's next probe finds the server, and the device syncs
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ pending: 0, completed: 1 }));
    expect(pushTries()).toBe(1);
  });

  it('refuses to change a closed client', async () => {
    const { client } = await tablet('runtime-closed', { autoSync: false });
    await closeClient(client);
    expect(() => client.setAutoSync({ intervalMs: 60_000 })).toThrow(ClientClosedError);
    expect(client.autoSync).toBe(false);
  });
});
