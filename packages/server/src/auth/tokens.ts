import { SignJWT, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTVerifyResult } from 'jose';
import { tokenClaimsSchema } from '@outpost/core';
import type { TokenClaims } from '@outpost/core';

export interface AuthOptions {
  /** HS256 secret shared with whoever issues tokens (this server's login, or the clinic's identity provider). */
  jwtSecret: string;
  /** Lifetime of tokens this server issues at login. Default 12 hours: one long clinic day. */
  tokenTtlSeconds?: number;
  /**
   * Lifetime of each refresh token a login or a refresh hands out (decision 0032): a session not
   * refreshed for this long ends. Default 30 days: a field worker away for weeks syncs on her return
   * without her password. Sliding: each refresh starts the time again, up to `refreshMaxAgeSeconds`.
   */
  refreshTtlSeconds?: number;
  /**
   * The longest a session lives from its login, however often it is refreshed: then the password is
   * asked again. Default 90 days. Every answer's `refreshExpiresAt` already says the earlier of both.
   */
  refreshMaxAgeSeconds?: number;
  issuer?: string;
  /**
   * A clinic's own identity provider (PROTOCOL.md: "a JWT secret or JWKS URL"): tokens it signs
   * with an asymmetric key (RS256, ES256, EdDSA...) are checked against the public keys it
   * publishes at `jwksUrl`, fetched and cached by jose. They must carry Outpost's claims: `sub`,
   * `tenant`, `roles`, `exp`. Name the provider's `issuer` and this server's `audience` so that a
   * token it made for another application is not taken. HS256 tokens are still checked with
   * `jwtSecret`.
   */
  identityProvider?: { jwksUrl: string; issuer?: string; audience?: string };
}

/** A token's `sv` claim: a whole number from 0, or 0 (a token issued before the claim existed). */
function generationOf(claim: unknown): number {
  return typeof claim === 'number' && Number.isSafeInteger(claim) && claim >= 0 ? claim : 0;
}

/** What an identity provider may sign with; HS256 stays with the shared secret. */
const asymmetricAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

export interface AuthContext {
  userId: string;
  tenant: string;
  roles: string[];
  /** When the token this caller showed expires (ms since the epoch); a live stream ends then. */
  expiresAtMs?: number;
  /**
   * The user's session generation when this server issued the token (its `sv` claim; 0 for one of
   * ours issued before the claim existed). A token whose generation is behind the user's, whose
   * sessions were all ended since, is refused (auth/ended-sessions.ts). Undefined for a token of
   * another issuer (a clinic's identity provider): ending its sessions is that provider's to do.
   */
  sessionGeneration?: number;
  /**
   * The session (refresh-token family) this server issued the token in (its `sid` claim): a logout
   * ends that session, and its access tokens are refused with it (auth/ended-sessions.ts).
   * Undefined for a token of another issuer, or one of ours issued before the claim existed.
   */
  sessionId?: string;
  /**
   * The person signs in with a password an administrator set (its `pcd` claim, decision 0047):
   * every route but the password change is refused 403 until they choose their own. Only ever
   * true on a token of this server.
   */
  passwordChangeDue?: true;
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
  /**
   * The secret as a WebCrypto key, imported once. Given the raw bytes, jose imports a key on every
   * sign and verify: that doubled the cost of checking a token, which every request pays.
   */
  private readonly key: Promise<CryptoKey>;
  private readonly ttl: number;
  private readonly issuer: string;
  /**
   * Tokens already checked, by their exact text, with the seconds between which they hold: a
   * device shows the same token on every request of a sync, and checking its signature (an async
   * WebCrypto call) cost 0.3-0.5 ms of each request's time. Only a token whose signature and claims
   * held is kept, and its time window is checked again on every use, so an entry answers exactly
   * what checking the token again would. The oldest entries go first beyond `maxRemembered`.
   */
  private readonly checked = new Map<string, { auth: AuthContext; notBefore: number; expires: number }>();
  private readonly maxRemembered = 10_000;
  private readonly provider: {
    keys: ReturnType<typeof createRemoteJWKSet>;
    issuer?: string;
    audience?: string;
  } | null;

  constructor(options: AuthOptions) {
    if (options.jwtSecret.length < 32) throw new Error('jwtSecret must be at least 32 characters');
    this.key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(options.jwtSecret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    this.ttl = options.tokenTtlSeconds ?? 12 * 60 * 60;
    this.issuer = options.issuer ?? 'outpost';
    const idp = options.identityProvider;
    this.provider = idp
      ? {
          keys: createRemoteJWKSet(new URL(idp.jwksUrl)),
          ...(idp.issuer !== undefined ? { issuer: idp.issuer } : {}),
          ...(idp.audience !== undefined ? { audience: idp.audience } : {}),
        }
      : null;
  }

  /** An access token for `user`, in the session `sessionId` names (its `sid` claim) when given. */
  async issue(
    user: AuthContext & { sessionGeneration: number },
    now: Date,
  ): Promise<{ token: string; expiresAt: string }> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.ttl;
    const claims = {
      tenant: user.tenant,
      roles: user.roles,
      sv: user.sessionGeneration,
      ...(user.sessionId !== undefined ? { sid: user.sessionId } : {}),
      ...(user.passwordChangeDue === true ? { pcd: true } : {}),
    };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.userId)
      .setIssuer(this.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(await this.key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Returns the caller, or null for a token that is forged, expired, or lacks Outpost's claims. */
  async verify(token: string, now: Date): Promise<AuthContext | null> {
    const checked = await this.check(token, now);
    return checked.ok ? checked.auth : null;
  }

  /** The caller, or why the token is refused: the audit tells an expired token from a forged one. */
  async check(token: string, now: Date): Promise<TokenCheck> {
    // jose compares whole seconds: a token holds while nbf <= now < exp.
    const seconds = Math.floor(now.getTime() / 1000);
    const known = this.checked.get(token);
    if (known && known.notBefore <= seconds && seconds < known.expires) return { ok: true, auth: known.auth };
    try {
      const { payload } = await this.verifySignature(token, now);
      const claims: TokenClaims = tokenClaimsSchema.parse(payload);
      // Frozen: every request that shows this token is handed the same object.
      const auth: AuthContext = Object.freeze({
        userId: claims.sub,
        tenant: claims.tenant,
        roles: Object.freeze([...claims.roles]) as string[],
        ...(payload.exp !== undefined ? { expiresAtMs: payload.exp * 1000 } : {}),
        ...(payload.iss === this.issuer ? { sessionGeneration: generationOf(payload.sv) } : {}),
        ...(payload.iss === this.issuer && typeof payload.sid === 'string' ? { sessionId: payload.sid } : {}),
        ...(payload.iss === this.issuer && payload.pcd === true ? { passwordChangeDue: true as const } : {}),
      });
      if (payload.exp !== undefined) this.remember(token, auth, payload.nbf ?? 0, payload.exp);
      return { ok: true, auth };
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

  /** Checks a token with the shared secret, or an asymmetric one with the identity provider's keys. */
  private async verifySignature(token: string, now: Date): Promise<JWTVerifyResult> {
    const options = { currentDate: now, requiredClaims: ['exp', 'sub'] };
    if (this.provider && decodeProtectedHeader(token).alg !== 'HS256') {
      const { keys, issuer, audience } = this.provider;
      return jwtVerify(token, keys, {
        ...options,
        algorithms: asymmetricAlgorithms,
        ...(issuer !== undefined ? { issuer } : {}),
        ...(audience !== undefined ? { audience } : {}),
      });
    }
    return jwtVerify(token, await this.key, { ...options, algorithms: ['HS256'] });
  }

  private remember(token: string, auth: AuthContext, notBefore: number, expires: number): void {
    if (this.checked.size >= this.maxRemembered) {
      const oldest = this.checked.keys().next();
      if (!oldest.done) this.checked.delete(oldest.value);
    }
    this.checked.set(token, { auth, notBefore, expires });
  }
}
