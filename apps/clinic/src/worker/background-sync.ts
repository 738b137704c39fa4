import { createSyncClient, indexedDbStoreLock } from '@outpost/client';
import type { SyncResult } from '@outpost/client';
import {
  backgroundSyncLock,
  backgroundSyncTag,
  deviceClientOptions,
  deviceDatabaseName,
  mayPass,
  personKey,
} from '../device-client';
import type { SyncAnswer, SyncRequestMessage } from '../device-client';
import { forgetSessionForWorker, keepWorkerSyncTime, readSessionForWorker } from '../worker-session';
import type { WorkerSession } from '../worker-session';

/**
 * A sync that did not finish for a reason that may pass (no network, the server down or busy):
 * rejecting the sync event makes the browser wake the worker again later.
 */
export class BackgroundSyncFailed extends Error {
  override readonly name = 'BackgroundSyncFailed';
}

/**
 * How long the worker waits for the page holding the records to say how its sync ended. A page
 * that does not answer is closing, frozen in the background, or of an older version.
 */
const pageAnswerMs = 30_000;

/** How often the worker looks, while it syncs, for a tab waiting to open the records. */
const watchTabsMs = 250;

/** The worker's own sync under way: a second wake-up meanwhile joins it. */
let running: Promise<void> | null = null;

/**
 * Background Sync woke the worker: a connection is back, or the server may answer again, and
 * changes waited. Whoever holds the device's database syncs it (one holder at a time, decision
 * 0019). Free, the worker opens the same sync client the page opens, runs one sync and closes it,
 * so changes made before the tab was closed do not wait for the app's next opening. Held, the
 * open page of the app is asked to sync, and the event ends as its sync did: a failure that may
 * pass leaves the registration for another wake-up, by when the tab may be closed.
 */
export function onBackgroundSync(scope: ServiceWorkerGlobalScope): Promise<void> {
  running ??= wake(scope).finally(() => {
    running = null;
  });
  return running;
}

async function wake(scope: ServiceWorkerGlobalScope): Promise<void> {
  // No copy (signed out, or the sign-in expired): nothing may leave as anyone from here. An open
  // page signed in without one (since before the copy existed) may still sync, if asked.
  const session = await readSessionForWorker();
  if (session !== null) {
    const own = await syncIfFree(session);
    if (own !== 'held') return settle(own, session);
  }
  const answer = await askOpenPages(scope);
  if (answer === 'no-answer' && session !== null) {
    // The page holding the records did not answer: closing, perhaps, and gone by now.
    const own = await syncIfFree(session);
    if (own !== 'held') return settle(own, session);
  }
  if (session === null && typeof answer === 'string') return;
  if (answer === 'no-page' || answer === 'no-answer')
    // Held, with no page of the app to answer: a tab being torn down or an older worker still
    // syncing. It syncs; if it was a tab closing, the browser's next wake-up finds the lock free.
    throw new BackgroundSyncFailed('another tab or worker has the records open');
  if (answer.ok) return;
  // The page's client closed meanwhile (a sign-out, the tab going): the worker's next wake-up sees.
  if (answer.code === 'CLIENT_CLOSED' || mayPass(answer.code))
    throw new BackgroundSyncFailed(`the open page's sync did not finish (${answer.code})`);
  // A refusal: the page says so and asks the person (their password again after a 401).
}

/**
 * The worker's own sync under the database's lock, taken without waiting, and its marker lock
 * beside it; 'held' when a tab (or an older worker) has the records. 'handed-over' when a tab
 * opening meanwhile was given the records once the changes waiting had gone.
 */
async function syncIfFree(session: WorkerSession): Promise<SyncResult | 'held' | 'handed-over'> {
  const name = deviceDatabaseName(session);
  return await navigator.locks.request(indexedDbStoreLock(name), { ifAvailable: true }, async (lock) => {
    if (lock === null) return 'held';
    // Told to a tab that opens meanwhile and waits for the database: it says what it waits for.
    return navigator.locks.request(backgroundSyncLock(name), async () => {
      const result = await syncOnce(session, name);
      // Before the lock goes: a tab that waited for it reads the time as soon as it opens.
      if (result !== 'handed-over' && result.ok)
        await keepWorkerSyncTime(personKey(session), result.finishedAt).catch((err: unknown) =>
          console.warn('The time of the background sync could not be kept:', String(err)),
        );
      return result;
    });
  });
}

async function settle(result: SyncResult | 'handed-over', session: WorkerSession): Promise<void> {
  // A tab took the records over: it syncs as it opens.
  if (result === 'handed-over' || result.ok || result.error === undefined) return;
  if (result.error.code === 'UNAUTHORIZED') {
    // Refused, not failed: every later wake-up would be refused alike. The copy goes, so the worker
    // stays quiet until the person signs in again in the app, which asks them to and keeps a new one.
    await forgetSessionForWorker(session.token);
    return;
  }
  if (mayPass(result.error.code)) throw new BackgroundSyncFailed(result.error.message);
}

/**
 * One sync of the device by the worker, on the client the page would open, with nothing left
 * running after it. A tab opened meanwhile waits for the database; once the changes waiting have
 * gone (the push answered), the worker stops and lets it have the records rather than keep the
 * person looking at a wait through the pull and the photos, which the tab's own sync does next.
 * Stopped, the client drops the request under way; a pull page or a photo's chunk not stored is
 * asked for or sent again by the tab.
 */
async function syncOnce(session: WorkerSession, name: string): Promise<SyncResult | 'handed-over'> {
  const client = await createSyncClient({
    // This worker holds the database's lock already; the store must not wait for it again.
    ...deviceClientOptions(session, session.deviceId, () => session.token, { locks: null }),
    // One sync and done: no timers, live stream or network probes to outlive the event.
    autoSync: false,
    probeIntervalMs: false,
  });
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= client.close());
  // The person's changes are on the server (or there were none): what is left, the pull and the
  // photos, the tab's own sync does as it opens, as well as the worker would.
  const changesGone = () => {
    const { pending, inFlight } = client.queue.stats();
    return pending + inFlight === 0;
  };
  let handedOver = false;
  const watch = setInterval(() => {
    if (closing !== null || !changesGone()) return;
    void tabWaitingFor(name).then((waiting) => {
      if (!waiting || closing !== null) return;
      handedOver = true;
      void close();
    });
  }, watchTabsMs);
  try {
    const result = await client.sync();
    return handedOver ? 'handed-over' : result;
  } finally {
    clearInterval(watch);
    await close();
  }
}

/** Whether a tab asks for the database's lock: it opens as soon as the worker lets it go. */
async function tabWaitingFor(name: string): Promise<boolean> {
  const { pending = [] } = await navigator.locks.query();
  return pending.some((request) => request.name === indexedDbStoreLock(name));
}

/**
 * Asks the open pages of the app to sync, and resolves with the answer of the one holding the
 * records (the others, waiting for them or signed out, do not answer): 'no-page' when none is
 * open, 'no-answer' when none answered in time.
 */
async function askOpenPages(scope: ServiceWorkerGlobalScope): Promise<SyncAnswer | 'no-page' | 'no-answer'> {
  // Uncontrolled pages too (a hard reload): they hold the database all the same.
  const pages = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (pages.length === 0) return 'no-page';
  return new Promise((resolve) => {
    const channels: MessageChannel[] = [];
    const finish = (answer: SyncAnswer | 'no-answer') => {
      clearTimeout(timer);
      for (const channel of channels) channel.port1.close();
      resolve(answer);
    };
    const timer = setTimeout(() => finish('no-answer'), pageAnswerMs);
    const message: SyncRequestMessage = { type: backgroundSyncTag };
    for (const page of pages) {
      const channel = new MessageChannel();
      channel.port1.onmessage = (event: MessageEvent<SyncAnswer>) => finish(event.data);
      channels.push(channel);
      page.postMessage(message, [channel.port2]);
    }
  });
}
