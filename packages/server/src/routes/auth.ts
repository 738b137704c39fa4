import type { FastifyInstance } from 'fastify';
import { OutpostError, loginRequestSchema } from '@outpost/core';
import type { LoginResponse } from '@outpost/core';
import { dummyPasswordHash, verifyPassword } from '../auth/passwords';
import { parseOrThrow } from '../http/errors';

export async function authRoutes(app: FastifyInstance): Promise<void> {
  const { store, tokens, now } = app.outpost;

  app.post('/v1/auth/login', { config: { public: true } }, async (request): Promise<LoginResponse> => {
    const { email, password } = parseOrThrow(loginRequestSchema, request.body, 'login');
    const user = await store.findUserByEmail(email);
    // Verify against a dummy hash when the email is unknown: the answer takes as long either way.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    const at = now().toISOString();
    if (!user || !ok) {
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
            outcome: 'wrong-password',
          },
        ]);
      }
      throw new OutpostError('UNAUTHORIZED', 'email or password is wrong');
    }
    const { token, expiresAt } = await tokens.issue(
      { userId: user.id, tenant: user.tenant, roles: user.roles },
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
    return { token, expiresAt, user: { id: user.id, tenant: user.tenant, roles: user.roles } };
  });
}
