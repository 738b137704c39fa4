import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { sameRoles } from '@outpost/core';
import type { DatabaseKind } from './database';
import { RefreshTokenUse, inRetriedTransaction } from './refresh-tokens';
import type { Tables } from './tables';

/** A person of a clinic as an administrator sees them: never a password, nor its hash. */
export interface PersonRow {
  id: string;
  email: string;
  roles: string[];
  /** When they were disabled; null while they may sign in. */
  disabledAt: string | null;
  createdAt: string;
  /** Signing in with a password an administrator set, not their own yet (decision 0047). */
  passwordChangeDue: boolean;
}

/** What a change did, in the audit's words. */
export type PersonChangeKind = 'roles' | 'password' | 'disabled' | 'enabled';

/** Why a change is refused, so that a clinic never locks itself out (decision 0044). */
export type PersonChangeRefusal = 'self-disable' | 'self-demote' | 'last-admin-disable' | 'last-admin-demote';

export interface PersonChange {
  roles?: readonly string[];
  /** The new password's scrypt hash, made before the transaction (it is slow on purpose). */
  passwordHash?: string;
  disabled?: boolean;
}

export type PersonChangeOutcome =
  | {
      ok: true;
      person: PersonRow;
      /** What changed, in order; empty when the change asked for what already was. */
      changed: PersonChangeKind[];
      /** The person's session generation after their sessions were ended; null when they were not. */
      sessionGeneration: number | null;
    }
  | { ok: false; reason: 'not-found' | PersonChangeRefusal };

/** Writes what goes with a change (its audit event) in the same transaction. */
export type WithinPersonChange = (
  trx: Transaction<Tables>,
  person: PersonRow,
  changed: PersonChangeKind[],
) => Promise<void>;

type UserRow = Pick<Tables['users'], 'id' | 'email' | 'roles' | 'created_at'> & {
  disabled_at: string | null;
  password_change_due: number;
};

const personColumns = ['id', 'email', 'roles', 'created_at', 'disabled_at', 'password_change_due'] as const;

function personOf(row: UserRow): PersonRow {
  return {
    id: row.id,
    email: row.email,
    roles: JSON.parse(row.roles) as string[],
    disabledAt: row.disabled_at,
    createdAt: row.created_at,
    passwordChangeDue: Number(row.password_change_due) === 1,
  };
}

/**
 * The people of each clinic (the `users` table), as its administrators manage them (decision 0044),
 * written once with Kysely for SQLite and PostgreSQL. Nobody is deleted: a person who leaves is
 * disabled, and the audit trail keeps naming them.
 */
export class PeopleStore {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly kind: DatabaseKind,
  ) {}

  /** The clinic's people, by email. */
  async list(tenant: string): Promise<PersonRow[]> {
    const rows = await this.db
      .selectFrom('users')
      .select(personColumns)
      .where('tenant', '=', tenant)
      .orderBy('email')
      .execute();
    return rows.map(personOf);
  }

  /**
   * Adds a person to the clinic, with `within` in the same transaction; null when the email is
   * taken (by anyone of any clinic: login is by email alone), and nothing is written then.
   */
  async create(
    person: { id: string; tenant: string; email: string; passwordHash: string; roles: readonly string[] },
    at: string,
    within: WithinPersonChange,
  ): Promise<PersonRow | null> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx
        .insertInto('users')
        .values({
          id: person.id,
          tenant: person.tenant,
          email: person.email,
          password_hash: person.passwordHash,
          roles: JSON.stringify(person.roles),
          created_at: at,
          disabled_at: null,
          // The administrator chose it and told them: theirs to replace at their first sign-in.
          password_change_due: 1,
        })
        .onConflict((oc) => oc.column('email').doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return null;
      const row: PersonRow = {
        id: person.id,
        email: person.email,
        roles: [...person.roles],
        disabledAt: null,
        createdAt: at,
        passwordChangeDue: true,
      };
      await within(trx, row, []);
      return row;
    });
  }

  /**
   * Changes a person of `tenant`, in one transaction: their row, the end of every session of theirs
   * when their password, roles or access changed (the session generation counted up and every
   * refresh-token family revoked, as `POST /v1/auth/end-sessions` does), and `within`. Refused,
   * with nothing written, when `callerId` would disable or demote themselves, or the clinic would be
   * left with no enabled administrator. The clinic's people are read locked on PostgreSQL (SQLite
   * has one writer), so two administrators demoting each other at once cannot both succeed.
   */
  change(
    tenant: string,
    id: string,
    change: PersonChange,
    rules: { callerId: string; adminRoles: readonly string[] },
    at: string,
    within: WithinPersonChange,
  ): Promise<PersonChangeOutcome> {
    return inRetriedTransaction(this.db, (trx) =>
      this.changeWithin(trx, tenant, id, change, rules, at, within),
    );
  }

  private async changeWithin(
    trx: Transaction<Tables>,
    tenant: string,
    id: string,
    change: PersonChange,
    { callerId, adminRoles }: { callerId: string; adminRoles: readonly string[] },
    at: string,
    within: WithinPersonChange,
  ): Promise<PersonChangeOutcome> {
    const read = trx.selectFrom('users').select(personColumns).where('tenant', '=', tenant).orderBy('id');
    const rows = await (this.kind === 'postgres' ? read.forUpdate() : read).execute();
    const people = rows.map(personOf);
    const before = people.find((p) => p.id === id);
    if (before === undefined) return { ok: false, reason: 'not-found' };

    const changed: PersonChangeKind[] = [];
    const roles =
      change.roles !== undefined && !sameRoles(change.roles, before.roles) ? [...change.roles] : null;
    if (roles !== null) changed.push('roles');
    if (change.passwordHash !== undefined) changed.push('password');
    const disabling = change.disabled === true && before.disabledAt === null;
    const enabling = change.disabled === false && before.disabledAt !== null;
    if (disabling) changed.push('disabled');
    if (enabling) changed.push('enabled');

    const isAdmin = (p: { roles: readonly string[]; disabledAt: string | null }) =>
      p.disabledAt === null && p.roles.some((r) => adminRoles.includes(r));
    const after: PersonRow = {
      ...before,
      roles: roles ?? before.roles,
      disabledAt: disabling ? at : enabling ? null : before.disabledAt,
      passwordChangeDue: change.passwordHash !== undefined ? true : before.passwordChangeDue,
    };
    if (isAdmin(before) && !isAdmin(after)) {
      if (id === callerId) return { ok: false, reason: disabling ? 'self-disable' : 'self-demote' };
      if (!people.some((p) => p.id !== id && isAdmin(p)))
        return { ok: false, reason: disabling ? 'last-admin-disable' : 'last-admin-demote' };
    }
    if (disabling && id === callerId) return { ok: false, reason: 'self-disable' };
    if (changed.length === 0) return { ok: true, person: before, changed, sessionGeneration: null };

    await trx
      .updateTable('users')
      .set({
        ...(roles !== null ? { roles: JSON.stringify(roles) } : {}),
        // A password an administrator sets is one they know: the person replaces it at sign-in.
        ...(change.passwordHash !== undefined
          ? { password_hash: change.passwordHash, password_change_due: 1 }
          : {}),
        ...(disabling || enabling ? { disabled_at: after.disabledAt } : {}),
      })
      .where('tenant', '=', tenant)
      .where('id', '=', id)
      .execute();
    // A stolen password, a demoted administrator, a person who left: stopped now, not at the
    // access token's expiry. Enabling alone ends nothing (a disabled person holds no session).
    let sessionGeneration: number | null = null;
    if (roles !== null || change.passwordHash !== undefined || disabling) {
      const use = new RefreshTokenUse(trx);
      sessionGeneration = await use.endGeneration(tenant, id);
      for (const { familyId } of await use.familiesOf(tenant, id, at)) await use.revokeFamily(familyId, at);
    }
    await within(trx, after, changed);
    return { ok: true, person: after, changed, sessionGeneration };
  }

  /**
   * What a person's own password change needs to know of them: their roles and their password's
   * hash (a disabled person's token is refused before it gets here); null when `tenant` has no such
   * person (someone of an identity provider).
   */
  async credentials(
    tenant: string,
    id: string,
  ): Promise<{ email: string; roles: string[]; passwordHash: string } | null> {
    const row = await this.db
      .selectFrom('users')
      .select(['email', 'roles', 'password_hash'])
      .where('tenant', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return row
      ? {
          email: row.email,
          roles: JSON.parse(row.roles) as string[],
          passwordHash: row.password_hash,
        }
      : null;
  }

  /**
   * The key of a person's records on their devices (decision 0054), made the first time it is
   * asked for: 32 random bytes, base64url without padding (43 characters). Null when `tenant` has no
   * such person. Written only where none is stored yet, then read back: two sign-ins at once end
   * with the one key that was stored first, and nothing ever replaces it (no password change, no
   * reset by an administrator, no disabling), or the records a device sealed under it are lost.
   */
  async recordsKey(tenant: string, id: string): Promise<string | null> {
    const stored = await this.storedRecordsKey(tenant, id);
    if (stored === undefined) return null;
    if (stored !== null) return stored;
    await this.db
      .updateTable('users')
      .set({ records_key: newRecordsKey() })
      .where('tenant', '=', tenant)
      .where('id', '=', id)
      .where('records_key', 'is', null)
      .execute();
    return (await this.storedRecordsKey(tenant, id)) ?? null;
  }

  /** The key as stored: undefined when there is no such person, null when they have none yet. */
  private async storedRecordsKey(tenant: string, id: string): Promise<string | null | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select('records_key')
      .where('tenant', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : row.records_key;
  }

  /**
   * A person's own new password (decision 0047), in one transaction: the hash replaced, the change
   * no longer due, every session of theirs ended (the caller starts the one it answers with), and
   * `within`. Only while the hash is still `currentHash`, the one the caller checked the current
   * password against: a password changed meanwhile (by them elsewhere, or an administrator) is not
   * overwritten, and the answer is null, as when the person is gone or disabled.
   */
  choosePassword(
    tenant: string,
    id: string,
    currentHash: string,
    passwordHash: string,
    at: string,
    within: (trx: Transaction<Tables>) => Promise<void>,
  ): Promise<{ sessionGeneration: number } | null> {
    return inRetriedTransaction(this.db, async (trx) => {
      const res = await trx
        .updateTable('users')
        .set({ password_hash: passwordHash, password_change_due: 0 })
        .where('tenant', '=', tenant)
        .where('id', '=', id)
        .where('password_hash', '=', currentHash)
        .where('disabled_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return null;
      const use = new RefreshTokenUse(trx);
      const sessionGeneration = await use.endGeneration(tenant, id);
      for (const { familyId } of await use.familiesOf(tenant, id, at)) await use.revokeFamily(familyId, at);
      await within(trx);
      return { sessionGeneration };
    });
  }
}

/** A new records key: 32 random bytes, base64url without padding (Node's base64url pads none). */
function newRecordsKey(): string {
  return randomBytes(32).toString('base64url');
}
