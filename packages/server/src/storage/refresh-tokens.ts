import type { Kysely, Transaction } from 'kysely';
import type { Tables } from './tables';

/**
 * A refresh token as stored (decision 0032): the SHA-256 of its text, never the text, with its
 * family (every token descending from one login) and its use.
 */
export interface RefreshTokenRow {
  /** SHA-256 of the token's text, lowercase hex. */
  hash: string;
  tenant: string;
  userId: string;
  familyId: string;
  /** When the family's login was. */
  familyIssuedAt: string;
  issuedAt: string;
  expiresAt: string;
  usedAt: string | null;
  /** The hash of the token this one was exchanged for. */
  replacedBy: string | null;
  revokedAt: string | null;
}

export type NewRefreshToken = Omit<RefreshTokenRow, 'usedAt' | 'replacedBy' | 'revokedAt'>;

/** The user a refresh token names, as the users table holds them now. */
export interface RefreshTokenUser {
  id: string;
  tenant: string;
  roles: string[];
  /** How many times every session of the user was ended: the access token issued now carries it. */
  sessionGeneration: number;
  /** Disabled by an administrator (decision 0044): refused like a removed user. */
  disabled: boolean;
  /** Still signing in with a password an administrator set (decision 0047): the token says so. */
  passwordChangeDue: boolean;
}

/** What ending every session of a user did. */
export interface UserSessionsEnded {
  /** The sessions that were still open (a family with a live token), now ended. */
  ended: number;
  /** The user's count of ends, this one included: access tokens issued before carry less. */
  sessionGeneration: number;
}

type Db = Kysely<Tables> | Transaction<Tables>;

function rowOf(r: Tables['refresh_tokens']): RefreshTokenRow {
  return {
    hash: r.token_hash,
    tenant: r.tenant,
    userId: r.user_id,
    familyId: r.family_id,
    familyIssuedAt: r.family_issued_at,
    issuedAt: r.issued_at,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
    replacedBy: r.replaced_by,
    revokedAt: r.revoked_at,
  };
}

async function insert(db: Db, t: NewRefreshToken): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({
      token_hash: t.hash,
      tenant: t.tenant,
      user_id: t.userId,
      family_id: t.familyId,
      family_issued_at: t.familyIssuedAt,
      issued_at: t.issuedAt,
      expires_at: t.expiresAt,
      used_at: null,
      replaced_by: null,
      revoked_at: null,
    })
    .execute();
}

async function find(db: Db, hash: string): Promise<RefreshTokenRow | null> {
  const row = await db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  return row ? rowOf(row) : null;
}

/** Revokes every token of the family not revoked yet. */
async function revokeFamily(db: Db, familyId: string, at: string): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: at })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
}

/**
 * The reads and writes of one refresh token's use, inside one transaction: what the token is, the
 * exchange for its successor (taken by one request only), and the family's revocation.
 */
export class RefreshTokenUse {
  constructor(private readonly trx: Transaction<Tables>) {}

  find(hash: string): Promise<RefreshTokenRow | null> {
    return find(this.trx, hash);
  }

  /**
   * Whether any token of the family is revoked. Revocation marks the rows it sees; one a rotation
   * inserted at that moment (PostgreSQL's UPDATE does not see rows committed after it began) is
   * still refused here, since its family holds revoked rows.
   */
  async familyRevoked(familyId: string): Promise<boolean> {
    const row = await this.trx
      .selectFrom('refresh_tokens')
      .select('token_hash')
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is not', null)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Marks the token used and names its successor, if it is still unused and not revoked: true when
   * this call did. A concurrent use of the same token waits on the row (PostgreSQL's row lock; the
   * one connection on SQLite) and, once the first commits, finds it used: at most one request
   * exchanges a token.
   */
  async markUsed(hash: string, successorHash: string, at: string): Promise<boolean> {
    const res = await this.trx
      .updateTable('refresh_tokens')
      .set({ used_at: at, replaced_by: successorHash })
      .where('token_hash', '=', hash)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  insert(token: NewRefreshToken): Promise<void> {
    return insert(this.trx, token);
  }

  revokeFamily(familyId: string, at: string): Promise<void> {
    return revokeFamily(this.trx, familyId, at);
  }

  /**
   * The families of a user with a row not revoked, each with whether it is an open session (a token
   * neither used, revoked nor expired at `at`). Used tokens count too: on PostgreSQL a rotation
   * committing meanwhile may have used the family's last token and inserted a successor this
   * statement does not see, and that family must be revoked all the same.
   */
  async familiesOf(
    tenant: string,
    userId: string,
    at: string,
  ): Promise<{ familyId: string; open: boolean }[]> {
    const rows = await this.trx
      .selectFrom('refresh_tokens')
      .select(['family_id', 'used_at', 'expires_at'])
      .where('tenant', '=', tenant)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
    const open = new Map<string, boolean>();
    for (const r of rows) {
      const live = r.used_at === null && r.expires_at > at;
      open.set(r.family_id, (open.get(r.family_id) ?? false) || live);
    }
    return [...open].map(([familyId, isOpen]) => ({ familyId, open: isOpen }));
  }

  /** Counts one more end of every session of the user: their count now. */
  async endGeneration(tenant: string, userId: string): Promise<number> {
    const row = await this.trx
      .updateTable('users')
      .set((eb) => ({ session_generation: eb('session_generation', '+', 1) }))
      .where('tenant', '=', tenant)
      .where('id', '=', userId)
      .returning('session_generation')
      .executeTakeFirstOrThrow();
    return Number(row.session_generation);
  }

  /** The user as stored now (roles read again at each refresh), or null when there is none. */
  async user(id: string): Promise<RefreshTokenUser | null> {
    const row = await this.trx
      .selectFrom('users')
      .select(['id', 'tenant', 'roles', 'session_generation', 'disabled_at', 'password_change_due'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row
      ? {
          id: row.id,
          tenant: row.tenant,
          roles: JSON.parse(row.roles) as string[],
          sessionGeneration: Number(row.session_generation),
          disabled: row.disabled_at !== null,
          passwordChangeDue: Number(row.password_change_due) === 1,
        }
      : null;
  }
}

/** PostgreSQL's codes for a transaction it gave up on so another could go on: worth running again. */
const retryable = new Set(['40P01', '40001']);

function isRetryable(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    'code' in err &&
    retryable.has(String((err as { code: unknown }).code))
  );
}

/**
 * Runs `fn` in one transaction, run again (three times in all) when PostgreSQL gave it up so that
 * another could go on (a deadlock, a serialization failure): the next attempt reads what the other
 * wrote. Any other failure is thrown at once.
 */
export async function inRetriedTransaction<T>(
  db: Kysely<Tables>,
  fn: (trx: Transaction<Tables>) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      if (attempt >= 3 || !isRetryable(err)) throw err;
    }
  }
}

/** The refresh tokens' table, written once with Kysely for SQLite and PostgreSQL. */
export class RefreshTokenStore {
  constructor(private readonly db: Kysely<Tables>) {}

  /** The first token of a family (a login). */
  insert(token: NewRefreshToken): Promise<void> {
    return insert(this.db, token);
  }

  /**
   * Runs `fn` in one transaction. Two revocations of one family at once may deadlock on PostgreSQL,
   * which then aborts one of them: that one runs again, and finds the family revoked.
   */
  use<T>(fn: (use: RefreshTokenUse) => Promise<T>): Promise<T> {
    return inRetriedTransaction(this.db, (trx) => fn(new RefreshTokenUse(trx)));
  }

  /** Revokes the family of the token with this hash; returns the token, or null for none. */
  revokeFamilyOf(hash: string, at: string): Promise<RefreshTokenRow | null> {
    return this.use(async (use) => {
      const row = await use.find(hash);
      if (row) await use.revokeFamily(row.familyId, at);
      return row;
    });
  }

  /**
   * Ends every session of a user of `tenant`: each family revoked, and one more counted in the
   * user's session generation, which refuses the access tokens already given. Answers how many
   * sessions were open at `at`, or null when the tenant has no such user (another clinic's user is
   * no one here).
   */
  revokeUser(tenant: string, userId: string, at: string): Promise<UserSessionsEnded | null> {
    return this.use(async (use) => {
      const user = await use.user(userId);
      if (user === null || user.tenant !== tenant) return null;
      const sessionGeneration = await use.endGeneration(tenant, userId);
      const families = await use.familiesOf(tenant, userId, at);
      for (const { familyId } of families) await use.revokeFamily(familyId, at);
      return { ended: families.filter((f) => f.open).length, sessionGeneration };
    });
  }

  /**
   * Whether the session (refresh-token family) `familyId` of `tenant` is over: one of its tokens
   * revoked (a logout, a reuse, its user's sessions ended), or none left (purged once every token of
   * it expired). Its access tokens are then refused (auth/ended-sessions.ts).
   */
  async familyEnded(tenant: string, familyId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('refresh_tokens')
      .select((eb) => [eb.fn.countAll().as('tokens'), eb.fn.count('revoked_at').as('revoked')])
      .where('family_id', '=', familyId)
      .where('tenant', '=', tenant)
      .executeTakeFirstOrThrow();
    return Number(row.tokens) === 0 || Number(row.revoked) > 0;
  }

  /** The user's session generation, or null for no such user of `tenant`. */
  async sessionGenerationOf(tenant: string, userId: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('users')
      .select('session_generation')
      .where('tenant', '=', tenant)
      .where('id', '=', userId)
      .executeTakeFirst();
    return row ? Number(row.session_generation) : null;
  }

  /**
   * Deletes the families whose every token expired by `at`. A family goes whole, never a row at a
   * time: its revoked and used rows keep refusing its tokens for as long as any of them lives.
   */
  async purge(at: string): Promise<number> {
    const res = await this.db
      .deleteFrom('refresh_tokens')
      .where('family_id', 'in', (eb) =>
        eb
          .selectFrom('refresh_tokens')
          .select('family_id')
          .groupBy('family_id')
          .having((h) => h.fn.max('expires_at'), '<=', at),
      )
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
