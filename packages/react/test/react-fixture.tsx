// Renders components against a real sync client on a memory store, offline unless a test says
// otherwise, and takes everything down again after each test.
import { act } from 'react';
import type { ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { createSyncClient, memoryStore } from '@outpost/client';
import type { SyncClient, SyncClientOptions } from '@outpost/client';
import { fieldClinic } from '@outpost/examples';
import { SyncClientProvider } from '../src/index';

// Tells React that updates in these tests are wrapped in act().
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** A fetch with no network behind it: every request fails the way a browser's does offline. */
export const offlineFetch: typeof fetch = () => Promise.reject(new TypeError('Failed to fetch'));

const cleanups: Array<() => Promise<void>> = [];

/** A field-clinic client that never syncs or probes by itself. */
export async function openClient(options: Partial<SyncClientOptions> = {}): Promise<SyncClient> {
  const client = await createSyncClient({
    schema: fieldClinic,
    url: 'http://127.0.0.1:1',
    store: memoryStore(),
    deviceId: 't',
    autoSync: false,
    probeIntervalMs: false,
    fetch: offlineFetch,
    ...options,
  });
  cleanups.push(() => client.close());
  return client;
}

/**
 * A client whose health probes the test lets through one at a time, and a source of the browser's
 * online/offline events: for what a view shows between an event and the server's answer.
 * `holdProbes(reachable)` makes the next probes wait and then succeed or fail; `answer()` lets them
 * through and waits for the status they lead to.
 */
export async function clientWithHeldProbes(): Promise<{
  client: SyncClient;
  events: EventTarget;
  holdProbes(reachable: boolean): void;
  answer(): Promise<void>;
}> {
  let serverReachable = true;
  let gate: Promise<void> | null = null;
  let open = () => {};
  const events = new EventTarget();
  const client = await openClient({
    events,
    probeIntervalMs: 0,
    fetch: async () => {
      if (gate) await gate;
      if (!serverReachable) throw new TypeError('Failed to fetch');
      return new Response(JSON.stringify({ status: 'ok', database: 'sqlite', version: 'x' }), {
        status: 200,
      });
    },
  });
  await client.network.check();
  return {
    client,
    events,
    holdProbes(reachable) {
      serverReachable = reachable;
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    async answer() {
      open();
      await client.network.check();
    },
  };
}

export interface Rendered {
  readonly container: HTMLElement;
  /** The text the user sees. */
  text(): string;
}

/** Mounts `ui` under a provider for `client`; unmounted by `cleanup`. */
export async function render(client: SyncClient | null, ui: ReactNode): Promise<Rendered> {
  const container = document.createElement('div');
  document.body.append(container);
  // Errors a boundary catches are shown by the boundary; React need not log them as well.
  const root = createRoot(container, { onCaughtError: () => undefined });
  await act(async () => {
    root.render(client ? <SyncClientProvider client={client}>{ui}</SyncClientProvider> : ui);
  });
  cleanups.unshift(async () => {
    await act(async () => root.unmount());
    container.remove();
  });
  return { container, text: () => container.textContent ?? '' };
}

/** Runs `work` (a write, a sync) and lets React render what it caused. */
export async function acting<T>(work: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  await act(async () => {
    result = await work();
  });
  return result as T;
}

/** Unmounts every component, then closes every client; for afterEach. */
export async function cleanup(): Promise<void> {
  for (const undo of cleanups.splice(0)) await undo();
}
