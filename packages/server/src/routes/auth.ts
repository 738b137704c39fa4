import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  endSessionsRequestSchema,
  loginRequestSchema,
  logoutRequestSchema,
  outpostError,
  refreshRequestSchema,
} from '@outpost/core';
import type { EndSessionsResponse, LoginResponse, RefreshResponse } from '@outpost/core';
import { caller, isAdministrator } from '../http/caller';
import { dummyPasswordHash, verifyPassword } from '../auth/passwords';
import type { Sessions } from '../auth/sessions';
import { parseOrThrow } from '../http/errors';
import type { RefusalAudit } from '../http/refusal-audit';
import type { AuditEvent } from '../storage/sync-store';

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
    // The session first: the access token names it, so that a logout refuses it too.
    const { familyId, refreshToken, refreshExpiresAt } = await sessions.start(user, now());
    const { token, expiresAt } = await tokens.issue(
      {
        userId: user.id,
        tenant: user.tenant,
        roles: user.roles,
        sessionGeneration: user.sessionGeneration,
        sessionId: familyId,
      },
      now(),
    );
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
    return {
      token,
      expiresAt,
      user: { id: user.id, tenant: user.tenant, roles: user.roles },
      refreshToken,
      refreshExpiresAt,
    };
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
    const { token, expiresAt } = await tokens.issue(
      {
        userId: user.id,
        tenant: user.tenant,
        roles: user.roles,
        sessionGeneration: user.sessionGeneration,
        sessionId: outcome.familyId,
      },
      now(),
    );
    await store.audit([
      sessionEvent(
        { tenant: user.tenant, userId: user.id },
        at,
        deviceId,
        'refresh',
        outcome.kind === 'rotated' ? 'ok' : 'repeated',
      ),
    ]);
    return {
      token,
      expiresAt,
      user: { id: user.id, tenant: user.tenant, roles: user.roles },
      refreshToken: outcome.refreshToken,
      refreshExpiresAt: outcome.refreshExpiresAt,
    };
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
}
