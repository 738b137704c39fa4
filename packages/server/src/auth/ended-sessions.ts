import type { AuthContext } from './tokens';

/** Reads a user's session generation: null for no such user of the tenant. */
export type ReadGeneration = (tenant: string, userId: string) => Promise<number | null>;

export interface EndedSessionsOptions {
  /**
   * How long a generation read from the database is taken as current. Ending a user's sessions on
   * this instance counts at once; on another instance behind the same load balancer, within this
   * long. Default 5 s: one read per active user every 5 s, never one per request.
   */
  freshMs?: number;
  /** Users remembered at most; the longest unread go first. */
  maxRemembered?: number;
}

/**
 * Refuses the access tokens a user was given before all their sessions were ended (a tablet lost,
 * POST /v1/auth/end-sessions): a token carries the user's session generation at its issuance, and
 * one behind the user's generation now is refused, as the refresh tokens of those sessions are.
 * Without this, a stolen tablet's access token would be taken until it expires, up to 12 hours.
 * Tokens of another issuer carry no generation and are left to that issuer (decision 0032).
 */
export class EndedSessions {
  private readonly known = new Map<string, { generation: number; readAtMs: number }>();
  private readonly freshMs: number;
  private readonly maxRemembered: number;

  constructor(
    private readonly read: ReadGeneration,
    options: EndedSessionsOptions = {},
  ) {
    this.freshMs = options.freshMs ?? 5_000;
    this.maxRemembered = options.maxRemembered ?? 10_000;
  }

  /** Whether the caller's token was issued before every session of theirs was ended. */
  async refuses(auth: AuthContext, nowMs: number): Promise<boolean> {
    if (auth.sessionGeneration === undefined) return false;
    const generation = await this.generationOf(auth.tenant, auth.userId, nowMs);
    return auth.sessionGeneration < generation;
  }

  /** Every session of the user was just ended here: their generation now, taken at once. */
  ended(tenant: string, userId: string, generation: number, nowMs: number): void {
    this.remember(keyOf(tenant, userId), generation, nowMs);
  }

  private async generationOf(tenant: string, userId: string, nowMs: number): Promise<number> {
    const key = keyOf(tenant, userId);
    const known = this.known.get(key);
    if (known !== undefined && nowMs - known.readAtMs < this.freshMs && nowMs >= known.readAtMs)
      return known.generation;
    // A user the database does not hold (a token minted for tests, or a user since removed by
    // hand) has had no session ended.
    // Generations only grow: an end counted here a moment ago stays counted.
    const generation = Math.max((await this.read(tenant, userId)) ?? 0, known?.generation ?? 0);
    this.remember(key, generation, nowMs);
    return generation;
  }

  private remember(key: string, generation: number, nowMs: number): void {
    // Re-inserted, so the map's order is the order of the last reads: the oldest goes first.
    this.known.delete(key);
    if (this.known.size >= this.maxRemembered) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(key, { generation, readAtMs: nowMs });
  }
}

function keyOf(tenant: string, userId: string): string {
  return `${tenant}\u0000${userId}`;
}
