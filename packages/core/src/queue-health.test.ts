import { describe, expect, it } from 'vitest';
import { queueHealth, queueHealthThresholds } from './index';

describe('queueHealth (seed 004: < 100 recommended, 100-500 warning, > 500 critical)', () => {
  it('reads the seed boundaries as written: 100 and 500 are warnings, 501 is critical', () => {
    expect([0, 1, 99, 100, 101, 499, 500, 501, 5_000].map(queueHealth)).toEqual([
      'ok',
      'ok',
      'ok',
      'warning',
      'warning',
      'warning',
      'warning',
      'critical',
      'critical',
    ]);
  });

  it('keeps the thresholds in one place', () => {
    expect(queueHealthThresholds).toEqual({ warningAt: 100, criticalAbove: 500 });
  });

  it('refuses a count that cannot be one instead of calling it healthy', () => {
    expect(() => queueHealth(-1)).toThrow(RangeError);
    expect(() => queueHealth(Number.NaN)).toThrow(RangeError);
  });
});
