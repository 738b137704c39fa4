import { EncryptedDataError } from './crypto-errors';
import { seal, unseal } from './web-crypto';

/**
 * How an encrypted value sits in the inner store, in place of the value itself. A type alias, not
 * an interface, so it fits where a record's data (an index-signature type) is expected.
 */
export type SealedValue = { $enc: string };

export function isSealed(value: unknown): value is SealedValue {
  return (
    typeof value === 'object' && value !== null && typeof (value as { $enc?: unknown }).$enc === 'string'
  );
}

/**
 * Encrypted values are JSON inside, so anything JSON would silently change (a Date turned into a
 * string, a function or NaN dropped) is refused instead, as the plain stores refuse what they
 * cannot clone. Undefined object fields are allowed: JSON drops them and an absent field reads the same.
 */
function assertJson(value: unknown, path: string, ancestors: object[]): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON cannot hold`);
    return;
  }
  if (typeof value !== 'object') throw new TypeError(`${path} is a ${typeof value}, which JSON cannot hold`);
  if (ancestors.includes(value)) throw new TypeError(`${path} refers back to itself`);
  ancestors.push(value);
  if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      if (item === undefined) throw new TypeError(`${path}[${i}] is undefined, which JSON cannot hold`);
      assertJson(item, `${path}[${i}]`, ancestors);
    });
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new TypeError(`${path} is a ${kind}, which JSON cannot hold`);
    }
    for (const [key, field] of Object.entries(value)) {
      if (field !== undefined) assertJson(field, `${path}.${key}`, ancestors);
    }
  }
  ancestors.pop();
}

/** Encrypts a JSON value. `path` names it in errors; `context` binds it to where it is stored. */
export async function sealValue(
  key: CryptoKey,
  value: unknown,
  where: { path: string; context: string },
): Promise<SealedValue> {
  assertJson(value, where.path, []);
  return { $enc: await seal(key, JSON.stringify(value), where.context) };
}

export async function unsealValue(
  key: CryptoKey,
  value: unknown,
  where: { path: string; context: string },
): Promise<unknown> {
  if (!isSealed(value)) throw new EncryptedDataError(`${where.path} is not encrypted, yet the store is`);
  try {
    return JSON.parse(await unseal(key, value.$enc, where.context));
  } catch (cause) {
    throw new EncryptedDataError(`${where.path} cannot be decrypted: it is damaged or was moved`, { cause });
  }
}
