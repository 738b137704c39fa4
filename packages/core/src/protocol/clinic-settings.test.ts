import { describe, expect, it } from 'vitest';
import { clinicSettingsResponseSchema, screenLockBounds, screenLockRequestSchema } from '../index';

/** The messages a request is refused with, by path; [] when it is accepted. */
function refusals(body: unknown): string[] {
  const parsed = screenLockRequestSchema.safeParse(body);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

const minutes = (afterMinutes: unknown) => ({ screenLock: { afterMinutes } });

describe("a clinic's screen lock (decision 0048)", () => {
  it('takes whole minutes from 1 to 240, never, or the default', () => {
    for (const m of [1, 10, 240]) expect(screenLockRequestSchema.parse(minutes(m))).toEqual(minutes(m));
    expect(screenLockRequestSchema.parse(minutes(null))).toEqual(minutes(null));
    expect(screenLockRequestSchema.parse({ screenLock: null })).toEqual({ screenLock: null });
    expect(screenLockBounds.defaultMinutes).toBe(10);
  });

  it('refuses other times in words a person reads', () => {
    expect(refusals(minutes(0))).toEqual([
      'screenLock.afterMinutes: the screen lock must be at least 1 minute',
    ]);
    expect(refusals(minutes(241))).toEqual([
      'screenLock.afterMinutes: the screen lock must be at most 240 minutes (4 hours)',
    ]);
    expect(refusals(minutes(2.5))).toEqual([
      'screenLock.afterMinutes: the screen lock must be a whole number of minutes',
    ]);
    for (const m of ['10', undefined, true, Number.NaN])
      expect(refusals(minutes(m)), String(m)).toEqual([
        'screenLock.afterMinutes: the screen lock must be a number of minutes, or null for never',
      ]);
  });

  it('refuses any other shape, and unknown fields, saying what to send', () => {
    expect(refusals({ screenLock: { afterMinutes: 5, afterSeconds: 1 } })).toEqual([
      'screenLock: the screen lock takes afterMinutes only, not afterSeconds',
    ]);
    expect(refusals({ screenLock: null, clinic: 'clinic-b' })).toEqual([
      ': the request takes screenLock only, not clinic',
    ]);
    for (const body of [{}, { screenLock: 10 }, { screenLock: [] }])
      expect(refusals(body), JSON.stringify(body)).toEqual([
        'screenLock: the screen lock must be { "afterMinutes": minutes or null }, or null for the default',
      ]);
    for (const body of [null, [], 'never', { afterMinutes: 5 }])
      expect(refusals(body), JSON.stringify(body)).not.toEqual([]);
  });

  it("reads a server's answer, also outside today's bounds", () => {
    const answer = {
      screenLock: {
        afterMinutes: 480,
        custom: true,
        updatedAt: '2026-03-01T08:00:00.000Z',
        updatedBy: 'user-1',
        updatedByEmail: 'admin@clinic-a.test',
      },
    };
    expect(clinicSettingsResponseSchema.parse(answer)).toEqual(answer);
    // A later server's other settings are read past, not refused.
    expect(clinicSettingsResponseSchema.parse({ ...answer, printing: { copies: 2 } })).toEqual(answer);
  });
});
