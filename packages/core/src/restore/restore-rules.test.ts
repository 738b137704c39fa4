import { describe, expect, it } from 'vitest';
import { numberedAfterBackup, restoreMarkOf } from './restore-rules';

describe('what a restored server says of its backup', () => {
  it('reads the backup’s last numbers from the refusal, only when every one is a number', () => {
    const details = { reason: 'restored', backupTakenAt: '2026-06-01T18:00:00.000Z' };
    expect(restoreMarkOf({ ...details, lastIds: { pets: '12', appointments: '40' } })).toEqual({
      backupTakenAt: details.backupTakenAt,
      lastIds: { pets: '12', appointments: '40' },
    });
    expect(restoreMarkOf({ reason: 'restored', lastIds: {} })).toEqual({ lastIds: {} });
    // Anything else says nothing of them: the records of those collections are read again as before.
    for (const lastIds of [{ pets: 12 }, { pets: '-1' }, { pets: '1e3' }, ['12'], null, 'pets']) {
      expect(restoreMarkOf({ ...details, lastIds })).toEqual({ backupTakenAt: details.backupTakenAt });
    }
  });

  it('tells a number issued after the backup from one the backup had', () => {
    const mark = { lastIds: { appointments: '40' } };
    expect(numberedAfterBackup(mark, 'appointments', '41')).toBe(true);
    expect(numberedAfterBackup(mark, 'appointments', '40')).toBe(false);
    expect(numberedAfterBackup(mark, 'appointments', '7')).toBe(false);
    // A collection the backup had numbered nothing in: every number is after it.
    expect(numberedAfterBackup(mark, 'soapNotes', '1')).toBe(true);
    // Names of the object itself are no collection's numbers.
    expect(numberedAfterBackup(mark, 'constructor', '1')).toBe(true);
    // Not known: no numbers said, or an id that is not one of the server's numbers.
    expect(numberedAfterBackup({}, 'appointments', '41')).toBeNull();
    expect(numberedAfterBackup(mark, 'appointments', 'temp_1730534400000_a7b3c2_appointments')).toBeNull();
    expect(numberedAfterBackup(mark, 'appointments', '041')).toBeNull();
  });
});
