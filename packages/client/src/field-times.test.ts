import { describe, expect, it } from 'vitest';
import { ackedTimes, heldServerState, pulledTimes, timesByField } from './field-times';
import { afterApplied } from './local-state';
import type { LocalRecord, OutboxEntry } from './stores/local-store';

const t1 = '2026-06-01T09:00:00.000Z';
const t2 = '2026-06-02T09:00:00.000Z';
const t3 = '2026-06-03T09:00:00.000Z';

const amina: LocalRecord = {
  collection: 'patients',
  id: 'p-1',
  data: { name: 'Amina', phone: '+265 1 000' },
  deleted: false,
  version: 2,
  hlc: '001780000000000-000000-aaaaaaaaaaaa',
  updatedAt: t1,
};

function update(data: Record<string, unknown>, seq = 7): OutboxEntry {
  return {
    seq,
    opId: `op-${seq}`,
    collection: 'patients',
    type: 'update',
    id: 'p-1',
    data,
    baseVersion: 2,
    hlc: '001780000000001-000000-aaaaaaaaaaaa',
    status: 'in-flight',
    attempts: 1,
    createdAt: '2026-06-02T08:59:00.000Z',
  };
}

describe('the times of the fields of a pulled state', () => {
  it('keeps nothing for a record first seen: every field got its value at its updatedAt', () => {
    expect(pulledTimes(null, { data: { name: 'Amina' }, updatedAt: t1, version: 1 })).toBeUndefined();
  });

  it('gives the fields that changed, and those removed, the new state’s time; the others keep theirs', () => {
    const next = { data: { name: 'Amina', village: 'Mzuzu' }, updatedAt: t2, version: 3 };
    // The phone went, the village came: both at t2; the name keeps t1.
    expect(pulledTimes(amina, next)).toEqual({ [t1]: ['name'], [t2]: ['phone', 'village'] });
    // And at the next state, the name changed at t3: the phone's removal keeps its time.
    const held = { ...next, fieldTimes: pulledTimes(amina, next) };
    expect(
      timesByField(
        pulledTimes(held, { data: { name: 'Amina B', village: 'Mzuzu' }, updatedAt: t3, version: 4 }),
      ),
    ).toEqual({ name: t3, phone: t2, village: t2 });
  });

  it('gives a field set by the device’s own acknowledged change the time of the next state pulled', () => {
    // Acknowledged: the village is the device's, its time not known.
    const acked = {
      ...amina,
      data: { ...amina.data, village: 'Mzuzu' },
      fieldTimes: { [t1]: ['name', 'phone'], '': ['village'] },
    };
    // The pull brings the same value: the same state, now with its time.
    expect(timesByField(pulledTimes(acked, { data: acked.data, updatedAt: t2, version: 3 }))).toEqual({
      name: t1,
      phone: t1,
      village: t2,
    });
    // The server's side of a conflict carries no time: what it changed is not known either.
    expect(
      timesByField(
        pulledTimes(amina, { data: { name: 'Amina', phone: '+265 2 222' }, updatedAt: null, version: 3 }),
      ),
    ).toEqual({
      name: t1,
      phone: null,
    });
  });

  it('keeps no older time across versions the device never saw: a field may have changed and changed back', () => {
    // Version 2 held; version 4 pulled: version 3 may have set the phone to something else, and 4
    // back, after the backup. Taken for written then, it goes back if it differs (weighed by HLC).
    const next = {
      data: { name: 'Amina', phone: '+265 1 000', village: 'Mzuzu' },
      updatedAt: t2,
      version: 4,
    };
    expect(pulledTimes(amina, next)).toBeUndefined();
    // Acknowledged over versions never seen: no field's time is known until the next pull.
    const rec: LocalRecord = {
      ...amina,
      server: { data: amina.data, deleted: false, version: 2, hlc: amina.hlc, updatedAt: t1 },
    };
    expect(timesByField(ackedTimes(rec, update({ village: 'Mzuzu' }), 4))).toEqual({
      name: null,
      phone: null,
      village: null,
    });
  });

  it('never keeps a time later than the state that holds the field (a restored server’s older state)', () => {
    const held = {
      data: { name: 'Amina', phone: '+265 1 000' },
      updatedAt: t3,
      version: 5,
      fieldTimes: { [t1]: ['name'], [t3]: ['phone'] },
    };
    expect(
      timesByField(
        pulledTimes(held, { data: { name: 'Amina', phone: '+265 1 000' }, updatedAt: t2, version: 2 }),
      ),
    ).toEqual({
      name: t1,
      phone: t2,
    });
  });

  it('reads a record without times as every field at its updatedAt, and beneath changes the server copy', () => {
    const edited: LocalRecord = {
      ...amina,
      data: { ...amina.data, phone: '+265 9 999' },
      updatedAt: '2026-06-04T00:00:00.000Z',
      server: { data: amina.data, deleted: false, version: 2, hlc: amina.hlc, updatedAt: t1 },
    };
    expect(heldServerState(edited, true)).toEqual({ data: amina.data, updatedAt: t1, version: 2 });
    expect(heldServerState(amina, false)).toBe(amina);
    expect(heldServerState({ ...amina, server: undefined }, true)).toBeNull();
  });
});

describe('the times of the fields the server acknowledged', () => {
  it('leaves the fields the change set without a time until the next pull, the others as the server copy had them', () => {
    const rec: LocalRecord = {
      ...amina,
      data: { ...amina.data, village: 'Mzuzu' },
      updatedAt: '2026-06-02T08:59:00.000Z',
      server: { data: amina.data, deleted: false, version: 2, hlc: amina.hlc, updatedAt: t1 },
    };
    const op = update({ village: 'Mzuzu' });
    expect(ackedTimes(rec, op, 3)).toEqual({ '': ['village'], [t1]: ['name', 'phone'] });
    // afterApplied keeps them on the record, which no longer keeps the copy.
    const done = afterApplied(rec, op, 3, []);
    expect(done).toMatchObject({ version: 3, fieldTimes: { '': ['village'], [t1]: ['name', 'phone'] } });
    expect(done.server).toBeUndefined();
    // Times already kept are the copy's: they stay.
    expect(
      timesByField(ackedTimes({ ...rec, fieldTimes: { [t2]: ['phone'], [t1]: ['name'] } }, op, 3)),
    ).toEqual({
      name: t1,
      phone: t2,
      village: null,
    });
  });

  it('knows no time for any field of an acknowledged create, and nothing without times or a copy', () => {
    const created = { ...amina, version: 0 };
    const create = { ...update({ name: 'Amina', phone: '+265 1 000' }), type: 'create' as const };
    expect(ackedTimes(created, create, 1)).toEqual({ '': ['name', 'phone'] });
    expect(ackedTimes(amina, update({ phone: '+265 2 222' }), 3)).toBeUndefined();
  });
});
