import {
  encryptedFileStore,
  encryptedStore,
  encryptionHeaderKey,
  indexedDbFileStore,
  indexedDbStore,
} from '@outpost/client';
import type { IndexedDbStoreOptions, LocalStore, SyncClientOptions, TokenSession } from '@outpost/client';
import { fieldClinic } from '@outpost/examples';

/**
 * What the page and the service worker both need to open a person's sync client. Nothing here may
 * touch the page alone (window, localStorage): the worker imports it too.
 */
export interface DevicePerson {
  tenant: string;
  userId: string;
}

/** One database per clinic and user, so two people sharing a tablet never read each other's unsynced work. */
export function deviceDatabaseName(person: DevicePerson): string {
  return `outpost-${person.tenant}-${person.userId}`;
}

/** How the header names a person in what it keeps on the browser (the previous version's last sync time). */
export function personKey(person: DevicePerson): string {
  return `${person.tenant}/${person.userId}`;
}

/**
 * The options the page's client and the worker's have in common: the same records database,
 * files, device, schema and server. Two clients on one outbox that differed in any of these would
 * not be the same device. `tokens` is the person's token session (stored-session.ts): asked before
 * each request, refreshed when due, and renewed once when the server refuses a token the device
 * took for valid (its clock is wrong). `recordsKey`: the person's records key (records-key.ts),
 * which encrypts the records and files at rest; null for a person whose records on this device were
 * never encrypted and whose key this device does not keep sealed yet (decision 0054).
 */
export function deviceClientOptions(
  person: DevicePerson,
  deviceId: string,
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>,
  store: Omit<IndexedDbStoreOptions, 'name'>,
  recordsKey: string | null,
): SyncClientOptions {
  const name = deviceDatabaseName(person);
  const records = indexedDbStore({ name, ...store });
  // Photos and documents attached to records, in a database of their own beside it (`<name>-files`).
  const files = indexedDbFileStore({ name });
  // One PBKDF2 round: the key is 32 random bytes, not a password, so stretching it adds nothing.
  const encryption = recordsKey === null ? null : { passphrase: recordsKey, iterations: 1 };
  return {
    schema: fieldClinic,
    // The page and its worker come from the server they sync with.
    url: location.origin,
    getToken: tokens.getToken,
    renewToken: tokens.refreshNow,
    store: encryption === null ? refusingEncrypted(records) : encryptedStore(records, encryption),
    files: encryption === null ? files : encryptedFileStore(files, encryption),
    deviceId,
    // A first sync of a whole clinic in few round trips: the server's largest pull page.
    pullLimit: 5000,
  };
}

/**
 * A store opened without a key that turns out encrypted: refused in words, rather than its sealed
 * values read as records. Only a device that lost the sealed key beside them gets here.
 */
function refusingEncrypted(inner: LocalStore): LocalStore {
  return {
    ...inner,
    load: async () => {
      const snapshot = await inner.load();
      if (encryptionHeaderKey in snapshot.meta)
        throw new Error(
          'these records are encrypted, and this device no longer keeps their key: sign in again',
        );
      return snapshot;
    },
  };
}

/**
 * What the device syncs by itself while "Sync automatically" is on: when the server answers again,
 * after each change, every minute, and the live stream (a colleague's change shows on an open
 * screen within moments). Off, `false`: only "Sync now" (decision 0034).
 */
export const automaticSync = { onReconnect: true, afterWrite: true, intervalMs: 60_000, live: true } as const;

/**
 * The Background Sync registration the page asks for while changes wait that its own syncs could
 * not send (offline, or the server failing), and the worker answers.
 */
export const backgroundSyncTag = 'outpost-sync';

/**
 * What the worker posts to the open pages of the app: sync now (the page holds the database). It
 * transfers a port with it, on which the page holding the records answers with a `SyncAnswer`.
 */
export interface SyncRequestMessage {
  type: typeof backgroundSyncTag;
}

/**
 * Whether a sync that ended with this error code may finish at another try: no network, the server
 * down or busy, the circuit breaker resting. Anything else (a refusal) would get the same answer.
 */
export function mayPass(code: string | undefined): boolean {
  return code !== undefined && ['NETWORK', 'CIRCUIT_OPEN', 'INTERNAL', 'RATE_LIMITED'].includes(code);
}

/**
 * What the page answers the worker, rather than sync, while the person has "Sync automatically"
 * off: they sync with "Sync now" alone (decision 0034). The event ends; the browser does not try again.
 */
export const autoSyncOff = 'AUTO_SYNC_OFF';

/**
 * How the page's sync asked for by the worker ended: `code`, the error's, when it did not finish.
 * A message of its own, not the `SyncResult`: `ok` is the result's `success` (decision 0046).
 */
export interface SyncAnswer {
  ok: boolean;
  code?: string;
}

/**
 * The Web Lock the worker holds while it syncs a person's database with no tab open, beside the
 * database's own: a tab that finds the database taken asks whether it is this one, and says that a
 * sync started in the background is finishing rather than that the app is open elsewhere.
 */
export function backgroundSyncLock(databaseName: string): string {
  return `outpost-background-sync:${databaseName}`;
}
