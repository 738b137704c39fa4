import { z } from 'zod';
import { deviceIdSchema, pullCursorSchema } from './common';

export const pullLimitDefault = 1000;
export const pullLimitMax = 5000;

export const pullQuerySchema = z.object({
  cursor: pullCursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(pullLimitMax).default(pullLimitDefault),
  collections: z
    .string()
    .max(2048)
    .optional()
    .transform((s) =>
      s === undefined || s.trim() === ''
        ? undefined
        : s
            .split(',')
            .map((c) => c.trim())
            .filter((c) => c !== ''),
    ),
  deviceId: deviceIdSchema.optional(),
});
export type PullQuery = z.infer<typeof pullQuerySchema>;

export const changeSchema = z.object({
  collection: z.string(),
  id: z.string(),
  version: z.number().int(),
  deleted: z.boolean(),
  data: z.record(z.string(), z.unknown()).nullable(),
  updatedAt: z.string(),
  hlc: z.string(),
});
export type Change = z.infer<typeof changeSchema>;

export const pullResponseSchema = z.object({
  changes: z.array(changeSchema),
  cursor: z.string(),
  hasMore: z.boolean(),
});
export type PullResponse = z.infer<typeof pullResponseSchema>;
