// The time the header gives for the last sync, read on a tablet that may have been offline for days.
import { describe, expect, it } from 'vitest';
import { syncTime } from '../src/sync-time';

describe('syncTime', () => {
  const now = new Date(2026, 10, 23, 16, 30);

  it('gives the time of day for a sync today', () => {
    const text = syncTime(new Date(2026, 10, 23, 9, 5).toISOString(), now);
    expect(text).toMatch(/^at 0?9:05/);
  });

  it('names the day of a sync two days ago, not only its time of day', () => {
    const text = syncTime(new Date(2026, 10, 21, 9, 5).toISOString(), now);
    expect(text).toContain('21');
    expect(text).toContain('2026');
    expect(text).toMatch(/at 0?9:05/);
  });
});
