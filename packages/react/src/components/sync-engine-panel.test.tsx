// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { manyConflicts, openScriptedClient } from '../../test/conflict-scenarios';
import { button, dialog, press } from '../../test/dom';
import { acting, cleanup, openClient, render } from '../../test/react-fixture';
import { scriptedServer } from '../../test/scripted-server';
import { recordUnhandledRejections } from '../../test/unhandled-rejections';
import { SyncEnginePanel } from '../index';

afterEach(cleanup);
const unhandled = recordUnhandledRejections();

describe('SyncEnginePanel', () => {
  it('shows a sync under way with its progress and phase, then what it pushed and pulled', async () => {
    const server = scriptedServer();
    server.put('patients', 'patient-grace', { name: 'Grace M.' });
    const client = await openScriptedClient(server, { batchSize: 1 });
    const patients = client.collection('patients');
    await patients.create({ name: 'Amina K.' });
    const chikondi = await patients.create({ name: 'Chikondi B.', village: 'Ntcheu' });
    server.conflictOnPush('patients', chikondi.id, { name: 'Chikondi B.', village: 'Dedza' });
    const view = await render(client, <SyncEnginePanel />);
    expect(view.text()).toContain('Last sync: none yet.');
    expect(view.text()).toContain('No open conflicts');
    expect(view.container.querySelector('[role="progressbar"]')).toBeNull();

    // The first batch is answered at once, the second waits: the sync is caught halfway.
    let answers = 0;
    let answer: () => void = () => undefined;
    server.beforePushAnswer = async () => {
      answers += 1;
      if (answers === 2) await new Promise<void>((resolve) => (answer = resolve));
    };
    await press(button(view.container, 'Sync now'));
    await acting(async () => {
      while (answers < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    });
    const bar = view.container.querySelector('[role="progressbar"]');
    expect(bar?.getAttribute('aria-valuenow')).toBe('50');
    expect(bar?.getAttribute('aria-label')).toBe('Sync progress');
    expect(view.text()).toContain('Phase: sending changes (push)');
    expect(view.text()).toContain('50% (1 of 2)');
    expect(button(view.container, 'Sync now').disabled).toBe(true);

    await acting(async () => {
      answer();
      await client.sync();
    });
    expect(view.container.querySelector('[role="progressbar"]')).toBeNull();
    expect(view.text()).toContain('Last sync: succeeded.');
    // Grace came from the server; Amina's create and the server's Chikondi come back in the pull.
    expect(view.text()).toContain('Pushed 2 (1 applied, 1 in conflict, 0 rejected); pulled 3.');
    expect(view.text()).toContain('1 open conflict');
  });

  it('shows the error of a sync that failed', async () => {
    const client = await openClient({ retry: { baseMs: 60_000, maxMs: 60_000 }, random: () => 0.5 });
    await client.collection('patients').create({ name: 'Amina K.' });
    const view = await render(client, <SyncEnginePanel />);
    await acting(() => client.sync());
    expect(view.text()).toMatch(/Last sync: failed: \S/);
    expect(view.text()).toContain('; pulled 0.');
  });

  it('shows what waits, what stopped after repeated failures and what was refused, and sends the stopped on "Sync now"', async () => {
    const server = scriptedServer();
    const client = await openScriptedClient(server, {
      retry: { maxAttempts: 1 },
      circuitBreaker: { failureThreshold: 100 },
    });
    const patients = client.collection('patients');
    const refused = await patients.create({ name: 'Refused K.' });
    server.refuseOnPush('patients', refused.id, 'NOT_FOUND');
    await client.sync();
    server.unreachable = true;
    await patients.create({ name: 'Stopped M.' });
    await client.sync();
    server.unreachable = false;
    await patients.create({ name: 'Waiting G.' });
    const view = await render(client, <SyncEnginePanel />);
    expect(view.text()).toContain(
      'Waiting to be sent: 2 (1 stopped after repeated failures: "Sync now" sends them again). Refused by the server: 1.',
    );

    await press(button(view.container, 'Sync now'));
    await acting(() => client.sync()); // joins the one the button started
    expect(server.pushed.map((op) => op.data?.['name'])).toEqual(['Refused K.', 'Stopped M.', 'Waiting G.']);
    expect(view.text()).toContain('Waiting to be sent: 0. Refused by the server: 1.');
  });

  it('says "Sync now" failed when the client was already closed, with or without a change to send again', async () => {
    for (const stoppedChange of [true, false]) {
      const server = scriptedServer();
      const client = await openScriptedClient(server, {
        retry: { maxAttempts: 1 },
        circuitBreaker: { failureThreshold: 100 },
      });
      server.unreachable = true;
      if (stoppedChange) await client.collection('patients').create({ name: 'Stopped M.' });
      await client.sync();
      const view = await render(client, <SyncEnginePanel />);
      await acting(() => client.close());

      await press(button(view.container, 'Sync now'));
      await acting(unhandled.settle);
      expect(unhandled.reasons).toEqual([]);
      expect(view.text()).toContain('Last sync: failed: the sync client is closed');
      await cleanup();
    }
  });

  it("announces each sync's outcome in a polite live region, and nothing when only the counts change", async () => {
    const server = scriptedServer();
    const client = await openScriptedClient(server);
    const patients = client.collection('patients');
    await patients.create({ name: 'Amina K.' });
    const view = await render(client, <SyncEnginePanel />);
    const region = Array.from(view.container.querySelectorAll('[role="status"]')).find((r) =>
      r.textContent?.startsWith('Last sync:'),
    );
    expect(region?.textContent).toBe('Last sync: none yet.');
    expect(region?.getAttribute('aria-live')).toBe('polite');
    // What a screen reader hears: the changes made inside the live region.
    let mutations = 0;
    const changes = new MutationObserver((records) => (mutations += records.length));
    changes.observe(region as Node, { childList: true, subtree: true, characterData: true });
    const announced = () => {
      const any = mutations > 0;
      mutations = 0;
      return any;
    };

    await acting(() => client.sync());
    const succeeded = 'Last sync: succeeded.Pushed 1 (1 applied, 0 in conflict, 0 rejected); pulled 1.';
    expect(region?.textContent).toBe(succeeded);
    expect(announced()).toBe(true);

    // A new change renders the panel again (the waiting count): the last result is not re-read.
    await acting(() => patients.create({ name: 'Grace M.' }));
    expect(view.text()).toContain('Waiting to be sent: 1.');
    expect(announced()).toBe(false);

    // A second sync that ends the same way is still news to the person waiting for it.
    await acting(() => client.sync());
    expect(region?.textContent).toBe(succeeded);
    expect(announced()).toBe(true);
    changes.disconnect();
  });

  it('warns when so many changes wait that syncing suffers, and says to sync', async () => {
    const client = await openClient({
      events: new EventTarget(),
      probeIntervalMs: 0,
      fetch: async () => new Response('{"status":"ok","database":"sqlite","version":"x"}', { status: 200 }),
      retry: { baseMs: 60_000, maxMs: 60_000 },
    });
    await client.network.check(); // online
    const view = await render(client, <SyncEnginePanel />);
    const patients = client.collection('patients');
    await acting(async () => {
      for (let i = 0; i < 99; i++) await patients.create({ name: `Patient ${i}` });
    });
    expect(view.text()).toContain('Waiting to be sent: 99.');
    expect(view.text()).not.toContain('changes are waiting');
    await acting(() => patients.create({ name: 'Patient 99' }));
    expect(view.text()).toContain('Waiting to be sent: 100.');
    const warning = 'Many changes are waiting to be sent, which slows syncing: press “Sync now” soon.';
    expect(view.text()).toContain(warning);
    const regions = Array.from(view.container.querySelectorAll('[role="status"]'));
    expect(regions.map((r) => r.textContent)).toContain(warning);
  });

  it('lists the open conflicts under their count with `conflicts` (seed 001), each settled in the resolution dialog; not by default', async () => {
    const { client } = await manyConflicts(['Amina K.', 'Grace M.'], []);
    const plain = await render(client, <SyncEnginePanel />);
    expect(plain.text()).toContain('2 open conflicts');
    expect(plain.container.querySelector('table')).toBeNull();
    cleanup();

    const view = await render(client, <SyncEnginePanel conflicts={{ pageSize: 5 }} />);
    expect(view.text()).toContain('2 open conflicts');
    const amina = Array.from(view.container.querySelectorAll('tbody tr')).find(
      (tr) => tr.querySelector('th')?.textContent === 'patients “Amina K.”',
    ) as HTMLElement | undefined;
    if (!amina) throw new Error('no row for Amina K.');
    await press(button(amina, 'Resolve'));
    await press(button(dialog() as HTMLElement, 'Use server'));
    await acting(async () => button(dialog() as HTMLElement, 'Confirm').click());
    await press(button(dialog() as HTMLElement, 'Close'));
    expect(view.text()).toContain('1 open conflict');
  });
});
