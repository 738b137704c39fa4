import { WrongPassphraseError, createSyncClient } from '@outpost/client';
import type { SyncClient, TokenSession } from '@outpost/client';
import { automaticSync, backgroundSyncLock, deviceClientOptions, deviceDatabaseName } from './device-client';
import {
  RecordsKeyRefused,
  forgetHeldRecordsKey,
  heldRecordsKey,
  holdRecordsKey,
  keepUnderRefusedServerKey,
  noteRefusedServerKey,
  recordsEncrypted,
  recordsKeyFromServer,
} from './records-key';
import { deviceId } from './session';
import type { Session } from './session';
import { readAutoSyncChoice } from './stored-session';

/**
 * Who has the device's database open while this tab waits for it: another tab or window of the
 * app (until it is closed), or the service worker finishing a sync it started with no tab open
 * (seconds: it lets a waiting tab have the records once the changes waiting have gone).
 */
export type RecordsHolder = 'tab' | 'background-sync';

/** How often a waiting tab looks again at who holds the records: the worker may finish, a tab take over. */
const lookAgainMs = 500;

/**
 * The person's records are encrypted on this device and this tab has no key to open them: the
 * server could not be reached, or refused the session. The password opens them (decision 0054).
 */
export class RecordsKeyNeeded extends Error {
  override readonly name = 'RecordsKeyNeeded';
  constructor(readonly reason: RecordsKeyMissing) {
    super(`the key to these records is not at hand (${reason})`);
  }
}

/**
 * Why: the server cannot be reached; it refused the session; the device holds no session to show
 * it (signed in with no network, and reloaded before the server confirmed it); or its key is not
 * the one the records were encrypted with here (a server restored from a backup older than the key).
 */
export type RecordsKeyMissing = 'unreachable' | 'refused' | 'no-session' | 'other-key';

/**
 * The key the person's records open with: the one this tab holds (the password was typed here),
 * else the server's for the session it still accepts. Null for records never encrypted here.
 */
async function recordsKeyToOpen(
  session: Session,
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>,
): Promise<{ recordsKey: string | null; serverKey?: string }> {
  if (!(await recordsEncrypted(session))) return { recordsKey: null };
  const held = heldRecordsKey(session);
  if (held !== undefined) return { recordsKey: held };
  try {
    const { recordsKey, serverKey } = await recordsKeyFromServer(session, tokens);
    // For this tab's life, as if the password had been typed: the next opening (another person's
    // sign-out and back) needs no round trip.
    holdRecordsKey(session, recordsKey);
    return { recordsKey, serverKey };
  } catch (err) {
    if (err instanceof RecordsKeyRefused)
      throw new RecordsKeyNeeded(err.noSession ? 'no-session' : 'refused');
    // Unreachable, or a session that could not even be renewed: the password, checked here.
    console.warn('The key to the records could not be had from the server:', err);
    throw new RecordsKeyNeeded('unreachable');
  }
}

/**
 * The signed-in user's sync client over IndexedDB: one database per clinic and user, so two
 * people sharing a tablet never read each other's unsynced work. `tokens` (the person's token
 * session) is asked before each request, so a refresh, or signing in again, gives the open client
 * the new token. It syncs by itself unless the person turned "Sync automatically" off on this
 * device. While another holder has the database open, `onWaitForOtherTab` is told who, and again
 * whenever that changes; the client opens as soon as the holder lets it go. Encrypted records need
 * their key first (recordsKeyToOpen): without it, this rejects with RecordsKeyNeeded.
 */
export async function openClient(
  session: Session,
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>,
  onWaitForOtherTab: (holder: RecordsHolder) => void,
): Promise<SyncClient> {
  const { recordsKey, serverKey } = await recordsKeyToOpen(session, tokens);
  const name = deviceDatabaseName(session);
  let opened = false;
  let told: RecordsHolder | null = null;
  let lookingAgain: ReturnType<typeof setInterval> | undefined;
  const look = async () => {
    const holder = await holderOf(name);
    if (opened || holder === told) return;
    told = holder;
    onWaitForOtherTab(holder);
  };
  // The person's choice on this device, kept where the service worker reads it too (decision 0034).
  const automatic = await readAutoSyncChoice(session).catch((err: unknown) => {
    console.error('"Sync automatically" could not be read; it stays on:', err);
    return true;
  });
  const opening = createSyncClient({
    // One tab at a time: a second tab waits until the first is closed (see indexedDbStore).
    ...deviceClientOptions(
      session,
      deviceId(),
      tokens,
      {
        onWaitForOtherTab: () => {
          void look();
          lookingAgain = setInterval(() => void look(), lookAgainMs);
        },
      },
      recordsKey,
    ),
    // The schema's permissions are applied on the tablet too: what the role may not do is refused
    // at once, not days later at a sync, and the conflict list offers only what the role settles.
    roles: session.roles,
    autoSync: automatic ? automaticSync : false,
    // The browser's online event misses a link that comes back without an interface change (a
    // clinic router regaining its uplink): ask the server every 10 s, and sync as soon as it answers.
    probeIntervalMs: 10_000,
  });
  return opening
    .then(
      async (client) => {
        // Opened with the key the password gave, after the server's did not: kept under that one.
        if (serverKey === undefined && recordsKey !== null)
          await keepUnderRefusedServerKey(session, recordsKey);
        return client;
      },
      (err: unknown) => {
        // The server's key is not the one these records were encrypted with here (a server
        // restored from a backup older than the key, a hub, decision 0054): the one sealed under
        // the password is.
        if (serverKey !== undefined && err instanceof WrongPassphraseError) {
          forgetHeldRecordsKey(session);
          noteRefusedServerKey(session, serverKey);
          throw new RecordsKeyNeeded('other-key');
        }
        throw err;
      },
    )
    .finally(() => {
      opened = true;
      clearInterval(lookingAgain);
    });
}

/**
 * The service worker marks its sync with a lock of its own, taken just after the database's and let
 * go with it (worker/background-sync.ts). In the moment between the two a tab reads 'tab', and
 * reads again half a second later.
 */
async function holderOf(name: string): Promise<RecordsHolder> {
  const { held = [] } = await navigator.locks.query().catch(() => ({ held: [] }));
  return held.some((lock) => lock.name === backgroundSyncLock(name)) ? 'background-sync' : 'tab';
}
