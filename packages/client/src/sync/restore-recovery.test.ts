import { describe, expect, it } from 'vitest';
import type { Change } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { LocalState } from '../local-state';
import type { LocalRecord, OutboxEntry } from '../stores/local-store';
import { createAgain, deleteAgain, recoverable, resendNewer, restoreMarkOf } from './restore-recovery';

const now = Date.parse('2026-06-03T09:00:00.000Z');
// The backup was taken on the evening of June 1.
const mark = { backupTakenAt: '2026-06-01T18:00:00.000Z' };

function held(fields: Partial<LocalRecord> = {}): LocalRecord {
  return {
    collection: 'patients',
    id: 'p1',
    data: { name: 'Amina', village: 'Mzuzu' },
    deleted: false,
    version: 3,
    hlc: '2026-06-02T10:00:00.000Z-0000-tablet',
    updatedAt: '2026-06-02T10:00:01.000Z',
    ...fields,
  };
}

function change(fields: Partial<Change> = {}): Change {
  return {
    collection: 'patients',
    id: 'p1',
    version: 2,
    deleted: false,
    data: { name: 'Amina' },
    hlc: '2026-06-01T08:00:00.000Z-0000-office',
    updatedAt: '2026-06-01T08:00:01.000Z',
    ...fields,
  };
}

function state(outbox: OutboxEntry[] = []): LocalState {
  return new LocalState({ records: [], outbox, conflicts: [], meta: { 'outbox.lastSeq': 41 } });
}

describe('what a device gives back to a restored server', () => {
  it('reads the restore from the refusal’s details only', () => {
    expect(restoreMarkOf({ reason: 'restored', backupTakenAt: mark.backupTakenAt })).toEqual(mark);
    expect(restoreMarkOf({ reason: 'restored' })).toEqual({});
    expect(restoreMarkOf({ reason: 'restored', backupTakenAt: 'yesterday' })).toEqual({});
    expect(restoreMarkOf({ collections: ['visits'] })).toBeNull();
    expect(restoreMarkOf(undefined)).toBeNull();
  });

  it('gives back only records whose ids the devices make', () => {
    expect(recoverable(fieldClinic, 'patients')).toBe(true);
    expect(recoverable(vetPractice, 'invoices')).toBe(false);
    expect(recoverable(fieldClinic, 'no-such-collection')).toBe(false);
  });

  it('sends the fields a state written after the backup has beyond the server’s, against its version', () => {
    const s = state();
    const op = resendNewer(s, now, mark, held(), change());
    expect(op).toMatchObject({
      seq: 42,
      type: 'update',
      id: 'p1',
      data: { village: 'Mzuzu' },
      baseVersion: 2,
      // The time the change was made, not now: the server weighs it by that.
      hlc: held().hlc,
      status: 'pending',
    });
    // An emptied field goes as null.
    const emptied = resendNewer(
      s,
      now,
      mark,
      held({ data: { name: 'Amina' } }),
      change({ data: { name: 'Amina', phone: '1' } }),
    );
    expect(emptied?.data).toEqual({ phone: null });
    // Not when the server's state came after the device's: the restored clinic may have filled it.
    const filled = change({ data: { name: 'Amina', phone: '1' }, updatedAt: '2026-06-03T08:00:00.000Z' });
    expect(resendNewer(s, now, mark, held({ data: { name: 'Amina' } }), filled)).toBeNull();
  });

  it('sends against the version before a change made on the restored server since, so the rule weighs both', () => {
    const later = change({
      version: 3,
      updatedAt: '2026-06-03T08:00:00.000Z',
      data: { name: 'Amina', phone: '1' },
    });
    expect(resendNewer(state(), now, mark, held(), later)).toMatchObject({
      data: { village: 'Mzuzu' },
      baseVersion: 2,
    });
  });

  it('sends nothing the backup had, nothing equal, and never over a deletion', () => {
    const beforeBackup = held({ updatedAt: '2026-05-30T10:00:00.000Z' });
    expect(resendNewer(state(), now, mark, beforeBackup, change())).toBeNull();
    expect(resendNewer(state(), now, mark, held(), change({ data: held().data }))).toBeNull();
    expect(resendNewer(state(), now, mark, held(), change({ deleted: true, data: null }))).toBeNull();
  });

  it('takes a minute before the backup as after it: a push stamps its time before it commits', () => {
    const justBefore = held({ updatedAt: '2026-06-01T17:59:30.000Z' });
    expect(resendNewer(state(), now, mark, justBefore, change())).not.toBeNull();
  });

  it('without the backup’s time, gives back a state the server’s is older than, never one over a newer', () => {
    expect(resendNewer(state(), now, {}, held(), change())).toMatchObject({ baseVersion: 2 });
    const newer = change({ updatedAt: '2026-06-03T08:00:00.000Z' });
    expect(resendNewer(state(), now, {}, held(), newer)).toBeNull();
  });

  it('creates again a record written after the backup that the server has no trace of', () => {
    expect(createAgain(state(), now, mark, held())).toMatchObject({
      type: 'create',
      data: { name: 'Amina', village: 'Mzuzu' },
      hlc: held().hlc,
    });
    expect(createAgain(state(), now, mark, held())?.baseVersion).toBeUndefined();
    // In the backup, so its tombstone was purged since: it goes.
    expect(createAgain(state(), now, mark, held({ updatedAt: '2026-05-01T00:00:00.000Z' }))).toBeNull();
    // Never on the server, or deleted here: nothing to give back.
    expect(createAgain(state(), now, mark, held({ version: 0 }))).toBeNull();
    expect(createAgain(state(), now, mark, held({ deleted: true }))).toBeNull();
  });

  it('deletes again what the device deleted, while its outbox keeps the delete', () => {
    const done: OutboxEntry = {
      seq: 7,
      opId: 'op-7',
      collection: 'patients',
      type: 'delete',
      id: 'p1',
      baseVersion: 2,
      hlc: '2026-06-02T11:00:00.000Z-0000-tablet',
      status: 'done',
      attempts: 1,
      createdAt: '2026-06-02T11:00:00.000Z',
      completedAt: '2026-06-02T11:00:02.000Z',
    };
    const s = state([done]);
    const op = deleteAgain(s, now, mark, change());
    expect(op).toMatchObject({ type: 'delete', id: 'p1', baseVersion: 2, hlc: done.hlc });
    expect(op?.opId).not.toBe(done.opId);
    // Changed on the restored server since: the rule weighs the delete against it.
    const later = change({ version: 3, updatedAt: '2026-06-03T08:00:00.000Z' });
    expect(deleteAgain(s, now, mark, later)?.baseVersion).toBe(2);
    expect(deleteAgain(state(), now, mark, change())).toBeNull();
    expect(deleteAgain(s, now, mark, change({ deleted: true, data: null }))).toBeNull();
  });
});
