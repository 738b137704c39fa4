import { z } from 'zod';
import { deviceIdSchema, recordDataSchema, recordIdSchema, recordVersionSchema } from '@outpost/core';
import type { RecordData } from '@outpost/core';

/** Seed 000's words, exactly as its clients send and read them. */
export const queueOperations = ['CREATE', 'UPDATE', 'DELETE'] as const;
export type QueueOperation = (typeof queueOperations)[number];

export const queueStatuses = ['PENDING', 'SYNCING', 'SYNCED', 'FAILED', 'CONFLICT'] as const;
export type QueueStatus = (typeof queueStatuses)[number];

export const resolutionOptions = ['CLIENT_WINS', 'SERVER_WINS', 'MANUAL'] as const;
export type ResolutionOption = (typeof resolutionOptions)[number];

const userIdSchema = z.string().min(1).max(128);

/**
 * `POST /api/v1/sync/queue`. `id` is an addition: a client's own operation id makes re-queueing
 * harmless. Without one the item is named by its content (queue-processor's itemIdOf).
 */
export const queueRequestSchema = z
  .object({
    id: recordIdSchema.nullish(),
    userId: userIdSchema.nullish(),
    deviceId: deviceIdSchema,
    operation: z.enum(queueOperations),
    resourceType: z.string().min(1).max(64),
    resourceId: recordIdSchema.nullish(),
    data: recordDataSchema.nullish(),
    createdAtClient: z.iso.datetime({ offset: true }),
    version: recordVersionSchema.nullish(),
  })
  .superRefine((body, ctx) => {
    if (body.operation !== 'CREATE' && !body.resourceId) {
      ctx.addIssue({
        code: 'custom',
        path: ['resourceId'],
        message: `${body.operation} needs the resourceId it changes`,
      });
    }
    if (body.operation !== 'DELETE' && !body.data) {
      ctx.addIssue({ code: 'custom', path: ['data'], message: `${body.operation} needs data` });
    }
  });
export type QueueRequest = z.infer<typeof queueRequestSchema>;

/** `GET /api/v1/sync/pending` and `POST /api/v1/sync/retry`. */
export const deviceQuerySchema = z.object({
  deviceId: deviceIdSchema.optional(),
  userId: userIdSchema.optional(),
});

/** `PATCH /api/v1/sync/resolve/:id?resolution=` */
export const resolveQuerySchema = z.object({ resolution: z.enum(resolutionOptions) });

export interface QueueError {
  code: string;
  message: string;
  details?: unknown;
}

/** A queue item as pending, retry and resolve show it: the seed's keys, then what else a client can use. */
export interface QueueItemView {
  id: string;
  operation: QueueOperation;
  resourceType: string;
  resourceId: string | null;
  data: RecordData | null;
  status: QueueStatus;
  retryCount: number;
  createdAtClient: string;
  deviceId: string;
  version: number | null;
  nextAttemptAt: string | null;
  /** The last failure's message, a string as in the seed's conflict answer; its code beside it. */
  error: string | null;
  errorCode: string | null;
  conflictId: string | null;
  resolution: ResolutionOption | null;
}

/** The record a processed or resolved item left behind: `data` keyed as in the queued item. */
export interface ResourceResult {
  id: string;
  resourceType: string;
  version: number;
  deleted: boolean;
  /** null when deleted, or when the caller's role may not read the collection. */
  data: RecordData | null;
}
