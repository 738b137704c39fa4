import { base64ToBytes, bytesToBase64 } from '@outpost/client';

/**
 * One stretching of a person's password serves both things the device keeps under it (decision
 * 0055): the offline sign-in's verifier (decision 0038) and the seal of the records key (decision
 * 0054). PBKDF2-SHA-256 with 600,000 rounds is the slow part, about half a second on a field
 * tablet; a sign-in used to run it twice, once for each. HKDF then splits its output into two
 * values neither of which tells anything of the other, so the verifier on the disk gives no
 * shortcut to the key: a guess at the password still costs the 600,000 rounds.
 *
 * Both the page and the worker may import this module: WebCrypto only.
 */
export interface StretchedPassword {
  /** Base64 of the 16 random bytes stretched with the password. */
  salt: string;
  iterations: number;
  /** The PBKDF2 output, as HKDF key material that never leaves WebCrypto. */
  material: CryptoKey;
}

/** OWASP's figure for PBKDF2-HMAC-SHA256 (2023): about half a second on a field tablet. */
export const passwordIterations = 600_000;

/**
 * What a verifier or a seal made from a StretchedPassword says of itself. Those kept before
 * decision 0055 say nothing, and each stretched the password on its own.
 */
export const STRETCHED_ONCE = 2;

const encoder = new TextEncoder();

/** Stretches `password` with `salt` (base64), or with a new random salt when none is given. */
export async function stretchPassword(
  password: string,
  salt: string = bytesToBase64(crypto.getRandomValues(new Uint8Array(16))),
  iterations: number = passwordIterations,
): Promise<StretchedPassword> {
  // NFC, as the library's passphrases: the same password typed on two keyboards that compose
  // accents differently is the same password.
  const typed = await crypto.subtle.importKey(
    'raw',
    encoder.encode(password.normalize('NFC')),
    'PBKDF2',
    false,
    ['deriveBits'],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: base64ToBytes(salt), iterations },
    typed,
    256,
  );
  const material = await crypto.subtle.importKey('raw', bits, 'HKDF', false, ['deriveBits', 'deriveKey']);
  return { salt, iterations, material };
}

/** Whether `stretched` was made with this salt and count, so it serves what was kept with them. */
export function stretchedWith(
  stretched: StretchedPassword | undefined,
  salt: string,
  iterations: number,
): stretched is StretchedPassword {
  return stretched !== undefined && stretched.salt === salt && stretched.iterations === iterations;
}

// Distinct labels make the two values independent: knowing one tells nothing of the other.
const hkdf = (info: string) =>
  ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode(info) }) as const;

/** The offline sign-in's verifier: base64 of 32 bytes, kept on the disk. */
export async function verifierFrom(stretched: StretchedPassword): Promise<string> {
  const bits = await crypto.subtle.deriveBits(
    hkdf('outpost.offline-sign-in.verifier'),
    stretched.material,
    256,
  );
  return bytesToBase64(new Uint8Array(bits));
}

/** The AES-GCM key the records key is sealed under: never extractable, never kept. */
export function sealingKeyFrom(stretched: StretchedPassword): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    hkdf('outpost.records-key.seal'),
    stretched.material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}
