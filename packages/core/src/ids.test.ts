import { describe, expect, it } from 'vitest';
import { isTempId, isValidRecordId, makeTempId, parseTempId, uuidv7, uuidv7Sequence } from './ids';

describe('uuidv7', () => {
  it('is an RFC 9562 version 7 UUID carrying its millisecond', () => {
    const id = uuidv7(1_730_534_400_000);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(1_730_534_400_000);
    expect(isValidRecordId(id)).toBe(true);
  });

  it('sorts by creation time', () => {
    const ids = [1, 2, 3, 1_000, 2 ** 40].map((ms) => uuidv7(ms));
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('uuidv7Sequence', () => {
  it('sorts in the order made within one millisecond and when the clock steps back', () => {
    const next = uuidv7Sequence();
    const ids = [5, 5, 5, 5, 4, 4, 6, 6].map((ms) => next(1_730_534_400_000 + ms));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('carries into the next digit, and past the random bits into the next millisecond', () => {
    const lowByteFull = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? 0xff : 0));
    const next = uuidv7Sequence(lowByteFull);
    expect([next(1000), next(1000)].map((id) => id.slice(-4))).toEqual(['00ff', '0100']);

    const allFull = uuidv7Sequence((n) => new Uint8Array(n).fill(0xff));
    const first = allFull(1000);
    const second = allFull(1000);
    expect(second > first).toBe(true);
    expect(parseInt(second.replace(/-/g, '').slice(0, 12), 16)).toBe(1001);
  });
});

describe('temp ids', () => {
  it('round-trip their creation time and collection', () => {
    const id = makeTempId('appointments', 1_730_534_400_000);
    expect(id).toMatch(/^temp_1730534400000_[0-9a-f]{6}_appointments$/);
    expect(isTempId(id)).toBe(true);
    expect(parseTempId(id)).toEqual({ createdAtMs: 1_730_534_400_000, collection: 'appointments' });
  });

  it('are told apart from real ids', () => {
    expect(isTempId('0193a1b2-0000-7000-8000-000000000000')).toBe(false);
    expect(isTempId('temp_appt_12345')).toBe(false);
    expect(isTempId(42)).toBe(false);
  });

  it('real ids are 1-64 characters of A-Z a-z 0-9 _ . -', () => {
    expect(isValidRecordId('abcDEF0123456789')).toBe(true);
    expect(isValidRecordId('')).toBe(false);
    expect(isValidRecordId('a'.repeat(65))).toBe(false);
    expect(isValidRecordId('has space')).toBe(false);
    expect(isValidRecordId('../etc')).toBe(false);
  });
});
