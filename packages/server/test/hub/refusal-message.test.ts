// What a hub's queue item says of a refused change: the hub's words, naming fields, never values.
import { describe, expect, it } from 'vitest';
import type { PushOp } from '@outpost/core';
import { refusalOf } from '../../src/hub/refusal-message';

const update = (data: Record<string, unknown>): PushOp => ({
  opId: 'op-1',
  collection: 'encounters',
  type: 'update',
  id: 'enc-1',
  baseVersion: 1,
  data,
  hlc: 'h',
});

describe('the message a hub keeps for a refused change', () => {
  it('names the fields a refusal points at, and only fields the op sent', () => {
    const op = update({ patientId: 'p-2', vitals: { bp: '120/80' }, notes: 'Amina has a fever' });
    expect(
      refusalOf(op, { code: 'UNRESOLVED_REFERENCE', details: { field: 'patientId', id: 'p-2' } }),
    ).toEqual({
      code: 'UNRESOLVED_REFERENCE',
      message:
        'the change to patientId points to a record the upstream does not have (deleted there, or not sent yet)',
    });
    // Schema issues name a path; its first step is the field. A "field" the op never sent (here a
    // value an upstream put in its place) is not repeated.
    const issues = [
      { path: 'vitals.bp', message: 'expected a number, received "120/80"' },
      { path: ['Amina has a fever'], message: 'unknown' },
    ];
    expect(refusalOf(op, { code: 'VALIDATION_FAILED', details: issues }).message).toBe(
      'the upstream found the change to vitals invalid',
    );
  });

  it('says what the op was when the refusal names no field', () => {
    expect(refusalOf(update({ notes: 'x' }), { code: 'VALIDATION_FAILED' }).message).toBe(
      'the upstream found the change to notes invalid',
    );
    const create: PushOp = { ...update({ patientId: 'p-1' }), type: 'create' };
    expect(refusalOf(create, { code: 'VALIDATION_FAILED', details: 'free text' }).message).toBe(
      'the upstream found the new encounters record invalid',
    );
    const deletion: PushOp = {
      opId: 'op-2',
      collection: 'encounters',
      type: 'delete',
      id: 'enc-1',
      hlc: 'h',
    };
    expect(refusalOf(deletion, { code: 'FORBIDDEN' }).message).toBe(
      "the hub's upstream account may not make the deletion: it must be allowed to write encounters",
    );
    expect(refusalOf(deletion, undefined)).toEqual({
      code: 'REJECTED',
      message: 'the upstream refused the deletion',
    });
  });
});
