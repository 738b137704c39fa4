import { z } from 'zod';
import { outpostError, recordDataSchema } from '@outpost/core';
import type {
  CollectionDefinition,
  Conflict,
  ConflictKind,
  ConflictOutcome,
  ConflictStrategy,
  RecordData,
  ResolveRequest,
  Schema,
} from '@outpost/core';
import { SeedIdBook, toSeedId } from './seed-ids';
import { engineData, seedData } from './seed-records';

/** Seed 003 names its three detection methods version, timestamp and data; the engine calls data `hash`. */
export function seedConflictType(kind: ConflictKind): string {
  return kind === 'hash' ? 'data' : kind;
}

/** A conflict as seed 003's Conflict type has it, plus what the archive adds (strategy, outcome, who settled it). */
export interface SeedConflict {
  id: string;
  entityType: string;
  entityId: string | number;
  operation: {
    operation: string;
    entityType: string;
    entityId: string | number;
    data: RecordData | null;
    version: number | null;
  };
  localData: RecordData | null;
  serverData: RecordData | null;
  serverVersion: number;
  detectedAt: number;
  conflictType: string;
  affectedFields: string[];
  strategy: ConflictStrategy;
  resolution: ConflictOutcome;
  resolved: boolean;
  resolvedAt: number | null;
  resolvedBy: string | null;
}

export function toSeedConflict(c: Conflict, schema: Schema): SeedConflict {
  const def = schema.collection(c.collection);
  const entityId = toSeedId(c.recordId);
  const localData = c.client.data === null ? null : seedData(def, c.recordId, c.client.data);
  return {
    id: c.id,
    entityType: c.collection,
    entityId,
    operation: {
      operation: c.opType,
      entityType: c.collection,
      entityId,
      data: localData,
      version: c.client.baseVersion,
    },
    localData,
    serverData: c.server.data === null ? null : seedData(def, c.recordId, c.server.data),
    serverVersion: c.server.version,
    detectedAt: Date.parse(c.createdAt),
    conflictType: seedConflictType(c.kind),
    affectedFields: c.fields,
    strategy: c.strategy,
    resolution: c.outcome,
    resolved: c.outcome !== 'open',
    resolvedAt: c.resolvedAt === null ? null : Date.parse(c.resolvedAt),
    resolvedBy: c.resolvedBy,
  };
}

/** Seed 003's ConflictStrategy types, the five of seed 001. */
const seedStrategies = ['server-wins', 'client-wins', 'last-write-wins', 'merge', 'manual'] as const;

/** `POST /api/sync/resolve-conflict` `{ conflictId, resolution }`; a resolution is a strategy or `{ type, mergedData }`. */
export const resolveConflictBodySchema = z.object({
  conflictId: z.union([z.string().min(1).max(128), z.number().int()]),
  resolution: z.union([
    z.enum(seedStrategies),
    z.object({ type: z.enum(seedStrategies), mergedData: recordDataSchema.optional() }),
  ]),
  mergedData: recordDataSchema.optional(),
});
export type ResolveConflictBody = z.infer<typeof resolveConflictBodySchema>;

/**
 * The engine's resolution for a SmartDMV one. server-wins, client-wins and last-write-wins are the
 * engine's own. merge and manual both mean a person chose the record's fields one by one (seed 003's
 * merge interface, seed 001's "user decides field-by-field"), so both need mergedData; fields the
 * engine could combine by itself were already combined when the push arrived.
 */
export function toResolveRequest(body: ResolveConflictBody, def: CollectionDefinition): ResolveRequest {
  const type = typeof body.resolution === 'string' ? body.resolution : body.resolution.type;
  const mergedData =
    (typeof body.resolution === 'string' ? undefined : body.resolution.mergedData) ?? body.mergedData;
  if (type === 'merge' || type === 'manual') {
    if (mergedData === undefined) {
      throw outpostError('VALIDATION_FAILED', `${type} needs mergedData: the record's fields as chosen`, {
        field: 'resolution.mergedData',
      });
    }
    return { strategy: 'merge', mergedData: engineData(def, mergedData, new SeedIdBook()) };
  }
  if (mergedData !== undefined) {
    throw outpostError('VALIDATION_FAILED', 'mergedData goes with merge or manual only', {
      field: 'resolution.mergedData',
    });
  }
  return { strategy: type };
}
