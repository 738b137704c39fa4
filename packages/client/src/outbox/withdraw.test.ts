// Which changes a withdrawal takes, and which it refuses, from the device's state alone; and the
// server's copy the device keeps beneath pending changes, which lets a withdrawal work offline.
import { describe, expect, it } from 'vitest';
import { isOutpostError } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { LocalState, afterApplied, heldServerCopy, viewOf } from '../local-state';
import type { LocalFile } from '../files/local-file-store';
import type { LocalRecord, OutboxEntry } from '../stores/local-store';
import { assertWithdrawable, isWithdrawable, planWithdrawal, shownAgain } from './withdraw';

let nextSeq = 0;
function op(
  collection: string,
  type: OutboxEntry['type'],
  id: string,
  data?: Record<string, unknown>,
  extra: Partial<OutboxEntry> = {},
): OutboxEntry {
  nextSeq += 1;
  return {
    seq: nextSeq,
    opId: `op-${nextSeq}`,
    collection,
    type,
    id,
    ...(data ? { data } : {}),
    hlc: `0000000000000${String(nextSeq).padStart(2, '0')}-000000-dev`,
    status: 'pending',
    attempts: 0,
    createdAt: '2026-11-22T08:00:00.000Z',
    ...extra,
  };
}

function record(collection: string, id: string, data: Record<string, unknown>, version: number): LocalRecord {
  return { collection, id, data, deleted: false, version, hlc: 'h', updatedAt: '2026-11-22T07:00:00.000Z' };
}

function stateOf(outbox: OutboxEntry[], records: LocalRecord[] = []): LocalState {
  return new LocalState({ records, outbox, conflicts: [], meta: {} });
}

const seqs = (ops: readonly OutboxEntry[]) => ops.map((o) => o.seq);

/** The error's reason, as a UI reads it. */
function refusal(run: () => void): unknown {
  try {
    run();
  } catch (err) {
    if (isOutpostError(err)) return (err.details as { reason: string }).reason;
    throw err;
  }
  return null;
}

describe('what a withdrawal takes', () => {
  it('takes an unsent update alone, and the later changes of its record with it, never the earlier ones', () => {
    const first = op('patients', 'update', 'p-1', { village: 'Ntcheu' }, { baseVersion: 2 });
    const second = op('patients', 'update', 'p-1', { phone: '0999' }, { baseVersion: 2 });
    const third = op('patients', 'delete', 'p-1', undefined, { baseVersion: 2 });
    const elsewhere = op('patients', 'update', 'p-2', { village: 'Dedza' }, { baseVersion: 1 });
    const state = stateOf([first, second, third, elsewhere], [record('patients', 'p-1', { name: 'A' }, 2)]);

    const last = planWithdrawal(fieldClinic, state, [third.seq]);
    expect([seqs(last.ops), seqs(last.dependents), last.blocked]).toEqual([[third.seq], [], []]);
    expect(() => assertWithdrawable(last)).not.toThrow();

    const plan = planWithdrawal(fieldClinic, state, [second.seq]);
    expect(seqs(plan.ops)).toEqual([second.seq, third.seq]);
    expect(seqs(plan.dependents)).toEqual([third.seq]);
    // Not named, the later change is refused by name: nothing goes that was not asked for.
    expect(refusal(() => assertWithdrawable(plan))).toBe('DEPENDENTS');
    expect(() => assertWithdrawable(plan)).toThrow(`delete of patients p-1 (change ${third.seq})`);
    expect(() => assertWithdrawable(planWithdrawal(fieldClinic, state, seqs(plan.ops)))).not.toThrow();
  });

  it('takes with a create of a record the server never had every change that names it, down the chain', () => {
    const patient = op('patients', 'create', 'p-new', { name: 'Grace Banda' });
    const edit = op('patients', 'update', 'p-new', { village: 'Chikwawa' });
    const visit = op('encounters', 'create', 'e-1', { patientId: 'p-new', diagnosis: 'Malaria' });
    const note = op('clinicalNotes', 'create', 'n-1', { encounterId: 'e-1', body: 'ORS' });
    const visitEdit = op('encounters', 'update', 'e-1', { notes: 'fever' });
    const moved = op('prescriptions', 'update', 'rx-1', { patientId: 'p-new' }, { baseVersion: 3 });
    const unrelated = op('encounters', 'create', 'e-2', { patientId: 'p-old' });
    // Refused by the server already: nothing sends it again, so it is no dependent.
    const refused = op(
      'encounters',
      'create',
      'e-3',
      { patientId: 'p-new' },
      {
        status: 'failed',
        rejected: true,
        attempts: 1,
        sent: true,
      },
    );
    const state = stateOf(
      [patient, edit, visit, note, visitEdit, moved, unrelated, refused],
      [
        record('patients', 'p-new', { name: 'Grace Banda', village: 'Chikwawa' }, 0),
        record('prescriptions', 'rx-1', { patientId: 'p-new', drug: 'x', dose: 'y' }, 3),
      ],
    );
    const plan = planWithdrawal(fieldClinic, state, [patient.seq]);
    expect(seqs(plan.ops)).toEqual([patient.seq, edit.seq, visit.seq, note.seq, visitEdit.seq, moved.seq]);
    expect(plan.blocked).toEqual([]);
    expect(refusal(() => assertWithdrawable(plan))).toBe('DEPENDENTS');

    // A record the server has (another device made one under the same id): it stays, and so do its referrers.
    const held = stateOf([patient, visit], [record('patients', 'p-new', { name: 'Grace Banda' }, 1)]);
    expect(seqs(planWithdrawal(fieldClinic, held, [patient.seq]).ops)).toEqual([patient.seq]);
  });

  it('refuses what may already be on the server, and what is not waiting, naming why', () => {
    const inFlight = op('patients', 'update', 'p-1', { village: 'A' }, { status: 'in-flight', sent: true });
    const lostAnswer = op('patients', 'update', 'p-2', { village: 'B' }, { sent: true, attempts: 1 });
    const gaveUp = op(
      'patients',
      'update',
      'p-3',
      { village: 'C' },
      { status: 'failed', sent: true, attempts: 8 },
    );
    const done = op('patients', 'update', 'p-4', { village: 'D' }, { status: 'done', sent: true });
    const refused = op(
      'patients',
      'update',
      'p-5',
      { village: 'E' },
      {
        status: 'failed',
        rejected: true,
        sent: true,
        attempts: 1,
      },
    );
    const held = op('patients', 'update', 'p-6', { village: 'F' }, { heldReason: 'a cycle' });
    const state = stateOf([inFlight, lostAnswer, gaveUp, done, refused, held]);

    expect([inFlight, lostAnswer, gaveUp, done, refused, held].map(isWithdrawable)).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    const reasonOf = (seq: number) => planWithdrawal(fieldClinic, state, [seq]).blocked.map((b) => b.reason);
    expect(reasonOf(inFlight.seq)).toEqual(['in-flight']);
    expect(reasonOf(lostAnswer.seq)).toEqual(['sent']);
    expect(reasonOf(gaveUp.seq)).toEqual(['sent']);
    expect(reasonOf(done.seq)).toEqual(['answered']);
    expect(reasonOf(refused.seq)).toEqual(['answered']);
    expect(reasonOf(held.seq)).toEqual([]);
    expect(reasonOf(999)).toEqual(['unknown']);

    expect(refusal(() => assertWithdrawable(planWithdrawal(fieldClinic, state, [inFlight.seq])))).toBe(
      'IN_FLIGHT',
    );
    expect(refusal(() => assertWithdrawable(planWithdrawal(fieldClinic, state, [lostAnswer.seq])))).toBe(
      'SENT',
    );
    expect(refusal(() => assertWithdrawable(planWithdrawal(fieldClinic, state, [999])))).toBe('NOT_WAITING');
  });

  it('refuses a change whose dependent is being sent: that one cannot be taken back', () => {
    const create = op('patients', 'create', 'p-9', { name: 'Ruth' }, { heldReason: 'waiting' });
    const visit = op(
      'encounters',
      'create',
      'e-9',
      { patientId: 'p-9' },
      { status: 'in-flight', sent: true },
    );
    const plan = planWithdrawal(fieldClinic, stateOf([create, visit]), [create.seq]);
    expect(plan.blocked).toMatchObject([{ seq: visit.seq, reason: 'in-flight' }]);
    expect(refusal(() => assertWithdrawable(plan))).toBe('IN_FLIGHT');
  });
});

/** A file as `client.files.list()` shows it. */
function file(id: string, collection: string, recordId: string, extra: Partial<LocalFile> = {}): LocalFile {
  return {
    id,
    collection,
    recordId,
    name: `${id}.jpg`,
    contentType: 'image/jpeg',
    size: 2048,
    sha256: 'a'.repeat(64),
    chunkSize: 1024,
    chunkCount: 2,
    createdAt: '2026-11-22T08:00:00.000Z',
    origin: 'device',
    state: 'waiting',
    chunksUploaded: 0,
    held: true,
    attempts: 0,
    ...extra,
  };
}

describe('the files a withdrawal takes', () => {
  it('takes the files of every record whose create goes, the records the server never had, and no other', () => {
    const patient = op('patients', 'create', 'p-new', { name: 'Grace Banda' });
    const visit = op('encounters', 'create', 'e-new', { patientId: 'p-new', diagnosis: 'Malaria' });
    const kept = op('patients', 'update', 'p-old', { village: 'Nsanje' }, { baseVersion: 2 });
    const state = stateOf(
      [patient, visit, kept],
      [
        record('patients', 'p-new', { name: 'Grace Banda' }, 0),
        record('encounters', 'e-new', { patientId: 'p-new' }, 0),
        record('patients', 'p-old', { name: 'Old', village: 'Nsanje' }, 2),
      ],
    );
    const photo = file('f-photo', 'patients', 'p-new');
    const halfSent = file('f-half', 'patients', 'p-new', { chunksUploaded: 1, attempts: 1 });
    const wound = file('f-wound', 'encounters', 'e-new', { state: 'synced', chunksUploaded: 2 });
    const oldPhoto = file('f-old', 'patients', 'p-old');
    // Another collection, same id: another record.
    const elsewhere = file('f-else', 'encounters', 'p-new');
    // Listed from the server (another device's): the device never attached it, and leaves it.
    const colleagues = file('f-server', 'patients', 'p-new', { origin: 'server', state: 'synced' });
    const files = [photo, halfSent, wound, oldPhoto, elsewhere, colleagues];

    const plan = planWithdrawal(fieldClinic, state, [patient.seq], files);
    expect(seqs(plan.ops)).toEqual([patient.seq, visit.seq]);
    expect(plan.files.map((f) => f.id)).toEqual(['f-photo', 'f-half', 'f-wound']);
    // Files never need naming: a withdrawal asked with the ops alone goes ahead.
    expect(() => assertWithdrawable(planWithdrawal(fieldClinic, state, seqs(plan.ops), files))).not.toThrow();
    // The visit alone takes its own file, not its patient's.
    expect(planWithdrawal(fieldClinic, state, [visit.seq], files).files).toEqual([wound]);
    // An update of a record the server has leaves the record's files alone.
    expect(planWithdrawal(fieldClinic, state, [kept.seq], files).files).toEqual([]);
    // Without the device's files, the plan names none.
    expect(planWithdrawal(fieldClinic, state, [patient.seq]).files).toEqual([]);
  });

  it('takes the files of a record under a temp id, and none of a create the server has a record for', () => {
    const owner = op('users', 'create', 'temp_1_abc_users', { name: 'Farmer Banda' });
    const mine = op('patients', 'create', 'p-1', { name: 'Same id' });
    const state = stateOf(
      [owner, mine],
      [
        record('users', 'temp_1_abc_users', { name: 'Farmer Banda' }, 0),
        // Another device made a record under the same id and this device pulled it.
        record('patients', 'p-1', { name: 'Same id' }, 1),
      ],
    );
    const herd = file('f-herd', 'users', 'temp_1_abc_users');
    const kept = file('f-kept', 'patients', 'p-1');
    expect(planWithdrawal(fieldClinic, state, [owner.seq], [herd, kept]).files).toEqual([herd]);
    expect(planWithdrawal(fieldClinic, state, [mine.seq], [herd, kept]).files).toEqual([]);
  });

  it('leaves out the files of a record whose create cannot be withdrawn', () => {
    const sent = op('patients', 'create', 'p-sent', { name: 'A' }, { sent: true, attempts: 1 });
    const state = stateOf([sent], [record('patients', 'p-sent', { name: 'A' }, 0)]);
    const plan = planWithdrawal(fieldClinic, state, [sent.seq], [file('f-1', 'patients', 'p-sent')]);
    expect(plan.blocked).toMatchObject([{ reason: 'sent' }]);
    expect(plan.files).toEqual([]);
  });
});

describe('a refused change whose field a withdrawn change had set again', () => {
  it('shows the field again when the first change that set it again goes, and not when that one stays', () => {
    const refused = op(
      'encounters',
      'update',
      'e-1',
      { diagnosis: 'Malaria', notes: 'x', vitals: { t: 39 } },
      {
        status: 'failed',
        rejected: true,
        sent: true,
        attempts: 1,
        // notes: set again by an op that stays; vitals: marked by an older version, which did not say by which.
        superseded: ['notes', 'diagnosis', 'vitals'],
        supersededBy: { notes: 101, diagnosis: 102 },
      },
    );
    const stays = { ...op('encounters', 'update', 'e-1', { notes: 'y' }), seq: 101 };
    const withdrawn = { ...op('encounters', 'update', 'e-1', { diagnosis: 'Typhoid' }), seq: 102 };
    const later = { ...op('encounters', 'update', 'e-1', { notes: 'z' }), seq: 103 };
    const ops = [refused, stays, withdrawn, later];

    const [again] = shownAgain(ops, new Set([102, 103]));
    expect(again).toMatchObject({
      seq: refused.seq,
      superseded: ['notes', 'vitals'],
      supersededBy: { notes: 101 },
    });
    expect(again?.data).toEqual(refused.data);
    // The whole run withdrawn: every field it had set again shows again; the older mark stays.
    const [all] = shownAgain(ops, new Set([101, 102, 103]));
    expect(all?.superseded).toEqual(['vitals']);
    expect(all?.supersededBy).toBeUndefined();
    // Nothing of it withdrawn: nothing changes.
    expect(shownAgain(ops, new Set([103]))).toEqual([]);
    const onServer = {
      data: { patientId: 'p', diagnosis: 'Fever' },
      deleted: false,
      version: 3,
      hlc: 'server-hlc',
      updatedAt: '2026-11-21T00:00:00.000Z',
    };
    const view = viewOf('encounters', 'e-1', onServer, [again as OutboxEntry, stays]);
    expect(view?.data).toEqual({ patientId: 'p', diagnosis: 'Malaria', notes: 'y' });
  });
});

describe("the server's copy kept beneath pending changes", () => {
  const server = {
    data: { name: 'Amina', village: 'Ntcheu' },
    deleted: false,
    version: 4,
    hlc: 'server-hlc',
    updatedAt: '2026-11-21T00:00:00.000Z',
  };

  it('is kept by a view with changes on top, and dropped by one without', () => {
    const edit = op('patients', 'update', 'p-1', { village: 'Dedza' }, { baseVersion: 4 });
    const view = viewOf('patients', 'p-1', server, [edit]);
    expect(view?.data).toEqual({ name: 'Amina', village: 'Dedza' });
    expect(view?.server).toEqual(server);
    expect(heldServerCopy(view as LocalRecord)).toEqual(server);
    // A record given as the server state brings no copy of its own along.
    expect(viewOf('patients', 'p-1', { ...server, server } as never, [edit])?.server).toEqual(server);
    expect(viewOf('patients', 'p-1', server, [])?.server).toBeUndefined();
    // Never had by the server: no copy, and none needed.
    const created = viewOf('patients', 'p-2', null, [op('patients', 'create', 'p-2', { name: 'B' })]);
    expect(created?.server).toBeUndefined();
    expect(heldServerCopy(created as LocalRecord)).toBeNull();
    // A copy of another version than the one shown is not trusted: it must be read.
    expect(heldServerCopy({ ...(view as LocalRecord), version: 5 })).toBeUndefined();
  });

  it("moves with the device's own changes as the server applies them", () => {
    const first = op('patients', 'update', 'p-1', { village: 'Dedza' }, { baseVersion: 4 });
    const second = op('patients', 'update', 'p-1', { phone: '0999' }, { baseVersion: 4 });
    const view = viewOf('patients', 'p-1', server, [first, second]) as LocalRecord;
    const applied = afterApplied(view, first, 5, [second]);
    expect(applied.version).toBe(5);
    expect(applied.data).toEqual(view.data);
    expect(applied.server).toMatchObject({ data: { name: 'Amina', village: 'Dedza' }, version: 5 });
    // The last change confirmed: the record is the server's state, with no copy.
    expect(afterApplied(applied, second, 6, []).server).toBeUndefined();
    // A create confirmed under changes made after it: the copy is what the create carried.
    const create = op('patients', 'create', 'p-3', { name: 'C' });
    const later = op('patients', 'update', 'p-3', { village: 'V' });
    const fresh = viewOf('patients', 'p-3', null, [create, later]) as LocalRecord;
    expect(afterApplied(fresh, create, 1, [later]).server).toMatchObject({ data: { name: 'C' }, version: 1 });
    // A copy not known before stays unknown.
    const { server: _copy, ...unknown } = view;
    expect(afterApplied(unknown, first, 5, [second]).server).toBeUndefined();
  });
});
