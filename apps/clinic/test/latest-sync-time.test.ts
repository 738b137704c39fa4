// The header's "Last synced" is the later of the app's own syncs and the service worker's, which
// syncs with no tab open (decision 0026): either may be missing.
import { describe, expect, it } from 'vitest';
import { latestSyncTime } from '../src/sync-time';

describe('latestSyncTime', () => {
  const earlier = '2026-11-22T16:30:00.000Z';
  const later = '2026-11-23T09:05:00.000Z';

  it('takes the later of the two, whichever side it is on', () => {
    expect(latestSyncTime(earlier, later)).toBe(later);
    expect(latestSyncTime(later, earlier)).toBe(later);
  });

  it('takes the one there is when the other is missing or unreadable', () => {
    expect(latestSyncTime(null, later)).toBe(later);
    expect(latestSyncTime(earlier, null)).toBe(earlier);
    expect(latestSyncTime('not a time', later)).toBe(later);
    expect(latestSyncTime(earlier, 'not a time')).toBe(earlier);
    expect(latestSyncTime(null, null)).toBeNull();
  });
});
