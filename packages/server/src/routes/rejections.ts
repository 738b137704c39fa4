import type { FastifyInstance } from 'fastify';
import { outpostError, rejectionListQuerySchema } from '@outpost/core';
import type { Rejection, RejectionListResponse } from '@outpost/core';
import { visibilityFor } from '../conflicts/conflict-desk';
import { caller } from '../http/caller';
import { parseQuery } from '../http/errors';
import type { StoredRejection } from '../storage/sync-store';
import { archiveIdPattern } from '../http/archive-id';

function toWireRejection(r: StoredRejection): Rejection {
  return {
    id: r.id,
    opId: r.opId,
    collection: r.collection,
    recordId: r.recordId,
    opType: r.opType,
    data: r.data,
    baseVersion: r.baseVersion,
    error: r.error,
    conflictId: r.conflictId,
    userId: r.userId,
    deviceId: r.deviceId,
    rejectedAt: r.rejectedAt,
  };
}

/**
 * The rejection archive over HTTP: read-only, like the record of a refusal should be. Who sees
 * what follows the conflict archive: those who resolve a collection see all its rejections,
 * everyone else the ones their own ops met.
 */
export async function rejectionRoutes(app: FastifyInstance): Promise<void> {
  const { store, schemaFor } = app.outpost;

  app.get('/v1/rejections', async (request): Promise<RejectionListResponse> => {
    const auth = caller(request);
    const query = parseQuery(rejectionListQuerySchema, request.query, 'rejection query');
    // The cursor is the id of the last rejection of the previous page (ids sort by time refused).
    if (query.cursor !== undefined && !archiveIdPattern.test(query.cursor))
      throw outpostError('VALIDATION_FAILED', 'cursor is invalid');
    const { collection, recordId, opId, deviceId } = query;
    const page = await store.listRejections(
      auth.tenant,
      { collection, recordId, opId, deviceId },
      visibilityFor(schemaFor(auth.tenant), auth),
      { after: query.cursor, limit: query.limit + 1 },
    );
    const more = page.length > query.limit;
    const rejections = page.slice(0, query.limit).map(toWireRejection);
    return { rejections, nextCursor: more ? (rejections.at(-1)?.id ?? null) : null };
  });

  app.get<{ Params: { id: string } }>('/v1/rejections/:id', async (request): Promise<Rejection> => {
    const auth = caller(request);
    const { id } = request.params;
    if (!archiveIdPattern.test(id)) throw outpostError('NOT_FOUND', 'rejection not found');
    const found = await store.getRejection(auth.tenant, id, visibilityFor(schemaFor(auth.tenant), auth));
    if (!found) throw outpostError('NOT_FOUND', `rejection ${id} not found`);
    return toWireRejection(found);
  });
}
