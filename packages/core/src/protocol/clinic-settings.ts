import { z } from 'zod';

/**
 * A clinic's settings that every device of it applies (an addition to PROTOCOL.md, docs/server.md):
 * `GET /v1/clinic-settings` for anyone signed in, each set by administrators on a route of its own.
 * One today: the screen lock (decision 0048).
 */

/**
 * How long a tablet may go without use before it locks, in whole minutes (decision 0048). Under a
 * minute, a nurse reading a chart aloud is locked out mid-sentence; past four hours, the lock no
 * longer protects a tablet left on a ward's desk over a shift, and "never" says so more plainly.
 */
export const screenLockBounds = { minMinutes: 1, maxMinutes: 240, defaultMinutes: 10 } as const;

/** What a clinic sets: minutes without use before its tablets lock, or null for never. */
export const screenLockSchema = z.strictObject(
  {
    afterMinutes: z
      .number({ error: 'the screen lock must be a number of minutes, or null for never' })
      .int({ error: 'the screen lock must be a whole number of minutes' })
      .min(screenLockBounds.minMinutes, { error: 'the screen lock must be at least 1 minute' })
      .max(screenLockBounds.maxMinutes, { error: 'the screen lock must be at most 240 minutes (4 hours)' })
      .nullable(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `the screen lock takes afterMinutes only, not ${issue.keys.join(', ')}`
        : 'the screen lock must be { "afterMinutes": minutes or null }, or null for the default',
  },
);
export type ScreenLock = z.infer<typeof screenLockSchema>;

/** The body of `PUT /v1/admin/screen-lock`: the clinic's own screen lock, or null for the default. */
export const screenLockRequestSchema = z.strictObject(
  { screenLock: screenLockSchema.nullable() },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `the request takes screenLock only, not ${issue.keys.join(', ')}`
        : 'send { "screenLock": { "afterMinutes": minutes or null } }, or { "screenLock": null } for the default',
  },
);
export type ScreenLockRequest = z.infer<typeof screenLockRequestSchema>;

/**
 * A screen lock as a server answers it: read without the bounds, so that a device still reads the
 * answer of a server whose bounds were widened.
 */
export const answeredScreenLockSchema = z.object({ afterMinutes: z.number().nullable() });

/** The clinic's screen lock in force, and whether and by whom it was set. */
export const screenLockResponseSchema = answeredScreenLockSchema.extend({
  /** Whether the clinic set its own; false: the default, `screenLockBounds.defaultMinutes`. */
  custom: z.boolean(),
  /** When and by whom (user id, and email while the user is stored) it was last set; null for never. */
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
  updatedByEmail: z.string().nullable(),
});
export type ScreenLockResponse = z.infer<typeof screenLockResponseSchema>;

/**
 * `GET /v1/clinic-settings` (anyone signed in) and `PUT /v1/admin/screen-lock` (administrators): the
 * settings every device of the clinic applies, by name, so that later ones have a place.
 */
export const clinicSettingsResponseSchema = z.object({ screenLock: screenLockResponseSchema });
export type ClinicSettingsResponse = z.infer<typeof clinicSettingsResponseSchema>;
