// @vitest-environment happy-dom
import { act } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncTransport } from '@outpost/client';
import type { Conflict, PushOp } from '@outpost/core';
import { openScriptedClient, patientConflict } from '../test/conflict-scenarios';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { useRecord, useSyncEngine } from './index';

afterEach(cleanup);

function SyncPanel() {
  const { sync, isSyncing, progress, lastResult } = useSyncEngine();
  return (
    <div>
      <button onClick={() => void sync()}>Sync now</button>
      <p>
        {isSyncing ? 'syncing' : 'idle'}
        {progress ? `, ${progress.phase}` : ''};{' '}
        {lastResult === null
          ? 'never synced'
          : lastResult.success
            ? 'synced'
            : `last sync failed: ${lastResult.error?.code ?? '?'}`}
      </p>
    </div>
  );
}

function click(container: HTMLElement, label: string): void {
  const button = Array.from(container.querySelectorAll('button')).find((b) => b.textContent === label);
  if (!button) throw new Error(`no button "${label}"`);
  button.click();
}

/**
 * A client whose every request hangs until the test fails it (`requests.shift()?.()`), as a slow
 * dead network does; its retries wait a minute, so none goes out by itself meanwhile.
 */
async function clientOnHangingNetwork() {
  const requests: Array<() => void> = [];
  const client = await openClient({
    retry: { baseMs: 60_000, maxMs: 60_000 },
    random: () => 0.5,
    fetch: () =>
      new Promise<Response>((_, reject) => {
        requests.push(() => reject(new TypeError('Failed to fetch')));
      }),
  });
  return { client, requests };
}

describe('useSyncEngine', () => {
  it('shows a sync running, then how it ended when the server could not be reached', async () => {
    // The request hangs until the test lets it fail, as a slow dead network does.
    const { client, requests } = await clientOnHangingNetwork();
    await client.collection('patients').create({ name: 'Amina K.' });
    const view = await render(client, <SyncPanel />);
    expect(view.text()).toBe('Sync nowidle; never synced');

    await act(async () => click(view.container, 'Sync now'));
    expect(view.text()).toBe('Sync nowsyncing, push; never synced');
    expect(requests).toHaveLength(1);

    await acting(async () => {
      requests.shift()?.();
      await client.sync(); // joins the run that is out
    });
    expect(view.text()).toBe('Sync nowidle, done; last sync failed: NETWORK');
  });

  it('shows a sync the client starts by itself as running from its first moment, nothing to send', async () => {
    // The pull hangs until the test lets it fail: a slow line after the network came back.
    const { client, requests } = await clientOnHangingNetwork();
    const view = await render(client, <SyncPanel />);
    // Not a person's "Sync now": the client's own pull, as on reconnect or on its interval.
    let running: Promise<unknown> = Promise.resolve();
    await act(async () => {
      running = client.syncFromServer();
    });
    expect(requests).toHaveLength(1);
    expect(view.text()).toBe('Sync nowsyncing, pull; never synced');

    await acting(async () => {
      requests.shift()?.();
      await running;
    });
    expect(view.text()).toBe('Sync nowidle, done; last sync failed: NETWORK');
  });

  it('shows the sync as over as soon as its result is in, when React renders as in a browser', async () => {
    const { client, requests } = await clientOnHangingNetwork();
    await client.collection('patients').create({ name: 'Amina K.' });
    const view = await render(client, <SyncPanel />);
    await act(async () => click(view.container, 'Sync now'));
    expect(view.text()).toBe('Sync nowsyncing, push; never synced');

    // Outside act, React renders a store's change in a microtask, as it does in a browser: the
    // client reports its result a moment before its own isSyncing turns false.
    const actEnvironment = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean };
    actEnvironment.IS_REACT_ACT_ENVIRONMENT = false;
    try {
      const run = client.sync();
      requests.shift()?.();
      await run;
      expect(view.text()).toBe('Sync nowidle, done; last sync failed: NETWORK');
    } finally {
      actEnvironment.IS_REACT_ACT_ENVIRONMENT = true;
    }
  });

  it('lists the conflicts the server reports and shows them settled once resolved', async () => {
    // A stand-in server: every push meets a change made elsewhere to the same field.
    let pushed: PushOp | undefined;
    let conflict: Conflict | undefined;
    const transport: SyncTransport = {
      push: async ({ ops }) => {
        pushed = ops[0];
        return {
          idMappings: [],
          results: ops.map((op) => ({
            opId: op.opId,
            status: 'conflict' as const,
            collection: op.collection,
            id: op.id,
            conflict: {
              id: 'conflict-1',
              kind: 'version' as const,
              fields: ['village'],
              strategy: 'manual' as const,
              outcome: 'open' as const,
              server: { data: { name: 'Amina K.', village: 'Dedza' }, version: 2 },
              client: { data: op.data ?? null },
            },
          })),
        };
      },
      pull: async () => ({ changes: [], cursor: 'c1', hasMore: false }),
      getRecord: async () => null,
      resolveConflict: async (id, request) => {
        const op = pushed!;
        const now = new Date().toISOString();
        conflict = {
          id,
          collection: op.collection,
          recordId: op.id,
          opId: op.opId,
          opType: op.type,
          kind: 'version',
          fields: ['village'],
          strategy: 'manual',
          outcome: 'merged',
          server: { data: { name: 'Amina K.', village: 'Dedza' }, version: 2 },
          client: { data: op.data ?? null, baseVersion: null },
          userId: 'nurse',
          deviceId: 't',
          createdAt: now,
          resolvedAt: now,
          resolvedBy: 'nurse',
        };
        return {
          conflict,
          record: {
            collection: op.collection,
            id: op.id,
            version: 3,
            deleted: false,
            data: request.mergedData ?? null,
            updatedAt: now,
            hlc: op.hlc ?? '',
          },
        };
      },
      undoConflict: async () => {
        throw new Error('not used');
      },
      listConflicts: async () => ({ conflicts: [], nextCursor: null }),
      listRejections: async () => ({ rejections: [], nextCursor: null }),
    };
    const client = await openClient({ transport });
    const amina = await client.collection('patients').create({ name: 'Amina K.', village: 'Ntcheu' });

    function ConflictPanel() {
      const { sync, conflicts, unresolvedConflicts, resolveConflict } = useSyncEngine();
      const patient = useRecord<{ name: string; village?: string }>('patients', amina.id);
      return (
        <div>
          <button onClick={() => void sync()}>Sync now</button>
          {unresolvedConflicts.map((c) => (
            <button
              key={c.id}
              onClick={() => void resolveConflict(c.id, 'merge', { name: 'Amina K.', village: 'Ntcheu' })}
            >
              Keep Ntcheu
            </button>
          ))}
          <p>
            {conflicts.length} conflicts, {unresolvedConflicts.length} open; {patient?.data.village}
          </p>
        </div>
      );
    }
    const view = await render(client, <ConflictPanel />);
    expect(view.text()).toBe('Sync now0 conflicts, 0 open; Ntcheu');

    await acting(async () => {
      click(view.container, 'Sync now');
      await client.sync();
    });
    // The server's version stands for now; the device's change waits in the conflict.
    expect(view.text()).toBe('Sync nowKeep Ntcheu1 conflicts, 1 open; Dedza');

    await act(async () => click(view.container, 'Keep Ntcheu'));
    expect(conflict?.outcome).toBe('merged');
    expect(view.text()).toBe('Sync now1 conflicts, 0 open; Ntcheu');
  });

  it("says in one word whether a sync runs or how the last ended, as seed 003's syncStatus", async () => {
    const { client, requests } = await clientOnHangingNetwork();
    await client.collection('patients').create({ name: 'Amina K.' });
    function Status() {
      const { sync, syncStatus } = useSyncEngine();
      return <button onClick={() => void sync()}>{syncStatus}</button>;
    }
    const view = await render(client, <Status />);
    expect(view.text()).toBe('idle');
    await act(async () => click(view.container, 'idle'));
    expect(view.text()).toBe('syncing');
    await acting(async () => {
      requests.shift()?.();
      await client.sync();
    });
    expect(view.text()).toBe('error');
  });

  it('reloads the conflicts from the server on refreshConflicts, those of other devices included', async () => {
    const { server } = await patientConflict();
    // The administrator's device has never met the conflict itself.
    const office = await openScriptedClient(server);
    function Conflicts() {
      const { conflicts, refreshConflicts } = useSyncEngine();
      return <button onClick={() => void refreshConflicts()}>{conflicts.length} conflicts</button>;
    }
    const view = await render(office, <Conflicts />);
    expect(view.text()).toBe('0 conflicts');
    await acting(async () => click(view.container, '0 conflicts'));
    expect(view.text()).toBe('1 conflicts');
  });
});
