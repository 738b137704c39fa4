import { describe, expect, it } from 'vitest';
import { diffRecords, disputedFields, mergeChoices } from './record-diff';

describe('diffRecords', () => {
  it('treats a null field as absent, and compares objects and arrays by value', () => {
    const diffs = diffRecords(
      { a: 1, b: null, c: [1, 2], d: { x: 1 }, e: 'new' },
      { a: 2, b: 'gone', c: [1, 2], d: { x: 1 }, f: null },
    );
    expect(diffs.map((d) => [d.field, d.status])).toEqual([
      ['a', 'changed'],
      ['b', 'removed'],
      ['c', 'same'],
      ['d', 'same'],
      ['e', 'added'],
    ]);
    expect(diffs.find((d) => d.field === 'd')?.children?.map((d) => d.path)).toEqual([['d', 'x']]);
    expect(disputedFields(diffs)).toEqual(['a', 'b', 'e']);
  });

  it('compares a deleted record as having no fields', () => {
    expect(diffRecords(null, { a: 1 }).map((d) => d.status)).toEqual(['removed']);
    expect(diffRecords(null, null)).toEqual([]);
  });
});

describe('mergeChoices', () => {
  it('takes each field from the version chosen (local by default), null where it lacks the field', () => {
    const local = { name: 'Amina K.', village: 'Ntcheu', phone: '0999' };
    const server = { name: 'Amina K.', village: 'Mangochi', notes: 'asthma' };
    expect(mergeChoices(local, server, {})).toEqual({
      name: 'Amina K.',
      village: 'Ntcheu',
      notes: null,
      phone: '0999',
    });
    expect(mergeChoices(local, server, { village: 'server', notes: 'server', phone: 'server' })).toEqual({
      name: 'Amina K.',
      village: 'Mangochi',
      notes: 'asthma',
      phone: null,
    });
  });
});
