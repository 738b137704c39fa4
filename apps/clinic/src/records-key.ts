import { base64ToBytes, keyFromPassphrase, sealText, unsealText } from '@outpost/client';
import type { TokenSession } from '@outpost/client';
import { recordsKeyResponseSchema } from '@outpost/core';
import { personKey } from './device-client';
import type { DevicePerson } from './device-client';
import { keepUnderServerKey, openUnderServerKey } from './records-key-under-server-key';
import { inTransaction } from './stored-session';
import { STRETCHED_ONCE, sealingKeyFrom, stretchPassword, stretchedWith } from './stretched-password';
import type { StretchedPassword } from './stretched-password';

/**
 * The key a person's records on this device are encrypted with (decision 0054). The server keeps
 * one per person and hands it out only to a password sign-in, or to a token of a session it still
 * accepts (`GET /v1/auth/records-key`). The device keeps it in two places only:
 *
 * - in the memory of the tab (or the service worker's sync) that opened the records;
 * - sealed under the person's password, in the session database, so that the records open with the
 *   password alone when the server cannot be reached.
 *
 * Never in clear on the disk. A tablet whose person signed out, or whose sessions an administrator
 * ended, holds records nobody can read without that person's password.
 *
 * Both the page and the worker import this module: IndexedDB and WebCrypto only.
 */
interface SealedRecordsKey {
  /** Base64 of 16 random bytes. */
  salt: string;
  iterations: number;
  /**
   * The records key, sealed with AES-GCM (`sealText`): with `scheme` STRETCHED_ONCE, under
   * `sealingKeyFrom` the stretched password, whose salt the offline sign-in's verifier shares
   * (decision 0055); without (sealed before it), under the library's `keyFromPassphrase`.
   */
  sealed: string;
  scheme?: typeof STRETCHED_ONCE;
}

const storedAt = (person: DevicePerson) => `records-key:${personKey(person)}`;
// Authenticated with the seal: a sealed key copied under another person's name does not open.
const sealContext = (person: DevicePerson) =>
  `outpost.records-key\u0000${person.tenant}\u0000${person.userId}`;

/** The keys this tab holds, by person: gone with the tab, and at a sign-out. */
const held = new Map<string, string>();

/** The records key this tab holds for `person`, if any. */
export function heldRecordsKey(person: DevicePerson): string | undefined {
  return held.get(personKey(person));
}

/**
 * After a sign-in the server accepted with `password`: holds the key, and keeps it sealed under that
 * password in place of the one before (a changed password seals it anew). Awaited before the records
 * open: the records are encrypted only once the password can open them again offline. Answers the
 * password as stretched for the seal, which the offline sign-in's verifier is made from too.
 *
 * A key already sealed here that this password opens is the one the records are encrypted with:
 * kept, even when the server answered another (a server restored from a backup older than the
 * person's first sign-in makes a new one, decision 0054). Sealing the server's over it would leave
 * the records, and the changes waiting in them, unreadable for good.
 */
export async function keepRecordsKey(
  person: DevicePerson,
  password: string,
  recordsKey: string,
): Promise<StretchedPassword> {
  const opened = await openSealed(person, password);
  if (opened.recordsKey !== null) {
    holdRecordsKey(person, opened.recordsKey);
    // When the server's key is another (a hub's, a restored server's), the records' key is kept
    // under it too, so that this server's sessions open them with nothing asked.
    await keepUnderServerKey(person, opened.recordsKey, recordsKey);
    if (opened.stretched !== undefined) return opened.stretched;
    // Sealed before decision 0055: sealed again below, so the verifier may share its stretching.
  }
  const kept = opened.recordsKey ?? recordsKey;
  holdRecordsKey(person, kept);
  const stretched = await stretchPassword(password);
  const stored: SealedRecordsKey = {
    salt: stretched.salt,
    iterations: stretched.iterations,
    sealed: await sealText(await sealingKeyFrom(stretched), kept, sealContext(person)),
    scheme: STRETCHED_ONCE,
  };
  await inTransaction('readwrite', (table) => table.put(stored, storedAt(person)));
  return stretched;
}

interface Opened {
  /** Null when no key is sealed here, or not under this password. */
  recordsKey: string | null;
  /** The password as stretched to open a seal made since decision 0055. */
  stretched?: StretchedPassword;
}

/**
 * The key sealed on this device, opened with `password`. `stretched`, the password as the offline
 * check just stretched it, spares stretching it again when the seal shares its salt.
 */
async function openSealed(
  person: DevicePerson,
  password: string,
  stretched?: StretchedPassword,
): Promise<Opened> {
  const stored = await sealedKeyOf(person);
  if (stored === undefined) return { recordsKey: null };
  let key: CryptoKey;
  let used: StretchedPassword | undefined;
  if (stored.scheme === STRETCHED_ONCE) {
    used = stretchedWith(stretched, stored.salt, stored.iterations)
      ? stretched
      : await stretchPassword(password, stored.salt, stored.iterations);
    key = await sealingKeyFrom(used);
  } else {
    key = await keyFromPassphrase(password, base64ToBytes(stored.salt), stored.iterations);
  }
  try {
    return {
      recordsKey: await unsealText(key, stored.sealed, sealContext(person)),
      ...(used && { stretched: used }),
    };
  } catch {
    return { recordsKey: null };
  }
}

/**
 * Holds the key in this tab's memory only: a key the server handed for a session it accepts, or
 * one a server sent with a password an administrator set (decision 0047), which the administrator
 * knows, so nothing is sealed under it. The key is sealed once the person has chosen their own.
 */
export function holdRecordsKey(person: DevicePerson, recordsKey: string): void {
  held.set(personKey(person), recordsKey);
}

async function sealedKeyOf(person: DevicePerson): Promise<SealedRecordsKey | undefined> {
  const stored = (await inTransaction<unknown>('readonly', (table) => table.get(storedAt(person)))) as
    SealedRecordsKey | undefined;
  return typeof stored?.sealed === 'string' ? stored : undefined;
}

/**
 * Whether this device keeps the person's key sealed: then their records here are encrypted, or
 * are at their next opening. Without it they are not (signed in here only before encryption came,
 * decision 0054), and they open as they are.
 */
export async function recordsEncrypted(person: DevicePerson): Promise<boolean> {
  return (await sealedKeyOf(person)) !== undefined;
}

/**
 * Opens the key sealed on this device with `password`, and holds it. False when the password is
 * not the one it was sealed under (or none is sealed). `stretched`: the password as the offline
 * sign-in's check stretched it, used when the seal shares its salt.
 */
export async function openSealedRecordsKey(
  person: DevicePerson,
  password: string,
  stretched?: StretchedPassword,
): Promise<boolean> {
  const opened = await openSealed(person, password, stretched);
  if (opened.recordsKey === null) return false;
  holdRecordsKey(person, opened.recordsKey);
  return true;
}

/**
 * The server refused to hand the key to this session (ended, or its password changed since), or
 * the device holds no session to show it (`noSession`: signed in with no network, not confirmed yet).
 */
export class RecordsKeyRefused extends Error {
  override readonly name = 'RecordsKeyRefused';
  constructor(
    message: string,
    readonly noSession = false,
  ) {
    super(message);
  }
}

/**
 * The key from the server, for a session it still accepts (not held: the caller says for how long).
 * Throws a TypeError when the server cannot be reached (as fetch does), RecordsKeyRefused when it
 * refuses the session.
 */
async function fetchRecordsKey(tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>): Promise<string> {
  const ask = (token: string) =>
    fetch(new URL('/v1/auth/records-key', location.origin), {
      headers: { authorization: `Bearer ${token}` },
    });
  const token = await tokens.getToken();
  // Signed in with no network, not confirmed yet: no token to show the server.
  if (token === null) throw new RecordsKeyRefused('this device holds no session to show the server', true);
  let res = await ask(token);
  // A token the device took for valid and the server did not (a clock set wrong): renewed once.
  if (res.status === 401) {
    const renewed = await tokens.refreshNow(token);
    if (renewed === null) throw new RecordsKeyRefused('the server no longer renews this session');
    res = await ask(renewed);
  }
  if (!res.ok)
    throw new RecordsKeyRefused(`the server did not give this session the records key (${res.status})`);
  return recordsKeyResponseSchema.parse(await res.json()).recordsKey;
}

/**
 * The key to the records from the server, for a session it still accepts: its own key, or the
 * records' key kept under it (records-key-under-server-key.ts) when the server hands another.
 * `serverKey` is what the server handed. Throws as fetchRecordsKey.
 */
export async function recordsKeyFromServer(
  person: DevicePerson,
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>,
): Promise<{ recordsKey: string; serverKey: string }> {
  const serverKey = await fetchRecordsKey(tokens);
  const kept = await openUnderServerKey(person, serverKey).catch(() => null);
  return { recordsKey: kept ?? serverKey, serverKey };
}

/**
 * A key the server handed that did not open `person`'s records here: once the password opens them,
 * their key is kept under it (keepUnderRefusedServerKey). In this tab's memory only.
 */
const refusedServerKeys = new Map<string, string>();

export function noteRefusedServerKey(person: DevicePerson, serverKey: string): void {
  refusedServerKeys.set(personKey(person), serverKey);
}

/**
 * After `recordsKey` opened `person`'s records: keeps it under the server's key that did not
 * (noteRefusedServerKey), so that the next opening online asks nothing.
 */
export async function keepUnderRefusedServerKey(person: DevicePerson, recordsKey: string): Promise<void> {
  const serverKey = refusedServerKeys.get(personKey(person));
  if (serverKey === undefined) return;
  refusedServerKeys.delete(personKey(person));
  await keepUnderServerKey(person, recordsKey, serverKey);
}

/** This tab forgets the key it held for `person`: it did not open their records. */
export function forgetHeldRecordsKey(person: DevicePerson): void {
  held.delete(personKey(person));
}

/** At a sign-out: this tab forgets every key it held. What is sealed on the device stays. */
export function forgetHeldRecordsKeys(): void {
  held.clear();
  refusedServerKeys.clear();
}
