import { describe, expect, it } from 'vitest';
import { isTempId, isValidRecordId, makeTempId, parseTempId, uuidv7 } from './ids';

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
