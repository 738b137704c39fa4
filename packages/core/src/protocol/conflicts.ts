import { z } from 'zod';
import { resolutionStrategies } from '../conflict/resolve-conflict';
import { conflictStrategies } from '../schema/define-schema';
import { recordDataSchema } from './common';
import { changeSchema } from './pull';

export const conflictKinds = [
  'version',
  'timestamp',
  'hash',
  'delete-update',
  'immutable',
  'locked',
] as const;
export type ConflictKind = (typeof conflictKinds)[number];

export const conflictOutcomes = ['open', 'server-won', 'client-won', 'merged', 'rejected'] as const;
export type ConflictOutcome = (typeof conflictOutcomes)[number];

/** What a push result says of a conflict. */
export const conflictSummarySchema = z.object({
  id: z.string().optional(),
  kind: z.enum(conflictKinds),
  fields: z.array(z.string()).optional(),
  strategy: z.enum(conflictStrategies).optional(),
  outcome: z.enum(conflictOutcomes),
  server: z
    .object({ data: z.record(z.string(), z.unknown()).nullable(), version: z.number().int() })
    .optional(),
  client: z.object({ data: z.record(z.string(), z.unknown()).nullable() }).optional(),
});
export type ConflictSummary = z.infer<typeof conflictSummarySchema>;

/** A conflict as the archive keeps it: both versions, whatever the outcome. */
export const conflictSchema = z.object({
  id: z.string(),
  collection: z.string(),
  recordId: z.string(),
  opId: z.string(),
  /** What the client sent: its data is every field (create), the changed fields (update), or null (delete). */
  opType: z.enum(['create', 'update', 'delete']),
  kind: z.enum(conflictKinds),
  fields: z.array(z.string()),
  strategy: z.enum(conflictStrategies),
  outcome: z.enum(conflictOutcomes),
  server: z.object({ data: z.record(z.string(), z.unknown()).nullable(), version: z.number().int() }),
  client: z.object({
    data: z.record(z.string(), z.unknown()).nullable(),
    baseVersion: z.number().int().nullable(),
  }),
  userId: z.string(),
  deviceId: z.string(),
  createdAt: z.string(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
});
export type Conflict = z.infer<typeof conflictSchema>;

/** `GET /v1/conflicts` */
export const conflictListQuerySchema = z.object({
  status: z.enum(['open', 'resolved']).optional(),
  collection: z.string().min(1).max(64).optional(),
  kind: z.enum(conflictKinds).optional(),
  recordId: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(512).optional(),
});
export type ConflictListQuery = z.infer<typeof conflictListQuerySchema>;

export const conflictListResponseSchema = z.object({
  conflicts: z.array(conflictSchema),
  nextCursor: z.string().nullable(),
});
export type ConflictListResponse = z.infer<typeof conflictListResponseSchema>;

/** `POST /v1/conflicts/:id/resolve` */
export const resolveRequestSchema = z
  .object({
    strategy: z.enum(resolutionStrategies),
    /** For merge: the record's fields as chosen one by one; null clears a field. */
    mergedData: recordDataSchema.optional(),
  })
  // PROTOCOL.md writes the body as { strategy, mergedData: {} }: an empty mergedData beside another
  // strategy says nothing and is dropped. Fields chosen for a strategy that ignores them are refused,
  // so no one believes they were kept.
  .refine(
    (r) =>
      r.strategy === 'merge'
        ? r.mergedData !== undefined
        : r.mergedData === undefined || Object.keys(r.mergedData).length === 0,
    { message: 'mergedData goes with strategy "merge", and only with it', path: ['mergedData'] },
  )
  .transform((r) => (r.strategy === 'merge' ? r : { strategy: r.strategy }));
export type ResolveRequest = z.infer<typeof resolveRequestSchema>;

/** The answer to resolve and undo: the conflict as it now stands and the record every client will pull. */
export const resolveResponseSchema = z.object({
  conflict: conflictSchema,
  record: changeSchema,
});
export type ResolveResponse = z.infer<typeof resolveResponseSchema>;

/** `POST /v1/conflicts/bulk-resolve`: open conflicts matching a filter, settled by one rule. */
export const bulkResolveRequestSchema = z.object({
  strategy: z.enum(['server-wins', 'client-wins', 'last-write-wins']),
  collection: z.string().min(1).max(64).optional(),
  kind: z.enum(conflictKinds).optional(),
  ids: z.array(z.string().min(1).max(128)).min(1).max(500).optional(),
  limit: z.number().int().min(1).max(500).default(500),
});
export type BulkResolveRequest = z.infer<typeof bulkResolveRequestSchema>;

export const bulkResolveResponseSchema = z.object({
  resolved: z.number().int(),
  failed: z.number().int(),
  results: z.array(
    z.object({
      id: z.string(),
      outcome: z.enum(conflictOutcomes).optional(),
      version: z.number().int().optional(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
});
export type BulkResolveResponse = z.infer<typeof bulkResolveResponseSchema>;
