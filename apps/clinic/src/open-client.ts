import { createSyncClient } from '@outpost/client';
import type { SyncClient } from '@outpost/client';
import { deviceClientOptions } from './device-client';
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
  return createSyncClient({
    // One tab at a time: a second tab waits until the first is closed (see indexedDbStore).
    ...deviceClientOptions(session, deviceId(), token, { onWaitForOtherTab }),
    // live: a colleague's change shows on an open screen within moments, not at the next minute.
    autoSync: { onReconnect: true, afterWrite: true, intervalMs: 60_000, live: true },
    // The browser's online event misses a link that comes back without an interface change (a
    // clinic router regaining its uplink): ask the server every 10 s, and sync as soon as it answers.
    probeIntervalMs: 10_000,
  });
}
