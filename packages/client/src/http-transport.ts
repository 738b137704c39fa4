import {
  conflictListResponseSchema,
  errorBodySchema,
  LiveEventReader,
  loginResponseSchema,
  OutpostError,
  outpostError,
  pullResponseSchema,
  pushResponseSchema,
  recordResponseSchema,
  refreshResponseSchema,
  rejectionListResponseSchema,
  resolveResponseSchema,
} from '@outpost/core';
import type {
  LoginResponse,
  PasswordChangeRequest,
  RefreshRequest,
  RefreshResponse,
  RequestErrorCode,
} from '@outpost/core';
import type { z } from 'zod';
import type { CallOptions, SyncTransport } from './sync/sync-transport';
import { sendRenewingOnce } from './auth/renew-once';

export interface HttpTransportOptions {
  /** The server's base URL, e.g. http://localhost:8080 */
  url: string;
  /** Called before each request, so a token can be refreshed while the device was offline. */
  getToken?: () => Promise<string | null>;
  /**
   * Called when the server refuses a request's token (401), with the token that request sent (null:
   * none). What it answers, when it is another token, is sent with the same request once more; null
   * (or the same token) leaves the 401 as the request's answer. It fails: the request fails with its
   * error. For a device whose clock is wrong, so that a token it takes for valid has expired on the
   * server: a token session's `refreshNow` (`createTokenSession`). A push sent again is safe: the
   * refusal came before its body was read, and the server's opId journal answers a repeat anyway.
   */
  renewToken?: (rejected: string | null) => Promise<string | null>;
  /** Injected so tests and simulations can cut the network. Defaults to the platform's fetch. */
  fetch?: typeof fetch;
  /**
   * Gzip JSON request bodies of 1 KiB (`COMPRESS_MIN_BYTES`) or more (a push of visits), sent with
   * `Content-Encoding: gzip`, where the platform has `CompressionStream`. False: every body plain,
   * for a server behind a proxy that refuses compressed requests. A server answering 415 to a
   * compressed body gets it again plain, and nothing more is compressed. Default true.
   */
  compressRequests?: boolean;
}

/**
 * The smallest JSON body gzipped, in bytes. Below it gzip's 18-byte frame and the headers' extra
 * line cost about what it saves, and a login or a one-op push is well under it.
 */
export const COMPRESS_MIN_BYTES = 1024;

export interface PullRequest {
  cursor?: string;
  limit?: number;
  collections?: readonly string[];
  deviceId?: string;
}

/**
 * The v1 wire protocol as calls. Every answer is checked against core's schemas before the rest
 * of the client trusts it; server errors come back as OutpostError with the server's code.
 */
export interface HttpTransport extends SyncTransport {
  login(email: string, password: string): Promise<LoginResponse>;
  /**
   * `POST /v1/auth/refresh` (docs/server.md, "Sessions and refresh tokens"): a new access token and
   * the refresh token that replaces the one sent, which is used up. A token the server refuses
   * (expired, revoked, used before) is OutpostError UNAUTHORIZED: the session is over. No bearer is
   * sent. `deviceId` names the device in the server's audit.
   */
  refresh(refreshToken: string, deviceId?: string, options?: CallOptions): Promise<RefreshResponse>;
  /**
   * `POST /v1/auth/logout`: every token of the refresh token's session is refused from now on.
   * Answered the same whatever the token was (unknown, already ended). No bearer is sent.
   */
  logout(refreshToken: string, deviceId?: string, options?: CallOptions): Promise<void>;
  /**
   * `POST /v1/auth/password` (decision 0047): the signed-in person's own new password, sent with
   * `token`, the access token of their session (not getToken's: the session in hand changes).
   * Answers a new session, as a login does: every earlier one of theirs is over. A wrong current
   * password is OutpostError FORBIDDEN; a new one the server does not take, VALIDATION_FAILED in words.
   */
  changePassword(
    token: string,
    request: PasswordChangeRequest,
    options?: CallOptions,
  ): Promise<LoginResponse>;
}

/** `?a=1&b=2` of the given values, leaving out the absent ones; empty when none is given. */
function queryString(query: object): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const search = params.toString();
  return search ? `?${search}` : '';
}

/** The body of a refresh or a logout (core's `refreshRequestSchema`, `logoutRequestSchema`). */
function sessionBody(refreshToken: string, deviceId: string | undefined): string {
  const body: RefreshRequest = { refreshToken, ...(deviceId !== undefined ? { deviceId } : {}) };
  return JSON.stringify(body);
}

/** The `signal` of a RequestInit, left out when absent (exactOptionalPropertyTypes). */
function withSignal(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** The bytes gzipped, or null where the platform cannot (no CompressionStream, or it failed). */
async function gzipped(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer> | null> {
  if (typeof CompressionStream !== 'function') return null;
  try {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch {
    return null;
  }
}

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  /** Turned off for the transport's life by a 415 to a compressed body (a proxy refusing them). */
  let compress = options.compressRequests ?? true;
  const encoder = new TextEncoder();

  /** A JSON body gzipped when it is worth it (compressRequests), else as it is. */
  async function encoded(body: string): Promise<Uint8Array<ArrayBuffer> | null> {
    // A UTF-8 character is at most 3 bytes per UTF-16 unit: a shorter text is surely too small.
    if (!compress || body.length * 3 < COMPRESS_MIN_BYTES) return null;
    const bytes = encoder.encode(body);
    if (bytes.length < COMPRESS_MIN_BYTES) return null;
    return gzipped(bytes);
  }

  /**
   * Sends the request, with the token getToken gives when `auth`, refused 401 renewed once
   * (auth/renew-once.ts); or with the token given, as it is.
   */
  async function send(path: string, init: RequestInit, auth: boolean | { token: string }): Promise<Response> {
    if (auth === false) return sendWith(path, init, null);
    if (auth !== true) return sendWith(path, init, auth.token);
    return sendRenewingOnce(options.getToken, options.renewToken, (token) => sendWith(path, init, token));
  }

  async function sendWith(path: string, init: RequestInit, token: string | null): Promise<Response> {
    const headers = new Headers(init.headers);
    // Every body this transport sends is JSON text; files go through files/file-transport.ts.
    const json = typeof init.body === 'string' ? init.body : null;
    if (init.body !== undefined) headers.set('content-type', 'application/json');
    const zipped = json !== null ? await encoded(json) : null;
    if (token) headers.set('authorization', `Bearer ${token}`);
    // Aborted while the token was read: the caller has gone (a closed client), and a token read
    // by then may already be the next person's.
    init.signal?.throwIfAborted();
    const url = `${base}${path}`;
    if (!zipped) return doFetch(url, { ...init, headers });
    const zippedHeaders = new Headers(headers);
    zippedHeaders.set('content-encoding', 'gzip');
    const res = await doFetch(url, { ...init, headers: zippedHeaders, body: zipped });
    if (res.status !== 415) return res;
    // Refused as an unsupported media type: a proxy (or an old server) that takes no compressed
    // requests. Nothing was applied; the same request goes again plain, and if that is taken,
    // nothing more is compressed. A plain body refused 415 too was refused for something else.
    await res.body?.cancel().catch(() => undefined);
    const plain = await doFetch(url, { ...init, headers });
    if (plain.status !== 415) compress = false;
    return plain;
  }

  /** The server's error answer as an OutpostError with its code. */
  function refusal(res: Response, body: unknown): OutpostError {
    const parsed = errorBodySchema.safeParse(body);
    // A 401 without the protocol's body (a proxy's) still says the sign-in was refused.
    const fallback = res.status === 401 ? 'UNAUTHORIZED' : 'INTERNAL';
    const code = (parsed.success ? parsed.data.error.code : fallback) as RequestErrorCode;
    const message = parsed.success ? parsed.data.error.message : `HTTP ${res.status}`;
    return outpostError(code, message, parsed.success ? parsed.data.error.details : undefined);
  }

  async function call<S extends z.ZodType>(
    schema: S,
    path: string,
    init: RequestInit,
    auth: boolean | { token: string },
  ): Promise<z.output<S>> {
    const res = await send(path, init, auth);
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) throw refusal(res, body);
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw outpostError('INTERNAL', `unexpected answer from ${path}`);
    return parsed.data;
  }

  return {
    login: (email, password) =>
      call(
        loginResponseSchema,
        '/v1/auth/login',
        { method: 'POST', body: JSON.stringify({ email, password }) },
        false,
      ),
    refresh: (refreshToken, deviceId, { signal } = {}) =>
      call(
        refreshResponseSchema,
        '/v1/auth/refresh',
        { method: 'POST', body: sessionBody(refreshToken, deviceId), ...withSignal(signal) },
        false,
      ),
    async logout(refreshToken, deviceId, { signal } = {}) {
      const res = await send(
        '/v1/auth/logout',
        { method: 'POST', body: sessionBody(refreshToken, deviceId), ...withSignal(signal) },
        false,
      );
      // 204 with no body; a refusal (a body of another shape, the rate limit) has one.
      if (!res.ok) throw refusal(res, await res.json().catch(() => null));
      await res.body?.cancel().catch(() => undefined);
    },
    changePassword: (token, request, { signal } = {}) =>
      call(
        loginResponseSchema,
        '/v1/auth/password',
        { method: 'POST', body: JSON.stringify(request), ...withSignal(signal) },
        { token },
      ),
    push: (request, { signal } = {}) =>
      call(
        pushResponseSchema,
        '/v1/sync/push',
        { method: 'POST', body: JSON.stringify(request), ...withSignal(signal) },
        true,
      ),
    pull: (request = {}, { signal } = {}) => {
      const params = new URLSearchParams();
      if (request.cursor !== undefined) params.set('cursor', request.cursor);
      if (request.limit !== undefined) params.set('limit', String(request.limit));
      if (request.collections !== undefined) params.set('collections', request.collections.join(','));
      if (request.deviceId !== undefined) params.set('deviceId', request.deviceId);
      const query = params.toString();
      return call(
        pullResponseSchema,
        `/v1/sync/pull${query ? `?${query}` : ''}`,
        { method: 'GET', ...withSignal(signal) },
        true,
      );
    },
    getRecord: async (collection, id, { signal } = {}) => {
      try {
        const r = await call(
          recordResponseSchema,
          `/v1/records/${encodeURIComponent(collection)}/${encodeURIComponent(id)}`,
          { method: 'GET', ...withSignal(signal) },
          true,
        );
        return {
          collection: r.collection,
          id: r.id,
          version: r.version,
          deleted: r.deleted,
          data: r.data,
          updatedAt: r.updatedAt,
          hlc: r.hlc,
        };
      } catch (err) {
        if (err instanceof OutpostError && err.code === 'NOT_FOUND') return null;
        throw err;
      }
    },
    resolveConflict: (id, request) =>
      call(
        resolveResponseSchema,
        `/v1/conflicts/${encodeURIComponent(id)}/resolve`,
        { method: 'POST', body: JSON.stringify(request) },
        true,
      ),
    undoConflict: (id) =>
      call(resolveResponseSchema, `/v1/conflicts/${encodeURIComponent(id)}/undo`, { method: 'POST' }, true),
    listConflicts: (query = {}, { signal } = {}) =>
      call(
        conflictListResponseSchema,
        `/v1/conflicts${queryString(query)}`,
        { method: 'GET', ...withSignal(signal) },
        true,
      ),
    listRejections: (query = {}) =>
      call(rejectionListResponseSchema, `/v1/rejections${queryString(query)}`, { method: 'GET' }, true),
    async listen(signal, onEvent) {
      const res = await send('/v1/sync/events', { method: 'GET', signal }, true);
      if (!res.ok) throw refusal(res, await res.json().catch(() => null));
      if (!res.body) throw outpostError('INTERNAL', 'the live stream has no body');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const events = new LiveEventReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const event of events.push(value)) onEvent(event);
      }
    },
  };
}
