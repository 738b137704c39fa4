import { describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../stores/local-store';
import { queueStats } from './queue-stats';

function op(seq: number, createdAt: string, extra: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    seq,
    opId: `op-${seq}`,
    collection: 'patients',
    type: 'update',
    id: `p-${seq}`,
    data: { village: 'Ntcheu' },
    hlc: `00000000000000${seq}-000000-dev`,
    status: 'pending',
    attempts: 0,
    createdAt,
    ...extra,
  };
}

describe('queueStats: seed 004 oldestPendingAt', () => {
  it('is null when nothing waits for the server, whatever the outbox holds that it answered', () => {
    expect(queueStats([]).oldestPendingAt).toBeNull();
    const answered = [
      op(1, '2026-11-01T08:00:00.000Z', { status: 'done' }),
      op(2, '2026-11-02T08:00:00.000Z', { status: 'conflict' }),
      op(3, '2026-11-03T08:00:00.000Z', { status: 'failed', rejected: true }),
    ];
    expect(queueStats(answered)).toMatchObject({ waiting: 0, oldestPendingAt: null });
  });

  it('is when the oldest change still waiting was made: pending, held, in flight or stopped', () => {
    const outbox = [
      op(1, '2026-11-01T08:00:00.000Z', { status: 'done' }),
      op(2, '2026-11-02T08:00:00.000Z', { status: 'failed', rejected: true }),
      op(3, '2026-11-22T09:30:00.000Z', { status: 'pending' }),
      op(4, '2026-11-22T09:00:00.000Z', { status: 'in-flight', sent: true }),
      op(5, '2026-11-22T10:00:00.000Z', { status: 'pending', heldReason: 'a loop' }),
    ];
    expect(queueStats(outbox)).toMatchObject({ waiting: 3, oldestPendingAt: '2026-11-22T09:00:00.000Z' });
    // A change that stopped after repeated failures still waits, and it is the oldest now.
    outbox.push(op(6, '2026-11-21T17:00:00.000Z', { status: 'failed', attempts: 8 }));
    expect(queueStats(outbox)).toMatchObject({ waiting: 4, oldestPendingAt: '2026-11-21T17:00:00.000Z' });
  });

  it('passes on the last good sync it is given, null by default', () => {
    expect(queueStats([]).lastSyncAt).toBeNull();
    expect(queueStats([], '2026-11-22T12:00:00.000Z').lastSyncAt).toBe('2026-11-22T12:00:00.000Z');
  });
});
