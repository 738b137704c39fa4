/**
 * The outbox counted by status, as `client.queue.stats()` returns it, with seed 004's queue health
 * over the ops the server has not acknowledged yet, and the two times of its `GET /sync/status`:
 * the oldest change still waiting, and the last good sync.
 */
import { queueHealth } from '@outpost/core';
import type { QueueHealth } from '@outpost/core';
import { isRefused } from '../local-state';
import { stillToGo } from './withdraw';
import type { OutboxEntry } from '../stores/local-store';

export interface QueueStats {
  total: number;
  pending: number;
  inFlight: number;
  /** Ops that stopped: refused by the server and shown on their record, or given up on the network (`stopped`). */
  failed: number;
  /**
   * The ops the server refused for good that the device keeps until a person discards them: a
   * retry gets the same answer, and the server's rejection archive keeps them too. Most are
   * `failed`, shown on their record; one refused by a signed note or locked form counts as a
   * `conflict` too, as its record shows what the server holds.
   */
  refused: number;
  /**
   * Of `failed`, the ops that gave up on the network after `retry.maxAttempts` failed sends: they
   * go again with `queue.retry()` or a person's `sync({ manual: true })`.
   */
  stopped: number;
  /** What is still to reach the server: pending, in flight or stopped. Never a refused op. */
  waiting: number;
  conflict: number;
  /**
   * The ops the server has confirmed (applied, a resend answered as a duplicate included), kept for
   * `keepCompletedMs` (seed 001's `completed`; their stored status is `done`).
   */
  completed: number;
  held: number;
  /**
   * Seed 004's queue size rule (`queueHealth` in @outpost/core) over `waiting`: the ops the server
   * has not acknowledged yet, held ones included. Whatever the server answered (completed, in
   * conflict, refused) is not counted: no sync sends it again, so it cannot slow one down.
   */
  health: QueueHealth;
  /**
   * When the oldest change still to reach the server was made (ISO), over the ops counted in
   * `waiting`; null when none waits. Edits folded into an unsent change keep its time: this is how
   * long the first edit nobody has sent has been waiting, not the last one.
   */
  oldestPendingAt: string | null;
  /**
   * When the last sync that ended well and pulled every collection finished (ISO: its
   * `finishedAt`; not `sync({ collections })`, nor a push-only `syncToServer()`), kept in the
   * store, so it survives a restart; null before the first.
   */
  lastSyncAt: string | null;
}

export function queueStats(outbox: Iterable<OutboxEntry>, lastSyncAt: string | null = null): QueueStats {
  let total = 0;
  let pending = 0;
  let inFlight = 0;
  let failed = 0;
  let refused = 0;
  let stopped = 0;
  let conflict = 0;
  let completed = 0;
  let held = 0;
  let oldestPendingAt: string | null = null;
  for (const o of outbox) {
    total += 1;
    if (stillToGo(o) && (oldestPendingAt === null || o.createdAt < oldestPendingAt))
      oldestPendingAt = o.createdAt;
    if (o.heldReason !== undefined) held += 1;
    if (o.status === 'pending') pending += 1;
    else if (o.status === 'in-flight') inFlight += 1;
    else if (o.status === 'failed') {
      failed += 1;
      if (o.rejected !== true) stopped += 1;
    } else if (o.status === 'conflict') conflict += 1;
    else completed += 1;
    if (isRefused(o)) refused += 1;
  }
  const waiting = pending + inFlight + stopped;
  return {
    total,
    pending,
    inFlight,
    failed,
    refused,
    stopped,
    waiting,
    conflict,
    completed,
    held,
    health: queueHealth(waiting),
    oldestPendingAt,
    lastSyncAt,
  };
}
