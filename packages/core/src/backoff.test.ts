// The rule's behaviour for single waits is tested where the client re-exports it
// (client/src/network/backoff.test.ts); here, what a whole policy adds up to.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultRetryPolicy, retryPolicy, retryWindow, shouldRetry } from './backoff';

const minute = 60_000;

describe('retryWindow', () => {
  it('the defaults (the client outbox’s) try an op for minutes: 254 s at most, 127 s on average', () => {
    // Seven waits follow the first seven of eight attempts; ceilings 2, 4, ... 128 s, none reaching 5 min.
    expect(retryWindow(defaultRetryPolicy)).toEqual({ longestMs: 254_000, averageMs: 127_000 });
  });

  it('adds the ceilings of the waits planned after each failed attempt but the last', () => {
    expect(retryWindow(retryPolicy({ maxAttempts: 1 }))).toEqual({ longestMs: 0, averageMs: 0 });
    expect(retryWindow(retryPolicy({ maxAttempts: 3 })).longestMs).toBe(2_000 + 4_000);
    // Capped waits count at the cap: 2 + 4 + ... + 512 s, then seventy waits of 15 minutes.
    expect(retryWindow(retryPolicy({ maxMs: 15 * minute, maxAttempts: 80 })).longestMs).toBe(
      1_022_000 + 70 * 15 * minute,
    );
    // A limit far beyond any day is counted, not looped over.
    expect(retryWindow(retryPolicy({ maxAttempts: 1e9 })).longestMs).toBeGreaterThan(1e9 * 4 * minute);
  });

  it('is what the waits come to when each is drawn at its ceiling, and half that on average', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 120 }),
        (baseMs, capTimes, maxAttempts) => {
          const policy = retryPolicy({ baseMs, maxMs: baseMs * capTimes, maxAttempts });
          let longest = 0;
          for (let attempts = 1; shouldRetry(attempts, policy); attempts += 1)
            longest += backoffDelay(attempts, policy, () => 0.999_999_999);
          const window = retryWindow(policy);
          expect(window.longestMs).toBe(longest);
          expect(window.averageMs).toBe(longest / 2);
        },
      ),
    );
  });
});
