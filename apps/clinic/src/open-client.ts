import { createSyncClient, indexedDbFileStore, indexedDbStore } from '@outpost/client';
import type { SyncClient } from '@outpost/client';
import { fieldClinic } from '@outpost/examples';
import { deviceId } from './session';
import type { Session } from './session';

/**
 * The signed-in user's sync client over IndexedDB: one database per clinic and user, so two
 * people sharing a tablet never read each other's unsynced work. `token` is asked before each
 * request, so signing in again gives the open client the new token.
 */
export function openClient(
  session: Session,
  token: () => string,
  onWaitForOtherTab: () => void,
): Promise<SyncClient> {
  const name = `outpost-${session.tenant}-${session.userId}`;
  return createSyncClient({
    schema: fieldClinic,
    url: location.origin,
    getToken: async () => token(),
    // One tab at a time: a second tab waits until the first is closed (see indexedDbStore).
    store: indexedDbStore({ name, onWaitForOtherTab }),
    // Photos and documents attached to records, in a database of their own beside it (`<name>-files`).
    files: indexedDbFileStore({ name }),
    deviceId: deviceId(),
    // A first sync of a whole clinic in few round trips: the server's largest pull page.
    pullLimit: 5000,
    // live: a colleague's change shows on an open screen within moments, not at the next minute.
    autoSync: { onReconnect: true, afterWrite: true, intervalMs: 60_000, live: true },
    // The browser's online event misses a link that comes back without an interface change (a
    // clinic router regaining its uplink): ask the server every 10 s, and sync as soon as it answers.
    probeIntervalMs: 10_000,
  });
}
