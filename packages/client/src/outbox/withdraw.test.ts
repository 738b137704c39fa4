// Which changes a withdrawal takes, and which it refuses, from the device's state alone; and the
// server's copy the device keeps beneath pending changes, which lets a withdrawal work offline.
import { describe, expect, it } from 'vitest';
import { isOutpostError } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { LocalState, afterApplied, heldServerCopy, viewOf } from '../local-state';
import type { LocalRecord, OutboxEntry } from '../stores/local-store';
import { assertWithdrawable, isWithdrawable, planWithdrawal } from './withdraw';

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
