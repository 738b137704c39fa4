import { z } from 'zod';

export const pullLimitDefault = 1000;
export const pullLimitMax = 5000;

export const pullQuerySchema = z.object({
  // Room for the collections a cursor names: those a role reads, or a filter (at most 2048 long).
  cursor: z.string().max(4096).optional(),
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
  deviceId: z.string().min(1).max(128).optional(),
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
