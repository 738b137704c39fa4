import { z } from 'zod';
import { answeredAlertThresholdsSchema } from './alert-thresholds';
import { deviceIdSchema } from './common';

export const healthResponseSchema = z.object({
  status: z.literal('ok'),
  database: z.enum(['sqlite', 'postgres']),
  version: z.string(),
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;

export const statusQuerySchema = z.object({ deviceId: deviceIdSchema.optional() });

export const statusResponseSchema = z.object({
  lastSyncAt: z.string().nullable(),
  ops: z.object({
    applied: z.number().int(),
    conflict: z.number().int(),
    rejected: z.number().int(),
    duplicate: z.number().int(),
  }),
  openConflicts: z.number().int(),
});
export type StatusResponse = z.infer<typeof statusResponseSchema>;

export const statsQuerySchema = z.object({
  userId: z.string().min(1).max(128).optional(),
  deviceId: deviceIdSchema.optional(),
});

/** Seed 000's statistics shape. */
export const statsResponseSchema = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  synced: z.number().int(),
  failed: z.number().int(),
  conflicts: z.number().int(),
  syncRate: z.string(),
});
export type StatsResponse = z.infer<typeof statsResponseSchema>;

/**
 * Seed 000's sync rate: the share of received ops that synced, as "93.33%". Nothing received yet
 * reads as healthy (100%), not as 0% synced: a fresh device has failed at nothing. Rounded to two
 * places, except that it reads 100.00% only when every op synced and 0.00% only when none did:
 * one op failing in 40,000 must not look like none.
 */
export function syncRate(synced: number, total: number): string {
  if (total === 0 || synced >= total) return '100.00%';
  if (synced <= 0) return '0.00%';
  const percent = Math.min(99.99, Math.max(0.01, (synced / total) * 100));
  return `${percent.toFixed(2)}%`;
}

/**
 * A device's ops the server received in the recent window (`recentSince` of the response, decision
 * 0036): what a failure rate is judged on, so one bad day long ago does not flag a device for good.
 */
export const deviceRecentSchema = z.object({
  /** Ops received (each once, however often it was resent). */
  total: z.number().int(),
  /** Of them, refused for good (seed 000's FAILED). */
  failed: z.number().int(),
  /** Of them, met a conflict. */
  conflicts: z.number().int(),
});
export type DeviceRecent = z.infer<typeof deviceRecentSchema>;

/**
 * How long the device's recent ops waited between being made (their HLC's wall time: the device's
 * clock, which can be wrong) and reaching the server; a negative wait (a clock ahead) counts as 0.
 */
export const deviceDelaySchema = z.object({
  medianMs: z.number().nonnegative(),
  maxMs: z.number().nonnegative(),
  /** How many ops the figures are over: those received in the window that carried a device HLC. */
  measured: z.number().int().positive(),
});
export type DeviceDelay = z.infer<typeof deviceDelaySchema>;

/** `GET /v1/sync/stats/devices` (admin): seed 000's figures for each device that has synced, with its user. */
export const deviceStatsSchema = statsResponseSchema.extend({
  userId: z.string(),
  /** The user's sign-in email, or null when the user is no longer stored. */
  email: z.string().nullable(),
  deviceId: z.string(),
  lastSyncAt: z.string().nullable(),
  openConflicts: z.number().int(),
  /** Additions to PROTOCOL.md (decision 0036), absent from servers before them. */
  recent: deviceRecentSchema.optional(),
  /** Null when no op received in the window carried a device HLC. */
  delay: deviceDelaySchema.nullable().optional(),
  /**
   * When an administrator took the device out of use (decision 0057), while it has not synced
   * since: a sync after it puts the device back in use by itself. Null when in use; absent from
   * servers before it.
   */
  outOfUseSince: z.string().nullable().optional(),
});
export type DeviceStats = z.infer<typeof deviceStatsSchema>;
export const deviceStatsResponseSchema = z.object({
  devices: z.array(deviceStatsSchema),
  /** The server's time when it read the figures: ages are judged against it, not the reader's clock. */
  asOf: z.string().optional(),
  /** Where the recent window (each device's `recent` and `delay`) starts: asOf less 7 days. */
  recentSince: z.string().optional(),
  /**
   * The clinic's alert thresholds, the defaults filled in (decision 0042): what its devices are
   * judged by. Absent from servers before it: judge by core's syncAlertThresholds then.
   */
  alertThresholds: answeredAlertThresholdsSchema.optional(),
});
export type DeviceStatsResponse = z.infer<typeof deviceStatsResponseSchema>;

export const recordResponseSchema = z.object({
  collection: z.string(),
  id: z.string(),
  version: z.number().int(),
  deleted: z.boolean(),
  data: z.record(z.string(), z.unknown()).nullable(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  hlc: z.string(),
});
export type RecordResponse = z.infer<typeof recordResponseSchema>;
