import { z } from 'zod';
import { isOutpostError, outpostError } from '../errors';
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
    /**
     * Settle the conflict only while it is still open: one settled meanwhile (by another person,
     * on another device) is refused with 409 rather than overruled (refuseUnlessOpen). Absent or
     * false, as PROTOCOL.md writes the body: a settled conflict is settled again.
     */
    onlyOpen: z.boolean().optional(),
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
  .transform(({ strategy, mergedData, onlyOpen }) => ({
    strategy,
    ...(strategy === 'merge' ? { mergedData } : {}),
    ...(onlyOpen !== undefined ? { onlyOpen } : {}),
  }));
export type ResolveRequest = z.infer<typeof resolveRequestSchema>;

/**
 * `details` of the 409 that refuses a resolution with `onlyOpen` once the conflict is no longer
 * open: how it stands now, so the caller can say who settled it instead of overruling them.
 */
export const notOpenDetailsSchema = z.object({
  reason: z.literal('not-open'),
  outcome: z.enum(conflictOutcomes),
  strategy: z.enum(conflictStrategies),
  resolvedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(),
});
export type NotOpenDetails = z.infer<typeof notOpenDetailsSchema>;

/**
 * The rule of `onlyOpen`, one for the server and every stand-in for it: a conflict no longer open
 * is refused (409 `CONFLICT`, NotOpenDetails). The server calls it under the lock its resolution
 * holds, so of two resolutions racing for one open conflict only the first passes.
 */
export function refuseUnlessOpen(
  request: Pick<ResolveRequest, 'onlyOpen'>,
  conflict: Pick<Conflict, 'id' | 'outcome' | 'strategy' | 'resolvedBy' | 'resolvedAt'>,
): void {
  if (request.onlyOpen !== true || conflict.outcome === 'open') return;
  const { id, outcome, strategy, resolvedBy, resolvedAt } = conflict;
  const details: NotOpenDetails = { reason: 'not-open', outcome, strategy, resolvedBy, resolvedAt };
  throw outpostError(
    'CONFLICT',
    `conflict ${id} is no longer open: settled ${outcome}${resolvedBy === null ? '' : ` by ${resolvedBy}`}${resolvedAt === null ? '' : ` at ${resolvedAt}`}`,
    details,
  );
}

/**
 * Why the server refused a resolution or an undo (409 `CONFLICT`), as `details.reason`, so a
 * screen can say it in a clinician's words instead of the server's, which name records by id:
 * - `frozen-attempt`: the conflict records a change refused because the record was signed or
 *   locked; it stays in the archive and can never be applied;
 * - `frozen`: the record was signed or locked since, so nothing may change it, an undo included;
 * - `record-gone`: the record no longer exists on the server;
 * - `schema-gone`: the clinic's schema no longer has the collection;
 * - `nothing-to-undo`: the conflict has no resolution left to take back (undone already);
 * - `changed-since`: the record changed after the resolution, so undoing it would overwrite that.
 * A resolution that would overwrite work done since the conflict has its own details
 * (`fields`, `deleted`), and one settled meanwhile has NotOpenDetails.
 */
export const conflictRefusalReasons = [
  'frozen-attempt',
  'frozen',
  'record-gone',
  'schema-gone',
  'nothing-to-undo',
  'changed-since',
] as const;
export type ConflictRefusalReason = (typeof conflictRefusalReasons)[number];

/** The reason of a 409 from the conflict routes, when it names one of conflictRefusalReasons. */
export function conflictRefusalReason(err: unknown): ConflictRefusalReason | null {
  if (!isOutpostError(err) || err.code !== 'CONFLICT') return null;
  const details: unknown = err.details;
  if (typeof details !== 'object' || details === null || !('reason' in details)) return null;
  const reason = (details as { reason: unknown }).reason;
  return (conflictRefusalReasons as readonly unknown[]).includes(reason)
    ? (reason as ConflictRefusalReason)
    : null;
}

/** How the conflict stands when `err` is refuseUnlessOpen's refusal (it was settled meanwhile); otherwise null. */
export function settledMeanwhile(err: unknown): NotOpenDetails | null {
  if (!isOutpostError(err) || err.code !== 'CONFLICT') return null;
  const details = notOpenDetailsSchema.safeParse(err.details);
  return details.success ? details.data : null;
}

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
