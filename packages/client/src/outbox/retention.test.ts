import { describe, expect, it } from 'vitest';
import { LocalState } from '../local-state';
import type { LocalConflict, LocalRecord, OutboxEntry } from '../stores/local-store';
import {
  checkKeepCompleted,
  DEFAULT_KEEP_COMPLETED_MS,
  expiredDone,
  lastSyncedAt,
  retentionBatch,
} from './retention';

const hour = 60 * 60 * 1000;
const now = Date.UTC(2026, 10, 22, 12, 0, 0);
const ago = (ms: number) => new Date(now - ms).toISOString();

function op(seq: number, extra: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    seq,
    opId: `op-${seq}`,
    collection: 'patients',
    type: 'update',
    id: `p-${seq}`,
    data: { village: 'Ntcheu' },
    baseVersion: 1,
    hlc: `00000000000000${seq}-000000-dev`,
    status: 'pending',
    attempts: 0,
    createdAt: ago(30 * 24 * hour),
    ...extra,
  };
}

function record(id: string, version: number): LocalRecord {
  return {
    collection: 'patients',
    id,
    data: { name: 'Amina K.' },
    deleted: false,
    version,
    hlc: '',
    updatedAt: '',
  };
}

function state(
  outbox: OutboxEntry[],
  extra: { records?: LocalRecord[]; conflicts?: LocalConflict[]; meta?: Record<string, unknown> } = {},
): LocalState {
  return new LocalState({
    records: extra.records ?? [],
    outbox,
    conflicts: extra.conflicts ?? [],
    meta: extra.meta ?? {},
  });
}

const seqs = (ops: OutboxEntry[]) => ops.map((o) => o.seq);

describe('expiredDone', () => {
  it('takes the done ops acknowledged longer ago than the retention, and keeps the newer ones', () => {
    const s = state([
      op(1, { status: 'done', completedAt: ago(25 * hour) }),
      op(2, { status: 'done', completedAt: ago(24 * hour) }),
      op(3, { status: 'done', completedAt: ago(23 * hour) }),
    ]);
    expect(seqs(expiredDone(s, now, 24 * hour))).toEqual([1, 2]);
  });

  it('never takes an op the server has not acknowledged, however old', () => {
    const old = { createdAt: ago(365 * 24 * hour) };
    const s = state([
      op(1, { ...old, status: 'pending' }),
      op(2, { ...old, status: 'in-flight', sent: true }),
      op(3, { ...old, status: 'failed', attempts: 8 }),
      op(4, { ...old, status: 'failed', rejected: true }),
      op(5, { ...old, status: 'conflict' }),
      op(6, { ...old, status: 'conflict', rejected: true }),
      op(7, { ...old, status: 'pending', heldReason: 'waiting for the record it references to exist' }),
    ]);
    expect(expiredDone(s, now, 0)).toEqual([]);
    expect(expiredDone(s, now, hour)).toEqual([]);
  });

  it('with 0 takes every done op, even one stamped later than now by a clock set back; Infinity none', () => {
    const s = state([
      op(1, { status: 'done', completedAt: ago(0) }),
      op(2, { status: 'done', completedAt: new Date(now + hour).toISOString() }),
    ]);
    expect(seqs(expiredDone(s, now, 0))).toEqual([1, 2]);
    expect(expiredDone(s, now, Infinity)).toEqual([]);
  });

  it('counts a done op stored by an older version (no completedAt) from when it was made', () => {
    const s = state([
      op(1, { status: 'done', createdAt: ago(2 * 24 * hour) }),
      op(2, { status: 'done', createdAt: ago(hour) }),
    ]);
    expect(seqs(expiredDone(s, now, 24 * hour))).toEqual([1]);
  });

  it('keeps the done op of a record the device holds at version 0: its only sign the server has it', () => {
    const s = state(
      [
        op(1, { status: 'done', type: 'create', id: 'p-read-again', completedAt: ago(48 * hour) }),
        op(2, { status: 'done', id: 'p-known', completedAt: ago(48 * hour) }),
      ],
      { records: [record('p-read-again', 0), record('p-known', 3)] },
    );
    expect(seqs(expiredDone(s, now, 0))).toEqual([2]);
  });
});

describe('retentionBatch', () => {
  it('removes the expired ops and keeps the seq high-water mark, so a reopened store never reuses a seq', () => {
    // A store written before `outbox.lastSeq` was kept: its highest seq is known only from its ops.
    const s = state([op(1, { status: 'pending' }), op(7, { status: 'done', completedAt: ago(48 * hour) })]);
    const batch = retentionBatch(s, now, 24 * hour);
    expect(batch).toEqual({ deleteOps: [7], meta: { 'outbox.lastSeq': 7 } });
    s.apply(batch ?? {});
    const reopened = new LocalState({
      records: [],
      outbox: [...s.outbox.values()],
      conflicts: [],
      meta: s.meta,
    });
    expect(reopened.nextSeq()).toBe(8);
  });

  it('is null when nothing is due, so no write is made', () => {
    expect(
      retentionBatch(state([op(1, { status: 'done', completedAt: ago(hour) })]), now, 24 * hour),
    ).toBeNull();
    expect(retentionBatch(state([]), now, 0)).toBeNull();
  });

  it("gives a conflict stored without its op's kind the kind of the op that goes", () => {
    const summary = {
      id: 'c-1',
      kind: 'version',
      fields: ['village'],
      strategy: 'merge',
      outcome: 'merged',
    } as const;
    const legacy: LocalConflict = {
      id: 'c-1',
      opId: 'op-2',
      collection: 'patients',
      recordId: 'p-2',
      summary: summary as unknown as LocalConflict['summary'],
      detectedAt: ago(48 * hour),
      resolvedAt: ago(48 * hour),
    };
    const recorded: LocalConflict = { ...legacy, id: 'c-2', opId: 'op-3', opType: 'update' };
    const s = state(
      [
        op(2, { status: 'done', type: 'delete', completedAt: ago(48 * hour) }),
        op(3, { status: 'done', completedAt: ago(48 * hour) }),
      ],
      { conflicts: [legacy, recorded] },
    );
    const batch = retentionBatch(s, now, 0);
    expect(batch?.deleteOps).toEqual([2, 3]);
    expect(batch?.putConflicts).toEqual([{ ...legacy, opType: 'delete' }]);
  });
});

describe('keepCompletedMs', () => {
  it('defaults to a day, and refuses what would remove nothing or everything by accident', () => {
    expect(checkKeepCompleted(undefined)).toBe(DEFAULT_KEEP_COMPLETED_MS);
    expect(DEFAULT_KEEP_COMPLETED_MS).toBe(24 * hour);
    expect(checkKeepCompleted(0)).toBe(0);
    expect(checkKeepCompleted(Infinity)).toBe(Infinity);
    expect(() => checkKeepCompleted(-1)).toThrow(/keepCompletedMs/);
    expect(() => checkKeepCompleted(Number.NaN)).toThrow(/keepCompletedMs/);
    expect(() => checkKeepCompleted('1d' as unknown as number)).toThrow(/keepCompletedMs/);
  });

  it('reads the last good sync from meta, null before the first', () => {
    expect(lastSyncedAt({})).toBeNull();
    expect(lastSyncedAt({ 'sync.lastSyncedAt': '2026-11-22T12:00:00.000Z' })).toBe(
      '2026-11-22T12:00:00.000Z',
    );
  });
});
