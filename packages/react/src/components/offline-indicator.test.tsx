// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { openScriptedClient } from '../../test/conflict-scenarios';
import { button, press, queryButton } from '../../test/dom';
import { acting, cleanup, clientWithHeldProbes, openClient, render } from '../../test/react-fixture';
import { scriptedServer } from '../../test/scripted-server';
import { recordUnhandledRejections } from '../../test/unhandled-rejections';
import { OfflineIndicator, SyncEnginePanel } from '../index';

afterEach(cleanup);
const unhandled = recordUnhandledRejections();

/**
 * A client on a scripted server whose health probe answers while `link.reachable`, with the
 * browser's online/offline events fired through `events`; probed once, so it starts online.
 */
async function clientWithHealthProbe() {
  const link = { reachable: true };
  const events = new EventTarget();
  const server = scriptedServer();
  const client = await openScriptedClient(server, {
    events,
    probeIntervalMs: 0,
    fetch: async () => {
      if (!link.reachable) throw new TypeError('Failed to fetch');
      return new Response(JSON.stringify({ status: 'ok', database: 'sqlite', version: 'x' }), {
        status: 200,
      });
    },
  });
  await client.network.check();
  return { server, client, events, link };
}

describe('OfflineIndicator', () => {
  it('shows Online or Offline, the changes waiting, and syncs them on "Sync now"', async () => {
    const { server, client, events, link } = await clientWithHealthProbe();
    const view = await render(client, <OfflineIndicator />);
    const status = () => view.container.querySelector('[role="status"]')?.textContent;
    expect(status()).toBe('Online');
    expect(view.text()).toContain('No changes waiting');

    const patients = client.collection('patients');
    await acting(async () => {
      await patients.create({ name: 'Amina K.' });
      await patients.create({ name: 'Grace M.' });
      await patients.create({ name: 'Chikondi B.' });
    });
    expect(view.text()).toContain('3 changes waiting');

    // The server holds its answer until the test lets it go: the button is disabled meanwhile.
    let answer: () => void = () => undefined;
    server.beforePushAnswer = () => new Promise<void>((resolve) => (answer = resolve));
    const syncNow = button(view.container, 'Sync now');
    await press(syncNow);
    expect(syncNow.disabled).toBe(true);
    expect(view.text()).toContain('Syncing…');
    expect(server.pushed.map((op) => op.data?.['name'])).toEqual(['Amina K.', 'Grace M.', 'Chikondi B.']);

    await acting(async () => {
      answer();
      await client.sync(); // joins the run under way
    });
    expect(syncNow.disabled).toBe(false);
    expect(view.text()).toContain('No changes waiting');

    await acting(async () => {
      link.reachable = false;
      events.dispatchEvent(new Event('offline'));
      await client.network.check();
    });
    expect(status()).toBe('Offline');
  });

  it('floating (seed 001): hidden while synced, in the top-right corner while anything waits, "Sync now" only online with changes waiting', async () => {
    const { server, client, events, link } = await clientWithHealthProbe();
    const view = await render(client, <OfflineIndicator mode="floating" />);
    const shown = () => view.container.firstElementChild as HTMLElement | null;
    // Online with nothing waiting: nothing on the screen.
    expect(shown()).toBeNull();

    const patients = client.collection('patients');
    await acting(async () => {
      await patients.create({ name: 'Amina K.' });
      await patients.create({ name: 'Grace M.' });
    });
    expect(view.text()).toContain('2 changes waiting');
    expect(shown()?.style.position).toBe('fixed');
    expect([shown()?.style.top, shown()?.style.right]).toEqual(['0.75em', '0.75em']);
    await press(button(view.container, 'Sync now'));
    await acting(() => client.sync()); // joins the one the button started
    expect(server.pushed.map((op) => op.data?.['name'])).toEqual(['Amina K.', 'Grace M.']);
    expect(shown()).toBeNull();

    // Offline with a change waiting: shown, with no "Sync now", which could only fail.
    await acting(async () => {
      link.reachable = false;
      events.dispatchEvent(new Event('offline'));
      await client.network.check();
    });
    expect(view.text()).toContain('Offline');
    expect(view.text()).toContain('No changes waiting');
    await acting(async () => {
      await patients.create({ name: 'Chikondi B.' });
    });
    expect(view.text()).toContain('1 change waiting');
    expect(queryButton(view.container, 'Sync now')).toBeNull();
    await acting(async () => {
      link.reachable = true;
      events.dispatchEvent(new Event('online'));
      await client.network.check();
    });
    expect(view.text()).toContain('Online');
    expect(queryButton(view.container, 'Sync now')).not.toBeNull();

    // A conflict waiting for a person keeps it on the screen once the change has gone.
    const grace = (await patients.find()).find((p) => p.data['name'] === 'Grace M.');
    if (!grace) throw new Error('Grace M. should be on the device');
    server.conflictOnPush('patients', grace.id, { name: 'Grace M.', village: 'Dedza' });
    await acting(async () => {
      await patients.update(grace.id, { village: 'Ntcheu' });
      await client.sync();
    });
    expect(view.text()).toContain('1 conflict to resolve');
    expect(queryButton(view.container, 'Sync now')).toBeNull();
  });

  it('shows a sync started from another component (the Sync details panel) at once, its own button disabled', async () => {
    const server = scriptedServer();
    const client = await openScriptedClient(server);
    // Nothing to send, and the server slow to answer the pull: no progress is heard for a while.
    let answer: () => void = () => undefined;
    const pull = server.transport.pull;
    server.transport.pull = async (request, options) => {
      await new Promise<void>((resolve) => (answer = resolve));
      return pull(request, options);
    };
    const view = await render(
      client,
      <>
        <header>
          <OfflineIndicator />
        </header>
        <SyncEnginePanel />
      </>,
    );
    const header = view.container.querySelector('header') as HTMLElement;
    await press(button(view.container.querySelector('section') as HTMLElement, 'Sync now'));
    expect(header.textContent).toContain('Syncing…');
    expect(button(header, 'Sync now').disabled).toBe(true);

    await acting(async () => {
      answer();
      await client.sync();
    });
    expect(header.textContent).not.toContain('Syncing…');
    expect(button(header, 'Sync now').disabled).toBe(false);
  });

  it('counts one change in the singular and shows the conflicts waiting for a person', async () => {
    const server = scriptedServer();
    const client = await openScriptedClient(server);
    const amina = await client.collection('patients').create({ name: 'Amina K.', village: 'Ntcheu' });
    const view = await render(client, <OfflineIndicator />);
    expect(view.text()).toContain('1 change waiting');

    server.conflictOnPush('patients', amina.id, { name: 'Amina K.', village: 'Dedza' });
    await acting(() => client.sync());
    expect(view.text()).toContain('No changes waiting');
    expect(view.text()).toContain('1 conflict to resolve');
  });

  it('tells refused changes from waiting ones, and "Sync now" sends again what stopped after repeated failures', async () => {
    const server = scriptedServer();
    const client = await openScriptedClient(server, {
      retry: { maxAttempts: 1 },
      circuitBreaker: { failureThreshold: 100 },
    });
    const patients = client.collection('patients');
    const refused = await patients.create({ name: 'Refused K.' });
    server.refuseOnPush('patients', refused.id, 'UNRESOLVED_REFERENCE');
    const view = await render(client, <OfflineIndicator />);
    await acting(() => client.sync());
    // Refused for good: a resend gets the same answer, so it is not counted as waiting.
    expect(view.text()).toContain('No changes waiting');
    expect(view.text()).toContain('1 change refused by the server');

    server.unreachable = true;
    await acting(async () => {
      await patients.create({ name: 'Stopped M.' });
      await client.sync();
    });
    // The device stopped trying by itself after its one attempt: the change still waits.
    expect(client.queue.stats()).toMatchObject({ failed: 2, refused: 1 });
    expect(view.text()).toContain('1 change waiting');
    expect(view.text()).toContain('1 stopped after repeated failures');

    server.unreachable = false;
    await acting(() => client.sync());
    expect(view.text()).toContain('1 stopped after repeated failures');
    const pushes = server.pushed.length;
    await press(button(view.container, 'Sync now'));
    await acting(() => client.sync()); // joins the one the button started
    expect(server.pushed.slice(pushes).map((op) => op.data?.['name'])).toEqual(['Stopped M.']);
    expect(view.text()).toContain('No changes waiting');
    expect(view.text()).not.toContain('stopped after repeated failures');
    expect(view.text()).toContain('1 change refused by the server');
  });

  it('"Sync now" on a client already closed leaves no error behind', async () => {
    const server = scriptedServer();
    const client = await openScriptedClient(server, {
      retry: { maxAttempts: 1 },
      circuitBreaker: { failureThreshold: 100 },
    });
    // A change that stopped after its failed send: "Sync now" would send it again.
    server.unreachable = true;
    await client.collection('patients').create({ name: 'Stopped M.' });
    await client.sync();
    const view = await render(client, <OfflineIndicator />);
    await acting(() => client.close());

    await press(button(view.container, 'Sync now'));
    await acting(unhandled.settle);
    expect(unhandled.reasons).toEqual([]);
    expect(button(view.container, 'Sync now').disabled).toBe(false);
  });

  it('says "Checking connection…" from the browser\'s network event until the server answers', async () => {
    const { client, events, holdProbes, answer } = await clientWithHeldProbes();
    const view = await render(client, <OfflineIndicator />);
    const status = () => view.container.querySelector('[role="status"]')?.textContent;
    expect(status()).toBe('Online');

    for (const [event, reachable, after] of [
      ['offline', false, 'Offline'],
      ['online', true, 'Online'],
    ] as const) {
      holdProbes(reachable);
      await acting(async () => {
        events.dispatchEvent(new Event(event));
      });
      expect(status()).toBe('Checking connection…');
      await acting(answer);
      expect(status()).toBe(after);
    }
  });

  it('warns in words, as a live region, when so many changes wait that syncing suffers, and says what to do', async () => {
    const client = await openClient({ events: new EventTarget(), probeIntervalMs: 0 });
    await client.network.check(); // no server: offline
    const view = await render(client, <OfflineIndicator />);
    const warning = () =>
      Array.from(view.container.querySelectorAll('[role="status"]'))
        .map((region) => region.textContent)
        .filter((text) => text !== 'Offline');
    expect(warning()).toEqual(['']);
    const patients = client.collection('patients');
    const create = (from: number, to: number) =>
      acting(async () => {
        for (let i = from; i < to; i++) await patients.create({ name: `Patient ${i}` });
      });

    await create(0, 99);
    expect(view.text()).toContain('99 changes waiting');
    expect(warning()).toEqual(['']);
    await create(99, 100);
    expect(warning()).toEqual([
      'Many changes are waiting to be sent, which slows syncing: connect to the network and sync soon.',
    ]);
    await create(100, 501);
    expect(view.text()).toContain('501 changes waiting');
    expect(warning()).toEqual([
      'Too many changes are waiting to be sent: connect to the network and sync as soon as you can, ' +
        'and sync more often. Until they are sent they are only on this device.',
    ]);
  });
});
