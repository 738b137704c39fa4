import type { FastifyInstance } from 'fastify';
import { outpostError, recordIdSchema, statsQuerySchema, syncRate } from '@outpost/core';
import type { StatsResponse } from '@outpost/core';
import { administrator, caller } from '../../http/caller';
import { parseOrThrow } from '../../http/errors';
import { acceptSeedBodies } from '../../http/seed-bodies';
import type { AuthContext } from '../../auth/tokens';
import { deviceQuerySchema, queueRequestSchema, resolveQuerySchema } from './queue-messages';
import type { QueueItemView } from './queue-messages';
import { toView } from './queue-processor';
import type { QueueProcessor } from './queue-processor';
import type { ProcessResponse, ResolveResponse, RetryResponse } from './queue-processor';

/** A userId sent along must be the caller's own: nobody queues, lists or retries as someone else. */
function sameUser(auth: AuthContext, userId: string | null | undefined): void {
  if (userId !== undefined && userId !== null && userId !== auth.userId) {
    throw outpostError('FORBIDDEN', 'userId is not the signed-in user');
  }
}

function itemId(params: { id: string }): string {
  if (!recordIdSchema.safeParse(params.id).success)
    throw outpostError('NOT_FOUND', `queue item ${params.id} not found`);
  return params.id;
}

export interface QueueApiRouteOptions {
  /** The server's one processor, shared with its own retry (QueueApi): one implementation of each rule. */
  processor: QueueProcessor;
}

/** Seed 000's server-side sync queue (PROTOCOL.md, Dialects), a thin adapter over the engine. */
export async function queueApiRoutes(app: FastifyInstance, options: QueueApiRouteOptions): Promise<void> {
  const { adminRoles } = app.outpost;
  const { processor } = options;
  acceptSeedBodies(app);

  app.post('/api/v1/sync/queue', async (request, reply) => {
    const auth = caller(request);
    const body = parseOrThrow(queueRequestSchema, request.body, 'queue operation');
    sameUser(auth, body.userId);
    const { item, created } = await processor.enqueue(auth, body);
    void reply.status(created ? 201 : 200);
    return {
      id: item.id,
      status: created ? 'PENDING' : toView(item).status,
      message: created ? 'Operation queued for sync' : 'Operation already queued',
    };
  });

  app.get('/api/v1/sync/pending', async (request): Promise<QueueItemView[]> => {
    const auth = caller(request);
    const query = parseOrThrow(deviceQuerySchema, request.query, 'pending query');
    sameUser(auth, query.userId);
    return processor.pending(auth, query.deviceId);
  });

  app.post<{ Params: { id: string } }>(
    '/api/v1/sync/process/:id',
    async (request): Promise<ProcessResponse> => processor.process(caller(request), itemId(request.params)),
  );

  app.patch<{ Params: { id: string } }>(
    '/api/v1/sync/resolve/:id',
    async (request): Promise<ResolveResponse> => {
      const auth = caller(request);
      const id = itemId(request.params);
      const { resolution } = parseOrThrow(resolveQuerySchema, request.query, 'resolution');
      return processor.resolve(auth, id, resolution);
    },
  );

  app.post('/api/v1/sync/retry', async (request): Promise<RetryResponse> => {
    const auth = caller(request);
    const query = parseOrThrow(deviceQuerySchema, request.query, 'retry query');
    sameUser(auth, query.userId);
    return processor.retry(auth, query.deviceId);
  });

  /** The queue's figures for administrators: userId and deviceId narrow them to one user or device. */
  app.get('/api/v1/sync/stats', async (request): Promise<StatsResponse> => {
    const auth = administrator(request, adminRoles, 'statistics are for administrators');
    const filter = parseOrThrow(statsQuerySchema, request.query, 'stats query');
    const counts = await processor.queue.counts(auth.tenant, filter);
    return { ...counts, syncRate: syncRate(counts.synced, counts.total) };
  });
}
