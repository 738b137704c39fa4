import { describe, expect, it } from 'vitest';
import { isTempId } from '@outpost/core';
import type { Change } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { LocalState } from '../local-state';
import type { LocalConflict, LocalRecord, OutboxEntry } from '../stores/local-store';
import { coalesceOutbox } from '../outbox/coalesce';
import { keptDeletionsKey } from '../outbox/kept-deletions';
import {
  createAgain,
  deleteAgain,
  deletionsGivenBack,
  foldIntoCreate,
  foldIntoUpdate,
  raiseAgain,
  recoverable,
  recoverableRecord,
  renumberLost,
  resendNewer,
  restoreMarkOf,
} from './restore-recovery';

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

  it('sends with no base version, at the held HLC, over a change made on the restored server since, so the rule weighs both', () => {
    const later = change({
      version: 3,
      updatedAt: '2026-06-03T08:00:00.000Z',
      data: { name: 'Amina', phone: '1' },
    });
    // A record keeping no field times (every field at its `updatedAt`) is weighed so too: the
    // version before the server's would show the restored clinic's last change only.
    const given = resendNewer(state(), now, mark, held(), later);
    expect(given).toMatchObject({ data: { village: 'Mzuzu' }, hlc: held().hlc });
    expect(given?.baseVersion).toBeUndefined();
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

  it('deletes again, and gives back, a deletion kept once its op has left the outbox (keepDeletionsMs)', () => {
    const kept = {
      collection: 'patients',
      id: 'p1',
      hlc: '2026-06-02T11:00:00.000Z-0000-tablet',
      completedAt: '2026-06-02T11:00:02.000Z',
    };
    const s = new LocalState({
      records: [],
      outbox: [],
      conflicts: [],
      meta: { 'outbox.lastSeq': 41, [keptDeletionsKey]: [kept] },
    });
    expect(deleteAgain(s, now, mark, change())).toMatchObject({
      type: 'delete',
      id: 'p1',
      baseVersion: 2,
      hlc: kept.hlc,
    });
    const given = deletionsGivenBack(fieldClinic, s, now, mark, () => false);
    expect(given.map((o) => [o.collection, o.id, o.givenBack, o.hlc])).toEqual([
      ['patients', 'p1', true, kept.hlc],
    ]);
    // Read alive since (a change won over the deletion): nothing given back.
    const alive = new LocalState({
      records: [held()],
      outbox: [],
      conflicts: [],
      meta: { [keptDeletionsKey]: [kept] },
    });
    expect(deletionsGivenBack(fieldClinic, alive, now, mark, () => false)).toEqual([]);
  });

  describe('a deletion of a record the re-read brought no trace of', () => {
    const deletion = (fields: Partial<OutboxEntry> = {}): OutboxEntry => ({
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
      ...fields,
    });
    const nothingRead = () => false;

    it('gives back an acknowledged deletion, marked so, at its time and on no base', () => {
      const s = state([deletion(), deletion({ seq: 8, opId: 'op-8', collection: 'encounters', id: 'e1' })]);
      const given = deletionsGivenBack(fieldClinic, s, now, mark, nothingRead);
      expect(given.map((o) => [o.collection, o.id, o.type, o.givenBack, o.hlc, o.status])).toEqual([
        ['patients', 'p1', 'delete', true, deletion().hlc, 'pending'],
        ['encounters', 'e1', 'delete', true, deletion().hlc, 'pending'],
      ]);
      expect(given[0]?.baseVersion).toBeUndefined();
      expect(given[0]?.opId).not.toBe('op-7');
    });

    it('gives back nothing the re-read brought, alive or deleted, nor what the device holds or still sends', () => {
      const s = state([deletion()]);
      expect(
        deletionsGivenBack(fieldClinic, s, now, mark, (c, id) => c === 'patients' && id === 'p1'),
      ).toEqual([]);
      const holding = new LocalState({
        records: [held()],
        outbox: [deletion()],
        conflicts: [],
        meta: { 'outbox.lastSeq': 41 },
      });
      expect(deletionsGivenBack(fieldClinic, holding, now, mark, nothingRead)).toEqual([]);
      const waiting = state([
        deletion(),
        deletion({ seq: 8, opId: 'op-8', type: 'update', status: 'pending' }),
      ]);
      expect(deletionsGivenBack(fieldClinic, waiting, now, mark, nothingRead)).toEqual([]);
      // Refused, or not a delete: nothing.
      expect(
        deletionsGivenBack(
          fieldClinic,
          state([deletion({ status: 'failed', rejected: true })]),
          now,
          mark,
          nothingRead,
        ),
      ).toEqual([]);
      // Numbered by the server: renumberLost's, by the number the lost database gave.
      const numbered = state([deletion({ collection: 'appointments', id: '4' })]);
      expect(deletionsGivenBack(vetPractice, numbered, now, mark, nothingRead)).toEqual([]);
    });

    it('gives back a deletion still to send instead of dropping it, when the record goes', () => {
      const s = new LocalState({
        records: [
          held({
            deleted: true,
            server: {
              data: { name: 'Amina' },
              deleted: false,
              version: 3,
              hlc: held().hlc,
              updatedAt: held().updatedAt,
            },
          }),
        ],
        outbox: [deletion({ status: 'pending', attempts: 0 })],
        conflicts: [],
        meta: { 'outbox.lastSeq': 41 },
      });
      const folded = foldIntoCreate(s, now, mark, s.record('patients', 'p1') as LocalRecord);
      expect(folded?.ops).toEqual([7]);
      expect(folded?.put).toMatchObject({ type: 'delete', id: 'p1', givenBack: true, hlc: deletion().hlc });
    });
  });

  describe('a record with changes still to send when the re-read brings it (foldIntoUpdate)', () => {
    // Acknowledged by the lost database after the backup (version 3): Amina's village. Then her
    // phone, not sent: the push waited for the re-read.
    const copy = {
      data: { name: 'Amina', village: 'Mzuzu' },
      deleted: false,
      version: 3,
      hlc: '2026-06-02T10:00:00.000Z-0000-tablet',
      updatedAt: '2026-06-02T10:00:01.000Z',
    };
    const waiting = (fields: Partial<OutboxEntry> = {}): OutboxEntry => ({
      seq: 7,
      opId: 'op-7',
      collection: 'patients',
      type: 'update',
      id: 'p1',
      hlc: '2026-06-02T12:00:00.000Z-0000-tablet',
      data: { phone: '2' },
      baseVersion: 3,
      status: 'pending',
      attempts: 0,
      createdAt: '2026-06-02T12:00:00.000Z',
      ...fields,
    });
    const shown = (fields: Partial<LocalRecord> = {}): LocalRecord =>
      held({
        data: { name: 'Amina', village: 'Mzuzu', phone: '2' },
        hlc: waiting().hlc,
        updatedAt: waiting().createdAt,
        server: copy,
        ...fields,
      });

    it('gives back what the copy beneath held beyond the restored state, then the waiting change, with no base', () => {
      const s = state([waiting()]);
      expect(foldIntoUpdate(s, now, mark, shown(), change())).toEqual({
        ops: [7],
        gave: true,
        put: [
          // The restored state (the backup's) was written before the copy: on its version, at the
          // copy's HLC, as resendNewer gives back a record with nothing waiting.
          expect.objectContaining({
            type: 'update',
            data: { village: 'Mzuzu' },
            baseVersion: 2,
            hlc: copy.hlc,
          }),
          // The waiting change after it, weighed by when it was made: its base was the lost database's.
          expect.objectContaining({ type: 'update', data: { phone: '2' }, hlc: waiting().hlc }),
        ] as unknown,
      });
      expect(
        foldIntoUpdate(state([waiting()]), now, mark, shown(), change())?.put[1]?.baseVersion,
      ).toBeUndefined();
      // Changed on the restored server since: the copy's fields weighed by the copy's HLC.
      const later = change({
        version: 3,
        updatedAt: '2026-06-03T08:00:00.000Z',
        data: { name: 'Amina', phone: '9' },
      });
      const put = foldIntoUpdate(state([waiting()]), now, mark, shown(), later)?.put;
      expect(put).toMatchObject([
        { data: { village: 'Mzuzu' }, hlc: copy.hlc },
        { data: { phone: '2' }, hlc: waiting().hlc },
      ]);
      expect(put?.map((o) => o.baseVersion)).toEqual([undefined, undefined]);
    });

    it('keeps the copy’s fields apart from the waiting change, each weighed at its own HLC', () => {
      // A colleague's tablet gave the record back first: version 1 on the restored server, later.
      const givenBack = change({
        version: 1,
        updatedAt: '2026-06-03T08:00:00.000Z',
        data: { name: 'Amina' },
      });
      const put = foldIntoUpdate(state([waiting()]), now, mark, shown(), givenBack)?.put ?? [];
      expect(put).toMatchObject([{ data: { village: 'Mzuzu' } }, { data: { phone: '2' } }]);
      // Folded, the copy's village would be weighed at the waiting change's later HLC.
      expect(coalesceOutbox(put)).toEqual({ put: [], remove: [] });
    });

    it('sends only the waiting change over a copy the backup had, never the copy’s older fields', () => {
      const backedUp = {
        ...copy,
        data: { name: 'Amina', notes: 'old' },
        updatedAt: '2026-05-30T10:00:00.000Z',
      };
      const later = change({
        version: 4,
        updatedAt: '2026-06-03T08:00:00.000Z',
        data: { name: 'Amina', notes: 'new' },
      });
      const local = shown({ data: { name: 'Amina', notes: 'old', phone: '2' }, server: backedUp });
      const folded = foldIntoUpdate(state([waiting()]), now, mark, local, later);
      expect(folded).toMatchObject({ ops: [7], gave: false, put: [{ data: { phone: '2' } }] });
      expect(folded?.put).toHaveLength(1);
    });

    it('gives back a waiting deletion as a delete, and nothing when the restored state already shows it all', () => {
      const del = waiting({ type: 'delete', data: undefined });
      const deleted = foldIntoUpdate(state([del]), now, mark, shown({ deleted: true }), change());
      expect(deleted).toMatchObject({ ops: [7], gave: false, put: [{ type: 'delete', hlc: waiting().hlc }] });
      expect(deleted?.put[0]?.baseVersion).toBeUndefined();
      const same = change({ data: { name: 'Amina', village: 'Mzuzu', phone: '2' } });
      expect(foldIntoUpdate(state([waiting()]), now, mark, shown(), same)).toEqual({
        ops: [7],
        put: [],
        gave: false,
      });
    });

    it('leaves the changes as they are over a refusal, a conflict, a rule of their own, a tombstone or no copy', () => {
      const refused = waiting({ status: 'failed', rejected: true });
      expect(foldIntoUpdate(state([refused]), now, mark, shown(), change())).toBeNull();
      const inConflict = waiting({ status: 'conflict' });
      expect(
        foldIntoUpdate(state([waiting({ seq: 8, opId: 'op-8' }), inConflict]), now, mark, shown(), change()),
      ).toBeNull();
      expect(
        foldIntoUpdate(state([waiting({ strategy: 'client-wins' })]), now, mark, shown(), change()),
      ).toBeNull();
      expect(
        foldIntoUpdate(state([waiting()]), now, mark, shown(), change({ deleted: true, data: null })),
      ).toBeNull();
      const { server: _server, ...noCopy } = shown();
      expect(foldIntoUpdate(state([waiting()]), now, mark, noCopy, change())).toBeNull();
    });
  });
});

describe('a conflict waiting for a person that the restored server does not have (raiseAgain)', () => {
  // The nurse changed Amina's phone after the backup; the office had changed it too, and the lost
  // database kept the office's and raised a conflict for a person. The tablet shows the office's
  // phone, and holds its own change in conflict.
  const nurseHlc = '2026-06-02T12:00:00.000Z-0000-tablet';
  const inConflict = (fields: Partial<OutboxEntry> = {}): OutboxEntry => ({
    seq: 7,
    opId: 'op-7',
    collection: 'patients',
    type: 'update',
    id: 'p1',
    hlc: nurseHlc,
    data: { phone: '+265 99 000 1111' },
    baseVersion: 3,
    status: 'conflict',
    sent: true,
    attempts: 0,
    createdAt: '2026-06-02T12:00:00.000Z',
    ...fields,
  });
  const conflict = (fields: Partial<LocalConflict> = {}): LocalConflict => ({
    id: 'c1',
    opId: 'op-7',
    opType: 'update',
    collection: 'patients',
    recordId: 'p1',
    summary: { kind: 'version', fields: ['phone'], strategy: 'merge', outcome: 'open' },
    detectedAt: '2026-06-02T12:00:01.000Z',
    ...fields,
  });
  const officeSide = held({ data: { name: 'Amina', phone: '+265 1 555' }, version: 4 });
  // What the re-read queued first: the office's phone given back, on the restored version 1.
  const givenBack: OutboxEntry = {
    seq: 8,
    opId: 'op-8',
    collection: 'patients',
    type: 'update',
    id: 'p1',
    data: { phone: '+265 1 555' },
    hlc: officeSide.hlc,
    status: 'pending',
    attempts: 0,
    createdAt: new Date(now).toISOString(),
  };
  const restoredState = (outbox: OutboxEntry[], records: LocalRecord[], conflicts: LocalConflict[]) =>
    new LocalState({ records, outbox, conflicts, meta: { 'outbox.lastSeq': 8 } });
  const shownOverRestored = {
    ...officeSide,
    version: 1,
    server: {
      data: { name: 'Amina' },
      deleted: false,
      version: 1,
      hlc: officeSide.hlc,
      updatedAt: '2026-05-30T10:00:00.000Z',
    },
  };

  it('sends the device’s side again as a new op after the give-back, at its HLC and on base 0, and retires the old conflict', () => {
    const s = restoredState([inConflict(), givenBack], [shownOverRestored], [conflict()]);
    const { batch, count } = raiseAgain(fieldClinic, s, now, mark, [conflict()]);
    expect(count).toBe(1);
    expect(batch.putOps).toEqual([
      expect.objectContaining({
        seq: 9,
        type: 'update',
        id: 'p1',
        data: { phone: '+265 99 000 1111' },
        // Every field the server holds otherwise is in dispute: the conflict is raised afresh.
        baseVersion: 0,
        hlc: nurseHlc,
        status: 'pending',
        attempts: 0,
      }),
    ]);
    expect(batch.putOps[0]?.opId).not.toBe('op-7');
    expect(batch.putOps[0]?.sent).toBeUndefined();
    // The old op and conflict go: the new conflict comes with the push's answer.
    expect(batch.deleteOps).toEqual([7]);
    expect(batch.deleteConflicts).toEqual(['c1']);
    // The record shows the nurse's phone waiting, over the restored state and the give-back.
    expect(batch.putRecords).toEqual([
      expect.objectContaining({ id: 'p1', version: 1, data: { name: 'Amina', phone: '+265 99 000 1111' } }),
    ]);
    // Never folded into the give-back before it, which goes on a base of 0 as none.
    const { put, remove } = coalesceOutbox([givenBack, ...batch.putOps]);
    expect(put).toEqual([]);
    expect(remove).toEqual([]);
  });

  it('sends a delete on base 0 and a create as a create, and shows a record with nothing waiting as held', () => {
    const del = inConflict({ type: 'delete', data: undefined });
    const deleted = raiseAgain(fieldClinic, restoredState([del], [officeSide], [conflict()]), now, mark, [
      conflict({ opType: 'delete' }),
    ]);
    expect(deleted.batch.putOps).toEqual([
      expect.objectContaining({ type: 'delete', baseVersion: 0, hlc: nurseHlc }),
    ]);
    expect(deleted.batch.putOps[0]?.data).toBeUndefined();
    expect(deleted.batch.putRecords).toEqual([
      expect.objectContaining({ id: 'p1', deleted: true, version: 4 }),
    ]);

    const create = inConflict({ type: 'create', data: { name: 'Amina K.' }, baseVersion: undefined });
    const created = raiseAgain(fieldClinic, restoredState([create], [officeSide], [conflict()]), now, mark, [
      conflict({ opType: 'create' }),
    ]);
    expect(created.batch.putOps).toEqual([
      expect.objectContaining({ type: 'create', data: { name: 'Amina K.' }, hlc: nurseHlc }),
    ]);
    expect(created.batch.putOps[0]?.baseVersion).toBeUndefined();
  });

  it('only retires a conflict whose change it does not hold, and one on a number it cannot trust', () => {
    // Raised by another device (an administrator's copy of the archive): that device gives it back.
    const elsewhere = conflict({ opId: 'op-of-another-tablet' });
    const s = restoredState([inConflict()], [officeSide], [elsewhere]);
    expect(raiseAgain(fieldClinic, s, now, mark, [elsewhere])).toEqual({
      batch: { putOps: [], deleteOps: [], putRecords: [], deleteConflicts: ['c1'] },
      count: 0,
    });
    // A server-numbered appointment, the backup's numbers not known: re-read as before.
    const appointment = { collection: 'appointments', id: '7' };
    const numbered = restoredState(
      [inConflict({ ...appointment, data: { title: 'Vaccines' } })],
      [held({ ...appointment, data: { title: 'Check-up' } })],
      [],
    );
    const retired = raiseAgain(vetPractice, numbered, now, mark, [
      conflict({ collection: 'appointments', recordId: '7' }),
    ]);
    expect(retired.batch).toMatchObject({ putOps: [], deleteOps: [7], deleteConflicts: ['c1'] });
    // Known to be the backup's number: the same record, raised again.
    const numbers = { ...mark, lastIds: { appointments: '9' } };
    const again = raiseAgain(vetPractice, numbered, now, numbers, [
      conflict({ collection: 'appointments', recordId: '7' }),
    ]);
    expect(again.batch.putOps).toEqual([expect.objectContaining({ id: '7', data: { title: 'Vaccines' } })]);
  });
});

describe('server-numbered records a restored server no longer has (decision 0051)', () => {
  // The backup had issued users up to 1, pets up to 1 and appointments up to 1, and no SOAP note.
  const numbers = { ...mark, lastIds: { users: '1', pets: '1', appointments: '1' } };
  const at = '2026-06-02T10:00:01.000Z';
  const hlc = '2026-06-02T10:00:00.000Z-0000-tablet';
  const rec = (
    collection: string,
    id: string,
    data: Record<string, unknown>,
    more: Partial<LocalRecord> = {},
  ) =>
    ({ collection, id, data, deleted: false, version: 1, hlc, updatedAt: at, ...more }) satisfies LocalRecord;
  const op = (seq: number, fields: Partial<OutboxEntry>): OutboxEntry => ({
    seq,
    opId: `op-${seq}`,
    collection: 'appointments',
    type: 'update',
    id: '1',
    hlc,
    status: 'pending',
    attempts: 0,
    createdAt: at,
    ...fields,
  });
  const tempAppointment = 'temp_1780000000000_a1b2c3_appointments';
  const tempPet = 'temp_1780000000000_d4e5f6_pets';
  const tempOfGone = 'temp_1780000000000_070809_appointments';
  const tempNote = 'temp_1780000000000_0a0b0c_soapNotes';

  function vetState(): LocalState {
    return new LocalState({
      records: [
        rec('users', '1', { name: 'Mr Banda' }),
        rec('pets', '1', { name: 'Rex', ownerId: '1' }),
        // Numbered after the backup.
        rec('pets', '2', { name: 'Tiny', ownerId: '1' }),
        // In the backup; moved to Tiny after it, the server's copy beneath a change not yet sent.
        rec(
          'appointments',
          '1',
          { date: '2026-06-04T09:00:00.000Z', petId: '2' },
          {
            server: {
              data: { date: '2026-06-04T09:00:00.000Z', petId: '2' },
              deleted: false,
              version: 1,
              hlc,
              updatedAt: at,
            },
          },
        ),
        rec('appointments', '2', { date: '2026-06-05T09:00:00.000Z', petId: '2', title: 'Vaccines' }),
        // Deleted on this device, its delete not sent yet.
        rec('appointments', '3', { date: '2026-06-06T09:00:00.000Z', petId: '1' }, { deleted: true }),
        rec('soapNotes', '1', { appointmentId: '2', subjective: 'Limping', plan: 'Rest' }),
        rec('soapNotes', tempNote, { appointmentId: '2', objective: 'Warm' }, { version: 0 }),
      ],
      outbox: [
        op(5, { type: 'delete', id: '4', status: 'done', completedAt: at }),
        op(6, { collection: 'soapNotes', id: '1', data: { plan: 'Rest' } }),
        op(7, { type: 'delete', id: '3', baseVersion: 1 }),
        op(8, {
          collection: 'soapNotes',
          type: 'create',
          id: tempNote,
          data: { appointmentId: '2', objective: 'Warm' },
        }),
        op(9, { id: '1', data: { title: 'Check-up' } }),
      ],
      conflicts: [
        {
          id: 'c1',
          opId: 'op-3',
          collection: 'appointments',
          recordId: '2',
          summary: { kind: 'version', fields: ['title'], strategy: 'manual', outcome: 'open' },
          detectedAt: at,
        },
      ],
      meta: { 'outbox.lastSeq': 9 },
    });
  }
  const mappings = { [tempAppointment]: '2', [tempPet]: '1', [tempOfGone]: '3' };

  it('gives each back as a new record under a temp id, and every reference to it names the temp id', () => {
    const s = vetState();
    const { batch, tempIds, count } = renumberLost(vetPractice, s, now, numbers, mappings);
    expect(count).toBe(5);
    const creates = batch.putOps.filter((o) => o.type === 'create' && o.seq > 9);
    expect(creates.map((o) => o.collection)).toEqual(['pets', 'appointments', 'soapNotes']);
    const [pet, appointment, note] = creates.map((o) => o.id) as [string, string, string];
    for (const id of [pet, appointment, note]) expect(isTempId(id)).toBe(true);
    // What the device shows, its unsent change included, references renamed; at the time it was made.
    expect(creates[1]).toMatchObject({
      data: { date: '2026-06-05T09:00:00.000Z', petId: pet, title: 'Vaccines' },
      hlc,
      status: 'pending',
    });
    expect(creates[2]?.data).toEqual({ appointmentId: appointment, subjective: 'Limping', plan: 'Rest' });
    // The records move to their temp ids, shown as never on the server; the old numbers go.
    expect(batch.deleteRecords).toEqual(
      expect.arrayContaining([
        { collection: 'pets', id: '2' },
        { collection: 'appointments', id: '2' },
        { collection: 'appointments', id: '3' },
        { collection: 'soapNotes', id: '1' },
      ]),
    );
    expect(batch.deleteRecords).toHaveLength(4);
    const put = new Map(batch.putRecords.map((r) => [`${r.collection}/${r.id}`, r]));
    expect(put.get(`appointments/${appointment}`)).toMatchObject({ version: 0, deleted: false });
    expect(put.get(`appointments/${appointment}`)?.server).toBeUndefined();
    // A record the backup had, moved to the lost pet since: it names the new one, its server copy too.
    expect(put.get('appointments/1')?.data.petId).toBe(pet);
    expect(put.get('appointments/1')?.server?.data?.petId).toBe(pet);
    expect(put.get(`soapNotes/${tempNote}`)?.data.appointmentId).toBe(appointment);
    // Records that name none of them are not written.
    expect(put.has('pets/1')).toBe(false);
    expect(put.has('users/1')).toBe(false);

    // Every op on an old number goes (the done delete of a record not held too); a change naming
    // one names the temp id; the others stay as they were.
    expect(batch.deleteOps.sort()).toEqual([5, 6, 7]);
    // The deletions of old numbers go back, acknowledged (4) or not (3), each naming the number
    // under a temp id of its own, at the time it was made.
    const deletions = batch.putOps.filter((o) => o.type === 'delete' && o.seq > 9);
    expect(deletions.map((o) => [o.collection, o.restoredFrom, o.hlc, o.status])).toEqual([
      ['appointments', '4', hlc, 'pending'],
      ['appointments', '3', hlc, 'pending'],
    ]);
    for (const d of deletions) {
      expect(isTempId(d.id)).toBe(true);
      expect(d.baseVersion).toBeUndefined();
    }
    expect(batch.putOps.find((o) => o.seq === 8)?.data).toEqual({
      appointmentId: appointment,
      objective: 'Warm',
    });
    expect(batch.putOps.find((o) => o.seq === 9)).toBeUndefined();
    expect(batch.putConflicts).toEqual([expect.objectContaining({ id: 'c1', recordId: appointment })]);
    // A screen holding the old temp id of a renamed record finds it; one of the deleted record, none.
    expect(tempIds).toEqual({ [tempAppointment]: appointment, [tempPet]: '1' });
  });

  it('gives back the kept deletions of old numbers under temp ids, and takes them off the list', () => {
    const s = vetState();
    const kept = (id: string) => ({ collection: 'appointments', id, hlc, completedAt: at });
    s.meta[keptDeletionsKey] = [kept('1'), kept('5')];
    const { batch } = renumberLost(vetPractice, s, now, numbers, mappings);
    // Number 5 was issued after the backup: its deletion goes back naming it, under a temp id.
    const given = batch.putOps.filter((o) => o.restoredFrom === '5');
    expect(given).toHaveLength(1);
    expect(given[0]).toMatchObject({ type: 'delete', collection: 'appointments', hlc });
    expect(isTempId(given[0]?.id ?? '')).toBe(true);
    // Number 1 the backup had: its deletion stays for deleteAgain; 5 leaves, or deleteAgain would
    // delete the restored server's other record under it.
    expect(batch.meta).toEqual({ [keptDeletionsKey]: [kept('1')] });
    expect(renumberLost(vetPractice, vetState(), now, numbers, mappings).batch.meta).toBeUndefined();
  });

  it('moves the change of a conflict held open with its record, for the end of the re-read to raise again', () => {
    const s = vetState();
    const inConflict = op(10, {
      id: '2',
      opId: 'op-3',
      status: 'conflict',
      sent: true,
      data: { petId: '2' },
    });
    const withConflictOp = new LocalState({
      records: [...s.records.values()],
      outbox: [...s.outbox.values(), inConflict],
      conflicts: [...s.conflicts.values()],
      meta: { 'outbox.lastSeq': 10 },
    });
    const { batch } = renumberLost(vetPractice, withConflictOp, now, numbers, mappings);
    const appointment = batch.putConflicts[0]?.recordId as string;
    expect(isTempId(appointment)).toBe(true);
    expect(batch.deleteOps).not.toContain(10);
    // Under the temp id, its reference renamed too, still in conflict: never sent again as it is.
    const pet = batch.putOps.find((o) => o.type === 'create' && o.collection === 'pets')?.id;
    expect(batch.putOps.find((o) => o.seq === 10)).toMatchObject({
      id: appointment,
      status: 'conflict',
      data: { petId: pet },
    });
  });

  it('leaves everything as it is when the server did not say the backup’s numbers', () => {
    const { batch, tempIds, count } = renumberLost(vetPractice, vetState(), now, mark, mappings);
    expect(count).toBe(0);
    expect(tempIds).toBeNull();
    expect(Object.values(batch).every((list) => list.length === 0)).toBe(true);
  });

  it('weighs a record against the restored server’s only where the number is the backup’s', () => {
    expect(recoverableRecord(vetPractice, numbers, 'appointments', '1')).toBe(true);
    expect(recoverableRecord(vetPractice, numbers, 'appointments', '2')).toBe(false);
    expect(recoverableRecord(vetPractice, mark, 'appointments', '1')).toBe(false);
    expect(recoverableRecord(fieldClinic, mark, 'patients', 'p1')).toBe(true);
  });
});
