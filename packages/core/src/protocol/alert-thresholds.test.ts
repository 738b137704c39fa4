import { describe, expect, it } from 'vitest';
import {
  alertThresholdsRequestSchema,
  alertThresholdsResponseSchema,
  alertThresholdsSchema,
  deviceStatsResponseSchema,
  syncAlertThresholds,
} from '../index';

const hour = 60 * 60 * 1000;
const day = 24 * hour;

/** The messages a set of thresholds is refused with, by field; [] when it is accepted. */
function refusals(over: Record<string, unknown>): string[] {
  const parsed = alertThresholdsSchema.safeParse({ ...syncAlertThresholds, ...over });
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('alert thresholds a clinic sets (decision 0042)', () => {
  it('accepts the defaults and a clinic of its own', () => {
    expect(alertThresholdsSchema.parse(syncAlertThresholds)).toEqual(syncAlertThresholds);
    const own = {
      silentWarningAfterMs: day,
      silentCriticalAfterMs: 2 * day,
      failureRateAbove: 0.25,
      openConflictsAtLeast: 3,
      slowMedianAboveMs: 12 * hour,
    };
    expect(alertThresholdsSchema.parse(own)).toEqual(own);
  });

  it('takes times in whole milliseconds from an hour to 365 days', () => {
    for (const field of ['silentWarningAfterMs', 'silentCriticalAfterMs', 'slowMedianAboveMs']) {
      // Urgent may not come before the check: the lowest and highest are tried on both at once.
      const both = (ms: number) =>
        field === 'slowMedianAboveMs'
          ? { [field]: ms }
          : { silentWarningAfterMs: ms, silentCriticalAfterMs: ms };
      expect(refusals(both(hour)), field).toEqual([]);
      expect(refusals(both(365 * day)), field).toEqual([]);
      expect(refusals({ [field]: hour - 1 })).toContain(
        `${field}: ${field} must be at least an hour (3600000 ms)`,
      );
      expect(refusals({ [field]: 365 * day + 1 })).toContain(
        `${field}: ${field} must be at most 365 days (31536000000 ms)`,
      );
      expect(refusals({ [field]: 2.5 * hour + 0.5 })).toEqual([
        `${field}: ${field} must be a whole number of milliseconds`,
      ]);
      expect(refusals({ [field]: '3 days' })).toEqual([
        `${field}: ${field} must be a number of milliseconds`,
      ]);
      expect(refusals({ [field]: null })).toHaveLength(1);
    }
  });

  it('refuses an urgent threshold before the check, and accepts both at once', () => {
    expect(refusals({ silentWarningAfterMs: 3 * day, silentCriticalAfterMs: 3 * day - 1 })).toEqual([
      'silentCriticalAfterMs: silentCriticalAfterMs must not be less than silentWarningAfterMs: urgent comes after a check',
    ]);
    expect(refusals({ silentWarningAfterMs: 3 * day, silentCriticalAfterMs: 3 * day })).toEqual([]);
  });

  it('takes a failure rate from 0 (any failure) to below 1', () => {
    expect(refusals({ failureRateAbove: 0 })).toEqual([]);
    expect(refusals({ failureRateAbove: 0.999 })).toEqual([]);
    expect(refusals({ failureRateAbove: 1 })).toEqual([
      'failureRateAbove: failureRateAbove must be below 1: no device can fail more than all its changes',
    ]);
    expect(refusals({ failureRateAbove: -0.01 })).toEqual([
      'failureRateAbove: failureRateAbove must be at least 0 (any failure)',
    ]);
    // A percentage sent where a share is meant is refused, not read as a rate of 1000%.
    expect(refusals({ failureRateAbove: 10 })).toHaveLength(1);
  });

  it('takes open conflicts as a whole number from 1 to 1000', () => {
    expect(refusals({ openConflictsAtLeast: 1 })).toEqual([]);
    expect(refusals({ openConflictsAtLeast: 1000 })).toEqual([]);
    expect(refusals({ openConflictsAtLeast: 0 })).toEqual([
      'openConflictsAtLeast: openConflictsAtLeast must be at least 1',
    ]);
    expect(refusals({ openConflictsAtLeast: 1001 })).toEqual([
      'openConflictsAtLeast: openConflictsAtLeast must be at most 1000',
    ]);
    expect(refusals({ openConflictsAtLeast: 1.5 })).toEqual([
      'openConflictsAtLeast: openConflictsAtLeast must be a whole number',
    ]);
  });

  it('wants the whole set and nothing else', () => {
    const { slowMedianAboveMs: _left, ...four } = syncAlertThresholds;
    expect(alertThresholdsSchema.safeParse(four).success).toBe(false);
    expect(refusals({ quietHours: 3 })).toEqual([': Unrecognized key: "quietHours"']);
  });

  it('reads a request for a set or for the defaults, and nothing else', () => {
    expect(alertThresholdsRequestSchema.parse({ thresholds: null })).toEqual({ thresholds: null });
    expect(alertThresholdsRequestSchema.parse({ thresholds: syncAlertThresholds })).toEqual({
      thresholds: syncAlertThresholds,
    });
    for (const body of [{}, { thresholds: {} }, { thresholds: null, reset: true }, [], 'defaults', null])
      expect(alertThresholdsRequestSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
  });

  it("reads a server's answer, and the figures of a server that sends no thresholds", () => {
    const answer = {
      thresholds: { ...syncAlertThresholds, silentWarningAfterMs: 10 * 60 * 1000 },
      custom: true,
      updatedAt: '2026-03-01T08:00:00.000Z',
      updatedBy: 'user-1',
      updatedByEmail: 'admin@clinic-a.test',
    };
    // Outside today's bounds, as a later server might allow: still read.
    expect(alertThresholdsResponseSchema.parse(answer)).toEqual(answer);
    const older = { devices: [], asOf: '2026-03-01T08:00:00.000Z', recentSince: '2026-02-22T08:00:00.000Z' };
    expect(deviceStatsResponseSchema.parse(older).alertThresholds).toBeUndefined();
    expect(
      deviceStatsResponseSchema.parse({ ...older, alertThresholds: syncAlertThresholds }).alertThresholds,
    ).toEqual(syncAlertThresholds);
  });
});
