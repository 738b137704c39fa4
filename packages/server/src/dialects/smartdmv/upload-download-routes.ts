import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { outpostError, pullLimitDefault, pullLimitMax } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { ConflictDesk, toWireConflict, visibilityFor } from '../../conflicts/conflict-desk';
import { caller } from '../../http/caller';
import { parseOrThrow } from '../../http/errors';
import { applySeedOperations, seedOperationsSchema } from './apply-seed-operations';
import { collectionOf } from './entity-types';
import { checkSyncPointAtPush, readChanges, syncPointOf } from './read-changes';
import { resolveConflictBodySchema, toResolveRequest, toSeedConflict } from './seed-conflicts';
import { toSeedId } from './seed-ids';
import { seedData } from './seed-records';
import { archiveIdPattern } from '../../http/archive-id';

/** `POST /api/sync/download` `{ lastSync, entityTypes }`; limit is an addition, as are hasMore and lastSync in the answer. */
const downloadBodySchema = z.object({
  lastSync: z.union([z.number(), z.string().max(4096), z.null()]).optional(),
  entityTypes: z.array(z.string().min(1).max(64)).max(100).optional(),
  limit: z.number().int().min(1).max(pullLimitMax).default(pullLimitDefault),
});

/** `GET /api/sync/conflicts`: open ones unless asked otherwise, oldest first, a page at a time. */
const conflictsQuerySchema = z.object({
  status: z.enum(['open', 'resolved', 'all']).default('open'),
  entityType: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(archiveIdPattern).optional(),
});

export interface SeedEntity {
  entityType: string;
  id: string | number;
  version: number;
  updatedAt: string;
  data: RecordData;
}

export interface SeedDeletion {
  entityType: string;
  id: string | number;
  version: number;
  deletedAt: string;
}

/**
 * Seed 003 (SmartDMV sprint 2): upload, download, conflicts and resolve-conflict. Upload is the same
 * translation as seed 001's push, download the same pull; conflicts go through the conflict desk.
 */
export async function uploadDownloadRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.outpost;
  const desk = new ConflictDesk(ctx);

  app.post('/api/sync/upload', async (request) => {
    const auth = caller(request);
    const body = parseOrThrow(seedOperationsSchema, request.body, 'upload');
    await checkSyncPointAtPush(ctx, auth.tenant, body.lastSync, 'lastSync');
    return applySeedOperations(ctx, auth, body.operations);
  });

  app.post('/api/sync/download', async (request) => {
    const auth = caller(request);
    const body = parseOrThrow(downloadBodySchema, request.body, 'download');
    const since = await syncPointOf(ctx, auth.tenant, body.lastSync, 'lastSync');
    const page = await readChanges(ctx, auth, { since, limit: body.limit, entityTypes: body.entityTypes });
    const schema = ctx.schemaFor(auth.tenant);
    const entities: SeedEntity[] = [];
    const deletions: SeedDeletion[] = [];
    for (const r of page.records) {
      const base = { entityType: r.collection, id: toSeedId(r.id), version: r.version };
      if (r.deleted) deletions.push({ ...base, deletedAt: r.updatedAt });
      else {
        const data = seedData(schema.collection(r.collection), r.id, JSON.parse(r.dataJson) as RecordData);
        entities.push({ ...base, updatedAt: r.updatedAt, data });
      }
    }
    // lastSync is what to send next time; hasMore says to ask again straight away.
    return {
      entities,
      deletions,
      hasMore: page.hasMore,
      lastSync: page.next,
      timestamp: ctx.now().getTime(),
    };
  });

  app.get('/api/sync/conflicts', async (request) => {
    const auth = caller(request);
    const query = parseOrThrow(conflictsQuerySchema, request.query, 'conflicts query');
    const schema = ctx.schemaFor(auth.tenant);
    const collection = query.entityType === undefined ? undefined : collectionOf(schema, query.entityType);
    if (query.entityType !== undefined && collection === undefined)
      throw outpostError('VALIDATION_FAILED', 'unknown entity type', { entityType: query.entityType });
    const page = await ctx.store.listConflicts(
      auth.tenant,
      {
        ...(query.status !== 'all' ? { status: query.status } : {}),
        ...(collection !== undefined ? { collection } : {}),
      },
      visibilityFor(schema, auth),
      { ...(query.cursor !== undefined ? { after: query.cursor } : {}), limit: query.limit + 1 },
    );
    const conflicts = page.slice(0, query.limit).map((c) => toSeedConflict(toWireConflict(c), schema));
    return {
      conflicts,
      nextCursor: page.length > query.limit ? (conflicts.at(-1)?.id ?? null) : null,
    };
  });

  app.post('/api/sync/resolve-conflict', async (request) => {
    const auth = caller(request);
    const body = parseOrThrow(resolveConflictBodySchema, request.body, 'resolve-conflict');
    const id = String(body.conflictId);
    const schema = ctx.schemaFor(auth.tenant);
    // Read first only to learn the collection, whose reference fields mergedData may name by number;
    // the desk checks again, under the tenant lock, who may settle it.
    const found = archiveIdPattern.test(id)
      ? await ctx.store.getConflict(auth.tenant, id, visibilityFor(schema, auth))
      : null;
    const def = found ? schema.collection(found.collection) : undefined;
    if (!found || !def) throw outpostError('NOT_FOUND', `conflict ${id} not found`);
    const { conflict, record } = await desk.resolve(auth, id, toResolveRequest(body, def));
    const entity: SeedEntity & { deleted?: true } = {
      entityType: record.collection,
      id: toSeedId(record.id),
      version: record.version,
      updatedAt: record.updatedAt,
      data: seedData(def, record.id, record.data),
      ...(record.deleted ? { deleted: true as const } : {}),
    };
    return { success: true, entity, conflict: toSeedConflict(conflict, schema) };
  });
}
