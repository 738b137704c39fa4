import { z } from 'zod';
import {
  dataShapeProblem,
  formatHlc,
  makeTempId,
  outpostError,
  parseTempId,
  recordVersionSchema,
  uuidv7,
} from '@outpost/core';
import type { ConflictOutcome, PushResult, RandomBytes, RecordData, Schema } from '@outpost/core';
import type { AuthContext } from '../../auth/tokens';
import type { ServerContext } from '../../create-sync-server';
import { applyPush } from '../../push/apply-push';
import { seedConflictType } from './seed-conflicts';
import { collectionOf } from './entity-types';
import { SeedIdBook, isSeedTempId, toSeedId } from './seed-ids';
import { journalOpIds, seedOpId } from './seed-op-ids';
import { engineData, seedData } from './seed-records';

/**
 * The envelope of seed 001's push and seed 003's upload; each operation is checked on its own. The
 * device's sync point (`lastSyncTimestamp` in 001, `lastSync` in 003, as each seed's pull names it)
 * is an addition, checked by checkSyncPointAtPush.
 */
export const seedOperationsSchema = z.object({
  operations: z.array(z.unknown()),
  lastSyncTimestamp: z.unknown().optional(),
  lastSync: z.unknown().optional(),
});

/**
 * An operation's `id`: the queue's operation id (a number in seed 001, a string in seed 003), echoed
 * as `operationId` and hashed into the op id. Anything else is no queue's id.
 */
const operationIdSchema = z.union([z.string(), z.number()]).nullish();

export interface SeedConflictData {
  localData: RecordData | null;
  serverData: RecordData | null;
  conflictType: string;
  affectedFields: string[];
  /** Additions to the seed's shape: the archived conflict to resolve, and how the engine left it. */
  conflictId?: string;
  resolution: ConflictOutcome;
  serverVersion?: number;
}

/** One operation's answer, in seed 001's shape (seed 003's upload answers the same). */
export interface SeedResult {
  operationId?: unknown;
  success: boolean;
  entityType: unknown;
  realId?: string | number;
  tempId?: string;
  /** The record's version now: what the device sends as `version` with its next change. */
  version?: number;
  /** A resend the server had seen: the first outcome, not applied again. */
  duplicate?: true;
  conflict?: true;
  conflictData?: SeedConflictData;
  error?: { code: string; message: string; details?: unknown };
}

/** Seed 003's IdMapping; times in epoch milliseconds as its client keeps them. */
export interface SeedIdMapping {
  tempId: string;
  realId: string | number;
  entityType: string;
  createdAt: number;
  syncedAt: number;
}

/** Every SmartDMV installation of a user shares one temp-id scope: its temp ids carry time and randomness. */
const clientIdOf = (userId: string) => `smartdmv:${userId}`;
const deviceId = 'smartdmv';

type Translated =
  | {
      kind: 'op';
      op: Record<string, unknown>;
      stable: boolean;
      content: unknown[];
      operationId: unknown;
      entityType: unknown;
      tempId: string | undefined;
    }
  | { kind: 'invalid'; result: SeedResult };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The client timestamp as an HLC, so the engine's timestamp detection applies (seed 001's rule). A
 * time ahead of the server's clock counts as now: a device with a wrong clock must not win every
 * conflict.
 */
function hlcOf(timestamp: unknown, node: string, nowMs: number): string | undefined | null {
  if (timestamp === undefined || timestamp === null) return undefined;
  const ms =
    typeof timestamp === 'number'
      ? timestamp
      : typeof timestamp === 'string'
        ? /^\d{1,15}$/.test(timestamp)
          ? Number(timestamp)
          : Date.parse(timestamp)
        : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 999_999_999_999_999) return null;
  return formatHlc({ ms: Math.min(ms, nowMs), counter: 0, node });
}

/**
 * One SmartDMV operation as a v1 push op. Only what the seed names differently is translated; the
 * op's content is checked by the engine like any other, so a bad one is rejected alone with the
 * engine's own code. The operation's userId, practiceId and tenantId are not used: the token says
 * who writes where.
 */
function translate(
  raw: unknown,
  schema: Schema,
  ids: SeedIdBook,
  env: { node: string; nowMs: number; randomBytes: RandomBytes },
): Translated {
  const o = isObject(raw) ? raw : null;
  // Before anything hashes, stringifies, compares or echoes the operation: nested thousands of
  // levels deep, anywhere in it, it would overflow the stack of whatever walks it. One level above
  // the operation's data, so data may nest as deep as any record's.
  const shapeProblem = o === null ? null : dataShapeProblem(o, 1);
  const idIsValid = operationIdSchema.safeParse(o?.['id']).success;
  const operationId = idIsValid ? o?.['id'] : undefined;
  // Answers repeat entityType as sent, unless it is itself what cannot be sent back.
  const entityType =
    shapeProblem === null || dataShapeProblem(o?.['entityType']) === null ? o?.['entityType'] : undefined;
  const invalid = (message: string, field: string): Translated => ({
    kind: 'invalid',
    result: {
      ...(operationId !== undefined ? { operationId } : {}),
      success: false,
      entityType,
      error: { code: 'VALIDATION_FAILED', message, details: { field } },
    },
  });
  if (o === null) return invalid('an operation must be an object', 'operations');
  if (shapeProblem !== null) {
    // The field at fault when there is one: the operation's own keys are read as the seed names them.
    const field = Object.keys(o).find(
      (k) => k !== '__proto__' && dataShapeProblem(k) === null && dataShapeProblem(o[k]) !== null,
    );
    return invalid(shapeProblem.replace(/^data\b/, field ?? 'an operation'), field ?? 'operations');
  }
  if (!idIsValid) return invalid("id must be the queue's operation id: a string or a number", 'id');
  const type = typeof o['operation'] === 'string' ? o['operation'].toLowerCase() : o['operation'];
  const collection = collectionOf(schema, entityType);
  const def = collection === undefined ? undefined : schema.collection(collection);

  const hlc = hlcOf(o['timestamp'], env.node, env.nowMs);
  if (hlc === null)
    return invalid('timestamp must be the time of the change in epoch milliseconds', 'timestamp');
  const version = o['version'];
  const baseVersion = type === 'create' || version === undefined || version === null ? undefined : version;
  if (baseVersion !== undefined && !recordVersionSchema.safeParse(baseVersion).success) {
    return invalid('version must be the record version the change was made on', 'version');
  }

  const sentId = o['entityId'] ?? o['tempId'];
  // Outpost creates server-id records under a temp id; one the device did not name is made here.
  const id =
    sentId === undefined && type === 'create'
      ? makeTempId(def?.name ?? 'new', env.nowMs, env.randomBytes)
      : ids.toEngine(sentId, collection ?? entityType);
  const data = isObject(o['data']) ? engineData(def, o['data'], ids) : o['data'];
  const op: Record<string, unknown> = {
    collection: collection ?? entityType,
    type,
    id,
    ...(type !== 'delete' && data !== undefined ? { data } : {}),
    ...(baseVersion !== undefined ? { baseVersion } : {}),
    ...(hlc !== undefined ? { hlc } : {}),
  };
  const tempId = isSeedTempId(sentId) ? sentId : undefined;
  return {
    kind: 'op',
    op,
    stable:
      hlc !== undefined ||
      (operationId !== undefined && operationId !== null) ||
      (type === 'create' && tempId !== undefined),
    content: [
      type,
      entityType,
      sentId ?? null,
      operationId ?? null,
      o['timestamp'] ?? null,
      version ?? null,
      data ?? null,
    ],
    operationId,
    entityType,
    tempId,
  };
}

function seedResult(
  t: Extract<Translated, { kind: 'op' }>,
  r: PushResult,
  schema: Schema,
  ids: SeedIdBook,
): SeedResult {
  const status = r.status === 'duplicate' ? (r.originalStatus ?? 'applied') : r.status;
  const base: SeedResult = {
    ...(t.operationId !== undefined ? { operationId: t.operationId } : {}),
    success: status === 'applied',
    entityType: t.entityType,
    ...(status !== 'rejected' ? { realId: toSeedId(r.id) } : {}),
    ...(t.tempId !== undefined ? { tempId: t.tempId } : {}),
    ...(r.version !== undefined ? { version: r.version } : {}),
    ...(r.status === 'duplicate' ? { duplicate: true as const } : {}),
  };
  if (status === 'rejected') {
    return { ...base, error: ids.inSeedTerms(r.error ?? { code: 'VALIDATION_FAILED', message: 'rejected' }) };
  }
  if (status !== 'conflict' || !r.conflict) return base;
  const def = schema.collection(r.collection);
  const c = r.conflict;
  return {
    ...base,
    conflict: true,
    conflictData: {
      localData: c.client?.data ? seedData(def, r.id, c.client.data) : null,
      serverData: c.server?.data ? seedData(def, r.id, c.server.data) : null,
      conflictType: seedConflictType(c.kind),
      affectedFields: c.fields ?? [],
      ...(c.id !== undefined ? { conflictId: c.id } : {}),
      resolution: c.outcome,
      ...(c.server ? { serverVersion: c.server.version } : {}),
    },
  };
}

/**
 * Applies SmartDMV operations through the engine's one push: each becomes a v1 op, `applyPush`
 * settles them in array order in one transaction, and each PushResult goes back in the seed's shape.
 */
export async function applySeedOperations(
  ctx: ServerContext,
  auth: AuthContext,
  operations: readonly unknown[],
): Promise<{ results: SeedResult[]; idMappings: SeedIdMapping[] }> {
  if (operations.length > ctx.maxOpsPerPush) {
    throw outpostError(
      'PAYLOAD_TOO_LARGE',
      `at most ${ctx.maxOpsPerPush} operations per request: split the batch`,
      { maxOps: ctx.maxOpsPerPush, ops: operations.length },
    );
  }
  const schema = ctx.schemaFor(auth.tenant);
  const ids = new SeedIdBook();
  const env = {
    node: `smartdmv.${auth.userId.replace(/[^A-Za-z0-9_.:-]/g, '_')}`.slice(0, 64),
    nowMs: ctx.now().getTime(),
    randomBytes: ctx.randomBytes,
  };
  const translated = operations.map((raw) => translate(raw, schema, ids, env));
  const ops = translated.filter((t): t is Extract<Translated, { kind: 'op' }> => t.kind === 'op');
  const digest = await ctx.contentIds.digester();
  const opIds = await journalOpIds(
    ctx.store,
    auth.tenant,
    ops.map((t) =>
      seedOpId({
        digest,
        userId: auth.userId,
        stable: t.stable,
        content: t.content,
        fresh: () => uuidv7(env.nowMs, env.randomBytes),
      }),
    ),
  );
  const pushed = await applyPush(
    ctx.store,
    schema,
    {
      tenant: auth.tenant,
      userId: auth.userId,
      roles: auth.roles,
      clientId: clientIdOf(auth.userId),
      deviceId,
      clock: ctx.clock,
      now: ctx.now,
      randomBytes: ctx.randomBytes,
    },
    ops.map((t, i) => ({ ...t.op, opId: opIds[i] })),
  );

  let next = 0;
  const results = translated.map((t) => {
    if (t.kind === 'invalid') return t.result;
    const r = pushed.results[next++];
    if (!r) throw new Error('the engine answered fewer ops than it was given');
    return seedResult(t, r, schema, ids);
  });

  // A mapping names the record's type as the device did.
  const entityTypeOf = new Map(
    ops.flatMap((t) =>
      t.tempId !== undefined && typeof t.entityType === 'string' ? [[t.tempId, t.entityType]] : [],
    ),
  );
  const syncedAt = ctx.now().getTime();
  const idMappings: SeedIdMapping[] = [];
  const mapped = new Set<string>();
  for (const m of pushed.idMappings) {
    // Only temp ids the device sent: one made here for a create that named none means nothing to it.
    const tempId = ids.sentTempId(m.tempId);
    if (tempId === undefined || mapped.has(tempId)) continue;
    mapped.add(tempId);
    idMappings.push({
      tempId,
      realId: toSeedId(m.id),
      entityType: entityTypeOf.get(tempId) ?? m.collection,
      createdAt: parseTempId(tempId)?.createdAtMs ?? syncedAt,
      syncedAt,
    });
  }
  return { results, idMappings };
}
