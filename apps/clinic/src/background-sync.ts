import type { SyncClient } from '@outpost/client';
import { backgroundSyncTag } from './device-client';
import type { SyncRequestMessage } from './device-client';

interface SyncManager {
  register(tag: string): Promise<void>;
}

/**
 * Background Sync where the browser has it: while changes wait and the network is gone, ask the
 * browser to wake the service worker when it comes back (worker/background-sync.ts). With this
 * page open the worker asks it to sync, as the page holds the device's database; once the tab is
 * closed the worker syncs by itself. Everywhere else the client's own sync-on-reconnect does the
 * same job while the page is open. Returns the function that stops listening.
 */
export function startBackgroundSync(client: SyncClient): () => void {
  const worker = 'serviceWorker' in navigator ? navigator.serviceWorker : null;
  if (worker === null) return () => {};
  const onMessage = (event: MessageEvent) => {
    if ((event.data as Partial<SyncRequestMessage> | null)?.type === backgroundSyncTag)
      void client.sync().catch(() => {});
  };
  worker.addEventListener('message', onMessage);
  const request = () => {
    const stats = client.queue.stats();
    // Only what a sync sends by itself: a change stopped after repeated failures waits for a
    // person's "Sync now", and a refused one goes nowhere.
    if (client.network.status.online || stats.pending === 0) return;
    void worker.ready
      .then((registration) => (registration as { sync?: SyncManager }).sync?.register(backgroundSyncTag))
      .catch(() => {
        // Refused (e.g. no permission): sync-on-reconnect still runs in the page.
      });
  };
  const stopNetwork = client.on('network', request);
  const stopChange = client.on('change', request);
  return () => {
    worker.removeEventListener('message', onMessage);
    stopNetwork();
    stopChange();
  };
}
