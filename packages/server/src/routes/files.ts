import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  chunkCountOf,
  chunkLengthOf,
  clientIdHeader,
  clientIdHeaderSchema,
  fileDeclarationSchema,
  fileDeleteQuerySchema,
  fileListQuerySchema,
  isValidRecordId,
  maxFileChunkBytes,
  outpostError,
  sha256Header,
  sha256HexSchema,
} from '@outpost/core';
import type { ChunkReceipt, FileDeleted, FileStatus, OutpostError } from '@outpost/core';
import { caller } from '../http/caller';
import { parseOrThrow, parseQuery } from '../http/errors';
import type { AuthContext } from '../auth/tokens';
import { FileStore, sha256Hex } from '../storage/file-store';
import type { RemoveGrant, StoredFile } from '../storage/file-store';
import { byteRange } from '../http/byte-range';

export interface FileRouteOptions {
  /** Largest file a device may declare. */
  maxFileBytes: number;
}

type Access = 'upload' | 'download';

/**
 * Files attached to records, in checked chunks (docs/server.md, "Files"; decision 0022). A file
 * takes its permissions from its record's collection: uploading needs create or update on it,
 * downloading needs read, deleting an upload not yet complete needs what uploading does, and
 * deleting a complete file needs delete, but for its uploader while its record never existed here
 * (decision 0022). A file in a collection the caller's roles have no right
 * on at all is not found, exactly as a file that never was. A file made complete or deleted is told
 * to the clinic's live streams as a `files` notice, which names nothing (decision 0018).
 */
export async function fileRoutes(app: FastifyInstance, options: FileRouteOptions): Promise<void> {
  const { store, schemaFor, now } = app.outpost;
  const files = new FileStore(store);

  // A chunk is raw bytes; this plugin's routes are the only ones that take them. The limit is one
  // chunk's: a larger body is no chunk.
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: maxFileChunkBytes },
    (_request, body, done) => done(null, body),
  );

  /**
   * Whether the caller may learn that a file of `collection` exists: a role with any right a file
   * route uses on it. A role that may write may probe an id with a chunk anyway, and one that may
   * read may see the file, so those are told 403 for what they may not do; to any other the file
   * is not there (404), byte for byte as one that never was, so a role learns no file's existence.
   */
  function maySee(auth: AuthContext, collection: string): boolean {
    const schema = schemaFor(auth.tenant);
    return (['read', 'create', 'update', 'delete'] as const).some((action) =>
      schema.can(auth.roles, collection, action),
    );
  }

  function mayReach(auth: AuthContext, collection: string, access: Access): boolean {
    const schema = schemaFor(auth.tenant);
    return access === 'download'
      ? schema.can(auth.roles, collection, 'read')
      : schema.can(auth.roles, collection, 'create') || schema.can(auth.roles, collection, 'update');
  }

  function refuse(collection: string, access: Access): OutpostError {
    return outpostError(
      'FORBIDDEN',
      access === 'download'
        ? `your role may not read ${collection}, so not its files either`
        : `your role may not write ${collection}, so it may not attach files to it`,
    );
  }

  function checkedId(id: string): string {
    if (!isValidRecordId(id))
      throw outpostError('VALIDATION_FAILED', 'a file id is 1-64 characters of A-Z a-z 0-9 _ . -');
    return id;
  }

  const notFound = (id: string) => outpostError('NOT_FOUND', `no file ${id}`);

  /**
   * The client installation sending a request that may complete or delete a file, as its header
   * names it: the live streams' notice carries it as `origin`. Only ever spares that installation a
   * request, so a value that is not one is left out rather than refused.
   */
  function originOf(request: FastifyRequest): string | undefined {
    const parsed = clientIdHeaderSchema.safeParse(request.headers[clientIdHeader]);
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * The file the caller may see, or 404: another clinic's file, or one in a collection the caller's
   * roles have no right on, is not found, exactly as one that never was.
   */
  async function visibleFile(auth: AuthContext, id: string): Promise<StoredFile> {
    const file = await files.find(auth.tenant, checkedId(id));
    if (!file || !maySee(auth, file.collection)) throw notFound(id);
    return file;
  }

  /** The caller's file for `access`, 404 as visibleFile, or 403 for a file it may see but not reach so. */
  async function fileFor(auth: AuthContext, id: string, access: Access): Promise<StoredFile> {
    const file = await visibleFile(auth, id);
    if (!mayReach(auth, file.collection, access)) throw refuse(file.collection, access);
    return file;
  }

  /**
   * Who may delete a file as it stands, and so the audit's outcome, or null: an upload not yet
   * complete (abandoned: a photo of the wrong patient, say), whoever may upload to its collection;
   * a complete file, part of a clinical record, a role with delete on it. And a complete file of a
   * record that never existed here (its create withdrawn on the device, or refused): it is part of
   * no clinical record, so the user who uploaded it may still take it back, as an abandoned upload,
   * while their role may upload to its collection (decision 0022).
   */
  function mayDelete(auth: AuthContext, file: StoredFile, record: { exists: boolean }): RemoveGrant | null {
    const uploader = mayReach(auth, file.collection, 'upload');
    if (!file.complete) return uploader ? 'abandoned' : null;
    if (schemaFor(auth.tenant).can(auth.roles, file.collection, 'delete')) return 'deleted';
    return uploader && !record.exists && file.createdBy === auth.userId ? 'orphan-deleted' : null;
  }

  app.put<{ Params: { id: string } }>('/v1/files/:id', async (request): Promise<FileStatus> => {
    const auth = caller(request);
    const id = checkedId(request.params.id);
    const declaration = parseOrThrow(fileDeclarationSchema, request.body, 'the file description');
    if (!schemaFor(auth.tenant).collection(declaration.collection)) {
      throw outpostError('VALIDATION_FAILED', `no collection named "${declaration.collection}"`);
    }
    if (!mayReach(auth, declaration.collection, 'upload')) throw refuse(declaration.collection, 'upload');
    if (declaration.size > options.maxFileBytes) {
      throw outpostError(
        'PAYLOAD_TOO_LARGE',
        `a file may be at most ${options.maxFileBytes} bytes; this one is ${declaration.size}`,
        { maxFileBytes: options.maxFileBytes },
      );
    }
    if (FileStore.emptyHashMismatch(declaration)) {
      throw outpostError('VALIDATION_FAILED', 'an empty file has the SHA-256 of no bytes');
    }
    const outcome = await files.declare(
      auth.tenant,
      id,
      declaration,
      { userId: auth.userId, at: now().toISOString() },
      originOf(request),
    );
    if (outcome.kind === 'differs') {
      throw outpostError('CONFLICT', `file ${id} was already declared with another description`);
    }
    return outcome.file;
  });

  app.get('/v1/files', async (request): Promise<{ files: FileStatus[] }> => {
    const auth = caller(request);
    const { collection, recordId } = parseQuery(
      fileListQuerySchema,
      request.query,
      'the file list query (?collection=&recordId=)',
    );
    if (!schemaFor(auth.tenant).collection(collection)) {
      throw outpostError('NOT_FOUND', `no collection named "${collection}"`);
    }
    if (!mayReach(auth, collection, 'download')) throw refuse(collection, 'download');
    return { files: await files.ofRecord(auth.tenant, collection, recordId) };
  });

  app.get<{ Params: { id: string } }>('/v1/files/:id', async (request): Promise<FileStatus> => {
    const auth = caller(request);
    return files.status(auth.tenant, await fileFor(auth, request.params.id, 'download'));
  });

  app.delete<{ Params: { id: string } }>('/v1/files/:id', async (request): Promise<FileDeleted> => {
    const auth = caller(request);
    const id = checkedId(request.params.id);
    const { deviceId } = parseQuery(fileDeleteQuerySchema, request.query, 'the delete query (?deviceId=)');
    await visibleFile(auth, id);
    const outcome = await files.remove(
      auth.tenant,
      id,
      (file, record) => mayDelete(auth, file, record),
      { userId: auth.userId, deviceId: deviceId ?? null },
      now().toISOString(),
      originOf(request),
    );
    // Deleted by another request since it was found: as if it never was, as a repeated delete.
    if (outcome.kind === 'gone') throw notFound(id);
    if (outcome.kind === 'forbidden') {
      throw outpostError(
        'FORBIDDEN',
        outcome.file.complete
          ? `your role may not delete from ${outcome.file.collection}, so not a complete file of it either (its uploader may while its record does not exist here)`
          : `your role may not write ${outcome.file.collection}, so it may not abandon an upload to it`,
      );
    }
    return { id, deleted: true };
  });

  app.put<{ Params: { id: string; index: string } }>(
    '/v1/files/:id/chunks/:index',
    // A budget of its own beside the per-user rate limit: a photo uploading, hundreds of chunks,
    // must not stop its user's records from syncing (decision 0022).
    { config: { rateBudget: 'file-chunks' } },
    async (request): Promise<ChunkReceipt> => {
      const auth = caller(request);
      const file = await fileFor(auth, request.params.id, 'upload');
      const index = Number(request.params.index);
      const chunkCount = chunkCountOf(file.size, file.chunkSize);
      if (!/^\d+$/.test(request.params.index) || index >= chunkCount) {
        throw outpostError(
          'VALIDATION_FAILED',
          `chunk index must be a whole number from 0 to ${chunkCount - 1}`,
        );
      }
      const body: unknown = request.body;
      if (!Buffer.isBuffer(body)) {
        throw outpostError('UNSUPPORTED_MEDIA_TYPE', 'a chunk is sent as application/octet-stream');
      }
      const expectedLength = chunkLengthOf(file.size, file.chunkSize, index);
      if (body.length !== expectedLength) {
        throw outpostError(
          'VALIDATION_FAILED',
          `chunk ${index} must be ${expectedLength} bytes; ${body.length} came`,
          { reason: 'chunk-length' },
        );
      }
      const declared = sha256HexSchema.safeParse(request.headers[sha256Header]);
      if (!declared.success) {
        throw outpostError('VALIDATION_FAILED', `the ${sha256Header} header must carry the chunk's SHA-256`);
      }
      if (sha256Hex(body) !== declared.data) {
        throw outpostError(
          'VALIDATION_FAILED',
          `chunk ${index} does not match its SHA-256: it was damaged on the way, send it again`,
          { reason: 'chunk-checksum' },
        );
      }
      const outcome = await files.putChunk(
        auth.tenant,
        file,
        index,
        body,
        declared.data,
        { userId: auth.userId, deviceId: file.deviceId },
        now().toISOString(),
        originOf(request),
      );
      if (outcome.kind === 'gone') throw outpostError('NOT_FOUND', `no file ${file.id}`);
      if (outcome.kind === 'differs') {
        throw outpostError('CONFLICT', `chunk ${index} of file ${file.id} is already held with other bytes`);
      }
      if (outcome.kind === 'file-checksum') {
        throw outpostError(
          'VALIDATION_FAILED',
          `file ${file.id} does not match its SHA-256 as a whole; nothing of it is kept, send it again`,
          { reason: 'file-checksum' },
        );
      }
      return { received: outcome.received, chunkCount: outcome.chunkCount, complete: outcome.complete };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/files/:id/content',
    // Bytes go as stored: compressing would break ranges, and photos do not shrink.
    { compress: false },
    async (request, reply) => {
      const auth = caller(request);
      const file = await fileFor(auth, request.params.id, 'download');
      if (!file.complete) {
        throw outpostError('CONFLICT', `file ${file.id} is not complete yet`, {
          reason: 'incomplete',
        });
      }
      contentHeaders(reply, file);
      const range = byteRange(request.headers.range, file.size);
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${file.size}`);
        throw outpostError('RANGE_NOT_SATISFIABLE', `file ${file.id} has ${file.size} bytes`);
      }
      const { start, end } = range ?? { start: 0, end: file.size - 1 };
      if (range) {
        reply.code(206).header('content-range', `bytes ${start}-${end}/${file.size}`);
      }
      reply.header('content-length', end - start + 1);
      if (file.size === 0) return reply.send(Buffer.alloc(0));
      return reply.send(Readable.from(files.content(auth.tenant, file, start, end)));
    },
  );
}

/**
 * A file is the device's bytes, never a page of this server: a file declared as HTML must not run
 * in the clinic app's origin, so it is an attachment, not sniffed, and sandboxed if opened.
 */
function contentHeaders(reply: FastifyReply, file: StoredFile): void {
  reply
    .type(file.contentType)
    .header('etag', `"${file.sha256}"`)
    .header(sha256Header, file.sha256)
    .header('accept-ranges', 'bytes')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "sandbox; default-src 'none'")
    .header('cache-control', 'private, no-store')
    .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`);
}
