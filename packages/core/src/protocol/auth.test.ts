import { describe, expect, it } from 'vitest';
import * as core from '../index';
import {
  loginResponseSchema,
  logoutRequestSchema,
  refreshRequestSchema,
  refreshResponseSchema,
} from './auth';

const login = {
  token: 'a.b.c',
  expiresAt: '2031-03-01T20:00:00.000Z',
  user: { id: 'u1', tenant: 'clinic-a', roles: ['clinician'] },
};
const refreshToken = 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg';

describe('session schemas', () => {
  it("reads a login answer with or without a refresh token: another server's answer still parses", () => {
    expect(loginResponseSchema.parse(login)).toEqual(login);
    const withRefresh = { ...login, refreshToken, refreshExpiresAt: '2031-03-31T08:00:00.000Z' };
    expect(loginResponseSchema.parse(withRefresh)).toEqual(withRefresh);
    expect(loginResponseSchema.safeParse({ ...login, refreshToken: 5 }).success).toBe(false);
  });

  it("reads a login answer with the person's records key, and drops one from a refresh answer", () => {
    const recordsKey = 'q2v8Jm0yQk1sV3ZrX0xHbnRfN0FjZ1RmUXBzY2pIYk0';
    expect(recordsKey).toHaveLength(43);
    const withKey = { ...login, refreshToken, refreshExpiresAt: '2031-03-31T08:00:00.000Z', recordsKey };
    expect(loginResponseSchema.parse(withKey)).toEqual(withKey);
    expect(loginResponseSchema.safeParse({ ...login, recordsKey: 5 }).success).toBe(false);
    // A refresh token is no proof of the password: a key a refresh answer carried is not handed on.
    const { recordsKey: _kept, ...refreshed } = withKey;
    expect(refreshResponseSchema.parse(withKey)).toEqual(refreshed);
  });

  it('wants the next refresh token in every refresh answer', () => {
    expect(refreshResponseSchema.safeParse(login).success).toBe(false);
    const answer = { ...login, refreshToken, refreshExpiresAt: '2031-03-31T08:00:00.000Z' };
    expect(refreshResponseSchema.parse(answer)).toEqual(answer);
  });

  it('takes any token text of a bounded length (the server judges it) and an optional device', () => {
    expect(refreshRequestSchema.parse({ refreshToken: 'x', deviceId: 'tablet-7' })).toEqual({
      refreshToken: 'x',
      deviceId: 'tablet-7',
    });
    for (const body of [{}, { refreshToken: '' }, { refreshToken: 'x'.repeat(513) }, { refreshToken: 5 }])
      expect(refreshRequestSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
    expect(refreshRequestSchema.safeParse({ refreshToken: 'x', deviceId: '\ud800' }).success).toBe(false);
    expect(logoutRequestSchema.parse({ refreshToken })).toEqual({ refreshToken });
  });

  it('is exported from the package', () => {
    expect(typeof core.refreshRequestSchema?.parse).toBe('function');
    expect(core.refreshRequestSchema).toBe(refreshRequestSchema);
    expect(core.refreshResponseSchema).toBe(refreshResponseSchema);
    expect(core.logoutRequestSchema).toBe(logoutRequestSchema);
  });
});
