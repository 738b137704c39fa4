import { describe, expect, it } from 'vitest';
import { syncRate } from './status';

describe('syncRate', () => {
  it('reads as the seed shows: the share synced, to two places', () => {
    expect(syncRate(140, 150)).toBe('93.33%');
    expect(syncRate(2, 3)).toBe('66.67%');
    expect(syncRate(0, 0)).toBe('100.00%');
  });

  it('reads 100.00% only when every op synced, and 0.00% only when none did', () => {
    expect(syncRate(39_999, 40_000)).toBe('99.99%');
    expect(syncRate(40_000, 40_000)).toBe('100.00%');
    expect(syncRate(1, 40_000)).toBe('0.01%');
    expect(syncRate(0, 40_000)).toBe('0.00%');
  });
});
