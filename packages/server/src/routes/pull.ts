import type { FastifyInstance } from 'fastify';
import { OutpostError, pullQuerySchema } from '@outpost/core';
import type { PullResponse } from '@outpost/core';
import { caller } from '../create-sync-server';
import { parseOrThrow } from '../http/errors';

export async function pullRoutes(app: FastifyInstance): Promise<void> {
  const { store, schema, cursors, now } = app.outpost;

  app.get('/v1/sync/pull', async (request): Promise<PullResponse> => {
    const auth = caller(request);
    const query = parseOrThrow(pullQuerySchema, request.query, 'pull query');
    const readable = schema.collectionNames.filter((c) => schema.can(auth.roles, c, 'read'));
    let collections = readable;
    if (query.collections) {
      const unknown = query.collections.filter((c) => !schema.collection(c));
      if (unknown.length > 0)
        throw new OutpostError('VALIDATION_FAILED', 'unknown collections', { collections: unknown });
      const denied = query.collections.filter((c) => !readable.includes(c));
      if (denied.length > 0)
        throw new OutpostError('FORBIDDEN', 'your role may not read these collections', {
          collections: denied,
        });
      collections = query.collections;
    }

    const horizon = await store.purgedThrough(auth.tenant);
    const cursor = query.cursor ? cursors.decode(auth.tenant, query.cursor) : { position: 0, horizon };
    // A client missed a deletion only if a tombstone above its position was purged after its
    // cursor was issued. A fresh sync that began after the purge carries the current horizon.
    if (cursor.position < horizon && cursor.horizon !== horizon) {
      throw new OutpostError(
        'CURSOR_EXPIRED',
        'deletions since this cursor were purged: resync from the start',
      );
    }
    const after = cursor.position;
    const page = await store.pull(auth.tenant, after, query.limit, collections);
    if (query.deviceId)
      await store.touchDevice(auth.tenant, auth.userId, query.deviceId, now().toISOString());
    const last = page.records.at(-1)?.position ?? after;
    return {
      changes: page.records.map((r) => ({
        collection: r.collection,
        id: r.id,
        version: r.version,
        deleted: r.deleted,
        data: r.deleted ? null : r.data,
        updatedAt: r.updatedAt,
        hlc: r.hlc,
      })),
      cursor: cursors.encode(auth.tenant, { position: last, horizon }),
      hasMore: page.hasMore,
    };
  });
}
