import type { FastifyInstance } from 'fastify';
import { pullQuerySchema } from '@outpost/core';
import type { PulledRecord } from '../storage/sync-store';
import { caller } from '../http/caller';
import { parseOrThrow } from '../http/errors';
import { collectionsToPull, pullStart } from '../pull/pull-scope';

export async function pullRoutes(app: FastifyInstance): Promise<void> {
  const { store, schemaFor, cursors, now } = app.outpost;

  app.get('/v1/sync/pull', async (request, reply) => {
    const auth = caller(request);
    const query = parseOrThrow(pullQuerySchema, request.query, 'pull query');
    const schema = schemaFor(auth.tenant);
    const collections = collectionsToPull(schema, auth.roles, query.collections);
    const { after, horizon } = await pullStart(
      store,
      auth.tenant,
      query.cursor ? cursors.decode(auth.tenant, query.cursor) : null,
    );
    const page = await store.pull(auth.tenant, after, query.limit, collections);
    if (query.deviceId)
      await store.touchDevice(auth.tenant, auth.userId, query.deviceId, now().toISOString());
    const last = page.records.at(-1)?.position ?? after;
    const cursorText = cursors.encode(auth.tenant, { position: last, horizon });
    // Written by hand so each record's data goes out as the JSON text it was stored as: parsing
    // and re-serialising every record was most of a pull's cost. The shape is pullResponseSchema.
    const body = `{"changes":[${page.records.map(changeJson).join(',')}],"cursor":${JSON.stringify(cursorText)},"hasMore":${page.hasMore}}`;
    return reply.type('application/json; charset=utf-8').send(body);
  });
}

function changeJson(r: PulledRecord): string {
  return (
    `{"collection":${JSON.stringify(r.collection)},"id":${JSON.stringify(r.id)},"version":${r.version},` +
    `"deleted":${r.deleted},"data":${r.deleted ? 'null' : r.dataJson},` +
    `"updatedAt":${JSON.stringify(r.updatedAt)},"hlc":${JSON.stringify(r.hlc)}}`
  );
}
