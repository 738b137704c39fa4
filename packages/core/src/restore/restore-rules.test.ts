import { describe, expect, it } from 'vitest';
import { giveBackNewer, givesDeletionBack, numberedAfterBackup, restoreMarkOf } from './restore-rules';

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

describe('giveBackNewer with the times of the held fields', () => {
  const mark = { backupTakenAt: '2026-06-01T18:00:00.000Z' };
  const before = '2026-06-01T09:00:00.000Z';
  const after = '2026-06-02T09:00:00.000Z';
  // Amina as the tablet holds her: moved to Mzuzu after the backup, her phone the backup's.
  const held = {
    data: { name: 'Amina', phone: '+265 1 000', village: 'Mzuzu' },
    updatedAt: after,
    fieldTimes: { name: before, phone: before, village: after },
  };
  // The restored server: the office changed her phone, then her notes, after the restore.
  const restored = {
    data: { name: 'Amina', phone: '+265 2 222', notes: 'moved house' },
    version: 4,
    updatedAt: '2026-06-03T09:00:00.000Z',
  };

  it('gives back only the fields the held state got after the backup, weighed by its HLC', () => {
    // The phone holds the backup's value: the office's later one stands. No version: one before the
    // server's would hide the office's change of the phone.
    expect(giveBackNewer(mark, held, restored)).toEqual({ data: { village: 'Mzuzu' } });
    // Without the times (the hub), every field that differs, against the version before the server's.
    const { fieldTimes: _times, ...untimed } = held;
    expect(giveBackNewer(mark, untimed, restored)).toEqual({
      data: { phone: '+265 1 000', village: 'Mzuzu' },
      baseVersion: 3,
    });
  });

  it('takes a field whose time is not known yet for one written after the backup', () => {
    const unknown = { ...held, fieldTimes: { ...held.fieldTimes, phone: null } };
    expect(giveBackNewer(mark, unknown, restored)).toEqual({
      data: { phone: '+265 1 000', village: 'Mzuzu' },
    });
  });

  it('empties a field only the held state emptied after the backup, whatever the server did since', () => {
    // The restored clinic changed the record since (the office's notes): still, the held state says
    // the allergies went after the backup, so the backup's value goes (weighed by the HLC: had the
    // office set them again, that would be in conflict).
    const server = {
      data: { name: 'Amina', phone: '+265 1 000', allergies: 'none', notes: 'moved house' },
      version: 3,
      updatedAt: restored.updatedAt,
    };
    const emptied = {
      data: { name: 'Amina', phone: '+265 1 000' },
      updatedAt: after,
      fieldTimes: { name: before, phone: before, allergies: after },
    };
    expect(giveBackNewer(mark, emptied, server)).toEqual({ data: { allergies: null } });
    // Emptied before the backup: the restored server's value was set there since, and stands.
    const old = { ...emptied, fieldTimes: { ...emptied.fieldTimes, allergies: before } };
    expect(giveBackNewer(mark, old, server)).toBeNull();
  });

  it('gives nothing back when every field that differs holds the backup’s value', () => {
    const untouched = { ...held, data: { ...held.data, village: 'Lilongwe' } };
    expect(
      giveBackNewer(
        mark,
        { ...untouched, fieldTimes: { name: before, phone: before, village: before } },
        restored,
      ),
    ).toBeNull();
  });
});

describe('which deletions go back to a restored server', () => {
  const mark = { backupTakenAt: '2026-06-01T18:00:00.000Z' };
  const after = '2026-06-01T19:00:00.000Z';
  const before = '2026-06-01T12:00:00.000Z';

  it('gives back a deletion the re-read brought no trace of, stamped after the backup', () => {
    expect(givesDeletionBack(mark, { read: false, updatedAt: after })).toBe(true);
    // Brought alive (deleted again as a plain delete) or as a tombstone (the deletion stands).
    expect(givesDeletionBack(mark, { read: true, updatedAt: after })).toBe(false);
    // A state the backup had, gone from the restored server: deleted there, its tombstone purged.
    expect(givesDeletionBack(mark, { read: false, updatedAt: before })).toBe(false);
  });

  it('without a time of the server’s state, by what is known of the backup', () => {
    // A device keeps only its delete op: every deletion the re-read did not bring.
    expect(givesDeletionBack(mark, { read: false })).toBe(true);
    expect(givesDeletionBack({}, { read: true })).toBe(false);
    // A state kept with no time is the backup's when the backup's time is known.
    expect(givesDeletionBack(mark, { read: false, updatedAt: null })).toBe(false);
    expect(givesDeletionBack({}, { read: false, updatedAt: null })).toBe(true);
    expect(givesDeletionBack({}, { read: false, updatedAt: before })).toBe(true);
  });
});
