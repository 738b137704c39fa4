import type { FastifyInstance } from 'fastify';
import {
  bulkResolveRequestSchema,
  conflictListQuerySchema,
  outpostError,
  resolveRequestSchema,
} from '@outpost/core';
import type { BulkResolveResponse, Conflict, ConflictListResponse, ResolveResponse } from '@outpost/core';
import { ConflictDesk, toWireConflict, visibilityFor } from '../conflicts/conflict-desk';
import { caller } from '../http/caller';
import { parseOrThrow, parseQuery } from '../http/errors';
import { archiveIdPattern } from '../http/archive-id';

function conflictId(params: { id: string }): string {
  if (!archiveIdPattern.test(params.id)) throw outpostError('NOT_FOUND', 'conflict not found');
  return params.id;
}

/**
 * The conflict archive over HTTP (PROTOCOL.md, Conflicts). Those who may resolve a collection see
 * and settle all its conflicts; everyone else sees only the conflicts their own ops raised.
 */
export async function conflictRoutes(app: FastifyInstance): Promise<void> {
  const { store, schemaFor } = app.outpost;
  const desk = new ConflictDesk(app.outpost);

  app.get('/v1/conflicts', async (request): Promise<ConflictListResponse> => {
    const auth = caller(request);
    const query = parseQuery(conflictListQuerySchema, request.query, 'conflict query');
    // The cursor is the id of the last conflict of the previous page (ids sort by detection time).
    if (query.cursor !== undefined && !archiveIdPattern.test(query.cursor))
      throw outpostError('VALIDATION_FAILED', 'cursor is invalid');
    const page = await store.listConflicts(
      auth.tenant,
      { status: query.status, collection: query.collection, kind: query.kind, recordId: query.recordId },
      visibilityFor(schemaFor(auth.tenant), auth),
      { after: query.cursor, limit: query.limit + 1 },
    );
    const more = page.length > query.limit;
    const conflicts = page.slice(0, query.limit).map(toWireConflict);
    return { conflicts, nextCursor: more ? (conflicts.at(-1)?.id ?? null) : null };
  });

  app.get<{ Params: { id: string } }>('/v1/conflicts/:id', async (request): Promise<Conflict> => {
    const auth = caller(request);
    const found = await store.getConflict(
      auth.tenant,
      conflictId(request.params),
      visibilityFor(schemaFor(auth.tenant), auth),
    );
    if (!found) throw outpostError('NOT_FOUND', `conflict ${request.params.id} not found`);
    return toWireConflict(found);
  });

  app.post<{ Params: { id: string } }>(
    '/v1/conflicts/:id/resolve',
    async (request): Promise<ResolveResponse> => {
      const auth = caller(request);
      const body = parseOrThrow(resolveRequestSchema, request.body, 'resolution');
      return desk.resolve(auth, conflictId(request.params), body);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/conflicts/:id/undo',
    async (request): Promise<ResolveResponse> => {
      const auth = caller(request);
      return desk.undo(auth, conflictId(request.params));
    },
  );

  app.post('/v1/conflicts/bulk-resolve', async (request): Promise<BulkResolveResponse> => {
    const auth = caller(request);
    const body = parseOrThrow(bulkResolveRequestSchema, request.body, 'bulk resolution');
    return desk.bulkResolve(auth, body);
  });
}
