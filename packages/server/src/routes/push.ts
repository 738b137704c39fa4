import type { FastifyInstance } from 'fastify';
import { OutpostError, pushRequestSchema } from '@outpost/core';
import type { PushResponse } from '@outpost/core';
import { caller } from '../http/caller';
import { parseOrThrow } from '../http/errors';
import { applyPush } from '../push/apply-push';

export async function pushRoutes(app: FastifyInstance): Promise<void> {
  const { store, schemaFor, clock, now, randomBytes, maxOpsPerPush } = app.outpost;

  app.post('/v1/sync/push', async (request): Promise<PushResponse> => {
    const auth = caller(request);
    const body = parseOrThrow(pushRequestSchema, request.body, 'push');
    if (body.ops.length > maxOpsPerPush) {
      throw new OutpostError('PAYLOAD_TOO_LARGE', `at most ${maxOpsPerPush} ops per push: split the batch`, {
        maxOps: maxOpsPerPush,
        ops: body.ops.length,
      });
    }
    // Resolves only after the transaction committed: the response never gets ahead of the disk.
    return applyPush(
      store,
      schemaFor(auth.tenant),
      {
        tenant: auth.tenant,
        userId: auth.userId,
        roles: auth.roles,
        clientId: body.clientId,
        deviceId: body.deviceId,
        clock,
        now,
        randomBytes,
      },
      body.ops,
    );
  });
}
