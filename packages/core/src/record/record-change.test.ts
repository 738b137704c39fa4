import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stableStringify } from '../stable-hash';
import type { RecordData } from '../schema/define-schema';
import { changedFields } from './record-change';

/** The definition changedFields answers faster: every field whose stable JSON differs. */
function byDefinition(before: RecordData, after: RecordData): string[] {
  const fields = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...fields].filter((f) => stableStringify(before[f]) !== stableStringify(after[f])).sort();
}

// Few field names and small values, so records often share fields and values (equal, or equal only as JSON).
const value = fc.oneof(
  fc.constantFrom('a', 'b', '', 'é', 0, 1, -0, true, false, null, undefined),
  fc.array(fc.constantFrom('a', 'b', 1), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('x', 'y'), fc.constantFrom('a', 1, null, undefined), { maxKeys: 2 }),
);
const record = fc.dictionary(fc.constantFrom('name', 'village', 'phone', 'allergies'), value, {
  maxKeys: 4,
}) as fc.Arbitrary<RecordData>;

describe('changedFields', () => {
  it('names exactly the fields whose stable JSON differs', () => {
    fc.assert(
      fc.property(record, record, (before, after) => {
        expect(changedFields(before, after)).toEqual(byDefinition(before, after));
        expect(changedFields(before, before)).toEqual([]);
        expect(changedFields(after, { ...after })).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  it('treats an absent field, undefined and null alike, and compares objects whatever their key order', () => {
    expect(changedFields({ a: null, b: undefined }, {})).toEqual([]);
    expect(changedFields({ v: { x: 1, y: 2 } }, { v: { y: 2, x: 1 } })).toEqual([]);
    expect(changedFields(null, { name: 'Amina' })).toEqual(['name']);
    expect(changedFields({ b: 'x', a: 'y' }, { a: 'z', b: 'w' })).toEqual(['a', 'b']);
  });
});
