import { describe, expect, it } from 'vitest';
import { dataShapeProblem, isWellFormedText, maxDataDepth } from './data-shape';

/** An object nested `levels` deep, the record's own object counting as the first level. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 'x' };
  for (let i = 1; i < levels; i++) value = { inner: value };
  return value;
}

describe('dataShapeProblem', () => {
  it('accepts the data of real records: flat fields, lists, an intake form nested a few levels', () => {
    expect(dataShapeProblem({ name: 'Amina Banda', allergies: ['penicillin'], phone: null })).toBeNull();
    expect(
      dataShapeProblem({ answers: { pain: { score: 3, sites: ['knee', { side: 'left' }] } } }),
    ).toBeNull();
    expect(dataShapeProblem({})).toBeNull();
  });

  it(`accepts data exactly ${maxDataDepth} levels deep and refuses one level more`, () => {
    expect(dataShapeProblem(nested(maxDataDepth))).toBeNull();
    expect(dataShapeProblem(nested(maxDataDepth + 1))).toMatch(/at most 32 levels/);
    // Arrays count as levels too.
    let list: unknown = ['x'];
    for (let i = 1; i <= maxDataDepth; i++) list = [list];
    expect(dataShapeProblem({ field: list })).toMatch(/levels deep/);
  });

  it('answers for data far deeper than the stack allows, where JSON.stringify overflows', () => {
    const deep = nested(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(dataShapeProblem(deep)).toMatch(/levels deep/);
  });

  it('refuses a key named __proto__ at any depth, as JSON.parse makes it', () => {
    expect(dataShapeProblem(JSON.parse('{"name":"p","__proto__":{"signedAt":"x"}}'))).toMatch(/__proto__/);
    expect(dataShapeProblem(JSON.parse('{"answers":[{"__proto__":{"a":1}}]}'))).toMatch(/__proto__/);
    // A key that only mentions it is an ordinary key.
    expect(dataShapeProblem({ proto: 1, constructor: { prototype: 1 } })).toBeNull();
  });

  it('refuses text with half of a character, in a value or a key, and keeps whole ones', () => {
    expect(dataShapeProblem({ name: 'Amina \u{1F600}', notes: 'ok' })).toBeNull();
    expect(dataShapeProblem({ name: 'cut \ud83d' })).toMatch(/lone UTF-16 surrogate/);
    expect(dataShapeProblem({ answers: { ['\udc00']: 1 } })).toMatch(/lone UTF-16 surrogate/);
    expect(dataShapeProblem({ list: [['\ud800x']] })).toMatch(/lone UTF-16 surrogate/);
    expect(isWellFormedText('op-\ud800')).toBe(false);
    expect(isWellFormedText('op-\u{1F600}')).toBe(true);
  });

  it('allows the levels of an envelope above the data', () => {
    expect(dataShapeProblem({ table: { created: [nested(maxDataDepth)] } }, 3)).toBeNull();
    expect(dataShapeProblem({ table: { created: [nested(maxDataDepth + 1)] } }, 3)).toMatch(/levels deep/);
  });
});
