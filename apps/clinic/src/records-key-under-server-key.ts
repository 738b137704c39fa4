import { base64ToBytes, bytesToBase64, keyFromPassphrase, sealText, unsealText } from '@outpost/client';
import { personKey } from './device-client';
import type { DevicePerson } from './device-client';
import { inTransaction } from './stored-session';

/**
 * The key a person's records are encrypted with, kept sealed under another key a server hands for
 * the same person (decision 0054, "A server that hands another key"): a hub with accounts of its
 * own, or a server restored from a backup older than the person's first sign-in. Once the password
 * opened the records beside such a key, the device keeps their key under it, so that the next
 * opening online, and the service worker's sync, get the records' key from the server's with
 * nothing asked, as with the server whose key the records use.
 *
 * As safe as the server's key itself: only a session that server accepts, or the password, gets
 * it. Nothing of the server's key is kept, only a short name of it to find the right seal.
 *
 * Both the page and the worker import this module: IndexedDB and WebCrypto only.
 */
interface SealedUnderServerKey {
  /** Base64 of 16 random bytes. */
  salt: string;
  /** The records' key, sealed with AES-GCM under the server's key (`keyFromPassphrase`, one round). */
  sealed: string;
}

/** A name for the server's key: a hash of it, so the device keeps nothing that opens anything. */
async function nameOf(serverKey: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    'SHA-256',
    new TextEncoder().encode(`outpost.records-key.name\u0000${serverKey}`),
  );
  return bytesToBase64(new Uint8Array(digest).subarray(0, 12));
}

const storedAt = (person: DevicePerson, name: string) => `records-key-under:${personKey(person)}:${name}`;
// Authenticated with the seal: copied under another person's name, or another key's, it does not open.
const sealContext = (person: DevicePerson, name: string) =>
  `outpost.records-key-under\u0000${person.tenant}\u0000${person.userId}\u0000${name}`;

/**
 * Keeps `recordsKey` sealed under `serverKey`, the other key a server hands for `person`. Nothing
 * when they are the same key. One round of PBKDF2: the server's key is random, so stretching it adds
 * nothing. Failing costs only that the password is asked again at the next opening online, so it is
 * logged, not thrown.
 */
export async function keepUnderServerKey(
  person: DevicePerson,
  recordsKey: string,
  serverKey: string,
): Promise<void> {
  if (recordsKey === serverKey) return;
  try {
    const name = await nameOf(serverKey);
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await keyFromPassphrase(serverKey, salt, 1);
    const stored: SealedUnderServerKey = {
      salt: bytesToBase64(salt),
      sealed: await sealText(key, recordsKey, sealContext(person, name)),
    };
    await inTransaction('readwrite', (table) => table.put(stored, storedAt(person, name)));
  } catch (err) {
    console.error("The records' key could not be kept under this server's key:", err);
  }
}

/** The records' key kept under `serverKey` for `person`; null when none is, or it does not open. */
export async function openUnderServerKey(person: DevicePerson, serverKey: string): Promise<string | null> {
  const name = await nameOf(serverKey);
  const stored = (await inTransaction<unknown>('readonly', (table) => table.get(storedAt(person, name)))) as
    SealedUnderServerKey | undefined;
  if (typeof stored?.sealed !== 'string' || typeof stored.salt !== 'string') return null;
  try {
    const key = await keyFromPassphrase(serverKey, base64ToBytes(stored.salt), 1);
    return await unsealText(key, stored.sealed, sealContext(person, name));
  } catch {
    return null;
  }
}
