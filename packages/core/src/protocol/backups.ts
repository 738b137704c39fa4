import { z } from 'zod';

/**
 * `GET /v1/admin/backups` (an addition to PROTOCOL.md, docs/server.md): whether the server takes
 * backups of its database by itself (decision 0049), when it last took one and whether they are
 * failing, for the clinic's administrators. A failing schedule is said in words an administrator
 * can act on; the server's paths and its error messages stay in its log.
 */
export const backupFailureReasons = [
  'FOLDER_GONE',
  'FOLDER_FULL',
  'FOLDER_NOT_WRITABLE',
  'DATABASE_DAMAGED',
  'OTHER',
] as const;

export const backupStatusResponseSchema = z.discriminatedUnion('scheduled', [
  z.object({ scheduled: z.literal(false) }),
  z.object({
    scheduled: z.literal(true),
    /** The server's time of this answer: what "3 hours ago" is counted from. */
    asOf: z.string(),
    /** Hours from one backup to the next. */
    everyHours: z.number().positive(),
    /** How many of them the server keeps. */
    keep: z.number().int().min(1),
    /** Whether each is encrypted to the clinic's public key. */
    encrypted: z.boolean(),
    /** When the newest backup was taken; null before the first. */
    lastBackupAt: z.string().nullable(),
    /** While backups fail: since when, the last failure, and why. */
    failing: z.object({ since: z.string(), at: z.string(), reason: z.enum(backupFailureReasons) }).nullable(),
    /** When the next is due. */
    nextAt: z.string().nullable(),
  }),
]);
export type BackupStatusResponse = z.infer<typeof backupStatusResponseSchema>;
export type BackupFailureReason = (typeof backupFailureReasons)[number];
