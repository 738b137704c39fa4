/**
 * How worrying the number of ops waiting to sync is, by seed 004's rule (PTDoc, "Performance
 * Considerations > Queue Size"): under 100 is fine; 100 to 500 is a warning (a sync that long may
 * be slow); over 500 is critical (the device is not syncing often enough). One implementation,
 * shared by the client's queue stats, the UIs built on them and the server's figures.
 */

export type QueueHealth = 'ok' | 'warning' | 'critical';

/**
 * The seed's boundaries, both inclusive on the warning side: 99 is ok, 100 is a warning, 500 is
 * still a warning, 501 is critical.
 */
export const queueHealthThresholds = {
  /** From this many ops waiting, a warning. */
  warningAt: 100,
  /** Above this many ops waiting (not at it), critical. */
  criticalAbove: 500,
} as const;

/**
 * The health of a queue with `pending` ops waiting to sync (not yet acknowledged by the server).
 * A count that cannot be one (negative, NaN) is refused rather than read as a healthy queue.
 */
export function queueHealth(pending: number): QueueHealth {
  if (!(pending >= 0)) throw new RangeError(`a queue holds 0 or more ops, got ${pending}`);
  if (pending > queueHealthThresholds.criticalAbove) return 'critical';
  if (pending >= queueHealthThresholds.warningAt) return 'warning';
  return 'ok';
}
