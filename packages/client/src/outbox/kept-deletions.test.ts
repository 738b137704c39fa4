// The deletions kept past the outbox's retention (kept-deletions.ts, decision 0050 "Deletions"):
// what an acknowledged delete leaves when its op goes, how long it stays, and how a give-back reads
// it, the op first while the outbox keeps it.
import { describe, expect, it } from 'vitest';
import { LocalState } from '../local-state';
import type { OutboxEntry } from '../stores/local-store';
import {
  acknowledgedDeletion,
  acknowledgedDeletions,
  checkKeepDeletions,
  DEFAULT_KEEP_DELETIONS_MS,
  deletesUndone,
  keptDeletions,
  keptDeletionsAfter,
  keptDeletionsKey,
  keptDeletionsRevived,
} from './kept-deletions';
import { DEFAULT_KEEP_COMPLETED_MS, retentionBatch } from './retention';
import { removeOperation } from './seed-operations';

const hour = 60 * 60 * 1000;
const day = 24 * hour;
const now = Date.UTC(2026, 10, 22, 12, 0, 0);
const ago = (ms: number) => new Date(now - ms).toISOString();

function op(seq: number, extra: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    seq,
    opId: `op-${seq}`,
    collection: 'visits',
    type: 'delete',
    id: `v-${seq}`,
    hlc: `00000000000000${seq}-000000-dev`,
    status: 'done',
    attempts: 1,
    createdAt: ago(40 * day),
    completedAt: ago(2 * day),
    ...extra,
  };
}

function state(outbox: OutboxEntry[], meta: Record<string, unknown> = {}): LocalState {
  return new LocalState({ records: [], outbox, conflicts: [], meta });
}

/** The state after the batch, as the store would load it. */
function after(s: LocalState, batch: ReturnType<typeof retentionBatch>): LocalState {
  const gone = new Set(batch?.deleteOps ?? []);
  const meta = { ...s.meta };
  for (const [k, v] of Object.entries(batch?.meta ?? {})) {
    if (v === undefined) delete meta[k];
    else meta[k] = v;
  }
  return state(
    [...s.outbox.values()].filter((o) => !gone.has(o.seq)),
    meta,
  );
}

describe('kept deletions', () => {
  it('default to 30 days, and refuse a retention that is not a number of ms from 0', () => {
    expect(checkKeepDeletions(undefined)).toBe(DEFAULT_KEEP_DELETIONS_MS);
    expect(DEFAULT_KEEP_DELETIONS_MS).toBe(30 * day);
    expect(DEFAULT_KEEP_DELETIONS_MS).toBeGreaterThan(DEFAULT_KEEP_COMPLETED_MS);
    expect(checkKeepDeletions(0)).toBe(0);
    expect(checkKeepDeletions(Infinity)).toBe(Infinity);
    expect(() => checkKeepDeletions(-1)).toThrow(RangeError);
    expect(() => checkKeepDeletions(Number.NaN)).toThrow(RangeError);
  });

  it('keep what a give-back needs of each acknowledged delete, in the write that removes its op, and no data', () => {
    const s = state([
      op(1),
      op(2, { type: 'update', data: { notes: 'wrong patient' } }),
      op(3, { completedAt: ago(hour) }),
      op(4, { status: 'pending', completedAt: undefined }),
    ]);
    const batch = retentionBatch(s, now, day, 30 * day);
    expect(batch?.deleteOps).toEqual([1, 2]);
    expect(batch?.meta?.[keptDeletionsKey]).toEqual([
      { collection: 'visits', id: 'v-1', hlc: op(1).hlc, completedAt: ago(2 * day) },
    ]);
    expect(JSON.stringify(batch?.meta)).not.toContain('wrong patient');
  });

  it('are read as the op was: the op while the outbox keeps it, the kept deletion after', () => {
    const before = state([op(1), op(3, { completedAt: ago(hour) })]);
    expect(acknowledgedDeletion(before, 'visits', 'v-1')?.hlc).toBe(op(1).hlc);
    const s = after(before, retentionBatch(before, now, day, 30 * day));
    expect([...s.outbox.keys()]).toEqual([3]);
    expect(acknowledgedDeletion(s, 'visits', 'v-1')).toMatchObject({
      collection: 'visits',
      id: 'v-1',
      hlc: op(1).hlc,
    });
    expect(acknowledgedDeletion(s, 'visits', 'v-3')?.hlc).toBe(op(3).hlc);
    expect(acknowledgedDeletion(s, 'visits', 'v-9')).toBeUndefined();
    expect(
      acknowledgedDeletions(s)
        .map((d) => d.id)
        .sort(),
    ).toEqual(['v-1', 'v-3']);
  });

  it('go once their time is over, in the same write, and the key goes with the last', () => {
    const s = state([op(5, { completedAt: ago(2 * day) })], {
      [keptDeletionsKey]: [
        { collection: 'visits', id: 'v-old', hlc: 'h-old', completedAt: ago(31 * day) },
        { collection: 'visits', id: 'v-new', hlc: 'h-new', completedAt: ago(29 * day) },
      ],
    });
    const batch = retentionBatch(s, now, day, 30 * day);
    expect(batch?.deleteOps).toEqual([5]);
    expect((batch?.meta?.[keptDeletionsKey] as Array<{ id: string }>).map((d) => d.id)).toEqual([
      'v-new',
      'v-5',
    ]);

    // Nothing in the outbox to go: the pruning alone is a write.
    const alone = state([], {
      [keptDeletionsKey]: [{ collection: 'visits', id: 'v', hlc: 'h', completedAt: ago(31 * day) }],
    });
    expect(retentionBatch(alone, now, day, 30 * day)).toEqual({ meta: { [keptDeletionsKey]: undefined } });
    // Nothing over: no write.
    expect(
      retentionBatch(
        state([], {
          [keptDeletionsKey]: [{ collection: 'visits', id: 'v', hlc: 'h', completedAt: ago(day) }],
        }),
        now,
        day,
        30 * day,
      ),
    ).toBeNull();
    // Infinity, or no retention given: none goes.
    expect(retentionBatch(alone, now, day, Infinity)).toBeNull();
    expect(retentionBatch(alone, now, day)).toBeNull();
  });

  it('keep the latest deletion of a record, and skip what they cannot read', () => {
    const meta = {
      [keptDeletionsKey]: [
        { collection: 'visits', id: 'v-1', hlc: 'h-later', completedAt: ago(hour) },
        { collection: 'visits', id: 42 },
      ],
    };
    expect(keptDeletions(meta)).toHaveLength(1);
    const list = keptDeletionsAfter(meta, [op(1)], now, 30 * day);
    expect(list).toEqual([{ collection: 'visits', id: 'v-1', hlc: 'h-later', completedAt: ago(hour) }]);
  });

  it('are kept when a person clears the completed ops, or removes a done delete by hand', async () => {
    const s = state([op(1, { completedAt: ago(hour) })]);
    expect(retentionBatch(s, now, 0, 30 * day)?.meta?.[keptDeletionsKey]).toHaveLength(1);
    let written: ReturnType<typeof retentionBatch> = null;
    await removeOperation(
      s,
      {
        withdraw: () => Promise.resolve(0),
        discard: () => Promise.resolve(0),
        commit: (make) => {
          written = make(s);
          return Promise.resolve(1);
        },
      },
      1,
    );
    expect(written).toMatchObject({ deleteOps: [1], meta: { [keptDeletionsKey]: [{ id: 'v-1' }] } });
  });
  it('leave out a deletion whose record came back alive since: never given back to a restored server', () => {
    // v-1 was revived by a colleague's later change the server kept; v-2 is held, deleted; v-3 is
    // held alive only in a state from before the deletion (a restored server's re-read).
    const held = new LocalState({
      records: [
        {
          collection: 'visits',
          id: 'v-1',
          data: {},
          deleted: false,
          version: 3,
          hlc: '000000000000009-000000-col',
          updatedAt: ago(day),
        },
        {
          collection: 'visits',
          id: 'v-2',
          data: {},
          deleted: true,
          version: 2,
          hlc: '000000000000002-000000-dev',
          updatedAt: ago(day),
        },
        {
          collection: 'visits',
          id: 'v-3',
          data: {},
          deleted: false,
          version: 1,
          hlc: '000000000000001-000000-old',
          updatedAt: ago(day),
        },
      ],
      outbox: [op(1), op(2), op(3)],
      conflicts: [],
      meta: {},
    });
    const batch = retentionBatch(held, now, DEFAULT_KEEP_COMPLETED_MS, DEFAULT_KEEP_DELETIONS_MS);
    expect(batch?.deleteOps).toEqual([1, 2, 3]);
    expect(keptDeletions(batch?.meta ?? {}).map((d) => d.id)).toEqual(['v-2', 'v-3']);

    // Kept already, then the server brings them: only a live state made after the deletion drops it.
    const meta = { [keptDeletionsKey]: keptDeletionsAfter({}, [op(1), op(2), op(3)], now) };
    const change = (id: string, deleted: boolean, hlc: string) => ({
      collection: 'visits',
      id,
      deleted,
      hlc,
    });
    expect(
      keptDeletionsRevived(meta, [
        change('v-1', false, '000000000000009-000000-col'),
        change('v-2', true, '000000000000008-000000-col'),
        change('v-3', false, '000000000000000-000000-old'),
        change('v-9', false, '000000000000009-000000-col'),
      ])?.map((d) => d.id),
    ).toEqual(['v-2', 'v-3']);
    // None revived: the list stays as it is, nothing written.
    expect(keptDeletionsRevived(meta, [change('v-2', true, '000000000000008-000000-col')])).toBeNull();
    expect(keptDeletionsRevived({}, [change('v-1', false, '000000000000009-000000-col')])).toBeNull();
  });

  it('mark undone the done delete op the outbox still keeps once its record comes back alive', () => {
    const s = state([op(1), op(2, { status: 'pending', completedAt: undefined }), op(3, { type: 'update' })]);
    const change = (id: string, deleted: boolean, hlc: string) => ({
      collection: 'visits',
      id,
      deleted,
      hlc,
    });
    const revived = change('v-1', false, '000000000000009-000000-col');
    // A later live state: the deletion no longer stands, and its op says so.
    expect(deletesUndone(s, revived)).toEqual([{ ...op(1), undone: true }]);
    // A tombstone, or a live state from before the deletion (a restored server's re-read): it stands.
    expect(deletesUndone(s, change('v-1', true, '000000000000009-000000-col'))).toEqual([]);
    expect(deletesUndone(s, change('v-1', false, '000000000000000-000000-old'))).toEqual([]);
    // Only done deletes: a delete still to send, or an update, is not the device's acknowledged deletion.
    expect(deletesUndone(s, change('v-2', false, '000000000000009-000000-col'))).toEqual([]);
    expect(deletesUndone(s, change('v-3', false, '000000000000009-000000-col'))).toEqual([]);

    // Marked: no give-back reads it, and leaving the outbox it leaves no kept deletion.
    const marked = state([{ ...op(1), undone: true }]);
    expect(acknowledgedDeletion(marked, 'visits', 'v-1')).toBeUndefined();
    expect(acknowledgedDeletions(marked)).toEqual([]);
    expect(deletesUndone(marked, revived)).toEqual([]);
    expect(keptDeletionsAfter({}, [{ ...op(1), undone: true }], now)).toBeNull();
  });
});
