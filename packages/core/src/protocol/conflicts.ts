import { z } from 'zod';
import { conflictStrategies } from '../schema/define-schema';

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
export const resolveRequestSchema = z.object({
  strategy: z.enum(['server-wins', 'client-wins', 'last-write-wins', 'merge']),
  mergedData: z.record(z.string(), z.unknown()).optional(),
});
export type ResolveRequest = z.infer<typeof resolveRequestSchema>;
