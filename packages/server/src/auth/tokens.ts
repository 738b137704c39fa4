import { SignJWT, jwtVerify } from 'jose';
import { tokenClaimsSchema } from '@outpost/core';
import type { TokenClaims } from '@outpost/core';

export interface AuthOptions {
  /** HS256 secret shared with whoever issues tokens (this server's login, or the clinic's identity provider). */
  jwtSecret: string;
  /** Lifetime of tokens this server issues at login. Default 12 hours: one long clinic day. */
  tokenTtlSeconds?: number;
  issuer?: string;
}

export interface AuthContext {
  userId: string;
  tenant: string;
  roles: string[];
}

export class TokenService {
  private readonly key: Uint8Array;
  private readonly ttl: number;
  private readonly issuer: string;

  constructor(options: AuthOptions) {
    if (options.jwtSecret.length < 32) throw new Error('jwtSecret must be at least 32 characters');
    this.key = new TextEncoder().encode(options.jwtSecret);
    this.ttl = options.tokenTtlSeconds ?? 12 * 60 * 60;
    this.issuer = options.issuer ?? 'outpost';
  }

  async issue(user: AuthContext, now: Date): Promise<{ token: string; expiresAt: string }> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.ttl;
    const token = await new SignJWT({ tenant: user.tenant, roles: user.roles })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.userId)
      .setIssuer(this.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Returns the caller, or null for a token that is forged, expired, or lacks Outpost's claims. */
  async verify(token: string, now: Date): Promise<AuthContext | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        currentDate: now,
        requiredClaims: ['exp', 'sub'],
      });
      const claims: TokenClaims = tokenClaimsSchema.parse(payload);
      return { userId: claims.sub, tenant: claims.tenant, roles: claims.roles };
    } catch {
      return null;
    }
  }
}
