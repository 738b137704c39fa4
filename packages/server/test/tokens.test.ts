import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenService } from '../src/auth/tokens';

const secret = 'a-test-secret-that-is-long-enough-for-hs256';
const nurse = { userId: 'nurse-1', tenant: 'clinic-a', roles: ['clinician'] };
const issued = { ...nurse, sessionGeneration: 2 };
const at = (seconds: number) => new Date(seconds * 1000);
const start = 1_900_000_000;

describe('TokenService', () => {
  it('keeps answering a token exactly as checking it again would: valid until it expires, then expired', async () => {
    const tokens = new TokenService({ jwtSecret: secret, tokenTtlSeconds: 3600 });
    const { token } = await tokens.issue(issued, at(start));
    expect(await tokens.check(token, at(start))).toEqual({
      ok: true,
      auth: { ...nurse, expiresAtMs: (start + 3600) * 1000, sessionGeneration: 2 },
    });
    expect((await tokens.check(token, at(start + 3599))).ok).toBe(true);
    // Remembered as valid a second ago, refused now: the same answer a fresh check gives.
    expect(await tokens.check(token, at(start + 3600))).toEqual({
      ok: false,
      reason: 'expired-token',
      holder: nurse,
    });
  });

  it('lets no token in before its not-before time, even one checked before', async () => {
    const tokens = new TokenService({ jwtSecret: secret });
    const key = new TextEncoder().encode(secret);
    const token = await new SignJWT({ tenant: 'clinic-a', roles: ['clinician'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('nurse-1')
      .setNotBefore(start + 60)
      .setExpirationTime(start + 3600)
      .sign(key);
    expect((await tokens.check(token, at(start))).ok).toBe(false);
    expect((await tokens.check(token, at(start + 60))).ok).toBe(true);
    // A server clock set back (an operator's correction) sees the token as not yet valid again.
    expect((await tokens.check(token, at(start + 59))).ok).toBe(false);
  });

  it('refuses a token whose signature was changed, after the genuine one was let in', async () => {
    const tokens = new TokenService({ jwtSecret: secret });
    const { token } = await tokens.issue(issued, at(start));
    expect((await tokens.check(token, at(start))).ok).toBe(true);
    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    expect(await tokens.check(forged, at(start))).toEqual({ ok: false, reason: 'invalid-token' });
  });

  it('hands every request the same caller, which none can change for the next', async () => {
    const tokens = new TokenService({ jwtSecret: secret });
    const { token } = await tokens.issue(issued, at(start));
    const first = await tokens.check(token, at(start));
    if (!first.ok) throw new Error('the token should hold');
    expect(() => first.auth.roles.push('admin')).toThrow(TypeError);
    const second = await tokens.check(token, at(start + 1));
    expect(second.ok && second.auth.roles).toEqual(['clinician']);
  });

  it("reads the session generation of this server's tokens only: 0 for one issued before the claim, none for another issuer's", async () => {
    const tokens = new TokenService({ jwtSecret: secret });
    const key = new TextEncoder().encode(secret);
    const signed = (issuer: string, claims: Record<string, unknown> = {}) =>
      new SignJWT({ tenant: 'clinic-a', roles: ['clinician'], ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('nurse-1')
        .setIssuer(issuer)
        .setExpirationTime(start + 3600)
        .sign(key);
    const generation = async (token: string) => {
      const checked = await tokens.check(token, at(start));
      if (!checked.ok) throw new Error('the token should hold');
      return checked.auth.sessionGeneration;
    };
    expect(await generation(await signed('outpost', { sv: 3 }))).toBe(3);
    expect(await generation(await signed('outpost'))).toBe(0);
    expect(await generation(await signed('outpost', { sv: 'many' }))).toBe(0);
    expect(await generation(await signed('https://id.clinic.example', { sv: 3 }))).toBeUndefined();
  });
});
