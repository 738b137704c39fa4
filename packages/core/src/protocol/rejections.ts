import { z } from 'zod';
import { deviceIdSchema } from './common';
import { opErrorSchema } from './push';

/**
 * An op the server refused for good, as the rejection archive keeps it: the data exactly as the
 * device sent it and the server's reason. Conflicts keep both versions in the conflict archive;
 * this archive keeps what was refused without a conflict (a parent gone, a field the schema
 * refuses, a role that may not write), so nothing a clinician typed lives only on one device.
 */
export const rejectionSchema = z.object({
  id: z.string(),
  opId: z.string(),
  collection: z.string(),
  /** The record the op named: its real id once known, otherwise the id as sent (a temp id). */
  recordId: z.string(),
  /** As sent; an op refused for its shape may carry any text here. */
  opType: z.string(),
  /** The op's data as sent (temp ids as the device named them); null for a delete or when it sent none. */
  data: z.record(z.string(), z.unknown()).nullable(),
  baseVersion: z.number().int().nullable(),
  error: opErrorSchema,
  /** Signed and locked records also archive the attempt as a conflict (kind immutable or locked). */
  conflictId: z.string().nullable(),
  userId: z.string(),
  deviceId: z.string(),
  rejectedAt: z.string(),
});
export type Rejection = z.infer<typeof rejectionSchema>;

/** `GET /v1/rejections` */
export const rejectionListQuerySchema = z.object({
  collection: z.string().min(1).max(64).optional(),
  recordId: z.string().min(1).max(128).optional(),
  opId: z.string().min(1).max(128).optional(),
  deviceId: deviceIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(512).optional(),
});
export type RejectionListQuery = z.infer<typeof rejectionListQuerySchema>;

export const rejectionListResponseSchema = z.object({
  rejections: z.array(rejectionSchema),
  nextCursor: z.string().nullable(),
});
export type RejectionListResponse = z.infer<typeof rejectionListResponseSchema>;
