import { base64ToBytes, bytesToBase64 } from './base64';

export const SALT_BYTES = 16;
/** 96 bits, the IV size AES-GCM is designed for; a fresh random one for every value sealed. */
export const IV_BYTES = 12;
/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA-256. */
export const DEFAULT_PBKDF2_ITERATIONS = 310_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function subtle(): SubtleCrypto {
  const found = globalThis.crypto?.subtle;
  if (!found) {
    // Browsers hide crypto.subtle outside secure contexts, e.g. a clinic app opened over plain
    // http on the local network: say so instead of failing with "undefined is not an object".
    throw new Error(
      'encryption at rest needs WebCrypto (crypto.subtle), which browsers only provide on https or localhost',
    );
  }
  return found;
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

/** An AES-GCM 256 key from a passphrase; not extractable, so it never leaves WebCrypto. */
export async function deriveKey(
  passphrase: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<CryptoKey> {
  // NFC, so the same passphrase typed on two keyboards that compose accents differently matches.
  const secret = encoder.encode(passphrase.normalize('NFC'));
  const base = await subtle().importKey('raw', secret, 'PBKDF2', false, ['deriveKey']);
  return subtle().deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/**
 * Encrypts text as base64 of IV followed by ciphertext and tag. `context` (where the value is kept,
 * e.g. its record key) is authenticated but not stored, so a value copied to another place in the
 * database no longer decrypts.
 */
export async function seal(key: CryptoKey, plaintext: string, context: string): Promise<string> {
  const iv = randomBytes(IV_BYTES);
  const ciphertext = await subtle().encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
    key,
    encoder.encode(plaintext),
  );
  const out = new Uint8Array(IV_BYTES + ciphertext.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ciphertext), IV_BYTES);
  return bytesToBase64(out);
}

/** The reverse of seal; rejects (OperationError) when the key, the context or the bytes differ. */
export async function unseal(key: CryptoKey, sealed: string, context: string): Promise<string> {
  const bytes = base64ToBytes(sealed);
  const plaintext = await subtle().decrypt(
    { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: encoder.encode(context) },
    key,
    bytes.subarray(IV_BYTES),
  );
  return decoder.decode(plaintext);
}

/**
 * Encrypts bytes as IV followed by ciphertext and tag, kept as bytes: a file's chunks are large,
 * and base64 would add a third to every photo at rest. `context` is authenticated as in seal.
 */
export async function sealBytes(
  key: CryptoKey,
  plaintext: Uint8Array<ArrayBuffer>,
  context: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const iv = randomBytes(IV_BYTES);
  const ciphertext = await subtle().encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
    key,
    plaintext,
  );
  const out = new Uint8Array(IV_BYTES + ciphertext.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ciphertext), IV_BYTES);
  return out;
}

/** The reverse of sealBytes; rejects (OperationError) when the key, the context or the bytes differ. */
export async function unsealBytes(
  key: CryptoKey,
  sealed: Uint8Array<ArrayBuffer>,
  context: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const plaintext = await subtle().decrypt(
    { name: 'AES-GCM', iv: sealed.subarray(0, IV_BYTES), additionalData: encoder.encode(context) },
    key,
    sealed.subarray(IV_BYTES),
  );
  return new Uint8Array(plaintext);
}
