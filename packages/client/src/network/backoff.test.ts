import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultRetryPolicy, retryPolicy, shouldRetry } from './backoff';

const policy = { baseMs: 1_000, maxMs: 60_000 };
const highest = () => 0.999_999_999;

describe('backoffDelay', () => {
  it('doubles its ceiling with each attempt until maxMs', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => backoffDelay(attempt, policy, highest));
    expect(ceilings).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('draws anywhere from zero to the ceiling (full jitter)', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(4_000);
    expect(backoffDelay(3, policy, () => 0.25)).toBe(2_000);
  });

  it('stays within [0, min(maxMs, baseMs * 2^attempt)] for any attempt and draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, draw) => {
          const delay = backoffDelay(attempt, policy, () => draw);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.min(policy.maxMs, policy.baseMs * 2 ** attempt));
        },
      ),
    );
  });

  it('spreads a crowd of retries instead of sending them together', () => {
    let state = 42;
    // A small seeded generator: the same spread on every run.
    const seeded = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const delays = Array.from({ length: 200 }, () => backoffDelay(4, policy, seeded));
    const distinctSeconds = new Set(delays.map((d) => Math.floor(d / 1_000)));
    expect(distinctSeconds.size).toBe(16);
    expect(Math.max(...delays)).toBeLessThanOrEqual(16_000);
  });

  it('defaults to 1 s doubling up to 5 minutes, and treats a bad attempt as the first', () => {
    expect(backoffDelay(0, undefined, highest)).toBe(1_000);
    expect(backoffDelay(30, undefined, highest)).toBe(300_000);
    expect(backoffDelay(-3, policy, highest)).toBe(1_000);
    expect(backoffDelay(Number.NaN, policy, highest)).toBe(1_000);
  });
});

describe('retryPolicy', () => {
  it('fills in the defaults: 1 s base, 5 minutes cap, 8 attempts', () => {
    expect(retryPolicy()).toEqual({ baseMs: 1_000, maxMs: 300_000, maxAttempts: 8 });
    expect(retryPolicy({ maxAttempts: 3 })).toEqual({ ...defaultRetryPolicy, maxAttempts: 3 });
  });

  it('refuses a policy that cannot work', () => {
    expect(() => retryPolicy({ baseMs: 0 })).toThrow(RangeError);
    expect(() => retryPolicy({ baseMs: 10_000, maxMs: 1_000 })).toThrow(/maxMs/);
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow(/maxAttempts/);
  });

  it('keeps retrying until maxAttempts failures, then leaves the op failed', () => {
    expect(shouldRetry(7)).toBe(true);
    expect(shouldRetry(8)).toBe(false);
    expect(shouldRetry(2, { maxAttempts: 2 })).toBe(false);
  });
});
