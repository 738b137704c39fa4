import { z } from 'zod';
import { deviceIdSchema } from './common';

/**
 * What the audit trail records (decisions 0004, 0014, 0035). `push-op` is a push op as the op
 * journal keeps it; every other action is a row of the server's audit events. An answer may name
 * actions a newer server added: `auditEventSchema` reads any text there.
 */
export const auditActions = [
  'login',
  'login-failed',
  'refresh',
  'refresh-failed',
  'logout',
  'sessions-ended',
  'push-op',
  'override-ignored',
  'resolve',
  'undo',
  'refused',
  'file-upload',
  'file-delete',
  'setting-changed',
  'user-created',
  'user-changed',
  'password-changed',
  'password-change-failed',
  'device-named',
  'device-use',
] as const;
export type AuditAction = (typeof auditActions)[number];

const auditActionSchema = z.enum(auditActions);

/** `2026-03-01T08:00:00Z`, with or without seconds, fractions, or an offset in place of Z. */
const isoTimePattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Whether `t` is such a time, and one that exists: no 30 February (which Date.parse would read as
 * 2 March), and within years 0000-9999, whose UTC text sorts as the time does.
 */
function isAuditTime(t: string): boolean {
  if (!isoTimePattern.test(t)) return false;
  const [y = 0, m = 0, d = 0] = t.slice(0, 10).split('-').map(Number);
  const ms = Date.parse(t);
  if (Number.isNaN(ms) || new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d) return false;
  const year = new Date(ms).getUTCFullYear();
  return year >= 0 && year <= 9999;
}

/** An ISO-8601 date and time with its zone, read as the UTC text the server stores (`toISOString`). */
const auditTimeSchema = z
  .string()
  .max(40)
  .refine(isAuditTime, {
    message: 'expected an ISO-8601 date and time with its zone, e.g. 2026-03-01T08:00:00Z',
  })
  .transform((t) => new Date(t).toISOString());

/** One or several actions: repeated (`action=login&action=push-op`) or comma-separated. */
const auditActionsFilterSchema = z
  .union([z.string().max(400), z.array(z.string().max(40)).max(auditActions.length)])
  .transform((given) => (Array.isArray(given) ? given : given.split(',')).map((a) => a.trim()))
  .pipe(z.array(auditActionSchema).min(1).max(auditActions.length));

/**
 * `GET /v1/audit` (administrators; an addition to PROTOCOL.md): the clinic's audit trail, newest
 * first. `from` is inclusive and `to` exclusive. `email` names a person by their sign-in email
 * instead of `userId`. Unknown parameters are refused, so a misspelt filter never widens the list.
 */
export const auditQuerySchema = z
  .object({
    userId: z.string().min(1).max(128).optional(),
    email: z.string().min(1).max(320).optional(),
    deviceId: deviceIdSchema.optional(),
    action: auditActionsFilterSchema.optional(),
    collection: z.string().min(1).max(64).optional(),
    recordId: z.string().min(1).max(128).optional(),
    /**
     * With `collection` and `recordId`: that record's history with every record that names it
     * through the schema's references, and so on (a patient's visits, their notes and files).
     */
    related: z
      .enum(['true', 'false'], { message: '`related` must be true or false' })
      .transform((v) => v === 'true')
      .optional(),
    from: auditTimeSchema.optional(),
    to: auditTimeSchema.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().min(1).max(2048).optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: '`from` must not be after `to`',
    path: ['from'],
  })
  .refine((q) => q.related !== true || (q.collection !== undefined && q.recordId !== undefined), {
    message: '`related` needs the record: `collection` and `recordId`',
    path: ['related'],
  });
export type AuditQuery = z.infer<typeof auditQuerySchema>;

/**
 * One event of the audit trail: who, which device, when, what, which record or route, and what
 * came of it; never a record's contents. `userId` and `email` are null where nobody was named (a
 * file purged with its record); `email` also where the user is no longer stored.
 */
export const auditEventSchema = z.object({
  /** The audit event's number, for events other than push ops. */
  seq: z.number().int().optional(),
  /** The op's id, for `push-op`. */
  opId: z.string().optional(),
  at: z.string(),
  userId: z.string().nullable(),
  email: z.string().nullable(),
  deviceId: z.string().nullable(),
  action: z.string(),
  /** For `push-op`: create, update or delete, as sent. */
  opType: z.string().optional(),
  collection: z.string().nullable(),
  recordId: z.string().nullable(),
  /**
   * For an event whose record is a person (`user-created`, `user-changed`, `sessions-ended`): that
   * person's email, while the clinic holds them (decision 0044). Absent from older servers.
   */
  recordEmail: z.string().nullable().optional(),
  /** For `refused`: the route as registered (`GET /v1/conflicts/:id`), never the URL. */
  route: z.string().nullable(),
  /**
   * What came of it: `ok`, `wrong-password`, a refusal's reason... For `push-op` the op's status,
   * with the conflict's outcome or the refusal's code after a colon (`applied`,
   * `applied:merged`, `conflict:open`, `rejected:IMMUTABLE`); for `override-ignored` the strategy
   * asked for.
   */
  outcome: z.string(),
});
export type AuditLogEvent = z.infer<typeof auditEventSchema>;

export const auditResponseSchema = z.object({
  events: z.array(auditEventSchema),
  /** Send as `cursor` for the next, older page; null when there is none. */
  nextCursor: z.string().nullable(),
  /**
   * With `related=true`: how many records the history covers, the one asked for included, and
   * whether there were more than the server gathers (5000), whose events are then not all listed.
   */
  related: z.object({ records: z.number().int(), truncated: z.boolean() }).optional(),
});
export type AuditResponse = z.infer<typeof auditResponseSchema>;
