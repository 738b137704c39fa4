import { isOutpostError, outpostError } from '@outpost/core';
import type { LoginResponse, RefreshResponse } from '@outpost/core';
import { createHttpTransport } from '../http-transport';
import type { HttpTransport } from '../http-transport';

/**
 * A signed-in session as the app stores it: the access token sent with each request and, from a
 * server that makes them, the refresh token that gets the next one (decision 0032). `save` is
 * handed the whole object and `load` must give it back whole: the fields added later are kept too.
 */
export interface StoredSession {
  token: string;
  /** When the server stops taking `token` (ISO 8601, the server's clock). */
  expiresAt: string;
  /** Absent: no refresh is possible (a server without them, or the session ended): sign in again. */
  refreshToken?: string;
  /** When the server stops taking `refreshToken`: the password is asked after that. */
  refreshExpiresAt?: string;
  /** Who the server says signed in, with the roles read again at each refresh. */
  user?: LoginResponse['user'];
  /** When this device received `token`, by its own clock (ISO 8601). */
  receivedAt?: string;
}

/**
 * Runs `fn` holding the lock `name`, exclusively, and answers what it answers. The lock must be
 * held by one of the contexts that share the session at a time: tabs and a service worker share
 * `navigator.locks` (one origin, one lock manager).
 */
export type SessionLock = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

export interface TokenSessionOptions {
  /** The server's base URL; or `transport`. */
  url?: string;
  /**
   * The transport whose `login`, `refresh`, `logout` and `changePassword` are called; made from
   * `url` when absent.
   */
  transport?: Pick<HttpTransport, 'login' | 'refresh' | 'logout' | 'changePassword'>;
  /** With `url`: the fetch the transport uses. */
  fetch?: typeof fetch;
  /**
   * The stored session, or null when nobody is signed in. Read again before every decision, so
   * storage every context reads (IndexedDB, which a service worker reads too) shares the session.
   */
  load(): Promise<StoredSession | null>;
  /** Stores the session (null: signed out). A refreshed pair is saved before its token is used. */
  save(session: StoredSession | null): Promise<void>;
  /**
   * Serialises refreshes, sign-ins and sign-outs across the contexts sharing the session. Default:
   * `navigator.locks` where the platform has it (tabs and service workers of one origin), else a
   * lock of this JavaScript realm (`inProcessLock`'s, shared by every session of the same
   * `lockName`).
   */
  lock?: SessionLock;
  /** The lock's name. Default `outpost-token-session`. */
  lockName?: string;
  /** Names the device in the server's audit of refreshes and logouts. */
  deviceId?: string;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** A token is refreshed once it has less than this left (by the device's clock). Default 5 minutes. */
  refreshBeforeMs?: number;
  /** How long one refresh or logout request may take before it counts as lost. Default 30 s. */
  timeoutMs?: number;
}

export interface TokenSession {
  /**
   * The token to send now, for `getToken`: the stored one while it has more than `refreshBeforeMs`
   * left, else a refreshed one (saved before it is answered). Null when nobody is signed in. Never
   * throws for a network failure: offline, it answers the token it has, expired or not, and the
   * request fails as offline. It throws when the refresh failed otherwise (the server erring, a
   * rate limit) and the token has expired by the device's clock, so that the request fails as the
   * server's error rather than as a sign-in refused; or when `save` failed.
   */
  getToken(): Promise<string | null>;
  /**
   * Refreshes now, whatever the token's expiry says, for `renewToken` (a 401 to a token the device
   * took for valid: its clock is wrong). Given the token the server refused: when another context
   * has stored another one since, and it is not due, that one is answered and nothing is refreshed.
   * Null when the session cannot be renewed: nobody signed in, no refresh token, or the server
   * refused it (the session is over). Throws a network failure or a server error.
   */
  refreshNow(rejected?: string | null): Promise<string | null>;
  /** Signs in with a password and saves the session (under the lock). Throws the server's refusal. */
  signIn(email: string, password: string): Promise<LoginResponse>;
  /**
   * Ends the session on the server (its refresh tokens are refused from then on) as far as the
   * network lets it, and saves null whatever came of it. `revoked`: the server took the logout.
   */
  signOut(): Promise<{ revoked: boolean }>;
  /**
   * The signed-in person's own new password (decision 0047), proving the current one; needs the
   * network. Their other sessions end on the server; the one answered is saved (under the lock) in
   * place of this one, which ended too. Throws the server's refusal: FORBIDDEN for a wrong current
   * password, VALIDATION_FAILED in words for a new one it does not take, CONFLICT when the password
   * was changed meanwhile elsewhere; UNAUTHORIZED when nobody is signed in here or the session is over.
   */
  changePassword(currentPassword: string, newPassword: string): Promise<LoginResponse>;
}

const defaultLockName = 'outpost-token-session';

/** The tail of each lock name's queue in this realm. */
const realmLocks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier holder of the same name in `tails` has finished. */
function queued<T>(tails: Map<string, Promise<unknown>>, name: string, fn: () => Promise<T>): Promise<T> {
  const before = tails.get(name) ?? Promise.resolve();
  const run = before.then(fn, fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  tails.set(name, tail);
  void tail.then(() => {
    if (tails.get(name) === tail) tails.delete(name);
  });
  return run;
}

/**
 * A mutex of this JavaScript realm alone: what the default falls back to where there is no
 * `navigator.locks`. Without `shared`, a lock of its own (tests: contexts that share nothing).
 */
export function inProcessLock(shared = false): SessionLock {
  const tails = shared ? realmLocks : new Map<string, Promise<unknown>>();
  return (name, fn) => queued(tails, name, fn);
}

function defaultLock(): SessionLock {
  const locks = globalThis.navigator?.locks as LockManager | undefined;
  if (locks && typeof locks.request === 'function')
    return <T>(name: string, fn: () => Promise<T>) => locks.request(name, () => fn()) as Promise<T>;
  return inProcessLock(true);
}

function checkDuration(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a number of milliseconds from 0, got ${String(value)}`);
  return value;
}

/** The session a login or a refresh answers, received now. */
function sessionOf(answer: LoginResponse | RefreshResponse, receivedAt: number): StoredSession {
  return {
    token: answer.token,
    expiresAt: answer.expiresAt,
    ...(answer.refreshToken !== undefined ? { refreshToken: answer.refreshToken } : {}),
    ...(answer.refreshExpiresAt !== undefined ? { refreshExpiresAt: answer.refreshExpiresAt } : {}),
    user: answer.user,
    receivedAt: new Date(receivedAt).toISOString(),
  };
}

/** The session without its refresh token: the server refused it, nothing can renew it now. */
function ended(session: StoredSession): StoredSession {
  const rest = { ...session };
  delete rest.refreshToken;
  delete rest.refreshExpiresAt;
  return rest;
}

/** The network failed (no link, a timeout, an answer lost), as opposed to the server answering. */
function isNetworkFailure(err: unknown): boolean {
  return !isOutpostError(err);
}

type Exchange =
  | { kind: 'renewed'; session: StoredSession }
  /** Refused 401: the session is over, saved without its refresh token. */
  | { kind: 'ended' }
  | { kind: 'failed'; error: unknown; network: boolean };

/**
 * A session kept alive with the server's refresh tokens (decision 0032), shared by every context
 * of the app that syncs the same person's data (tabs, a service worker) through the app's storage
 * and a lock. Pass `getToken` (and `refreshNow` as `renewToken`) to `createSyncClient`.
 */
export function createTokenSession(options: TokenSessionOptions): TokenSession {
  if (!options.transport && options.url === undefined)
    throw new TypeError('createTokenSession needs the server: url or transport');
  const transport =
    options.transport ??
    createHttpTransport({ url: options.url ?? '', ...(options.fetch ? { fetch: options.fetch } : {}) });
  const { load, save, deviceId } = options;
  const lock = options.lock ?? defaultLock();
  const lockName = options.lockName ?? defaultLockName;
  const now = options.now ?? (() => Date.now());
  const refreshBeforeMs = checkDuration('refreshBeforeMs', options.refreshBeforeMs ?? 5 * 60_000);
  const timeoutMs = checkDuration('timeoutMs', options.timeoutMs ?? 30_000);

  /** Whether the token should be refreshed before it is sent. */
  const due = (session: StoredSession, at: number): boolean => {
    const expires = Date.parse(session.expiresAt);
    if (expires - at > refreshBeforeMs) return false;
    // A token received only just now is sent as it is even so: a clock ahead of the server's by
    // more than the token's life would otherwise refresh at every request. The server's 401 still
    // renews it (`renewToken`), and it is due again once that while has passed.
    const received = session.receivedAt !== undefined ? Date.parse(session.receivedAt) : Number.NaN;
    return !(at >= received && at - received < refreshBeforeMs);
  };
  const expired = (session: StoredSession, at: number) => !(Date.parse(session.expiresAt) > at);
  /** A refresh token held that the server may still take, by the device's clock. */
  const refreshable = (session: StoredSession, at: number): boolean =>
    session.refreshToken !== undefined &&
    (session.refreshExpiresAt === undefined || Date.parse(session.refreshExpiresAt) > at);

  const request = <T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    call(AbortSignal.timeout(timeoutMs));

  /**
   * Exchanges the session's refresh token, holding the lock. The answer is saved before anything
   * uses it: the server has used the old token up. A network failure may have lost an answer after
   * the server rotated: the same token goes once more at once, which the server's 60 s grace
   * answers with the same successor.
   */
  async function exchange(session: StoredSession & { refreshToken: string }): Promise<Exchange> {
    let answer: RefreshResponse | null = null;
    let failure: unknown = null;
    for (let attempt = 0; attempt < 2 && answer === null; attempt++) {
      try {
        answer = await request((signal) => transport.refresh(session.refreshToken, deviceId, { signal }));
      } catch (err) {
        failure = err;
        if (!isNetworkFailure(err)) break;
      }
    }
    if (answer !== null) {
      const next = sessionOf(answer, now());
      await save(next);
      return { kind: 'renewed', session: next };
    }
    if (isOutpostError(failure) && failure.code === 'UNAUTHORIZED') {
      // Expired, revoked, used before: over. Dropping the refresh token tells every context, and
      // none sends it again; the token in hand goes on to its own 401, which the app's
      // `unauthorized` handler answers by asking for the password. The outbox keeps its changes.
      await save(ended(session));
      return { kind: 'ended' };
    }
    return { kind: 'failed', error: failure, network: isNetworkFailure(failure) };
  }

  async function getToken(): Promise<string | null> {
    const seen = await load();
    if (!seen) return null;
    if (!due(seen, now()) || !refreshable(seen, now())) return seen.token;
    return lock(lockName, async () => {
      // Another tab or the service worker may have refreshed while this one waited: theirs is
      // used, and the token it used up is not sent again (a second use the server takes for theft).
      const current = await load();
      if (!current) return null;
      const at = now();
      if (!due(current, at) || !refreshable(current, at)) return current.token;
      const outcome = await exchange(current as StoredSession & { refreshToken: string });
      if (outcome.kind === 'renewed') return outcome.session.token;
      if (outcome.kind === 'ended' || outcome.network) return current.token;
      // The server erred (5xx, a rate limit): a token still valid serves until the next try; an
      // expired one would only be refused 401, telling the app to ask for a password the session
      // does not need.
      if (!expired(current, now())) return current.token;
      throw outcome.error;
    });
  }

  function refreshNow(rejected?: string | null): Promise<string | null> {
    return lock(lockName, async () => {
      const current = await load();
      if (!current) return null;
      if (rejected !== undefined && current.token !== rejected && !due(current, now())) return current.token;
      if (current.refreshToken === undefined) return null;
      const outcome = await exchange(current as StoredSession & { refreshToken: string });
      if (outcome.kind === 'renewed') return outcome.session.token;
      if (outcome.kind === 'ended') return null;
      throw outcome.error;
    });
  }

  async function signIn(email: string, password: string): Promise<LoginResponse> {
    const answer = await transport.login(email, password);
    const session = sessionOf(answer, now());
    await lock(lockName, () => save(session));
    return answer;
  }

  function signOut(): Promise<{ revoked: boolean }> {
    return lock(lockName, async () => {
      const current = await load();
      let revoked = false;
      if (current?.refreshToken !== undefined) {
        const refreshToken = current.refreshToken;
        try {
          await request((signal) => transport.logout(refreshToken, deviceId, { signal }));
          revoked = true;
        } catch {
          // Best effort: offline, the token stays valid on the server until it expires, but this
          // device no longer holds it.
        }
      }
      await save(null);
      return { revoked };
    });
  }

  function changePassword(currentPassword: string, newPassword: string): Promise<LoginResponse> {
    return lock(lockName, async () => {
      let current = await load();
      if (!current) throw outpostError('UNAUTHORIZED', 'nobody is signed in on this device');
      // A token about to expire is renewed first, as getToken would: the change must not fail on it.
      if (due(current, now()) && refreshable(current, now())) {
        const outcome = await exchange(current as StoredSession & { refreshToken: string });
        if (outcome.kind === 'renewed') current = outcome.session;
      }
      const { token } = current;
      const answer = await request((signal) =>
        transport.changePassword(
          token,
          { currentPassword, newPassword, ...(deviceId !== undefined ? { deviceId } : {}) },
          { signal },
        ),
      );
      // Every earlier token of this person is refused from now on: the new session, at once.
      await save(sessionOf(answer, now()));
      return answer;
    });
  }

  return { getToken, refreshNow, signIn, signOut, changePassword };
}
