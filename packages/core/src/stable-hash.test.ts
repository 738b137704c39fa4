import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stableHash, stableStringify } from './stable-hash';

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, seed));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  entries.sort((a, b) => ((a[0].charCodeAt(0) * seed) % 7) - ((b[0].charCodeAt(0) * seed) % 7));
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, seed)]));
}

describe('stableHash', () => {
  it('is the same whatever order the fields were written in', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 1, max: 97 }), (value, seed) => {
        expect(stableHash(shuffleKeys(value, seed))).toBe(stableHash(value));
      }),
    );
  });

  it('differs when a value differs', () => {
    expect(stableHash({ a: 1, b: [1, 2] })).not.toBe(stableHash({ a: 1, b: [2, 1] }));
    expect(stableHash({ a: '1' })).not.toBe(stableHash({ a: 1 }));
  });

  it('reads back as the same JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(stableStringify(value))).toEqual(JSON.parse(JSON.stringify(value) ?? 'null'));
      }),
    );
  });
});
