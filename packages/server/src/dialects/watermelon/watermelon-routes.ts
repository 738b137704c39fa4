import type { FastifyInstance } from 'fastify';
import { caller } from '../../http/caller';
import { parsePullQuery, parsePushRequest } from './watermelon-messages';
import { pullForDevice } from './watermelon-pull';
import type { PullResult } from './watermelon-pull';
import { pushFromDevice } from './watermelon-push';
import type { PushAnswer } from './watermelon-push';

/**
 * Seed 002's mobile app syncs with WatermelonDB: its own synchronize() talks to these two routes
 * unchanged (docs/dialects/watermelon.md). Same Bearer auth and error shape as every route.
 */
export async function watermelonRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.outpost;

  app.get('/watermelon/sync/pull', async (request): Promise<PullResult> => {
    return pullForDevice(ctx, caller(request), parsePullQuery(request.query));
  });

  // The documented pushChanges posts JSON.stringify(changes) without a content type, which fetch
  // sends as text/plain: Fastify hands that over as a string, and parsePushRequest reads it as JSON.
  app.post('/watermelon/sync/push', async (request): Promise<PushAnswer> => {
    return pushFromDevice(ctx, caller(request), parsePushRequest(request.query, request.body));
  });
}
