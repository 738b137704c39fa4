import { createSyncClient, indexedDbStoreLock } from '@outpost/client';
import type { SyncResult } from '@outpost/client';
import { backgroundSyncTag, deviceClientOptions, deviceDatabaseName } from '../device-client';
import type { SyncRequestMessage } from '../device-client';
import { forgetSessionForWorker, readSessionForWorker } from '../worker-session';
import type { WorkerSession } from '../worker-session';

/**
 * A sync that did not finish for a reason that may pass (no network, the server down or busy):
 * rejecting the sync event makes the browser wake the worker again later.
 */
export class BackgroundSyncFailed extends Error {
  override readonly name = 'BackgroundSyncFailed';
}

/** Failures worth another wake-up; anything else (a refusal) would get the same answer again. */
const passing = new Set(['NETWORK', 'CIRCUIT_OPEN', 'INTERNAL', 'RATE_LIMITED']);

/** The worker's own sync under way: a second wake-up meanwhile joins it. */
let running: Promise<void> | null = null;

/**
 * Background Sync woke the worker: a connection is back and changes waited. A page of the app that
 * is open holds the device's database (one holder at a time, decision 0019), so it is asked to
 * sync, as before. With none open, the worker opens the same sync client itself, runs one sync
 * and closes it, so changes made before the tab was closed do not wait for the app's next opening.
 */
export async function onBackgroundSync(scope: ServiceWorkerGlobalScope): Promise<void> {
  // Uncontrolled pages too (a hard reload): they hold the database all the same.
  const pages = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (pages.length > 0) {
    const message: SyncRequestMessage = { type: backgroundSyncTag };
    for (const page of pages) page.postMessage(message);
    return;
  }
  running ??= syncWithNoTabOpen().finally(() => {
    running = null;
  });
  return running;
}

async function syncWithNoTabOpen(): Promise<void> {
  // Signed out (or the sign-in expired): nothing may leave as anyone, and another wake-up would
  // find the same. The changes wait on the device for the person's next sign-in.
  const session = await readSessionForWorker();
  if (session === null) return;
  // The lock the page's store holds while open, taken without waiting: a holder is a tab (one
  // closing, or opening right now) or an older worker still syncing. It syncs; if it was a tab
  // that closed first, the browser's next wake-up finds the lock free.
  const result = await navigator.locks.request(
    indexedDbStoreLock(deviceDatabaseName(session)),
    { ifAvailable: true },
    async (lock) => (lock === null ? null : syncOnce(session)),
  );
  if (result === null) throw new BackgroundSyncFailed('a tab of the app has the records open');
  if (result.ok || result.error === undefined) return;
  if (result.error.code === 'UNAUTHORIZED') {
    // Refused, not failed: every later wake-up would be refused alike. The copy goes, so the worker
    // stays quiet until the person signs in again in the app, which asks them to and keeps a new one.
    await forgetSessionForWorker(session.token);
    return;
  }
  if (passing.has(result.error.code)) throw new BackgroundSyncFailed(result.error.message);
}

/** One sync of the device by the worker, on the client the page would open, with nothing left running after it. */
async function syncOnce(session: WorkerSession): Promise<SyncResult> {
  const client = await createSyncClient({
    // This worker holds the database's lock already; the store must not wait for it again.
    ...deviceClientOptions(session, session.deviceId, () => session.token, { locks: null }),
    // One sync and done: no timers, live stream or network probes to outlive the event.
    autoSync: false,
    probeIntervalMs: false,
  });
  try {
    return await client.sync();
  } finally {
    await client.close();
  }
}
