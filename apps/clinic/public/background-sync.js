// Loaded into the app's service worker. When the browser supports Background Sync it wakes the
// worker with the 'outpost-sync' tag once a connection is back, even while the app's tab sits in
// the background; the worker then asks every open page of the app to sync. The sync client lives in
// the page (its outbox is the page's IndexedDB store), so the page does the pushing.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'outpost-sync') return;
  event.waitUntil(
    self.clients.matchAll({ type: 'window' }).then((pages) => {
      for (const page of pages) page.postMessage({ type: 'outpost-sync' });
    }),
  );
});
