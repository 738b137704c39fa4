import { createHash, createHmac, randomBytes } from 'node:crypto';
import { uuidv7 } from '@outpost/core';
import type {
  RefreshTokenRow,
  RefreshTokenStore,
  RefreshTokenUser,
  UserSessionsEnded,
} from '../storage/refresh-tokens';
import type { AuthOptions } from './tokens';

const day = 24 * 60 * 60;

/** How long refresh tokens live and how a lost answer is forgiven (decision 0032). */
export interface SessionSettings {
  /** Each refresh token is taken until this long after it was issued: a session idle longer ends. */
  ttlSeconds: number;
  /** No token of a family is taken past this long after its login, however often it was refreshed. */
  maxAgeSeconds: number;
  /** A used token sent again this soon after its use is answered with the successor it already got. */
  graceSeconds: number;
}

/** What a refresh token stops being taken for; the audit's outcome of a refused refresh. */
export type RefreshRefusal =
  'malformed' | 'unknown' | 'expired' | 'revoked' | 'reused' | 'user-unknown' | 'user-disabled';

export type RefreshOutcome =
  | {
      ok: true;
      /** `rotated`: the token was exchanged now; `repeated`: its exchange is answered again (a lost answer). */
      kind: 'rotated' | 'repeated';
      user: RefreshTokenUser;
      /** The session (family) the token belongs to: the access token answered carries it. */
      familyId: string;
      refreshToken: string;
      refreshExpiresAt: string;
    }
  | {
      ok: false;
      reason: RefreshRefusal;
      /** Whose token it was, when a row held it. */
      holder?: { tenant: string; userId: string };
    };

/** The settings createSyncServer takes from `auth`, checked: a bad one stops the server at startup. */
export function sessionSettings(auth: AuthOptions): SessionSettings {
  const ttlSeconds = auth.refreshTtlSeconds ?? 30 * day;
  const maxAgeSeconds = auth.refreshMaxAgeSeconds ?? 90 * day;
  for (const [name, value] of [
    ['auth.refreshTtlSeconds', ttlSeconds],
    ['auth.refreshMaxAgeSeconds', maxAgeSeconds],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${name} must be a whole number of seconds from 1, got ${String(value)}`);
  }
  return { ttlSeconds, maxAgeSeconds, graceSeconds: 60 };
}

/** 32 random bytes, base64url: what this server hands out, and the only form it looks up. */
const tokenForm = /^[A-Za-z0-9_-]{43}$/;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Refresh tokens: made at login, exchanged one for the next at each refresh (rotation), a used one
 * sent again taken as stolen (its family revoked), except within a short grace after its use, when
 * the same successor is answered again. The successor of a token is derived from it with a key
 * (an HMAC), not drawn at random: so the server can answer a lost exchange again without keeping
 * any token's text, only its hash.
 */
export class Sessions {
  private readonly successorKey: Buffer;

  constructor(
    private readonly store: RefreshTokenStore,
    jwtSecret: string,
    readonly settings: SessionSettings,
  ) {
    // Every instance behind a load balancer has the same secret, so each derives the same successor.
    this.successorKey = createHmac('sha256', jwtSecret).update('outpost refresh-token successor v1').digest();
  }

  /** A new family for a login: its id, its first refresh token and when that expires. */
  async start(
    user: { id: string; tenant: string },
    now: Date,
  ): Promise<{ familyId: string; refreshToken: string; refreshExpiresAt: string }> {
    const refreshToken = randomBytes(32).toString('base64url');
    const at = now.toISOString();
    const expiresAt = this.expiryOf(at, now);
    const familyId = uuidv7(now.getTime());
    await this.store.insert({
      hash: sha256Hex(refreshToken),
      tenant: user.tenant,
      userId: user.id,
      familyId,
      familyIssuedAt: at,
      issuedAt: at,
      expiresAt,
    });
    return { familyId, refreshToken, refreshExpiresAt: expiresAt };
  }

  /** Exchanges a refresh token for its successor, or says why it is refused. One transaction. */
  async refresh(token: string, now: Date): Promise<RefreshOutcome> {
    if (!tokenForm.test(token)) return { ok: false, reason: 'malformed' };
    const hash = sha256Hex(token);
    const next = this.successorOf(token);
    const nextHash = sha256Hex(next);
    const at = now.toISOString();
    return this.store.use(async (use): Promise<RefreshOutcome> => {
      let row = await use.find(hash);
      if (!row) return { ok: false, reason: 'unknown' };
      const holder = { tenant: row.tenant, userId: row.userId };
      const refuse = async (reason: RefreshRefusal, revoke: boolean): Promise<RefreshOutcome> => {
        if (revoke && row) await use.revokeFamily(row.familyId, at);
        return { ok: false, reason, holder };
      };
      // Revoked: marks a token a rotation inserted while its family was being revoked, too.
      if (row.revokedAt !== null || (await use.familyRevoked(row.familyId))) return refuse('revoked', true);
      if (this.expired(row, now)) return refuse('expired', false);
      // The user as stored now: removed (or moved to another tenant) ends the family; roles are current.
      const user = await use.user(row.userId);
      if (!user || user.tenant !== row.tenant) return refuse('user-unknown', true);
      // Disabled by an administrator (decision 0044): their families were revoked then; a token
      // that was exchanged meanwhile ends here.
      if (user.disabled) return refuse('user-disabled', true);
      if (row.usedAt === null) {
        if (await use.markUsed(hash, nextHash, at)) {
          const refreshExpiresAt = this.expiryOf(row.familyIssuedAt, now);
          await use.insert({
            hash: nextHash,
            tenant: row.tenant,
            userId: row.userId,
            familyId: row.familyId,
            familyIssuedAt: row.familyIssuedAt,
            issuedAt: at,
            expiresAt: refreshExpiresAt,
          });
          return {
            ok: true,
            kind: 'rotated',
            user,
            familyId: row.familyId,
            refreshToken: next,
            refreshExpiresAt,
          };
        }
        // Another request exchanged it first and has committed (its row was held until then).
        row = await use.find(hash);
        if (!row) return { ok: false, reason: 'unknown' };
        if (row.revokedAt !== null) return refuse('revoked', false);
      }
      // Used before. Within the grace, and while its successor was never used (the device that got
      // it would have no reason to send this one), it is the same device asking again after losing
      // the answer, or a second request of it that crossed the first: both get that successor.
      const usedMs = row.usedAt === null ? Number.NaN : Date.parse(row.usedAt);
      if (row.replacedBy === nextHash && now.getTime() - usedMs <= this.settings.graceSeconds * 1000) {
        const successor = await use.find(nextHash);
        if (successor && successor.usedAt === null && successor.revokedAt === null) {
          return {
            ok: true,
            kind: 'repeated',
            user,
            familyId: row.familyId,
            refreshToken: next,
            refreshExpiresAt: successor.expiresAt,
          };
        }
      }
      // Otherwise two holders of one token: whoever it is, the family ends (RFC 6819 5.2.2.3).
      return refuse('reused', true);
    });
  }

  /**
   * Ends the session of a refresh token: its family revoked, and with it the access tokens issued in
   * it. Whose it was and which family, or null for no token known.
   */
  async end(token: string, now: Date): Promise<{ tenant: string; userId: string; familyId: string } | null> {
    if (!tokenForm.test(token)) return null;
    const row = await this.store.revokeFamilyOf(sha256Hex(token), now.toISOString());
    return row ? { tenant: row.tenant, userId: row.userId, familyId: row.familyId } : null;
  }

  /**
   * Ends every session of a user of `tenant` (a tablet lost): answers how many were open and the
   * user's session generation now, which refuses the access tokens already given
   * (ended-sessions.ts); or null when the tenant has no such user.
   */
  endAllOf(tenant: string, userId: string, now: Date): Promise<UserSessionsEnded | null> {
    return this.store.revokeUser(tenant, userId, now.toISOString());
  }

  /** The token that follows `token`: unpredictable without the key, the same every time for it. */
  private successorOf(token: string): string {
    return createHmac('sha256', this.successorKey).update(token).digest('base64url');
  }

  /** A token issued `now` lives `ttlSeconds`, and never past its family's `maxAgeSeconds`. */
  private expiryOf(familyIssuedAt: string, now: Date): string {
    const end = Math.min(
      now.getTime() + this.settings.ttlSeconds * 1000,
      Date.parse(familyIssuedAt) + this.settings.maxAgeSeconds * 1000,
    );
    return new Date(end).toISOString();
  }

  /** Past its own expiry, or past its family's greatest age as configured now. */
  private expired(row: RefreshTokenRow, now: Date): boolean {
    const t = now.getTime();
    return (
      t >= Date.parse(row.expiresAt) ||
      t >= Date.parse(row.familyIssuedAt) + this.settings.maxAgeSeconds * 1000
    );
  }
}
