import type { AuthContext } from './tokens';

/** What the database says of sessions: read at most once per user and per session every `freshMs`. */
export interface SessionReads {
  /** A user's session generation: null for no such user of the tenant. */
  generationOf(tenant: string, userId: string): Promise<number | null>;
  /** Whether a session (a refresh-token family) of the tenant was ended, or is gone. */
  sessionEnded(tenant: string, sessionId: string): Promise<boolean>;
}

export interface EndedSessionsOptions {
  /**
   * How long what was read from the database is taken as current. An end on this instance counts
   * at once; on another instance behind the same load balancer, within this long. Default 5 s: one
   * read per active user and per active session every 5 s, never one per request.
   */
  freshMs?: number;
  /** Users, and sessions, remembered at most each; the longest unread go first. */
  maxRemembered?: number;
}

/**
 * Why an access token of this server is refused though its signature and time hold:
 * - `all-ended`: every session of its user was ended since it was issued (a tablet lost,
 *   POST /v1/auth/end-sessions);
 * - `signed-out`: its own session was ended (a logout on its device, or its refresh token reused).
 */
export type SessionEnd = 'all-ended' | 'signed-out';

/** A value read from the database, and when (ms on the server's clock). */
interface Read<T> {
  value: T;
  readAtMs: number;
}

/**
 * Refuses the access tokens of sessions that were ended, as their refresh tokens are: without
 * this, a stolen tablet's access token, or the one a signed-out device had, would be taken until it
 * expires, up to 12 hours. A token carries the user's session generation at its issuance (`sv`) and
 * its session (`sid`): one behind the user's generation now, or of a session ended, is refused.
 * Tokens of another issuer carry neither and are left to that issuer (decision 0032).
 */
export class EndedSessions {
  private readonly generations: Remembered<number>;
  private readonly sessions: Remembered<boolean>;
  private readonly freshMs: number;

  constructor(
    private readonly reads: SessionReads,
    options: EndedSessionsOptions = {},
  ) {
    this.freshMs = options.freshMs ?? 5_000;
    const max = options.maxRemembered ?? 10_000;
    this.generations = new Remembered(max);
    this.sessions = new Remembered(max);
  }

  /** Whether the caller's token belongs to a session ended since it was issued, and how. */
  async refuses(auth: AuthContext, nowMs: number): Promise<SessionEnd | null> {
    if (auth.sessionGeneration !== undefined) {
      const generation = await this.generationOf(auth.tenant, auth.userId, nowMs);
      if (auth.sessionGeneration < generation) return 'all-ended';
    }
    if (auth.sessionId !== undefined && (await this.sessionEnded(auth.tenant, auth.sessionId, nowMs)))
      return 'signed-out';
    return null;
  }

  /** Every session of the user was just ended here: their generation now, taken at once. */
  ended(tenant: string, userId: string, generation: number, nowMs: number): void {
    this.generations.set(keyOf(tenant, userId), { value: generation, readAtMs: nowMs });
  }

  /** One session was just ended here (a logout): its access tokens are refused at once. */
  sessionEndedNow(tenant: string, sessionId: string, nowMs: number): void {
    this.sessions.set(keyOf(tenant, sessionId), { value: true, readAtMs: nowMs });
  }

  private fresh(read: Read<unknown> | undefined, nowMs: number): boolean {
    return read !== undefined && nowMs - read.readAtMs < this.freshMs && nowMs >= read.readAtMs;
  }

  private async generationOf(tenant: string, userId: string, nowMs: number): Promise<number> {
    const key = keyOf(tenant, userId);
    const known = this.generations.get(key);
    if (known !== undefined && this.fresh(known, nowMs)) return known.value;
    // A user the database does not hold (a token minted for tests, or a user since removed by
    // hand) has had no session ended.
    // Generations only grow: an end counted here a moment ago stays counted.
    const value = Math.max((await this.reads.generationOf(tenant, userId)) ?? 0, known?.value ?? 0);
    this.generations.set(key, { value, readAtMs: nowMs });
    return value;
  }

  private async sessionEnded(tenant: string, sessionId: string, nowMs: number): Promise<boolean> {
    const key = keyOf(tenant, sessionId);
    const known = this.sessions.get(key);
    // An ended session never opens again: no need to read it twice.
    if (known !== undefined && (known.value || this.fresh(known, nowMs))) return known.value;
    const value = await this.reads.sessionEnded(tenant, sessionId);
    this.sessions.set(key, { value, readAtMs: nowMs });
    return value;
  }
}

/** A map that keeps at most `max` entries, forgetting the one read longest ago first. */
class Remembered<T> {
  private readonly entries = new Map<string, Read<T>>();

  constructor(private readonly max: number) {}

  get(key: string): Read<T> | undefined {
    return this.entries.get(key);
  }

  set(key: string, read: Read<T>): void {
    // Re-inserted, so the map's order is the order of the last reads: the oldest goes first.
    this.entries.delete(key);
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, read);
  }
}

function keyOf(tenant: string, id: string): string {
  return `${tenant}\u0000${id}`;
}
