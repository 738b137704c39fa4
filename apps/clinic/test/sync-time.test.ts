// The times the header and the Sync details page give: when the device last synced, and since
// when a change has waited to be sent, read on a tablet that may have been offline for days.
import { describe, expect, it } from 'vitest';
import { syncTime, waitingSince, waitingText } from '../src/sync-time';

const now = new Date(2026, 10, 23, 16, 30);

describe('syncTime', () => {
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

describe('waitingSince', () => {
  it('gives the time of day for a change made today', () => {
    expect(waitingSince(new Date(2026, 10, 23, 14, 2).toISOString(), now)).toMatch(/^since (14:02|0?2:02)/);
  });

  it('says yesterday for a change made yesterday, across a month too', () => {
    expect(waitingSince(new Date(2026, 10, 22, 14, 2).toISOString(), now)).toMatch(
      /^since yesterday at (14:02|0?2:02)/,
    );
    expect(waitingSince(new Date(2026, 10, 30, 23, 50).toISOString(), new Date(2026, 11, 1, 8, 0))).toMatch(
      /^since yesterday at /,
    );
  });

  it('names the day, with its year, of an older change', () => {
    const text = waitingSince(new Date(2026, 10, 20, 9, 5).toISOString(), now);
    expect(text).toMatch(/^since .*20.*2026 at 0?9:05/);
    expect(text).not.toContain('yesterday');
  });
});

describe('waitingText', () => {
  const oldest = new Date(2026, 10, 22, 14, 2).toISOString();

  it('counts the changes and says since when the oldest has waited', () => {
    expect(waitingText(3, oldest, now)).toMatch(/^3 changes waiting, the oldest since yesterday at /);
    expect(waitingText(1, oldest, now)).toMatch(/^1 change waiting since yesterday at /);
  });

  it('says nothing when none waits, and only the count without a readable time', () => {
    expect(waitingText(0, null, now)).toBeNull();
    expect(waitingText(2, null, now)).toBe('2 changes waiting');
    expect(waitingText(1, 'not a time', now)).toBe('1 change waiting');
  });
});
