// The engine's retry timer on a tablet that is offline for hours, against a real server: while
// the network monitor knows the device is offline and a sync on reconnect is to come, the timer
// does not push (decision 0024). Changes made offline stay unsent, withdrawable and never
// "stopped after repeated failures"; they go once, when the server answers the probe again. A
// server that answers with failures, a device with no sync on reconnect and a person's "Sync now"
// keep trying as before.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { isWithdrawable, memoryStore } from '../src/index';
import type { SyncClient, SyncClientOptions } from '../src/index';
import { ManualTimers, TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

const nurse = 'nurse@clinic-a.test';
const hour = 60 * 60_000;

afterEach(closeClients);

/**
 * A tablet on manual time whose fetch notes the opIds of every push it tries, whether or not the
 * request gets out: the TestNetwork logs only what reaches the server.
 */
async function tablet(server: TestServer, extra: Partial<SyncClientOptions> = {}) {
  const network = new TestNetwork();
  const events = new EventTarget();
  const timers = new ManualTimers();
  const pushTries: string[][] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    if (new URL(String(input)).pathname === '/v1/sync/push' && typeof init?.body === 'string') {
      const body = JSON.parse(init.body) as { ops: Array<{ opId: string }> };
      pushTries.push(body.ops.map((o) => o.opId));
    }
    return network.fetch(input, init);
  };
  const client = await openClient(server, nurse, memoryStore(), network, {
    fetch,
    events,
    timers,
    // Backoff at half its ceiling: 1 s, 2 s, 4 s... after the 1st, 2nd, 3rd failure.
    random: () => 0.5,
    autoSync: { onReconnect: true, afterWrite: true, intervalMs: 0 },
    probeIntervalMs: 30_000,
    ...extra,
  });
  // The probe made when the client opened has its answer.
  await client.network.check();
  return { client, network, events, timers, pushTries };
}

function opOf(client: SyncClient, opId: string) {
  return client.queue.list().find((o) => o.opId === opId);
}

/** Every opId that reached the server, with how many times it did. */
function arrivals(network: TestNetwork): Map<string, number> {
  const counts = new Map<string, number>();
  for (const push of network.pushes())
    for (const op of push.ops) counts.set(op.opId, (counts.get(op.opId) ?? 0) + 1);
  return counts;
}

/**
 * Moves time on to the monitor's next probe and no further: the probe goes to the real server, and
 * its answer comes in real time, before its manual-time timeout could.
 */
async function nextProbe(timers: ManualTimers): Promise<void> {
  const [due] = timers.waiting();
  expect(due).toBeDefined();
  await timers.advance(due as number);
}

async function idle(client: SyncClient): Promise<void> {
  await vi.waitFor(() => expect(client.isSyncing).toBe(false));
}

describe('the retry timer while the device knows it is offline', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('pushes nothing for hours: changes made offline stay unsent, withdrawable, never stopped, and go once when the server answers', async () => {
    const { client, network, events, timers, pushTries } = await tablet(server, { deviceId: 'tablet-o1' });
    const patients = client.collection('patients');
    const amina = await patients.create({ name: 'Amina K.', village: 'Ntcheu' });
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ waiting: 0, completed: 1 }));
    await idle(client);

    // The uplink goes; the sync after the nurse's next edit fails, and the retry timer is armed.
    // That edit was handed to the network: a request may have left, so it counts as sent.
    network.mode = 'offline';
    await patients.update(amina.id, { phone: '0999 111 222' });
    await vi.waitFor(() => expect(client.lastResult?.success).toBe(false));
    await idle(client);
    const [beforeOffline] = client.queue.list().filter((o) => o.status === 'pending');
    expect(beforeOffline).toMatchObject({ sent: true, attempts: 1 });
    expect(timers.waiting().length).toBeGreaterThan(1); // the monitor's next probe, and the retry

    // The browser says offline at once; the probe confirms it.
    events.dispatchEvent(new Event('offline'));
    await client.network.check();
    expect(client.network.status.online).toBe(false);

    // A day's work offline: a patient registered, a mistaken one too, and an edit.
    const grace = await patients.create({ name: 'Grace B.', village: 'Chikwawa' });
    const wrong = await patients.create({ name: 'Wrong patient' });
    await patients.update(amina.id, { village: 'Dedza' });
    const triesWhenOffline = pushTries.length;

    // Eight hours: the retry timer comes due, the monitor probes every 30 s, nothing is pushed.
    await timers.advance(8 * hour);
    await idle(client);
    expect(pushTries).toHaveLength(triesWhenOffline);
    expect(client.queue.stats()).toMatchObject({ stopped: 0, failed: 0, pending: 4 });
    expect(opOf(client, beforeOffline?.opId as string)).toMatchObject({ status: 'pending', attempts: 1 });
    const madeOffline = client.queue
      .list()
      .filter((o) => o.status === 'pending' && o.opId !== beforeOffline?.opId);
    expect(madeOffline).toHaveLength(3);
    for (const op of madeOffline) {
      expect(op).toMatchObject({ status: 'pending', attempts: 0 });
      expect(op.sent).toBeUndefined();
      expect(isWithdrawable(op)).toBe(true);
    }

    // The mistaken patient is withdrawn, offline.
    const mistaken = client.queue.list().find((o) => o.id === wrong.id);
    expect(await client.queue.withdraw([mistaken?.seq as number])).toBe(1);

    // The network returns: the next probe's answer syncs at once, and everything waiting goes once.
    network.mode = 'online';
    expect(timers.waiting()).toHaveLength(1); // the monitor's probe: no retry is pending
    await nextProbe(timers);
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ waiting: 0, completed: 4 }));
    await idle(client);
    const went = [beforeOffline, ...madeOffline].map((o) => o?.opId).filter((id) => id !== mistaken?.opId);
    expect(pushTries.slice(triesWhenOffline).flat().sort()).toEqual([...went].sort());
    const reached = arrivals(network);
    for (const opId of went) expect(reached.get(opId as string)).toBe(1);
    expect(reached.has(mistaken?.opId as string)).toBe(false);
    // Nothing is left to try again later.
    expect(timers.waiting()).toHaveLength(1);
    expect(await patients.get(grace.id)).toMatchObject({ pending: false, version: 1 });
    expect(await patients.get(wrong.id)).toBeNull();
    expect(await patients.get(amina.id)).toMatchObject({
      pending: false,
      data: { name: 'Amina K.', village: 'Dedza', phone: '0999 111 222' },
    });
  });

  it('an uplink lost without the browser noticing: once a probe fails, the timer stops trying', async () => {
    const { client, network, timers, pushTries } = await tablet(server, { deviceId: 'tablet-o2' });
    const patients = client.collection('patients');
    const joseph = await patients.create({ name: 'Joseph M.' });
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ waiting: 0, completed: 1 }));
    await idle(client);

    // The clinic router loses its uplink; the interface stays up. The sync after an edit fails,
    // and the retry timer tries again until the monitor's probe, at most 30 s later, finds it.
    network.mode = 'offline';
    await patients.update(joseph.id, { village: 'Salima' });
    await vi.waitFor(() => expect(client.lastResult?.success).toBe(false));
    await timers.advance(30_000);
    await vi.waitFor(() => expect(client.network.status.online).toBe(false));
    await idle(client);
    const [edit] = client.queue.list().filter((o) => o.status === 'pending');
    const attempts = edit?.attempts as number;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThan(8);
    const triesWhenKnown = pushTries.length;

    const later = await patients.create({ name: 'Registered after the probe failed' });
    await timers.advance(12 * hour);
    await idle(client);
    expect(pushTries).toHaveLength(triesWhenKnown);
    expect(opOf(client, edit?.opId as string)).toMatchObject({ status: 'pending', attempts });
    const created = client.queue.list().find((o) => o.id === later.id);
    expect(created).toMatchObject({ status: 'pending', attempts: 0 });
    expect(isWithdrawable(created!)).toBe(true);
    expect(client.queue.stats().stopped).toBe(0);

    network.mode = 'online';
    await nextProbe(timers);
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ waiting: 0, completed: 3 }));
    expect(arrivals(network).get(created?.opId as string)).toBe(1);
  });

  it('a server that answers, with 503s: attempts still count and the change stops after maxAttempts', async () => {
    const { client, network, timers, pushTries } = await tablet(server, {
      deviceId: 'tablet-o3',
      retry: { maxAttempts: 3 },
    });
    network.mode = 'server-error';
    await client.collection('patients').create({ name: 'Sent to a failing server' });
    await vi.waitFor(() => expect(client.lastResult?.success).toBe(false));
    await timers.advance(hour);
    await idle(client);
    // The probe is answered (503): the device is online, the server unwell.
    expect(client.network.status).toMatchObject({ online: true, quality: 'poor' });
    expect(client.queue.list()[0]).toMatchObject({ status: 'failed', attempts: 3, sent: true });
    expect(client.queue.stats()).toMatchObject({ stopped: 1, waiting: 1 });
    expect(pushTries).toHaveLength(3);
  });

  it.each([
    ['no sync on reconnect', { autoSync: { onReconnect: false, intervalMs: 0 } }],
    ['no automatic sync at all', { autoSync: false as const }],
    ['a monitor that probes only on browser events', { probeIntervalMs: 0 }],
    ['no network monitor', { probeIntervalMs: false as const }],
  ])(
    'with %s, the timer keeps trying while offline, as before: nothing would bring the change back',
    async (_, extra) => {
      const { client, network, events, timers, pushTries } = await tablet(server, {
        deviceId: 'tablet-o4',
        retry: { maxAttempts: 3 },
        ...extra,
      });
      await client.collection('patients').create({ name: 'Made before the link went' });
      network.mode = 'offline';
      events.dispatchEvent(new Event('offline'));
      await client.network.check();
      expect((await client.sync()).success).toBe(false);
      await timers.advance(hour);
      await idle(client);
      expect(client.queue.list()[0]).toMatchObject({ status: 'failed', attempts: 3 });
      expect(pushTries).toHaveLength(3);
    },
  );

  it('a person\'s "Sync now" while offline still tries, once; the timer it arms does not', async () => {
    const { client, network, events, timers, pushTries } = await tablet(server, { deviceId: 'tablet-o5' });
    network.mode = 'offline';
    events.dispatchEvent(new Event('offline'));
    await client.network.check();
    const p = await client.collection('patients').create({ name: 'Asked for by hand' });
    expect(pushTries).toHaveLength(0);

    // The probe may be wrong: a person who asks is obeyed. The request is handed to the network,
    // so the change counts as sent and can no longer be withdrawn.
    const asked = await client.sync({ manual: true });
    expect(asked).toMatchObject({ success: false, error: { code: 'NETWORK' } });
    expect(pushTries).toHaveLength(1);
    const [op] = client.queue.list();
    expect(op).toMatchObject({ status: 'pending', attempts: 1, sent: true });
    expect(isWithdrawable(op!)).toBe(false);

    await timers.advance(4 * hour);
    await idle(client);
    expect(pushTries).toHaveLength(1);
    expect(client.queue.list()[0]).toMatchObject({ status: 'pending', attempts: 1 });

    network.mode = 'online';
    await nextProbe(timers);
    await vi.waitFor(() => expect(client.queue.stats()).toMatchObject({ waiting: 0, completed: 1 }));
    expect(await client.collection('patients').get(p.id)).toMatchObject({ pending: false });
  });
});
