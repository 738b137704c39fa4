import type { FastifyInstance } from 'fastify';
import { outpostError, pushRequestSchema } from '@outpost/core';
import type { PushResponse } from '@outpost/core';
import { caller } from '../http/caller';
import { parseOrThrow } from '../http/errors';
import { applyPush } from '../push/apply-push';
import { checkPushCursor } from '../push/push-cursor';
import { lastIdsOfTenant } from '../storage/backup-last-ids';

export async function pushRoutes(app: FastifyInstance): Promise<void> {
  const { store, schemaFor, cursors, clock, now, randomBytes, maxOpsPerPush } = app.outpost;

  // A key named __proto__ in one op's data refuses that op alone (dataShapeProblem, in checkOp),
  // as PROTOCOL.md wants of an op whose own content is wrong; Fastify's parser would refuse the
  // whole push. JSON.parse makes such a key an ordinary property; anywhere else in the body it is
  // an unknown key, which the envelope's and the op's zod objects leave out. This route only.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('ignore', 'ignore'),
  );

  app.post('/v1/sync/push', async (request): Promise<PushResponse> => {
    const auth = caller(request);
    const body = parseOrThrow(pushRequestSchema, request.body, 'push');
    if (body.ops.length > maxOpsPerPush) {
      throw outpostError('PAYLOAD_TOO_LARGE', `at most ${maxOpsPerPush} ops per push: split the batch`, {
        maxOps: maxOpsPerPush,
        ops: body.ops.length,
      });
    }
    // A device that has not heard of a restore of this database: 410 before anything is stored.
    if (body.cursor !== undefined) await checkPushCursor(store, cursors, auth.tenant, body.cursor);
    // A restored database's lost numbers, which a device's give-back names (decision 0051).
    const epoch = await store.epoch();
    const restore = epoch.backupLastIds
      ? { epoch: epoch.id, lastIds: lastIdsOfTenant(epoch.backupLastIds, auth.tenant) }
      : undefined;
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
        ...(restore ? { restore } : {}),
      },
      body.ops,
    );
  });
}
