import { z } from 'zod';
import { isHlc } from '../hlc';
import { isTempId, isValidRecordId } from '../ids';
import { dataShapeProblem, isWellFormedText } from '../record/data-shape';

export const recordIdSchema = z
  .string()
  .refine((id) => isValidRecordId(id), { message: 'id must be 1-64 characters of A-Z a-z 0-9 _ . -' });

/** A record id as a client may send it: a real id or a temp id awaiting the server's. */
export const incomingIdSchema = z
  .string()
  .refine((id) => isValidRecordId(id) || isTempId(id), { message: 'not a valid record id or temp id' });

/**
 * A record version a client names (the version its change was made on). Versions are stored as
 * 32-bit integers on every dialect and grow by one per change, so a larger one names no version.
 */
export const recordVersionSchema = z.number().int().min(0).max(2_147_483_647);

export const hlcSchema = z.string().refine((t) => isHlc(t), {
  message: 'not an HLC timestamp: <milliseconds, 15 digits>-<counter, 6 digits>-<node>, or none',
});

export const isoTimeSchema = z.string();

/**
 * Text kept as a key (a device's id, a client's): 1-128 characters, whole characters only (half of
 * one, a lone UTF-16 surrogate, would be stored as other text), refused in words naming `name`.
 */
export function keyTextSchema(name: string) {
  return z
    .string({ error: `${name} must be text` })
    .min(1, { error: `${name} is empty` })
    .max(128, { error: `${name} must be at most 128 characters` })
    .refine(isWellFormedText, { error: `${name} may not hold half of a character` });
}

/**
 * A device's id, wherever a request names one (push, pull, status, files, a sign-in's refresh, a
 * password change, device names, the filters of the audit log and the refused changes): one rule,
 * since every route that is sent one may store it.
 */
export const deviceIdSchema = keyTextSchema('deviceId');

/**
 * A pull cursor as a client sends it back (opaque; the server decodes it): on pull, and on push as
 * the device's current one. Room for the collections a cursor names: those a role reads, or a
 * filter (at most 2048 long).
 */
export const pullCursorSchema = z.string().max(4096);

/**
 * Record data a person sends whole (a resolution's merged fields, a queued item): an object of
 * fields that any record could hold (dataShapeProblem). Checked as sent, before the record schema,
 * which would drop a __proto__ key without a word.
 */
export const recordDataSchema = z
  .unknown()
  .superRefine((data, ctx) => {
    const problem = dataShapeProblem(data);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .pipe(z.record(z.string(), z.unknown()));

export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;
