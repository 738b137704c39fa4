import { base64ToBytes, bytesToBase64 } from './base64';
import { EncryptedDataError, WrongPassphraseError } from './crypto-errors';
import { SALT_BYTES, deriveKey, randomBytes, seal, unseal } from './web-crypto';

/** The meta key the header lives under; the encrypted store hides it from its callers. */
export const CRYPTO_META_KEY = 'outpost.crypto';

const KEY_CHECK_TEXT = 'outpost key check v1';
const KEY_CHECK_CONTEXT = 'outpost.crypto/key-check';
/** Far above any sane setting; a larger count in a header means it is damaged, not slow. */
const MAX_ITERATIONS = 100_000_000;

/**
 * What a device needs, besides the passphrase, to rebuild its key. The iteration count is kept so
 * raising the default later does not lock out devices encrypted before.
 */
export interface CryptoHeader {
  version: 1;
  kdf: 'PBKDF2-SHA-256';
  iterations: number;
  /** Base64 of 16 random bytes. */
  salt: string;
  /** A known text sealed with the key: opening it proves the passphrase before anything is written. */
  check: string;
  /**
   * 2: an outbox op's data is authenticated with its record and kind, and a conflict's summary with
   * its record, besides their own key. Absent in headers written before, whose ops and conflicts are
   * bound to their key alone: the encrypted store seals those again on first use.
   */
  binding?: typeof CURRENT_BINDING;
}

export const CURRENT_BINDING = 2;

/** The store's header, or null for a store never encrypted; throws if one is there but unreadable. */
export function readHeader(meta: Record<string, unknown>): CryptoHeader | null {
  const value = meta[CRYPTO_META_KEY];
  if (value === undefined) return null;
  const header = value as Partial<CryptoHeader> | null;
  const valid =
    typeof header === 'object' &&
    header !== null &&
    header.version === 1 &&
    header.kdf === 'PBKDF2-SHA-256' &&
    Number.isInteger(header.iterations) &&
    (header.iterations ?? 0) > 0 &&
    (header.iterations ?? 0) <= MAX_ITERATIONS &&
    typeof header.salt === 'string' &&
    typeof header.check === 'string' &&
    (header.binding === undefined || header.binding === CURRENT_BINDING);
  if (!valid) {
    throw new EncryptedDataError(
      `the encryption header ('${CRYPTO_META_KEY}') is damaged or from a newer version of Outpost`,
    );
  }
  return header as CryptoHeader;
}

export async function createHeader(
  passphrase: string,
  iterations: number,
): Promise<{ header: CryptoHeader; key: CryptoKey }> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(passphrase, salt, iterations);
  const check = await seal(key, KEY_CHECK_TEXT, KEY_CHECK_CONTEXT);
  return {
    header: {
      version: 1,
      kdf: 'PBKDF2-SHA-256',
      iterations,
      salt: bytesToBase64(salt),
      check,
      binding: CURRENT_BINDING,
    },
    key,
  };
}

/** The key the header was made with, or WrongPassphraseError. Reads only: never writes. */
export async function openHeader(passphrase: string, header: CryptoHeader): Promise<CryptoKey> {
  let salt: Uint8Array<ArrayBuffer>;
  try {
    salt = base64ToBytes(header.salt);
  } catch (cause) {
    throw new EncryptedDataError(`the encryption header's salt is damaged`, { cause });
  }
  const key = await deriveKey(passphrase, salt, header.iterations);
  let text: string;
  try {
    text = await unseal(key, header.check, KEY_CHECK_CONTEXT);
  } catch {
    // AES-GCM cannot tell a wrong key from a damaged check value; a wrong passphrase is by far
    // the likelier, and the answer to both is the same: nothing opens.
    throw new WrongPassphraseError();
  }
  if (text !== KEY_CHECK_TEXT) throw new WrongPassphraseError();
  return key;
}
