// Bearer tokens made in the test, signed the way an identity provider sharing the server's secret
// signs them (claims: sub, tenant, roles, exp), or made to fail in one precise way.
import { SignJWT } from 'jose';
import { testSecret } from '../server-fixture';

export interface Claims {
  sub: string;
  tenant: string;
  roles: string[];
}

export async function signToken(
  claims: Claims,
  options: { secret?: string; expiresInSeconds?: number; now?: Date } = {},
): Promise<string> {
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ tenant: claims.tenant, roles: claims.roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(now - 3600)
    .setExpirationTime(now + (options.expiresInSeconds ?? 600))
    .sign(new TextEncoder().encode(options.secret ?? testSecret));
}

/** Claims an administrator of the clinic, signed with a secret that is not the server's. */
export function forgedToken(claims: Claims): Promise<string> {
  return signToken(claims, { secret: 'not-the-server-secret-but-just-as-long-as-it' });
}

/** Signed with the server's secret, by the right issuer, and expired a minute ago. */
export function expiredToken(claims: Claims): Promise<string> {
  return signToken(claims, { expiresInSeconds: -60 });
}
