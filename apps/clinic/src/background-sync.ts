import type { SyncClient, SyncResult } from '@outpost/client';
import { autoSyncOff, backgroundSyncTag, mayPass } from './device-client';
import type { SyncAnswer, SyncRequestMessage } from './device-client';

interface SyncManager {
  register(tag: string): Promise<void>;
  getTags(): Promise<string[]>;
}

/**
 * Background Sync where the browser has it: whenever changes (or photos) wait that this page's
 * own syncs could not send, ask the browser to wake the service worker later
 * (worker/background-sync.ts), so they do not wait for the app's next opening once the tab is
 * closed. With this page open the worker asks it to sync, as the page holds the device's
 * database, and hears how that ended; once the tab is closed the worker syncs by itself.
 * Everywhere else the client's own syncs do the same job while the page is open. Returns the
 * function that stops listening.
 *
 * When: while offline with work waiting (as each change is made, or the network goes), after any
 * sync of the page that failed with work still waiting (the server down, a 5xx, the circuit
 * breaker resting: the tab may be closed before its next try), and as the page is hidden with
 * work waiting (a change whose sync had not ended when the tab was closed). The first two happen
 * while the page runs, so the registration is made whole; a hidden or closing page may be torn
 * down before it is. Each is one look at the queue's counts, and a call to the browser only
 * when work waits.
 */
export function startBackgroundSync(client: SyncClient): () => void {
  const worker = 'serviceWorker' in navigator ? navigator.serviceWorker : null;
  if (worker === null) return () => {};
  const onMessage = (event: MessageEvent) => {
    if ((event.data as Partial<SyncRequestMessage> | null)?.type !== backgroundSyncTag) return;
    // The worker waits for this page's answer: a failure that may pass keeps its registration,
    // so the browser wakes it again, perhaps once this tab is closed. (An older worker sends no port.)
    const [reply] = event.ports;
    // "Sync automatically" off: the person syncs with "Sync now" alone, and the worker is told so.
    if (client.autoSync === false)
      return reply?.postMessage({ ok: false, code: autoSyncOff } satisfies SyncAnswer);
    void client.sync().then(
      (result) => reply?.postMessage(answerOf(result)),
      () => reply?.postMessage({ ok: false, code: 'NETWORK' } satisfies SyncAnswer),
    );
  };
  worker.addEventListener('message', onMessage);

  /** What a sync sends by itself: a change stopped after repeated failures waits for a person's "Sync now", and a refused one goes nowhere. */
  const workLeft = () => {
    const ops = client.queue.stats();
    const files = client.files.stats();
    return ops.pending + ops.inFlight + files.waiting + files.uploading > 0;
  };
  const register = () => {
    // Nothing by itself with "Sync automatically" off: a wake-up would be automatic network use.
    if (client.autoSync === false) return;
    void worker.ready
      .then(async (registration) => {
        const sync = (registration as { sync?: SyncManager }).sync;
        if (sync === undefined) return;
        // Not over a registration already there: one made while its event fires (the worker
        // asking this page to sync, which fails again) makes the browser fire it again at once,
        // and again after that, rather than after its growing delays.
        if ((await sync.getTags()).includes(backgroundSyncTag)) return;
        await sync.register(backgroundSyncTag);
      })
      .catch(() => {
        // Refused (e.g. no permission): the page's own syncs still run while it is open.
      });
  };
  const whileOffline = () => {
    if (!client.network.status.online && workLeft()) register();
  };
  // Not after a refusal (a sign-in expired): another try gets the same answer, and the page asks the person.
  const afterSync = (result: SyncResult) => {
    if (!result.success && mayPass(result.error?.code) && workLeft()) register();
  };
  const onHidden = () => {
    if (document.visibilityState === 'hidden' && workLeft()) register();
  };
  const stopNetwork = client.on('network', whileOffline);
  const stopChange = client.on('change', whileOffline);
  const stopSync = client.on('sync', afterSync);
  document.addEventListener('visibilitychange', onHidden);
  return () => {
    worker.removeEventListener('message', onMessage);
    stopNetwork();
    stopChange();
    stopSync();
    document.removeEventListener('visibilitychange', onHidden);
  };
}

function answerOf(result: SyncResult): SyncAnswer {
  return result.success || result.error === undefined
    ? { ok: result.success }
    : { ok: false, code: result.error.code };
}
