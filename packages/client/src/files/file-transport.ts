import {
  chunkReceiptSchema,
  clientIdHeader,
  errorBodySchema,
  fileDeletedSchema,
  fileListResponseSchema,
  fileStatusSchema,
  outpostError,
  sha256Header,
} from '@outpost/core';
import type {
  ChunkReceipt,
  FileDeclaration,
  FileStatus,
  RequestErrorCode,
  OutpostError,
} from '@outpost/core';
import type { z } from 'zod';
import type { CallOptions } from '../sync/sync-transport';
import { sendRenewingOnce } from '../auth/renew-once';

/** A download's body, from the byte it starts at. */
export interface FileContent {
  /** `from` when the server honoured the range (206); 0 when it sent the whole file (200). */
  start: number;
  /** The whole file's SHA-256 as the server names it (`X-Outpost-Sha256`, else the ETag), or null. */
  sha256: string | null;
  body: ReadableStream<Uint8Array>;
}

/** The files routes of the v1 protocol (docs/server.md, "Files"). Errors are OutpostErrors with the server's code. */
export interface FileTransport {
  /** `PUT /v1/files/:id`: declares the file, or finds the same declaration again to resume. */
  declare(id: string, declaration: FileDeclaration, options?: CallOptions): Promise<FileStatus>;
  /** `PUT /v1/files/:id/chunks/:index`, with the chunk's SHA-256. */
  putChunk(
    id: string,
    index: number,
    bytes: Uint8Array<ArrayBuffer>,
    sha256: string,
    options?: CallOptions,
  ): Promise<ChunkReceipt>;
  /** `GET /v1/files/:id` */
  status(id: string, options?: CallOptions): Promise<FileStatus>;
  /** `GET /v1/files?collection=&recordId=`: every file the server holds for one record, whichever device attached it. */
  list(collection: string, recordId: string, options?: CallOptions): Promise<FileStatus[]>;
  /**
   * `DELETE /v1/files/:id?deviceId=`: an upload abandoned goes from the server, chunks and all. 404
   * (NOT_FOUND) when the server holds no such file: never declared, or deleted already.
   */
  remove(id: string, deviceId: string, options?: CallOptions): Promise<void>;
  /** `GET /v1/files/:id/content`, from byte `from` (`Range: bytes=from-` when above 0). */
  content(id: string, from: number, options?: CallOptions): Promise<FileContent>;
}

export interface FileTransportOptions {
  url: string;
  getToken?: () => Promise<string | null>;
  /**
   * Called when the server refuses a request's token (401), as the record transport's
   * `renewToken`: a token it answers other than the refused one is sent once more.
   */
  renewToken?: (rejected: string | null) => Promise<string | null>;
  fetch?: typeof fetch;
  /** Told of every 401, as the record transport tells the client's `unauthorized` event. */
  onUnauthorized?: (error: OutpostError) => void;
  /**
   * This installation's id, named on the requests that may complete or delete a file: the live
   * notice of the file then carries it, and this client does not list again what it did itself.
   */
  clientId?: string;
}

const contentRangePattern = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export function createFileTransport(options: FileTransportOptions): FileTransport {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const path = (id: string, rest = '') => `${base}/v1/files/${encodeURIComponent(id)}${rest}`;

  async function send(url: string, init: RequestInit): Promise<Response> {
    const res = await sendRenewingOnce(options.getToken, options.renewToken, (token) => {
      const headers = new Headers(init.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      // Aborted while the token was read: the caller has gone, and the token may be another person's.
      init.signal?.throwIfAborted();
      return doFetch(url, { ...init, headers });
    });
    if (res.ok) return res;
    const body: unknown = await res.json().catch(() => null);
    const parsed = errorBodySchema.safeParse(body);
    const code = (parsed.success ? parsed.data.error.code : 'INTERNAL') as RequestErrorCode;
    const error = outpostError(
      code,
      parsed.success ? parsed.data.error.message : `HTTP ${res.status}`,
      parsed.success ? parsed.data.error.details : undefined,
    );
    if (code === 'UNAUTHORIZED') options.onUnauthorized?.(error);
    throw error;
  }

  async function json<S extends z.ZodType>(schema: S, url: string, init: RequestInit): Promise<z.output<S>> {
    const res = await send(url, init);
    const parsed = schema.safeParse(await res.json().catch(() => null));
    if (!parsed.success) throw outpostError('INTERNAL', `unexpected answer from ${url}`);
    return parsed.data;
  }

  const signalOf = (o: CallOptions | undefined) => (o?.signal ? { signal: o.signal } : {});
  const origin: Record<string, string> = options.clientId ? { [clientIdHeader]: options.clientId } : {};

  return {
    declare: (id, declaration, o) =>
      json(fileStatusSchema, path(id), {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...origin },
        body: JSON.stringify(declaration),
        ...signalOf(o),
      }),
    putChunk: (id, index, bytes, sha256, o) =>
      json(chunkReceiptSchema, path(id, `/chunks/${index}`), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', [sha256Header]: sha256, ...origin },
        body: bytes,
        ...signalOf(o),
      }),
    status: (id, o) => json(fileStatusSchema, path(id), { method: 'GET', ...signalOf(o) }),
    async list(collection, recordId, o) {
      const query = new URLSearchParams({ collection, recordId });
      const { files } = await json(fileListResponseSchema, `${base}/v1/files?${query}`, {
        method: 'GET',
        ...signalOf(o),
      });
      return files;
    },
    async remove(id, deviceId, o) {
      await json(fileDeletedSchema, path(id, `?${new URLSearchParams({ deviceId })}`), {
        method: 'DELETE',
        headers: origin,
        ...signalOf(o),
      });
    },
    async content(id, from, o) {
      const res = await send(path(id, '/content'), {
        method: 'GET',
        ...(from > 0 ? { headers: { range: `bytes=${from}-` } } : {}),
        ...signalOf(o),
      });
      if (!res.body) throw outpostError('INTERNAL', `the content of file ${id} came without a body`);
      let start = 0;
      if (res.status === 206) {
        const range = contentRangePattern.exec(res.headers.get('content-range') ?? '');
        if (!range) throw outpostError('INTERNAL', `a partial answer for file ${id} without a Content-Range`);
        start = Number(range[1]);
      }
      const etag = /^(?:W\/)?"([0-9a-f]{64})"$/.exec(res.headers.get('etag') ?? '')?.[1] ?? null;
      return { start, sha256: res.headers.get(sha256Header) ?? etag, body: res.body };
    },
  };
}
