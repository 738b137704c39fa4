import { z } from 'zod';
import { isTempId } from '../ids';
import { isWellFormedText } from '../record/data-shape';
import { deviceIdSchema, recordIdSchema } from './common';

/**
 * Files attached to records, sent in chunks (docs/server.md, "Files"; decision 0022). One module
 * for both ends: the server checks what a device declares with these, the device reads the
 * server's answers with them.
 */

/** Chunks are at least this large, so a file is never thousands of requests... */
export const minFileChunkBytes = 1024;
/** ...and at most this large, so one chunk is one comfortable database row and request body. */
export const maxFileChunkBytes = 4 * 1024 * 1024;
/** The header that carries a chunk's SHA-256 (and, on a download, the whole file's). */
export const sha256Header = 'x-outpost-sha256';

/**
 * The header naming the client installation (its `clientId`, as a push names it) on the requests
 * that may complete or delete a file: a declaration, a chunk, a delete. The clinic's live streams
 * hear of the file with it as `origin`, so that installation does not ask again for a list it
 * knows already (decision 0018). Optional; a value that is not 1-128 visible ASCII characters is
 * left out as if not sent: it only ever spares a request.
 */
export const clientIdHeader = 'x-outpost-client-id';
export const clientIdHeaderSchema = z.string().regex(/^[\x21-\x7e]{1,128}$/);

export const sha256HexSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { message: 'must be a SHA-256 in 64 lowercase hex digits' });

/** `PUT /v1/files/:id`: what the device says the file is. Declaring it again the same way resumes it. */
export const fileDeclarationSchema = z
  .object({
    collection: z.string().min(1).max(64),
    /**
     * The record's real id: a temp id would name nothing once the server assigns the record its
     * id, and the file would be attached to no record for good. The device waits for the real one.
     */
    recordId: recordIdSchema.refine((id): boolean => !isTempId(id), {
      message: 'a file is attached to a record by its real id, not a temp id',
    }),
    /** Shown to people; may name the patient, so it never reaches a log or the audit. */
    name: z.string().min(1).max(255).refine(isWellFormedText, {
      // Neither database can store half a character: the name kept would not be the name sent.
      message: 'a file name may not hold half of a character (a lone UTF-16 surrogate)',
    }),
    contentType: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[\w.+-]+\/[\w.+-]+$/, { message: 'must be a media type such as image/jpeg' }),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    sha256: sha256HexSchema,
    chunkSize: z.number().int().min(minFileChunkBytes).max(maxFileChunkBytes),
    /** The device uploading it, for the audit. */
    deviceId: deviceIdSchema.optional(),
  })
  .strict();
export type FileDeclaration = z.infer<typeof fileDeclarationSchema>;

export const fileStatusSchema = z.object({
  id: z.string(),
  collection: z.string(),
  recordId: z.string(),
  name: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  chunkSize: z.number().int(),
  chunkCount: z.number().int(),
  /** Indexes (from 0) the server does not hold yet: what a resuming device sends. */
  missingChunks: z.array(z.number().int()),
  complete: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});
export type FileStatus = z.infer<typeof fileStatusSchema>;

/** `GET /v1/files?collection=&recordId=`: the files attached to one record. */
export const fileListQuerySchema = z
  .object({ collection: z.string().min(1).max(64), recordId: recordIdSchema })
  .strict();

/** Its answer, oldest first, complete or not: how a device learns the files other devices attached. */
export const fileListResponseSchema = z.object({ files: z.array(fileStatusSchema) });
export type FileListResponse = z.infer<typeof fileListResponseSchema>;

/** `PUT /v1/files/:id/chunks/:index` */
export const chunkReceiptSchema = z.object({
  received: z.number().int(),
  chunkCount: z.number().int(),
  complete: z.boolean(),
});
export type ChunkReceipt = z.infer<typeof chunkReceiptSchema>;

/**
 * `DELETE /v1/files/:id?deviceId=`: the device deleting it, for the audit (optional). An upload
 * abandoned, or, with `delete` on the collection, a complete file; or a complete file its own
 * uploader sends while the file's record never existed on the server (its create withdrawn).
 */
export const fileDeleteQuerySchema = z.object({ deviceId: deviceIdSchema.optional() }).strict();

/**
 * `DELETE /v1/files/:id` -> 200: the file, description and chunks, is gone and its id free to be
 * declared again. A file that is not there (never was, already deleted, another clinic's, or in a
 * collection the caller's roles have no right on) is 404 `NOT_FOUND`, so a device whose answer was
 * lost and that asks again takes a 404 as done.
 */
export const fileDeletedSchema = z.object({ id: z.string(), deleted: z.literal(true) });
export type FileDeleted = z.infer<typeof fileDeletedSchema>;

/** How many chunks a file of `size` bytes is cut into: none for an empty file. */
export function chunkCountOf(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** The exact length chunk `index` must have: `chunkSize`, but the last holds what is left. */
export function chunkLengthOf(size: number, chunkSize: number, index: number): number {
  return Math.min(chunkSize, size - index * chunkSize);
}
