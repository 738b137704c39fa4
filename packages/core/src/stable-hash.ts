import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * JSON with object keys sorted at every depth, so equal data always gives equal text whatever
 * order its fields were written in. `undefined` members are dropped, as JSON.stringify does.
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const member = obj[key];
    if (member === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${stableStringify(member)}`);
  }
  return `{${parts.join(',')}}`;
}

/** SHA-256 of the stable JSON, hex: the `baseHash` clients send and the server compares. */
export function stableHash(value: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(stableStringify(value))));
}
