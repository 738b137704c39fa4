import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { pullLimitMax } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { caller } from '../../http/caller';
import { parseOrThrow } from '../../http/errors';
import type { PulledRecord } from '../../storage/sync-store';
import { applySeedOperations, seedOperationsSchema } from './apply-seed-operations';
import type { SeedResult } from './apply-seed-operations';
import { checkSyncPointAtPush, readChanges, syncPointOf } from './read-changes';
import { toSeedId } from './seed-ids';
import { seedData } from './seed-records';

/** `GET /api/sync/pull`: practiceId is read and not used, since the token names the practice. */
const pullQuerySchema = z.object({
  lastSyncTimestamp: z.string().max(4096).optional(),
  practiceId: z.string().max(128).optional(),
  entityTypes: z
    .string()
    .max(2048)
    .optional()
    .transform((s) =>
      s
        ?.split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
    ),
  // Seed 001 pulls at most 100 records at a time.
  limit: z.coerce.number().int().min(1).max(pullLimitMax).default(100),
});

export interface SeedChange {
  entityType: string;
  operation: 'create' | 'update' | 'delete';
  data: RecordData;
  id: string | number;
  version: number;
  updatedAt: string;
}

/** A pulled record as seed 001 shows a change. Versions collapse, so a record new since the last sync can read as an update. */
function seedChange(def: Parameters<typeof seedData>[0], r: PulledRecord): SeedChange {
  return {
    entityType: r.collection,
    operation: r.deleted ? 'delete' : r.version === 1 ? 'create' : 'update',
    data: seedData(def, r.id, r.deleted ? null : (JSON.parse(r.dataJson) as RecordData)),
    id: toSeedId(r.id),
    version: r.version,
    updatedAt: r.updatedAt,
  };
}

/** Seed 001 (SmartDMV): `POST /api/sync/push` and `GET /api/sync/pull`, over the engine's push and pull. */
export async function smartDmvRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.outpost;

  app.post('/api/sync/push', async (request) => {
    const auth = caller(request);
    const body = parseOrThrow(seedOperationsSchema, request.body, 'push');
    await checkSyncPointAtPush(ctx, auth.tenant, body.lastSyncTimestamp, 'lastSyncTimestamp');
    const { results } = await applySeedOperations(ctx, auth, body.operations);
    const count = (test: (r: SeedResult) => boolean) => results.filter(test).length;
    return {
      // The request was processed; each operation's own outcome is in results.
      success: true,
      processed: count((r) => r.success),
      failed: count((r) => !r.success && r.conflict !== true),
      conflicts: count((r) => r.conflict === true),
      results,
    };
  });

  app.get('/api/sync/pull', async (request) => {
    const auth = caller(request);
    const query = parseOrThrow(pullQuerySchema, request.query, 'pull query');
    const since = await syncPointOf(ctx, auth.tenant, query.lastSyncTimestamp, 'lastSyncTimestamp');
    const page = await readChanges(ctx, auth, { since, limit: query.limit, entityTypes: query.entityTypes });
    const schema = ctx.schemaFor(auth.tenant);
    return {
      success: true,
      timestamp: ctx.now().getTime(),
      changes: page.records.map((r) => seedChange(schema.collection(r.collection), r)),
      hasMore: page.hasMore,
      nextTimestamp: page.next,
    };
  });
}
