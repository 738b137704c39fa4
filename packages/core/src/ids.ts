/**
 * Record ids. Client-id collections use UUIDv7 made on the device (time-ordered, so indexes stay
 * compact); other clients bring their own ids, so any 1-64 characters of [A-Za-z0-9_.-] is valid.
 * Server-id collections use a temp id on the device until the server assigns the real one.
 */

export const recordIdPattern = /^[A-Za-z0-9_.-]{1,64}$/;

export function isValidRecordId(id: string): boolean {
  return recordIdPattern.test(id);
}

/** Randomness comes in from outside so core stays free of platform APIs and tests can fix it. */
export type RandomBytes = (length: number) => Uint8Array;

export const defaultRandomBytes: RandomBytes = (length) => {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
};

/** Bytes as lowercase hex, two digits each (ids, hashes). */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** RFC 9562 UUIDv7: 48 bits of Unix milliseconds, version 7, variant 10, random rest. */
export function uuidv7(nowMs: number = Date.now(), randomBytes: RandomBytes = defaultRandomBytes): string {
  const bytes = randomBytes(16);
  let ms = Math.max(0, Math.floor(nowMs));
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const h = bytesToHex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * UUIDv7s that sort in the order they were made, even within one millisecond or when the clock
 * steps back (RFC 9562, 6.2), and after `after` when given (the last id made elsewhere, perhaps by
 * a host whose clock runs ahead): the archives list and page by id, so the conflicts and
 * rejections of one push must sort as its ops came, and a page's cursor must never pass an id
 * made after it.
 */
export function uuidv7Sequence(
  randomBytes: RandomBytes = defaultRandomBytes,
  after = '',
): (nowMs?: number) => string {
  let last = after;
  return (nowMs = Date.now()) => {
    const fresh = uuidv7(nowMs, randomBytes);
    if (fresh > last) return (last = fresh);
    return (last = successor(last, randomBytes));
  };
}

/** The next id after `id` in its low 56 random bits (version and variant bits stay); past them, the next millisecond. */
function successor(id: string, randomBytes: RandomBytes): string {
  const digits = id.replaceAll('-', '').split('');
  for (let i = digits.length - 1; i >= 18; i--) {
    const d = parseInt(digits[i] ?? '0', 16);
    if (d < 15) {
      digits[i] = (d + 1).toString(16);
      const h = digits.join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    digits[i] = '0';
  }
  return uuidv7(parseInt(digits.slice(0, 12).join(''), 16) + 1, randomBytes);
}

const tempIdPattern = /^temp_(\d+)_([a-z0-9]+)_([A-Za-z0-9]+)$/;

/** `temp_<ms>_<rand>_<collection>`: the collection is part of the id so a stray one is easy to trace. */
export function makeTempId(
  collection: string,
  nowMs: number = Date.now(),
  randomBytes: RandomBytes = defaultRandomBytes,
): string {
  return `temp_${Math.floor(nowMs)}_${bytesToHex(randomBytes(3))}_${collection}`;
}

export function isTempId(id: unknown): id is string {
  return typeof id === 'string' && tempIdPattern.test(id);
}

export function parseTempId(id: string): { createdAtMs: number; collection: string } | null {
  const m = tempIdPattern.exec(id);
  if (!m) return null;
  return { createdAtMs: Number(m[1]), collection: m[3] ?? '' };
}
