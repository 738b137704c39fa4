import { createTokenSession } from '@outpost/client';
import type { StoredSession, TokenSession } from '@outpost/client';
import type { DevicePerson } from './device-client';

/**
 * The sign-in of whoever is signed in on this browser, as the tabs and the service worker share
 * it: the access token, the refresh token that renews it with nobody present (decision 0032), and
 * whose records they open. The one place the tokens are kept. The worker cannot read
 * localStorage, and it syncs with no tab open (decision 0026), so it lives in IndexedDB; a tab keeps
 * only who is signed in in localStorage (session.ts), to open signed in at once.
 *
 * The previous version kept `{ token, expiresAt, tenant, userId, deviceId }` here for the worker
 * alone: that is a session of this shape without a refresh token, used until the server refuses
 * it. Both sides import this module: only IndexedDB, nothing of the page's.
 */
export interface ClinicStoredSession extends StoredSession {
  /** Whose records (also in `user` once the server answered; the previous version's copy has only these). */
  tenant: string;
  userId: string;
  /** The browser's device id (the page's `outpost.deviceId`): the worker's client must be the same device. */
  deviceId: string;
  /** Who signed in, as typed: the password asked again is this person's. Absent in the previous version's copy. */
  email?: string;
}

/**
 * The database of the previous version's copy for the worker, kept by name and version so that a
 * tablet updated with a copy in it stays signed in: a database of its own, as the records' databases
 * are named per person and opened by the client alone.
 */
const databaseName = 'outpost-clinic-worker-session';
const databaseVersion = 1;
const tableName = 'session';
const key = 'current';
/**
 * Where the version before decision 0033 kept the time of its worker's last good sync of each
 * person's records (`synced:<tenant>/<user id>`): removed at the next sign-in.
 */
const previousSyncTimes = () => IDBKeyRange.bound('synced:', 'synced:\uffff');
/** Whether `person` lets the device sync by itself ("Sync automatically"), beside the session. */
const autoSyncKey = (person: DevicePerson) => `autoSync:${person.tenant}/${person.userId}`;

/** The lock every context takes around a refresh, sign-in or sign-out: the token session's default. */
export const sessionLockName = 'outpost-token-session';

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(databaseName, databaseVersion);
    request.onupgradeneeded = () => request.result.createObjectStore(tableName);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error(`${databaseName} could not be opened`));
    request.onblocked = () => reject(new Error(`${databaseName} is blocked by an older version`));
  });
}

/** Runs `work` in one transaction of the session database and resolves once it has committed, with what its request read. */
export async function inTransaction<T>(
  mode: IDBTransactionMode,
  work: (table: IDBObjectStore) => IDBRequest<T> | void,
): Promise<T | undefined> {
  const db = await openDatabase();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      // Strict: a refreshed pair is on disk before its token is used (the server has used the old
      // refresh token up), and a sign-out resolves only once the tokens are gone from the disk.
      const transaction = db.transaction(tableName, mode, { durability: 'strict' });
      const request = work(transaction.objectStore(tableName));
      transaction.oncomplete = () => resolve(request?.result);
      transaction.onerror = () => reject(transaction.error ?? new Error('the sign-in could not be stored'));
      transaction.onabort = () => reject(transaction.error ?? new Error('the sign-in could not be stored'));
    });
  } finally {
    db.close();
  }
}

/** Whose records a stored session opens: the server's answer, or the previous version's fields. */
export function personOf(session: StoredSession & Partial<DevicePerson>): DevicePerson | null {
  if (session.user) return { tenant: session.user.tenant, userId: session.user.id };
  if (typeof session.tenant === 'string' && typeof session.userId === 'string')
    return { tenant: session.tenant, userId: session.userId };
  return null;
}

export function samePerson(a: DevicePerson | null, b: DevicePerson | null): boolean {
  return a !== null && b !== null && a.tenant === b.tenant && a.userId === b.userId;
}

/** The stored session, or null: nobody signed in (or something unreadable, taken as nobody). */
export async function readStoredSession(): Promise<ClinicStoredSession | null> {
  const stored = await inTransaction<unknown>('readonly', (table) => table.get(key));
  if (typeof stored !== 'object' || stored === null) return null;
  const session = stored as ClinicStoredSession;
  if (typeof session.token !== 'string' || typeof session.expiresAt !== 'string') return null;
  return personOf(session) === null ? null : session;
}

/** A session saved for a person who is no longer the one stored: signed out (or another signed in) meanwhile. */
export class SignedOutMeanwhile extends Error {
  override readonly name = 'SignedOutMeanwhile';
}

/**
 * Stores `session` (null: signed out), replacing whoever was signed in on this browser. With
 * `onlyIf`, only while the session stored is still that person's, checked in the same transaction:
 * a refresh that ends after a sign-out (in this tab or another) must not put the tokens back on the
 * tablet. `orNobody`: also while no session is stored at all. Refused, it throws
 * `SignedOutMeanwhile` and stores nothing.
 */
export async function writeStoredSession(
  session: ClinicStoredSession | null,
  { onlyIf, orNobody = false }: { onlyIf?: DevicePerson; orNobody?: boolean } = {},
): Promise<void> {
  let refused = false;
  await inTransaction('readwrite', (table) => {
    if (session === null) return void table.delete(key);
    if (onlyIf === undefined) {
      table.delete(previousSyncTimes());
      return void table.put(session, key);
    }
    const read = table.get(key);
    read.onsuccess = () => {
      const stored = read.result as (StoredSession & Partial<DevicePerson>) | undefined;
      if (stored === undefined ? !orNobody : !samePerson(personOf(stored), onlyIf)) {
        refused = true;
        read.transaction?.abort();
        return;
      }
      table.put(session, key);
    };
  }).catch((err: unknown) => {
    // Aborted on purpose: the person is no longer the one signed in.
    throw refused ? new SignedOutMeanwhile('signed out meanwhile: nothing stored') : err;
  });
}

/**
 * Takes the session off the device in one transaction, and answers what was stored, so that the
 * server can be told to end it after (session.ts). No lock: a refresh under way elsewhere either
 * stored its new pair before (taken here) or finds nothing to store its pair over, and stores
 * nothing (`onlyIf`); the family the server ends is the same either way.
 */
export async function takeStoredSession(): Promise<ClinicStoredSession | null> {
  const held = await inTransaction<unknown>('readwrite', (table) => {
    const read = table.get(key);
    read.onsuccess = () => table.delete(key);
    return read;
  });
  if (typeof held !== 'object' || held === null) return null;
  const session = held as ClinicStoredSession;
  return typeof session.token === 'string' ? session : null;
}

/** Runs `fn` holding the lock the token sessions of every tab and the worker take. */
export function withSessionLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  // No Web Locks (an insecure origin): no other context can hold it either, as there is no worker.
  if (!locks) return fn();
  return locks.request(sessionLockName, () => fn()) as Promise<T>;
}

export interface ClinicTokenSessionOptions {
  /**
   * Whose session this is: it sees and sends only that person's tokens, and refuses to store
   * another's (a password typed in "Sign in again" that signs in someone else). Null: whoever signs
   * in (the sign-in page).
   */
  owner: DevicePerson | null;
  /** The device id stored with the session (the worker syncs as the same device). */
  deviceId: string;
  /** Who signs in, as typed, kept with the session. */
  email?: string;
  /** Waited for before each read: the page's move of the previous version's session (session.ts). */
  before?: () => Promise<void>;
  /**
   * The owner's tokens may also be stored while no session is: the owner signed in with no network
   * and the tab reloaded before the server confirmed it (session.ts, `signInAgain`).
   */
  orNobody?: boolean;
}

/**
 * `createTokenSession` over the stored session, for a tab or the service worker alike: each makes
 * its own on the same storage, and they refresh one at a time under one Web Lock, each using what
 * another saved meanwhile. Its `getToken` and `refreshNow` go to the sync client.
 */
export function clinicTokenSession(options: ClinicTokenSessionOptions): TokenSession {
  const { owner, deviceId, email, before, orNobody = false } = options;
  return createTokenSession({
    // The page and its worker come from the server they sync with.
    url: location.origin,
    deviceId,
    lockName: sessionLockName,
    load: async () => {
      await before?.();
      const stored = await readStoredSession();
      // Another person's session (signed in meanwhile on a shared tablet): not this client's to send.
      if (stored === null || (owner !== null && !samePerson(personOf(stored), owner))) return null;
      return stored;
    },
    save: async (session) => {
      if (session === null) return writeStoredSession(null);
      const person = personOf(session as StoredSession & Partial<DevicePerson>);
      if (person === null) throw new Error('the server did not say who signed in');
      if (owner !== null && !samePerson(person, owner))
        throw new Error('That sign-in is for another account.');
      // A refresh answers the server's fields only: what the app keeps beside them goes with each save.
      const kept = email ?? (session as Partial<ClinicStoredSession>).email;
      await writeStoredSession(
        {
          ...session,
          tenant: person.tenant,
          userId: person.userId,
          deviceId,
          ...(kept !== undefined ? { email: kept } : {}),
        },
        // A person's session stores their tokens only while they are signed in: a refresh ending
        // after their sign-out puts nothing back.
        owner !== null ? { onlyIf: owner, orNobody } : {},
      );
    },
  });
}

/** Whether `person` chose "Sync automatically" on this device: on unless they turned it off. */
export async function readAutoSyncChoice(person: DevicePerson): Promise<boolean> {
  const stored = await inTransaction<unknown>('readonly', (table) => table.get(autoSyncKey(person)));
  return stored !== false;
}

/** Keeps `person`'s "Sync automatically" choice on this device, for the page and the worker. */
export async function writeAutoSyncChoice(person: DevicePerson, on: boolean): Promise<void> {
  await inTransaction('readwrite', (table) => {
    if (on) return void table.delete(autoSyncKey(person));
    return table.put(false, autoSyncKey(person));
  });
}
