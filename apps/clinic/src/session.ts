import { createHttpTransport } from '@outpost/client';
import { uuidv7 } from '@outpost/core';
import { forgetSessionForWorker, keepSessionForWorker } from './worker-session';

/** Who is signed in on this browser. Kept in localStorage so the app opens offline, signed in. */
export interface Session {
  token: string;
  expiresAt: string;
  email: string;
  userId: string;
  tenant: string;
  roles: readonly string[];
}

const sessionKey = 'outpost.session';
const deviceKey = 'outpost.deviceId';

export function loadSession(): Session | null {
  const text = localStorage.getItem(sessionKey);
  if (text === null) return null;
  try {
    return JSON.parse(text) as Session;
  } catch {
    localStorage.removeItem(sessionKey);
    return null;
  }
}

/** Signs in against the server this page came from. Throws the server's error (e.g. wrong password). */
export async function signIn(email: string, password: string): Promise<Session> {
  const transport = createHttpTransport({ url: location.origin });
  const answer = await transport.login(email, password);
  const session: Session = {
    token: answer.token,
    expiresAt: answer.expiresAt,
    email,
    userId: answer.user.id,
    tenant: answer.user.tenant,
    roles: answer.user.roles,
  };
  localStorage.setItem(sessionKey, JSON.stringify(session));
  // The service worker syncs with no tab open (decision 0026). Without the copy it only asks open
  // tabs, as before, so a browser refusing it (no IndexedDB) does not stop the sign-in.
  await keepSessionForWorker({ ...session, deviceId: deviceId() }).catch((err: unknown) =>
    console.error('The app cannot sync with no tab open:', err),
  );
  return session;
}

/**
 * The token sent by a sync client opened for `owner`: that same person's newest sign-in (signing
 * in again after the token expired renews it without reopening their records), never another
 * person's. A client still finishing while one person signs out and another signs in must not
 * carry the first one's outbox into the second one's clinic; the client's close() stops it too.
 */
export function tokenFor(owner: Session, current: Session | null): string {
  const samePerson = current !== null && current.tenant === owner.tenant && current.userId === owner.userId;
  return samePerson ? current.token : owner.token;
}

/**
 * Calls `changed` with the session whenever another tab of this browser signs in or out. A tab
 * left open (or waiting for the first to close) must not stay signed in as, or open the records
 * of, a person who signed out elsewhere on a shared tablet.
 */
export function onSessionChangedElsewhere(changed: (session: Session | null) => void): () => void {
  const onStorage = (event: StorageEvent) => {
    // key null: the whole storage was cleared.
    if (event.storageArea === localStorage && (event.key === sessionKey || event.key === null))
      changed(loadSession());
  };
  window.addEventListener('storage', onStorage);
  return () => window.removeEventListener('storage', onStorage);
}

/**
 * Forgets the sign-in, the service worker's copy too: with no tab open the worker sends nothing
 * more as this person. The device's records and unsynced changes stay for the next sign-in.
 * Resolves once the copy is gone.
 */
export async function signOut(): Promise<void> {
  localStorage.removeItem(sessionKey);
  await forgetSessionForWorker().catch((err: unknown) =>
    console.error("The service worker's copy of the sign-in could not be removed:", err),
  );
}

/** One id per browser profile, made on first use: the server's statistics name devices by it. */
export function deviceId(): string {
  let id = localStorage.getItem(deviceKey);
  if (id === null) {
    id = `browser-${uuidv7()}`;
    localStorage.setItem(deviceKey, id);
  }
  return id;
}

export function isAdmin(session: Session): boolean {
  return session.roles.includes('admin');
}
