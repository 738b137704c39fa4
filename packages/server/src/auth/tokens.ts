import { SignJWT, errors, jwtVerify } from 'jose';
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
  /** When the token this caller showed expires (ms since the epoch); a live stream ends then. */
  expiresAtMs?: number;
}

export type TokenCheck =
  | { ok: true; auth: AuthContext }
  | {
      ok: false;
      reason: 'invalid-token' | 'expired-token';
      /** Whose expired token it was: its signature held, so its claims are authentic. */
      holder?: AuthContext;
    };

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
    const checked = await this.check(token, now);
    return checked.ok ? checked.auth : null;
  }

  /** The caller, or why the token is refused: the audit tells an expired token from a forged one. */
  async check(token: string, now: Date): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        currentDate: now,
        requiredClaims: ['exp', 'sub'],
      });
      const claims: TokenClaims = tokenClaimsSchema.parse(payload);
      return {
        ok: true,
        auth: {
          userId: claims.sub,
          tenant: claims.tenant,
          roles: claims.roles,
          ...(payload.exp !== undefined ? { expiresAtMs: payload.exp * 1000 } : {}),
        },
      };
    } catch (err) {
      if (!(err instanceof errors.JWTExpired)) return { ok: false, reason: 'invalid-token' };
      // jose checks the signature before the claims, so an expired token's claims are ours.
      const claims = tokenClaimsSchema.safeParse(err.payload);
      return {
        ok: false,
        reason: 'expired-token',
        ...(claims.success
          ? { holder: { userId: claims.data.sub, tenant: claims.data.tenant, roles: claims.data.roles } }
          : {}),
      };
    }
  }
}
