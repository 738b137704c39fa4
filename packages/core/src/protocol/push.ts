import { z } from 'zod';
import { conflictStrategies } from '../schema/define-schema';
import { opErrorCodes } from '../errors';
import {
  deviceIdSchema,
  hlcSchema,
  incomingIdSchema,
  keyTextSchema,
  pullCursorSchema,
  recordVersionSchema,
} from './common';
import { conflictSummarySchema } from './conflicts';

export const opTypes = ['create', 'update', 'delete'] as const;
export type OpType = (typeof opTypes)[number];

/** One client intent. Validated op by op, so one bad op is rejected alone and the rest still apply. */
export const pushOpSchema = z.object({
  opId: z.string().min(1).max(128),
  collection: z.string().min(1).max(64),
  type: z.enum(opTypes),
  id: incomingIdSchema,
  baseVersion: recordVersionSchema.optional(),
  baseHash: z.string().max(128).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  hlc: hlcSchema.optional(),
  strategy: z.enum(conflictStrategies).optional(),
  /**
   * On a create or delete under a temp id in a collection the server numbers: the number the
   * database a restore replaced had given this record after the backup (an addition to
   * PROTOCOL.md, decision 0051). The first device to give it back creates it under a new
   * number (a delete, as a tombstone); the others' ops of it are settled against that record, so
   * it comes back once, and a deletion stands against a colleague's create of it.
   */
  restoredFrom: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/)
    .optional(),
  /**
   * On a delete of a record whose id devices make: a deletion given back to a server restored from
   * a backup, of a record the restored server may never have had (an addition to PROTOCOL.md,
   * decision 0050). Such a server keeps it as a tombstone where it has no record, so that a
   * colleague's later create of it meets the deletion; any other server reads it as a plain delete.
   */
  givenBack: z.literal(true).optional(),
});
export type PushOp = z.infer<typeof pushOpSchema>;

/** The envelope only: ops are checked one by one after this. */
export const pushRequestSchema = z.object({
  clientId: keyTextSchema('clientId'),
  deviceId: deviceIdSchema,
  ops: z.array(z.unknown()),
  /**
   * The device's current pull cursor (an addition to PROTOCOL.md, decision 0050). A cursor of a
   * database a restore replaced refuses the push (410 `reason: 'restored'`) before anything is
   * applied: its ops may name server ids the restored server has given to other records.
   */
  cursor: pullCursorSchema.optional(),
});
export type PushRequest = { clientId: string; deviceId: string; cursor?: string; ops: PushOp[] };

export const opStatuses = ['applied', 'conflict', 'rejected', 'duplicate'] as const;
export type OpStatus = (typeof opStatuses)[number];

export const opErrorSchema = z.object({
  code: z.enum(opErrorCodes),
  message: z.string(),
  details: z.unknown().optional(),
});
export type OpError = z.infer<typeof opErrorSchema>;

export const pushResultSchema = z.object({
  opId: z.string(),
  status: z.enum(opStatuses),
  /** On a `duplicate`: what the first delivery's status was. */
  originalStatus: z.enum(['applied', 'conflict', 'rejected']).optional(),
  collection: z.string(),
  id: z.string(),
  version: z.number().int().optional(),
  tempId: z.string().optional(),
  error: opErrorSchema.optional(),
  conflict: conflictSummarySchema.optional(),
});
export type PushResult = z.infer<typeof pushResultSchema>;

export const idMappingSchema = z.object({ collection: z.string(), tempId: z.string(), id: z.string() });
export type IdMapping = z.infer<typeof idMappingSchema>;

export const pushResponseSchema = z.object({
  results: z.array(pushResultSchema),
  idMappings: z.array(idMappingSchema),
});
export type PushResponse = z.infer<typeof pushResponseSchema>;
