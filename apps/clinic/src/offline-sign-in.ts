import { base64ToBytes } from '@outpost/client';
import { inTransaction } from './stored-session';
import { STRETCHED_ONCE, stretchPassword, verifierFrom } from './stretched-password';
import type { StretchedPassword } from './stretched-password';

/**
 * Signing in with no network, on a tablet the person signed in on before (decision 0038). Each
 * sign-in the server accepts leaves a verifier of the password on the device: PBKDF2-SHA256 of it
 * with a salt of its own, never the password. A later sign-in the network cannot carry is checked
 * against it, and opens that person's records; the server confirms it when the network returns.
 *
 * Bounds: the verifier serves for 30 days after the sign-in that made it (a person removed or a
 * password changed on the server is honoured within that), and five wrong passwords in a row
 * remove it, so guessing at the sign-in page ends there. A verifier read off the disk can still be
 * guessed at by a machine; the iteration count makes each guess slow, and the records beside it
 * rely on the disk's encryption (decision 0013) as this does.
 */
export interface OfflineIdentity {
  email: string;
  userId: string;
  tenant: string;
  roles: readonly string[];
}

interface Verifier extends OfflineIdentity {
  /** Base64 of 16 random bytes. */
  salt: string;
  iterations: number;
  /**
   * Base64 of 32 bytes: with `scheme` STRETCHED_ONCE, `verifierFrom` of the stretched password;
   * without (kept before decision 0055), the PBKDF2-SHA256 output itself.
   */
  hash: string;
  scheme?: typeof STRETCHED_ONCE;
  /** When the server accepted the password this was made from (ISO 8601, the device's clock). */
  signedInAt: string;
  /** Wrong passwords tried offline since. */
  failures: number;
}

const maxAgeMs = 30 * 24 * 60 * 60 * 1000;
const maxFailures = 5;

const keyOf = (email: string) => `offline-sign-in:${email.trim().toLowerCase()}`;

/** A verifier kept before decision 0055: PBKDF2 of the password as typed, on its own. */
async function deriveEarlier(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  rounds: number,
): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: rounds },
    material,
    256,
  );
  return new Uint8Array(bits);
}

/** Equal without stopping at the first difference. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * After a sign-in the server accepted: keeps a verifier of the password, as `stretched`, for
 * `identity`, replacing the one before (a changed password, a new 30 days). Failing to keep it
 * costs only the offline sign-in, so it is logged, not thrown.
 */
export async function rememberForOffline(
  identity: OfflineIdentity,
  stretched: StretchedPassword | Promise<StretchedPassword>,
): Promise<void> {
  try {
    const made = await stretched;
    const verifier: Verifier = {
      email: identity.email,
      userId: identity.userId,
      tenant: identity.tenant,
      roles: [...identity.roles],
      salt: made.salt,
      iterations: made.iterations,
      hash: await verifierFrom(made),
      scheme: STRETCHED_ONCE,
      signedInAt: new Date().toISOString(),
      failures: 0,
    };
    await inTransaction('readwrite', (table) => table.put(verifier, keyOf(identity.email)));
  } catch (err) {
    console.error('The offline sign-in could not be prepared on this device:', err);
  }
}

/**
 * After a sign-in with a password an administrator set (decision 0047): no verifier of it is kept,
 * and the one of the person's earlier password goes, since the server no longer takes it. A
 * verifier is made again once they choose their own. Failing costs what it did before: logged.
 */
export async function forgetForOffline(email: string): Promise<void> {
  await forget(keyOf(email)).catch((err: unknown) =>
    console.error('The offline sign-in could not be removed from this device:', err),
  );
}

export type OfflineCheck =
  /**
   * `stretched` is the password as the check stretched it, which opens the records key sealed with
   * the same salt (none for a verifier kept before decision 0055).
   */
  | { ok: true; identity: OfflineIdentity; stretched?: StretchedPassword }
  /** Never signed in here, or more than 30 days ago, or too many wrong passwords since. */
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'wrong-password'; triesLeft: number };

/**
 * Whether this device can check `email`'s password itself now: it keeps a verifier made in the
 * last 30 days, not used up by wrong passwords. Nothing is changed: the screen lock asks, to say
 * before anything is typed that unlocking needs the network (decision 0048).
 */
export async function canCheckOffline(email: string, now = Date.now()): Promise<boolean> {
  const stored = await verifierOf(keyOf(email));
  return stored !== undefined && fresh(stored, now);
}

async function verifierOf(key: string): Promise<Verifier | undefined> {
  const stored = (await inTransaction<unknown>('readonly', (table) => table.get(key))) as
    Verifier | undefined;
  return stored === undefined || typeof stored.hash !== 'string' ? undefined : stored;
}

/** Made in the last 30 days. A clock set back shows a negative age: as untrustworthy as an old one. */
function fresh(verifier: Verifier, now: number): boolean {
  const age = now - Date.parse(verifier.signedInAt);
  return age >= 0 && age <= maxAgeMs;
}

/** Checks `password` for `email` against the verifier this device keeps, with no network. */
export async function checkOffline(email: string, password: string, now = Date.now()): Promise<OfflineCheck> {
  const key = keyOf(email);
  const stored = await verifierOf(key);
  if (stored === undefined) return { ok: false, reason: 'unknown' };
  if (!fresh(stored, now)) {
    await forget(key);
    return { ok: false, reason: 'unknown' };
  }
  let stretched: StretchedPassword | undefined;
  let derived: Uint8Array;
  if (stored.scheme === STRETCHED_ONCE) {
    stretched = await stretchPassword(password, stored.salt, stored.iterations);
    derived = base64ToBytes(await verifierFrom(stretched));
  } else {
    derived = await deriveEarlier(password, base64ToBytes(stored.salt), stored.iterations);
  }
  if (sameBytes(derived, base64ToBytes(stored.hash))) {
    if (stored.failures > 0)
      await inTransaction('readwrite', (table) => table.put({ ...stored, failures: 0 }, key));
    const { email: kept, userId, tenant, roles } = stored;
    return { ok: true, identity: { email: kept, userId, tenant, roles }, ...(stretched && { stretched }) };
  }
  const failures = stored.failures + 1;
  if (failures >= maxFailures) {
    await forget(key);
    return { ok: false, reason: 'unknown' };
  }
  await inTransaction('readwrite', (table) => table.put({ ...stored, failures }, key));
  return { ok: false, reason: 'wrong-password', triesLeft: maxFailures - failures };
}

async function forget(key: string): Promise<void> {
  await inTransaction('readwrite', (table) => table.delete(key));
}
