// Live updates: a colleague's change reaches this device as soon as the server announces it,
// without waiting for the device's next timed sync, and nothing is missed when the stream breaks.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { SyncClient, SyncClientOptions } from '../src/index';
import { ManualTimers, TestNetwork, closeClients, openClient, settle, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('live updates', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  /** A colleague's tablet, which syncs only when asked. */
  const colleague = () =>
    openClient(server, 'nurse@clinic-a.test', memoryStore(), new TestNetwork(), { deviceId: 'colleague' });

  /** A tablet that keeps the live stream open and has no timed sync. */
  async function liveTablet(
    network: TestNetwork,
    extra: Partial<SyncClientOptions> = {},
  ): Promise<SyncClient> {
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      deviceId: 'live-tablet',
      autoSync: { onReconnect: false, intervalMs: 0, live: true },
      ...extra,
    });
    // The stream opens with `ready`, and the tablet pulls once: wait until that pull is over.
    await vi.waitFor(() => expect(network.openLiveStreams).toBe(1));
    await vi.waitFor(() => expect(client.isSyncing).toBe(false));
    return client;
  }

  /** Waits until `client` shows patient `id` with `fields`: pulled by itself, no sync asked for. */
  const showsPatient = (client: SyncClient, id: string, fields: Record<string, unknown>) =>
    vi.waitFor(async () => expect((await client.collection('patients').get(id))?.data).toMatchObject(fields));

  const pulls = (network: TestNetwork) => network.sent.filter((s) => s.path === '/v1/sync/pull').length;

  it("shows a colleague's change with no sync asked for, and pulls nothing more for its own push", async () => {
    const network = new TestNetwork();
    const tablet = await liveTablet(network);
    const other = await colleague();
    const patient = await other.collection('patients').create({ name: 'Mphatso Phiri' });
    await other.sync();
    await showsPatient(tablet, patient.id, { name: 'Mphatso Phiri' });

    // Its own change: the sync pulls after pushing, and the server's notice of that push is ignored.
    const before = pulls(network);
    const notices = network.liveNotices;
    await tablet.collection('patients').update(patient.id, { village: 'Dedza' });
    expect((await tablet.sync()).success).toBe(true);
    await vi.waitFor(() => expect(network.liveNotices).toBe(notices + 1));
    // The colleague's next change is what the next pull is for.
    await other.sync();
    await other.collection('patients').update(patient.id, { phone: '0999 123 456' });
    await other.sync();
    await showsPatient(tablet, patient.id, { village: 'Dedza', phone: '0999 123 456' });
    await vi.waitFor(() => expect(tablet.isSyncing).toBe(false));
    expect(pulls(network) - before).toBe(2);
  });

  it("tells `files` when a colleague's file is whole on the server, and not for its own", async () => {
    const network = new TestNetwork();
    const tablet = await liveTablet(network);
    const other = await colleague();
    const told: number[] = [];
    tablet.on('files', () => told.push(network.liveFileNotices));
    const patient = await other.collection('patients').create({ name: 'Thoko Banda' });
    await other.sync();
    await showsPatient(tablet, patient.id, { name: 'Thoko Banda' });
    await vi.waitFor(() => expect(tablet.isSyncing).toBe(false));
    const pulled = pulls(network);

    // The colleague's photo completes after the record that names it: the tablet is told, and
    // pulls nothing for it (a file is not in the change feed).
    await other.files.attach(new Uint8Array(3000).fill(1), {
      collection: 'patients',
      recordId: patient.id,
      name: 'wound.png',
    });
    expect(await other.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    await vi.waitFor(() => expect(told).toEqual([1]));
    expect(await tablet.files.refresh({ collection: 'patients', recordId: patient.id })).toBe(1);
    expect(tablet.files.list({ collection: 'patients', recordId: patient.id })).toMatchObject([
      { name: 'wound.png', state: 'synced', origin: 'server' },
    ]);

    // Its own upload names this installation: the server tells the stream, the client tells no one.
    await tablet.files.attach(new Uint8Array(10).fill(2), {
      collection: 'patients',
      recordId: patient.id,
      name: 'second look.png',
    });
    expect(await tablet.sync()).toMatchObject({ success: true, files: { uploaded: 1 } });
    await vi.waitFor(() => expect(network.liveFileNotices).toBe(2));
    await settle();
    expect(told).toEqual([1]);
    expect(pulls(network) - pulled).toBe(1);
  });

  it('reads a change announced while a pull is under way before that sync ends', async () => {
    const network = new TestNetwork();
    const tablet = await liveTablet(network);
    const other = await colleague();
    // The tablet's pull has its answer, but it is slow to arrive; meanwhile a colleague's change
    // commits and is announced. The page on its way cannot hold it.
    const held = network.holdNext('/v1/sync/pull', 'answer');
    const syncing = tablet.sync();
    await held.reached;
    const notices = network.liveNotices;
    const patient = await other.collection('patients').create({ name: 'Announced mid-pull' });
    await other.sync();
    await vi.waitFor(() => expect(network.liveNotices).toBe(notices + 1));
    await settle();
    held.release();
    expect((await syncing).success).toBe(true);
    expect(await tablet.collection('patients').get(patient.id)).toMatchObject({
      data: { name: 'Announced mid-pull' },
    });
  });

  it('opens a broken stream again, and pulls on reopening what was announced while it was down', async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers();
    const tablet = await liveTablet(network, { timers });
    const other = await colleague();

    network.cutLiveStreams();
    await settle();
    const patient = await other.collection('patients').create({ name: 'Made while the stream was down' });
    await other.sync();
    await settle();
    expect(await tablet.collection('patients').get(patient.id)).toBeNull();
    // The first wait before reopening is at most a second.
    await timers.advance(1_000);
    await showsPatient(tablet, patient.id, { name: 'Made while the stream was down' });
    expect(network.openLiveStreams).toBe(1);
  });

  it('closes the stream while offline, and opens it when the server answers again', async () => {
    const network = new TestNetwork();
    const events = new EventTarget();
    const tablet = await liveTablet(network, { events, probeIntervalMs: 0 });
    const other = await colleague();

    network.mode = 'offline';
    events.dispatchEvent(new Event('offline'));
    await vi.waitFor(() => expect(tablet.network.status.online).toBe(false));
    expect(network.openLiveStreams).toBe(0);
    const patient = await other.collection('patients').create({ name: 'Made while the tablet was away' });
    await other.sync();

    network.mode = 'online';
    events.dispatchEvent(new Event('online'));
    // No sync on reconnect is configured: the reopened stream's `ready` is what pulls.
    await showsPatient(tablet, patient.id, { name: 'Made while the tablet was away' });
    expect(network.openLiveStreams).toBe(1);
  });

  it('reopens a stream that keeps ending at once ever more slowly, not in a loop', async () => {
    // A proxy that cuts every long response: each stream ends right after `ready`.
    const network = new TestNetwork();
    network.endLiveStreamsAtReady = true;
    const timers = new ManualTimers();
    await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      autoSync: { onReconnect: false, intervalMs: 0, live: true },
      timers,
      // Every jittered wait at its ceiling, so the test can name them.
      random: () => 0.999,
    });
    const opened = () => network.sent.filter((s) => s.path === '/v1/sync/events').length;
    const waits: number[] = [];
    for (let reopened = 0; reopened < 4; reopened++) {
      await vi.waitFor(() => expect(timers.waiting()).toHaveLength(1));
      const wait = timers.waiting()[0] ?? 0;
      waits.push(wait);
      await timers.advance(wait);
      await vi.waitFor(() => expect(opened()).toBe(reopened + 2));
    }
    expect(waits).toEqual([999, 1998, 3996, 7992]);
  });

  it('opens a stream refused for an expired sign-in at once when the person signs in again and presses "Sync now"', async () => {
    const network = new TestNetwork();
    const timers = new ManualTimers();
    let token = 'a-token-that-has-expired';
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      autoSync: { onReconnect: false, intervalMs: 0, live: true },
      getToken: async () => token,
      timers,
      random: () => 0.999,
    });
    const opened = () => network.sent.filter((s) => s.path === '/v1/sync/events').length;
    let told = 0;
    client.on('unauthorized', () => told++);
    // Refused (401), the stream waits before asking again, and waits longer each time.
    for (let refused = 1; refused <= 3; refused++) {
      await vi.waitFor(() => expect(timers.waiting()).toHaveLength(1));
      if (refused < 3) await timers.advance(timers.waiting()[0] ?? 0);
    }
    expect(opened()).toBe(3);
    // The app heard of each refusal of the stream, as of a sync's: it asks for the password.
    expect(told).toBe(3);
    expect(timers.waiting()).toEqual([3996]);

    token = await server.token('nurse@clinic-a.test');
    expect((await client.sync({ manual: true })).success).toBe(true);
    await vi.waitFor(() => expect(network.openLiveStreams).toBe(1));
    expect(opened()).toBe(4);
    expect(timers.waiting()).toEqual([]);
  });

  it('asks a server without a live stream once, and syncs as before', async () => {
    const network = new TestNetwork();
    network.noLiveStream = true;
    const timers = new ManualTimers();
    const tablet = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      autoSync: { onReconnect: false, intervalMs: 0, live: true },
      timers,
    });
    await vi.waitFor(() => expect(network.sent.some((s) => s.path === '/v1/sync/events')).toBe(true));
    await timers.advance(10 * 60_000);
    expect(network.sent.filter((s) => s.path === '/v1/sync/events')).toHaveLength(1);
    await tablet.collection('patients').create({ name: 'Synced by hand' });
    expect((await tablet.sync()).success).toBe(true);
  });
});
