import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareSyncAlerts, syncAlertThresholds, syncAlerts } from './index';
import type { SyncAlertDevice } from './index';

const hour = 60 * 60 * 1000;
const day = 24 * hour;
const now = Date.parse('2025-03-10T12:00:00.000Z');
const ago = (ms: number) => new Date(now - ms).toISOString();

/** A device that synced an hour ago, with a week of clean, prompt changes. */
function healthy(deviceId: string, over: Partial<SyncAlertDevice> = {}): SyncAlertDevice {
  return {
    userId: `user-${deviceId}`,
    email: `${deviceId}@clinic.test`,
    deviceId,
    lastSyncAt: ago(hour),
    openConflicts: 0,
    total: 40,
    failed: 0,
    recent: { total: 12, failed: 0, conflicts: 0 },
    delay: { medianMs: 5 * 60 * 1000, maxMs: 3 * hour, measured: 12 },
    ...over,
  };
}

describe('syncAlerts (seed 000: failure rate > 10%; decision 0036 for the rest)', () => {
  it('flags a silent, a failing and a slow device, and nothing for a healthy one', () => {
    const alerts = syncAlerts(
      [
        healthy('fine'),
        healthy('silent', { lastSyncAt: ago(5 * day) }),
        healthy('failing', { recent: { total: 12, failed: 4, conflicts: 0 } }),
        healthy('slow', { delay: { medianMs: 2 * day, maxMs: 3 * day, measured: 9 } }),
      ],
      new Date(now),
    );
    expect(alerts.map((a) => [a.deviceId, a.kind, a.severity])).toEqual([
      ['failing', 'failing', 'critical'],
      ['silent', 'silent', 'warning'],
      ['slow', 'slow', 'warning'],
    ]);
    expect(alerts[0]).toMatchObject({ failed: 4, total: 12, rate: 4 / 12, over: 'recent' });
    expect(alerts[1]).toMatchObject({ lastSyncAt: ago(5 * day), silentMs: 5 * day, userId: 'user-silent' });
    expect(alerts[2]).toMatchObject({ medianMs: 2 * day, maxMs: 3 * day, measured: 9 });
    expect(syncAlerts([healthy('fine'), healthy('also fine')], now)).toEqual([]);
  });

  it('raises no silent alert for a device taken out of use, and still its conflicts (decision 0057)', () => {
    const broken = { lastSyncAt: ago(40 * day), outOfUseSince: ago(30 * day) };
    expect(syncAlerts([healthy('broken', broken)], now)).toEqual([]);
    expect(
      syncAlerts([healthy('broken', { ...broken, outOfUseSince: null })], now).map((a) => a.kind),
    ).toEqual(['silent']);
    expect(syncAlerts([healthy('broken', { ...broken, openConflicts: 2 })], now).map((a) => a.kind)).toEqual([
      'conflicts',
    ]);
  });

  it('treats each threshold as documented: exactly at it raises nothing, just past it does', () => {
    const t = syncAlertThresholds;
    const kinds = (d: SyncAlertDevice) => syncAlerts([d], now).map((a) => `${a.kind}:${a.severity}`);
    // Silent: strictly more than 3 days is a warning, strictly more than 7 days critical.
    expect(kinds(healthy('d', { lastSyncAt: ago(t.silentWarningAfterMs) }))).toEqual([]);
    expect(kinds(healthy('d', { lastSyncAt: ago(t.silentWarningAfterMs + 1) }))).toEqual(['silent:warning']);
    expect(kinds(healthy('d', { lastSyncAt: ago(t.silentCriticalAfterMs) }))).toEqual(['silent:warning']);
    expect(kinds(healthy('d', { lastSyncAt: ago(t.silentCriticalAfterMs + 1) }))).toEqual([
      'silent:critical',
    ]);
    // Failure rate: 10% exactly (seed 000's `$gt: 10`) is not flagged; one more failure is.
    expect(kinds(healthy('d', { recent: { total: 30, failed: 3, conflicts: 0 } }))).toEqual([]);
    expect(kinds(healthy('d', { recent: { total: 30, failed: 4, conflicts: 0 } }))).toEqual([
      'failing:critical',
    ]);
    expect(kinds(healthy('d', { recent: { total: 10, failed: 1, conflicts: 0 } }))).toEqual([]);
    // One open conflict is enough.
    expect(kinds(healthy('d', { openConflicts: 1 }))).toEqual(['conflicts:warning']);
    // Median delay: a day exactly is not slow, a millisecond more is.
    const delay = (medianMs: number) => ({ medianMs, maxMs: medianMs, measured: 1 });
    expect(kinds(healthy('d', { delay: delay(t.slowMedianAboveMs) }))).toEqual([]);
    expect(kinds(healthy('d', { delay: delay(t.slowMedianAboveMs + 1) }))).toEqual(['slow:warning']);
    expect(t).toEqual({
      silentWarningAfterMs: 3 * day,
      silentCriticalAfterMs: 7 * day,
      failureRateAbove: 0.1,
      openConflictsAtLeast: 1,
      slowMedianAboveMs: day,
    });
  });

  it('judges what it was not sent as healthy: never synced, no window, no delay measured', () => {
    // A device that never synced is not "silent"; nothing recent means no rate to judge.
    expect(syncAlerts([healthy('new', { lastSyncAt: null })], now)).toEqual([]);
    expect(syncAlerts([healthy('idle', { recent: { total: 0, failed: 0, conflicts: 0 } })], now)).toEqual([]);
    expect(syncAlerts([healthy('unmeasured', { delay: null })], now)).toEqual([]);
    // A server before decision 0036 sends no window: the all-time counts are judged instead.
    const old = healthy('old', { total: 10, failed: 2 });
    delete old.recent;
    delete old.delay;
    expect(syncAlerts([old], now)).toMatchObject([{ kind: 'failing', over: 'all', failed: 2, total: 10 }]);
    // A last sync after `now` (the reader's clock behind the server's) is not silence.
    expect(syncAlerts([healthy('ahead', { lastSyncAt: ago(-day) })], now)).toEqual([]);
  });

  it('takes other thresholds, and refuses an invalid time', () => {
    const device = healthy('d', { lastSyncAt: ago(2 * day), openConflicts: 2 });
    expect(syncAlerts([device], now)).toMatchObject([{ kind: 'conflicts' }]);
    expect(syncAlerts([device], now, { silentWarningAfterMs: day, openConflictsAtLeast: 3 })).toMatchObject([
      { kind: 'silent', severity: 'warning' },
    ]);
    expect(() => syncAlerts([device], Number.NaN)).toThrow(RangeError);
  });

  const arbitraryDevice = fc.record({
    deviceId: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    silentMs: fc.option(fc.integer({ min: -day, max: 20 * day }), { nil: null }),
    total: fc.integer({ min: 0, max: 50 }),
    failedShare: fc.double({ min: 0, max: 1, noNaN: true }),
    openConflicts: fc.integer({ min: 0, max: 5 }),
    medianMs: fc.option(fc.integer({ min: 0, max: 5 * day }), { nil: null }),
  });
  type DeviceFigures = typeof arbitraryDevice extends fc.Arbitrary<infer T> ? T : never;
  const toDevice = (r: DeviceFigures): SyncAlertDevice => {
    const failed = Math.floor(r.total * r.failedShare);
    return healthy(r.deviceId, {
      lastSyncAt: r.silentMs === null ? null : ago(r.silentMs),
      recent: { total: r.total, failed, conflicts: 0 },
      openConflicts: r.openConflicts,
      delay: r.medianMs === null ? null : { medianMs: r.medianMs, maxMs: r.medianMs, measured: 1 },
    });
  };

  it('lists alerts most severe first, whatever order the devices come in', () => {
    fc.assert(
      fc.property(fc.array(arbitraryDevice, { maxLength: 8 }), (records) => {
        const devices = records.map(toDevice);
        const alerts = syncAlerts(devices, now);
        for (let i = 1; i < alerts.length; i += 1) {
          expect(compareSyncAlerts(alerts[i - 1]!, alerts[i]!)).toBeLessThanOrEqual(0);
        }
        const criticalAfterWarning = alerts.findIndex(
          (a, i) => a.severity === 'critical' && alerts.slice(0, i).some((b) => b.severity === 'warning'),
        );
        expect(criticalAfterWarning).toBe(-1);
        expect(syncAlerts([...devices].reverse(), now)).toEqual(alerts);
      }),
    );
  });

  it('raises each alert exactly when its figure is past its threshold', () => {
    const t = syncAlertThresholds;
    fc.assert(
      fc.property(arbitraryDevice, (r) => {
        const device = toDevice(r);
        const kinds = new Set(syncAlerts([device], now).map((a) => a.kind));
        expect(kinds.has('silent')).toBe(r.silentMs !== null && r.silentMs > t.silentWarningAfterMs);
        const recent = device.recent!;
        expect(kinds.has('failing')).toBe(recent.total > 0 && recent.failed * 10 > recent.total);
        expect(kinds.has('conflicts')).toBe(r.openConflicts >= 1);
        expect(kinds.has('slow')).toBe(r.medianMs !== null && r.medianMs > t.slowMedianAboveMs);
      }),
    );
  });

  it('never takes an alert away when a figure gets worse', () => {
    fc.assert(
      fc.property(arbitraryDevice, fc.integer({ min: 0, max: 10 * day }), (r, worse) => {
        const before = syncAlerts([toDevice(r)], now).map((a) => a.kind);
        const after = syncAlerts(
          [
            toDevice({
              ...r,
              silentMs: r.silentMs === null ? null : r.silentMs + worse,
              medianMs: r.medianMs === null ? null : r.medianMs + worse,
              openConflicts: r.openConflicts + 1,
            }),
          ],
          now,
        ).map((a) => a.kind);
        for (const kind of before) expect(after).toContain(kind);
      }),
    );
  });
});
