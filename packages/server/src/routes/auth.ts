import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  endSessionsRequestSchema,
  loginRequestSchema,
  logoutRequestSchema,
  outpostError,
  passwordChangeRequestSchema,
  refreshRequestSchema,
} from '@outpost/core';
import type { EndSessionsResponse, LoginResponse, RecordsKeyResponse, RefreshResponse } from '@outpost/core';
import { caller, isAdministrator } from '../http/caller';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../auth/passwords';
import { passwordContext, refuseGuessable } from '../auth/password-strength';
import type { Sessions } from '../auth/sessions';
import { parseInWords, parseOrThrow } from '../http/errors';
import type { RefusalAudit } from '../http/refusal-audit';
import type { AuditEvent } from '../storage/sync-store';
import { insertAudit } from '../storage/sync-store';

/** Who a login, a refresh or a password change signs in, as the store read them just now. */
interface SigningIn {
  id: string;
  tenant: string;
  roles: string[];
  sessionGeneration: number;
  passwordChangeDue: boolean;
}

export interface AuthRouteOptions {
  /** Refresh tokens: made at login, exchanged at refresh, ended at logout (decision 0032). */
  sessions: Sessions;
  /** Writes the events that name nobody (a token no row holds) within the refusals' budgets. */
  refusals: RefusalAudit;
}

export async function authRoutes(
  app: FastifyInstance,
  { sessions, refusals }: AuthRouteOptions,
): Promise<void> {
  const { store, tokens, endedSessions, now } = app.outpost;

  /**
   * The access token of the session `sessionId` names, and the `user` the answer shows: while the
   * person's password is one an administrator set, both say a change is due (decision 0047).
   */
  const access = async (user: SigningIn, sessionId: string) => {
    const due = user.passwordChangeDue ? { passwordChangeDue: true as const } : {};
    const { token, expiresAt } = await tokens.issue(
      {
        userId: user.id,
        tenant: user.tenant,
        roles: user.roles,
        sessionGeneration: user.sessionGeneration,
        sessionId,
        ...due,
      },
      now(),
    );
    return { token, expiresAt, user: { id: user.id, tenant: user.tenant, roles: user.roles, ...due } };
  };

  /**
   * The person's records key (decision 0054): in the answers to a proof of their password (a login,
   * their own password change), never a refresh's, and to a session the server accepts that asks
   * for it. Made at their first such answer. Never audited nor logged: it opens the records their
   * devices hold.
   */
  const recordsKeyOf = async (user: { tenant: string; id: string }): Promise<string> => {
    const key = await store.people.recordsKey(user.tenant, user.id);
    // The person was read a moment ago; gone since (no person is deleted), the sign-in fails.
    if (key === null) throw outpostError('UNAUTHORIZED', 'email or password is wrong');
    return key;
  };

  /** One event of a signed-in session's life: who, which device, what came of it. Never the token. */
  const sessionEvent = (
    who: { tenant: string; userId: string },
    at: string,
    deviceId: string | undefined,
    action: AuditEvent['action'],
    outcome: string,
  ): AuditEvent => ({
    tenant: who.tenant,
    at,
    userId: who.userId,
    deviceId: deviceId ?? null,
    action,
    collection: null,
    recordId: null,
    outcome,
  });

  app.post('/v1/auth/login', { config: { public: true } }, async (request): Promise<LoginResponse> => {
    const { email, password } = parseOrThrow(loginRequestSchema, request.body, 'login');
    const user = await store.findUserByEmail(email);
    // Verify against a dummy hash when the email is unknown: the answer takes as long either way.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    const at = now().toISOString();
    // A disabled person (decision 0044) gets the answer a wrong password gets: nobody learns from it
    // that the account exists. The audit tells the clinic which it was.
    if (!user || !ok || user.disabledAt !== null) {
      if (user) {
        await store.audit([
          {
            tenant: user.tenant,
            at,
            userId: user.id,
            deviceId: null,
            action: 'login-failed',
            collection: null,
            recordId: null,
            outcome: ok ? 'disabled' : 'wrong-password',
          },
        ]);
      }
      throw outpostError('UNAUTHORIZED', 'email or password is wrong');
    }
    // Not to a password an administrator set, which the administrator knows: the person's own
    // password change answers it (decision 0054). Her records open only after that anyway.
    const recordsKey = user.passwordChangeDue ? undefined : await recordsKeyOf(user);
    // The session first: the access token names it, so that a logout refuses it too.
    const { familyId, refreshToken, refreshExpiresAt } = await sessions.start(user, now());
    const signedIn = await access(user, familyId);
    await store.audit([
      {
        tenant: user.tenant,
        at,
        userId: user.id,
        deviceId: null,
        action: 'login',
        collection: null,
        recordId: null,
        outcome: 'ok',
      },
    ]);
    return { ...signedIn, refreshToken, refreshExpiresAt, ...(recordsKey !== undefined && { recordsKey }) };
  });

  /** A refresh or logout whose token no row holds names nobody: audited within the refusals' budget. */
  const auditNobody = async (
    request: FastifyRequest,
    action: AuditEvent['action'],
    deviceId: string | undefined,
    outcome: string,
  ): Promise<void> => {
    try {
      await refusals.recordAnonymous(request.ip, { action, deviceId: deviceId ?? null, outcome });
    } catch (err) {
      request.log.error({ err }, `could not audit a ${action}`);
    }
  };

  // A new access token and the refresh token that replaces the one sent (PROTOCOL.md addition, docs/server.md).
  app.post('/v1/auth/refresh', { config: { public: true } }, async (request): Promise<RefreshResponse> => {
    const { refreshToken, deviceId } = parseOrThrow(refreshRequestSchema, request.body, 'refresh');
    const outcome = await sessions.refresh(refreshToken, now());
    const at = now().toISOString();
    if (!outcome.ok) {
      if (outcome.holder)
        await store.audit([sessionEvent(outcome.holder, at, deviceId, 'refresh-failed', outcome.reason)]);
      else await auditNobody(request, 'refresh-failed', deviceId, outcome.reason);
      // One answer for every refusal: a thief learns nothing of why, and the device signs in again.
      throw outpostError('UNAUTHORIZED', 'refresh token is not valid: sign in again');
    }
    const { user } = outcome;
    const signedIn = await access(user, outcome.familyId);
    await store.audit([
      sessionEvent(
        { tenant: user.tenant, userId: user.id },
        at,
        deviceId,
        'refresh',
        outcome.kind === 'rotated' ? 'ok' : 'repeated',
      ),
    ]);
    return { ...signedIn, refreshToken: outcome.refreshToken, refreshExpiresAt: outcome.refreshExpiresAt };
  });

  // Ends the session: every token of the family refused from now on, the access tokens issued in it
  // too (at once here, within 5 s on other instances). 204 whatever the token was.
  app.post('/v1/auth/logout', { config: { public: true } }, async (request, reply) => {
    const { refreshToken, deviceId } = parseOrThrow(logoutRequestSchema, request.body, 'logout');
    const holder = await sessions.end(refreshToken, now());
    if (holder) endedSessions.sessionEndedNow(holder.tenant, holder.familyId, now().getTime());
    if (holder) await store.audit([sessionEvent(holder, now().toISOString(), deviceId, 'logout', 'ok')]);
    else await auditNobody(request, 'logout', deviceId, 'unknown');
    return reply.status(204).send();
  });

  // The key of the caller's own records on their devices (decision 0054), for a session the server
  // still accepts: a tablet reloaded, or its service worker syncing with no tab open, opens the
  // records it encrypted without asking for the password. The token already gives the clinic's
  // records from here; once the session ends (a sign-out, "End every session"), only the password does.
  app.get('/v1/auth/records-key', async (request): Promise<RecordsKeyResponse> => {
    const auth = caller(request);
    const recordsKey = await store.people.recordsKey(auth.tenant, auth.userId);
    // A token of a person this server keeps no account for (the clinic's identity provider signs
    // them in): no key is theirs here, and their devices keep their records as they are.
    if (recordsKey === null) throw outpostError('NOT_FOUND', 'this person has no records key on this server');
    return { recordsKey };
  });

  // Every session of a user ended, on every device: a tablet lost or stolen (docs/server.md).
  app.post('/v1/auth/end-sessions', async (request): Promise<EndSessionsResponse> => {
    const auth = caller(request);
    const { userId } = parseOrThrow(endSessionsRequestSchema, request.body, 'end-sessions');
    // Permission first, then existence: a clinician learns nothing of who else exists.
    if (userId !== auth.userId && !isAdministrator(auth, app.outpost.adminRoles))
      throw outpostError('FORBIDDEN', "only an administrator may end another person's sessions");
    const result = await sessions.endAllOf(auth.tenant, userId, now());
    if (result === null) throw outpostError('NOT_FOUND', 'no such user');
    // Refused here from this moment; on the other instances once they read the user again (5 s).
    endedSessions.ended(auth.tenant, userId, result.sessionGeneration, now().getTime());
    const { ended } = result;
    await store.audit([
      {
        tenant: auth.tenant,
        at: now().toISOString(),
        userId: auth.userId,
        deviceId: null,
        action: 'sessions-ended',
        collection: null,
        recordId: userId,
        outcome: `${ended} ended`,
      },
    ]);
    return { ended };
  });

  // A person's own new password (decision 0047): reachable while a change is due, when every other
  // route refuses them. Their other sessions end; the answer is a new session for this device.
  app.post(
    '/v1/auth/password',
    { config: { whilePasswordChangeDue: true } },
    async (request): Promise<LoginResponse> => {
      const auth = caller(request);
      const { currentPassword, newPassword, deviceId } = parseInWords(
        passwordChangeRequestSchema,
        request.body,
      );
      const held = await store.people.credentials(auth.tenant, auth.userId);
      // A person of the clinic's identity provider: their password is not this server's to change.
      if (held === null)
        throw outpostError('FORBIDDEN', "this account's password is kept by the clinic's sign-in service");
      const at = now().toISOString();
      const event = (action: AuditEvent['action'], outcome: string): AuditEvent => ({
        tenant: auth.tenant,
        at,
        userId: auth.userId,
        deviceId: deviceId ?? null,
        action,
        collection: null,
        recordId: auth.userId,
        outcome,
      });
      if (!(await verifyPassword(currentPassword, held.passwordHash))) {
        await store.audit([event('password-change-failed', 'wrong-password')]);
        // 403, not 401: the token is good, and a 401 would have the device ask to sign in again.
        throw outpostError('FORBIDDEN', 'the current password is wrong');
      }
      // Once the current password is proved: a wrong one is what the person has to mend first.
      refuseGuessable(newPassword, passwordContext(held.email, auth.tenant), 'newPassword');
      const passwordHash = await hashPassword(newPassword);
      const chosen = await store.people.choosePassword(
        auth.tenant,
        auth.userId,
        held.passwordHash,
        passwordHash,
        at,
        (trx) => insertAudit(trx, [event('password-changed', 'ok')]),
      );
      // Changed meanwhile (here on another device, or by an administrator), or disabled: the
      // password checked is no longer theirs, so the device signs in again with the one that is.
      if (chosen === null)
        throw outpostError('CONFLICT', 'the password was changed meanwhile: sign in again');
      // Every earlier token of theirs refused here from now on, on other instances within 5 s.
      endedSessions.ended(auth.tenant, auth.userId, chosen.sessionGeneration, now().getTime());
      const user: SigningIn = {
        id: auth.userId,
        tenant: auth.tenant,
        roles: held.roles,
        sessionGeneration: chosen.sessionGeneration,
        passwordChangeDue: false,
      };
      // The key is the same as before the change: the device seals it again under the new password.
      const recordsKey = await recordsKeyOf(user);
      const { familyId, refreshToken, refreshExpiresAt } = await sessions.start(user, now());
      return { ...(await access(user, familyId)), refreshToken, refreshExpiresAt, recordsKey };
    },
  );
}
