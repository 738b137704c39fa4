import { createTokenSession } from '@outpost/client';
import type { TokenSession } from '@outpost/client';
import type { LoginResponse } from '@outpost/core';
import { sameRoles, schemaInfoResponseSchema, uuidv7 } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { personKey } from './device-client';
import { checkOffline, forgetForOffline, rememberForOffline } from './offline-sign-in';
import { forgetHeldRecordsKeys, holdRecordsKey, keepRecordsKey, openSealedRecordsKey } from './records-key';
import { stretchPassword } from './stretched-password';
import {
  clinicTokenSession,
  personOf,
  readStoredSession,
  samePerson,
  takeStoredSession,
  withSessionLock,
  writeStoredSession,
} from './stored-session';

/**
 * Who is signed in on this browser. Kept in localStorage, read synchronously as the app starts, so
 * that it opens offline, signed in, on that person's records at once; written at sign-in and
 * sign-out, and when a refresh brought the same person other roles (rolesReadAgain), so another
 * tab's `storage` event means one of those, told apart by who is named. Nothing secret: the header
 * shows it. The tokens are in IndexedDB (stored-session.ts), where the service worker reads them too.
 */
export interface Session {
  email: string;
  userId: string;
  tenant: string;
  roles: readonly string[];
  /**
   * True while the person signed in with a password an administrator set (decision 0047): the app
   * asks them to choose their own before it opens any record, as the server refuses all else.
   */
  passwordChangeDue?: true;
}

const sessionKey = 'outpost.session';
const deviceKey = 'outpost.deviceId';

function identityOf(value: unknown): Session | null {
  if (typeof value !== 'object' || value === null) return null;
  const { email, userId, tenant, roles, passwordChangeDue } = value as Partial<
    Record<keyof Session, unknown>
  >;
  if (typeof email !== 'string' || typeof userId !== 'string' || typeof tenant !== 'string') return null;
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) return null;
  return { email, userId, tenant, roles: roles as string[], ...due(passwordChangeDue === true) };
}

/** The `passwordChangeDue` of a Session: present only when true. */
function due(passwordChangeDue: boolean | undefined): { passwordChangeDue?: true } {
  return passwordChangeDue === true ? { passwordChangeDue: true } : {};
}

function readKey(): unknown {
  const text = localStorage.getItem(sessionKey);
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function loadSession(): Session | null {
  const identity = identityOf(readKey());
  if (identity === null) localStorage.removeItem(sessionKey);
  return identity;
}

/** Writes who signed in (never a token). Unchanged, it fires no `storage` event in the other tabs. */
function keepIdentity(identity: Session): Session {
  const { email, userId, tenant, roles, passwordChangeDue } = identity;
  localStorage.setItem(
    sessionKey,
    JSON.stringify({ email, userId, tenant, roles, ...due(passwordChangeDue) }),
  );
  return identity;
}

/**
 * The previous version kept the whole session, its token included, in `outpost.session` (and a
 * copy for the worker in IndexedDB, or none on a tablet signed in before decision 0026). Once per
 * page, before any token is read: the token goes into the stored session, and out of
 * localStorage, so the person stays signed in, with the token in one place. That session has no
 * refresh token: it serves until the server refuses it, then the password is asked once, and the
 * sign-in after it renews itself.
 */
let previousVersion: Promise<void> | null = null;

export function previousVersionMoved(): Promise<void> {
  previousVersion ??= movePreviousVersion().catch((err: unknown) =>
    console.error("The previous version's sign-in could not be moved:", err),
  );
  return previousVersion;
}

interface PreviousVersionSession extends Session {
  token: string;
  expiresAt: string;
}

function previousVersionSession(): PreviousVersionSession | null {
  const value = readKey();
  const identity = identityOf(value);
  const { token, expiresAt } = (value ?? {}) as { token?: unknown; expiresAt?: unknown };
  if (identity === null || typeof token !== 'string' || typeof expiresAt !== 'string') return null;
  return { ...identity, token, expiresAt };
}

async function movePreviousVersion(): Promise<void> {
  if (previousVersionSession() === null) return;
  await withSessionLock(async () => {
    // Read again under the lock: another tab of this version may have moved it meanwhile.
    const previous = previousVersionSession();
    if (previous === null) return;
    const { token, expiresAt, ...identity } = previous;
    const person = { tenant: identity.tenant, userId: identity.userId };
    const stored = await readStoredSession();
    // A renewable session of the same person is newer than the previous version's token: kept.
    if (!(stored !== null && samePerson(personOf(stored), person) && stored.refreshToken !== undefined))
      await writeStoredSession({
        token,
        expiresAt,
        user: { id: identity.userId, tenant: identity.tenant, roles: [...identity.roles] },
        ...person,
        deviceId: deviceId(),
        email: identity.email,
      });
    keepIdentity(identity);
  });
}

/**
 * The token session of `owner`, for their sync client and the server calls of their pages: it
 * reads and sends only their tokens, refreshes them (one context at a time, tabs and the service
 * worker alike), and refuses to store another person's sign-in.
 */
export function tokenSessionFor(owner: Session, { orNobody = false } = {}): TokenSession {
  return clinicTokenSession({
    owner: { tenant: owner.tenant, userId: owner.userId },
    deviceId: deviceId(),
    email: owner.email,
    before: previousVersionMoved,
    orNobody,
  });
}

function identityFrom(email: string, user: LoginResponse['user']): Session {
  return { email, userId: user.id, tenant: user.tenant, roles: user.roles, ...due(user.passwordChangeDue) };
}

/**
 * After a sign-in the server accepted, what the device keeps under the person's password, from one
 * stretching of it (decision 0055):
 *
 * - the key to their records (decision 0054), held, and sealed under the password. Awaited before
 *   the records open, which are encrypted only once it is sealed; failing to seal it leaves records
 *   never encrypted as they are, so it is logged, not thrown;
 * - what lets them sign in here with no network later (offline-sign-in.ts): a verifier of the
 *   password. Not waited for: signing in need not wait on it, and failing costs only that.
 *
 * Of a password an administrator set (decision 0047), which the administrator knows, nothing: the
 * verifier of the person's earlier password goes, until they choose their own. The server sends no
 * key with such a sign-in; one that does (before this rule) has it held only, never sealed.
 */
async function keepUnderPassword(identity: Session, password: string, recordsKey: string | undefined) {
  if (identity.passwordChangeDue) {
    void forgetForOffline(identity.email);
    if (recordsKey !== undefined) holdRecordsKey(identity, recordsKey);
    return;
  }
  // A server before decision 0054 hands no key: the verifier alone, stretched in the background.
  if (recordsKey === undefined) return void rememberForOffline(identity, stretchPassword(password));
  const sealedUnder = await keepRecordsKey(identity, password, recordsKey).catch((err: unknown) => {
    console.error('The key to the records could not be kept on this device:', err);
    return stretchPassword(password);
  });
  void rememberForOffline(identity, sealedUnder);
}

/**
 * Signs in against the server this page came from, and keeps what lets the same person sign in on
 * this device with no network later (offline-sign-in.ts). Throws the server's error (e.g. wrong
 * password); unreachable, a TypeError, as fetch does.
 */
export async function signIn(email: string, password: string): Promise<Session> {
  await previousVersionMoved();
  const session = clinicTokenSession({ owner: null, deviceId: deviceId(), email });
  const answer = await session.signIn(email, password);
  const followed = await schemaFollowed(answer.token);
  if (followed !== null && followed !== fieldClinic.name) {
    // Another kind of workplace on the same server (the demo's veterinary practice): its records
    // are not the app's, so nothing is opened, and the session just made is ended at once.
    await signOut();
    throw new Error(
      `${email} belongs to ${answer.user.tenant}, whose records follow the ${followed} schema: Outpost Clinic shows field-clinic records only.`,
    );
  }
  const identity = identityFrom(email, answer.user);
  await keepUnderPassword(identity, password, answer.recordsKey);
  return keepIdentity(identity);
}

/**
 * The schema the signed-in person's tenant follows (`GET /v1/schema`), or null when the server
 * does not say (unreachable just after signing in, or a server without that route): the sign-in
 * then goes on, as before the route existed.
 */
async function schemaFollowed(token: string): Promise<string | null> {
  try {
    const res = await fetch('/v1/schema', { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) return null;
    const parsed = schemaInfoResponseSchema.safeParse(await res.json());
    return parsed.success ? parsed.data.name : null;
  } catch {
    return null;
  }
}

/**
 * A sign-in made with no network waits for the server to confirm it: its password, in this tab's
 * memory only (never stored), until the first sign-in the server accepts (confirmOfflineSignIn),
 * a sign-out, or the tab closing. A reload forgets it, and the password is then asked once online.
 */
let awaitingServer: { person: string; password: string } | null = null;

/**
 * Signs in with no network, against what an earlier sign-in on this device left (for 30 days, and
 * five wrong passwords at most). Opens the person's records; their changes wait until the server
 * confirms the sign-in. Throws a message for the sign-in page when it cannot.
 */
export async function signInOffline(email: string, password: string): Promise<Session> {
  const checked = await checkOffline(email, password);
  if (!checked.ok) {
    if (checked.reason === 'wrong-password')
      throw new Error(
        `Wrong password. The server cannot be reached, so it was checked on this device: ${checked.triesLeft} ${checked.triesLeft === 1 ? 'try' : 'tries'} left before signing in needs the network.`,
      );
    throw new Error(
      'The server cannot be reached, and this account has not signed in on this device with the network in the last 30 days: signing in needs the network this time.',
    );
  }
  const { email: kept, userId, tenant, roles } = checked.identity;
  // The records open with the key sealed under this password, if it still is (else the server's,
  // or the password again, once the app opens them: decision 0054).
  await openSealedRecordsKey(checked.identity, password, checked.stretched);
  awaitingServer = { person: personKey(checked.identity), password };
  return keepIdentity({ email: kept, userId, tenant, roles: [...roles] });
}

/** Whether `session` was signed in with no network in this tab, and the server has not confirmed it yet. */
export function awaitingConfirmation(session: Session): boolean {
  return awaitingServer?.person === personKey(session);
}

/**
 * Confirms a sign-in made offline, now that the server refused the device's calls for want of a
 * token: signs in with the password kept in memory. Answers the identity, or null when there is
 * nothing to confirm. Unreachable still, it throws a TypeError and keeps the password; refused (a
 * password changed on the server meanwhile), it forgets it and throws the server's error, and the
 * password is asked for.
 */
export function confirmOfflineSignIn(session: Session): Promise<Session | null> {
  const pending = awaitingServer;
  if (pending === null || pending.person !== personKey(session)) return Promise.resolve(null);
  // Several calls refused at once (a push, the live stream): one sign-in.
  // Not signInAgain: that stores a person's tokens only over their own, and the device holds none
  // (signed out before). The same email signs in the same person, unless the account was made anew.
  confirming ??= signIn(session.email, pending.password)
    .then(
      (confirmed) => {
        if (awaitingServer === pending) awaitingServer = null;
        return confirmed;
      },
      (err: unknown) => {
        if (!(err instanceof TypeError) && awaitingServer === pending) awaitingServer = null;
        throw err;
      },
    )
    .finally(() => (confirming = null));
  return confirming;
}
let confirming: Promise<Session | null> | null = null;

/**
 * The same person signs in again once the server refused to renew their session (their refresh
 * token revoked, or 90 days passed): the records and the client stay open. Refused, and nothing
 * stored, when the password signs in anyone else.
 *
 * Also the first sign-in the server hears of, for a person who signed in with no network and whose
 * tab reloaded before it confirmed that (which forgot the password kept for it): the device then
 * holds no session at all, and this tab still has them signed in (a sign-out in any tab would have
 * ended that), so the session is stored where none is.
 */
export async function signInAgain(owner: Session, password: string): Promise<Session> {
  await previousVersionMoved();
  const orNobody = samePerson(loadSession(), owner);
  const answer = await tokenSessionFor(owner, { orNobody }).signIn(owner.email, password);
  const identity = identityFrom(owner.email, answer.user);
  await keepUnderPassword(identity, password, answer.recordsKey);
  return keepIdentity(identity);
}

/**
 * The person's own new password (decision 0047), proving the current one; needs the network.
 * Their sessions on other devices end; this device keeps the new one, and the same person, so the
 * records and the client stay open (or open now, when the change was due). Throws the server's
 * refusal in its words (a wrong current password, a new one too short); unreachable, a TypeError.
 */
export async function changeOwnPassword(
  owner: Session,
  currentPassword: string,
  newPassword: string,
): Promise<Session> {
  await previousVersionMoved();
  const answer = await tokenSessionFor(owner).changePassword(currentPassword, newPassword);
  const identity = identityFrom(owner.email, answer.user);
  await keepUnderPassword(identity, newPassword, answer.recordsKey);
  return keepIdentity(identity);
}

/**
 * The person's roles as the server last gave them: every refresh of the tokens reads them again
 * (decision 0032), so a role an admin gave or took away reaches the header within a token's life,
 * with no new sign-in. Kept when they changed, which the other tabs hear of as the same person
 * (no new sign-in there either); answers the identity then, else null. The server checks every
 * call against the token's roles whatever the header shows: this is what the person sees.
 */
export async function rolesReadAgain(owner: Session): Promise<Session | null> {
  const stored = await readStoredSession();
  if (stored === null || !samePerson(personOf(stored), owner)) return null;
  // The previous version's moved session has no `user` until its first refresh.
  const roles = stored.user?.roles;
  // Who is signed in now: signed out meanwhile, here or in another tab, there is nothing to keep.
  const current = loadSession();
  if (roles === undefined || current === null || !samePerson(current, owner)) return null;
  if (sameRoles(roles, current.roles)) return null;
  return keepIdentity({ ...current, roles: [...roles] });
}

/** The same person, as shown: a sign-in again or a refresh that changed nothing of it is no change. */
export function sameIdentity(a: Session, b: Session): boolean {
  return (
    a.tenant === b.tenant &&
    a.userId === b.userId &&
    a.email === b.email &&
    sameRoles(a.roles, b.roles) &&
    a.passwordChangeDue === b.passwordChangeDue
  );
}

/**
 * Calls `changed` with the session whenever another tab of this browser signs in or out. A tab
 * left open (or waiting for the first to close) must not stay signed in as, or open the records
 * of, a person who signed out elsewhere on a shared tablet. A refresh of the tokens, in IndexedDB,
 * fires nothing here: it is not a sign-in.
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
 * Signs out. The tokens leave the device first, durably, in one transaction: from then on neither
 * a tab nor the service worker can send anything as this person, even if the tab is closed
 * straight after, and a refresh ending meanwhile elsewhere stores nothing. Then who is signed in
 * goes, which tells the other tabs, and `forgotten` is called (this tab's screen and client
 * follow), in that order as before: a tab waiting for the records hears of the sign-out before
 * this one lets them go. Then the server ends the session (the library's `signOut`, over the
 * tokens just taken off the device), as far as the network lets it. Offline, the server is not
 * told, and nothing is kept to tell it later: the refresh token is gone from the tablet, and would
 * be a live credential on it until then. The device's records and unsynced changes stay for the
 * next sign-in.
 */
export async function signOut(forgotten: () => void = () => {}): Promise<{ revoked: boolean }> {
  awaitingServer = null;
  // What is sealed on the device stays: it opens with the person's password alone.
  forgetHeldRecordsKeys();
  const held = await takeStoredSession().catch((err: unknown) => {
    console.error('The sign-in could not be removed from this device:', err);
    return null;
  });
  localStorage.removeItem(sessionKey);
  forgotten();
  if (held?.refreshToken === undefined) return { revoked: false };
  const ending = createTokenSession({
    url: location.origin,
    deviceId: held.deviceId,
    load: () => Promise.resolve(held),
    // Already off the device.
    save: () => Promise.resolve(),
    // Nothing else can reach these tokens any more.
    lock: (_name, fn) => fn(),
  });
  return ending.signOut();
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
