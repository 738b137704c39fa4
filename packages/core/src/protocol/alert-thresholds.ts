import { z } from 'zod';

const hour = 60 * 60 * 1000;
const day = 24 * hour;

/**
 * The bounds of a clinic's own alert thresholds (decision 0042). A time is a whole number of
 * milliseconds from an hour to a year: below an hour, a tablet between two villages is flagged;
 * above a year, nothing is ever flagged, which turning the page off would say more plainly.
 */
export const alertThresholdBounds = {
  minMs: hour,
  maxMs: 365 * day,
  /** A share of failed changes, 0 (any failure) up to but not including 1 (never). */
  maxFailureRate: 1,
  maxOpenConflicts: 1000,
} as const;

const timeMs = (what: string) =>
  z
    .number({ error: `${what} must be a number of milliseconds` })
    .int({ error: `${what} must be a whole number of milliseconds` })
    .min(alertThresholdBounds.minMs, { error: `${what} must be at least an hour (3600000 ms)` })
    .max(alertThresholdBounds.maxMs, { error: `${what} must be at most 365 days (31536000000 ms)` });

/**
 * A clinic's alert thresholds as an administrator sends them (`PUT /v1/admin/alert-thresholds`):
 * the five of core's `syncAlertThresholds`, all of them, nothing else. Each "after" and "above" is
 * strict, as in syncAlerts.
 */
export const alertThresholdsSchema = z
  .object({
    silentWarningAfterMs: timeMs('silentWarningAfterMs'),
    silentCriticalAfterMs: timeMs('silentCriticalAfterMs'),
    failureRateAbove: z
      .number({ error: 'failureRateAbove must be a number from 0 to below 1' })
      .min(0, { error: 'failureRateAbove must be at least 0 (any failure)' })
      .lt(alertThresholdBounds.maxFailureRate, {
        error: 'failureRateAbove must be below 1: no device can fail more than all its changes',
      }),
    openConflictsAtLeast: z
      .number({ error: 'openConflictsAtLeast must be a number' })
      .int({ error: 'openConflictsAtLeast must be a whole number' })
      .min(1, { error: 'openConflictsAtLeast must be at least 1' })
      .max(alertThresholdBounds.maxOpenConflicts, {
        error: `openConflictsAtLeast must be at most ${alertThresholdBounds.maxOpenConflicts}`,
      }),
    slowMedianAboveMs: timeMs('slowMedianAboveMs'),
  })
  .strict()
  .refine((t) => t.silentCriticalAfterMs >= t.silentWarningAfterMs, {
    error: 'silentCriticalAfterMs must not be less than silentWarningAfterMs: urgent comes after a check',
    path: ['silentCriticalAfterMs'],
  });
export type AlertThresholds = z.infer<typeof alertThresholdsSchema>;

/** The body of `PUT /v1/admin/alert-thresholds`: the whole set, or null for the defaults. */
export const alertThresholdsRequestSchema = z
  .object({ thresholds: alertThresholdsSchema.nullable() })
  .strict();
export type AlertThresholdsRequest = z.infer<typeof alertThresholdsRequestSchema>;

/**
 * Thresholds as a server answers them: read without the bounds, so that a client still reads the
 * answer of a server whose bounds were widened, and without refusing fields a newer one adds.
 */
export const answeredAlertThresholdsSchema = z.object({
  silentWarningAfterMs: z.number(),
  silentCriticalAfterMs: z.number(),
  failureRateAbove: z.number(),
  openConflictsAtLeast: z.number(),
  slowMedianAboveMs: z.number(),
});

/** `GET` and `PUT /v1/admin/alert-thresholds` (administrators; an addition to PROTOCOL.md). */
export const alertThresholdsResponseSchema = z.object({
  /** The clinic's thresholds, the defaults (core's syncAlertThresholds) where it set none. */
  thresholds: answeredAlertThresholdsSchema,
  /** Whether the clinic set its own; false: the defaults. */
  custom: z.boolean(),
  /** When and by whom (user id, and email while the user is stored) they were last set; null for never. */
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
  updatedByEmail: z.string().nullable(),
});
export type AlertThresholdsResponse = z.infer<typeof alertThresholdsResponseSchema>;
