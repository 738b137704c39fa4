// The clinic app's service worker: the app shell precached, so the app opens with no network
// (what vite-plugin-pwa's generated worker did before), and Background Sync, which syncs the
// device even when no tab of the app is open (decision 0026).
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import type { PrecacheEntry } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { backgroundSyncTag } from '../device-client';
import { onBackgroundSync } from './background-sync';

declare const self: ServiceWorkerGlobalScope & {
  /** The app shell's files and their revisions, written in by vite-plugin-pwa at build time. */
  __WB_MANIFEST: Array<PrecacheEntry | string>;
};

/** Background Sync's event: not in TypeScript's lib, as only Chromium-based browsers have it. */
interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
  readonly lastChance: boolean;
}

// A new build takes over open tabs at once (registerType 'autoUpdate'): the server sends index.html
// and sw.js uncached, and an old shell must not linger over a new API.
void self.skipWaiting();
clientsClaim();

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// Every page address opens the app shell from the cache; the API never does.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('/index.html'), {
    denylist: [/^\/v1\//, /^\/api\//, /^\/watermelon\//],
  }),
);

self.addEventListener('sync', (event: Event) => {
  const sync = event as SyncEvent;
  if (sync.tag !== backgroundSyncTag) return;
  // A rejection makes the browser wake the worker again later: that is how Background Sync retries.
  // Said in the worker's console too, as the browser records only that the event failed.
  sync.waitUntil(
    onBackgroundSync(self).catch((err: unknown) => {
      console.warn('The background sync did not finish; the browser will try again later:', String(err));
      throw err;
    }),
  );
});
