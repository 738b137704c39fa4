import {
  LiveEventReader,
  OutpostError,
  conflictListResponseSchema,
  errorBodySchema,
  loginResponseSchema,
  pullResponseSchema,
  pushResponseSchema,
  recordResponseSchema,
  rejectionListResponseSchema,
  resolveResponseSchema,
} from '@outpost/core';
import type { LoginResponse, RequestErrorCode } from '@outpost/core';
import type { z } from 'zod';
import type { SyncTransport } from './sync/sync-transport';

export interface HttpTransportOptions {
  /** The server's base URL, e.g. http://localhost:8080 */
  url: string;
  /** Called before each request, so a token can be refreshed while the device was offline. */
  getToken?: () => Promise<string | null>;
  /** Injected so tests and simulations can cut the network. Defaults to the platform's fetch. */
  fetch?: typeof fetch;
}

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
}

/** `?a=1&b=2` of the given values, leaving out the absent ones; empty when none is given. */
function queryString(query: object): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const search = params.toString();
  return search ? `?${search}` : '';
}

/** The `signal` of a RequestInit, left out when absent (exactOptionalPropertyTypes). */
function withSignal(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

export function createHttpTransport(options: HttpTransportOptions): HttpTransport {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function send(path: string, init: RequestInit, auth: boolean): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.body !== undefined) headers.set('content-type', 'application/json');
    if (auth) {
      const token = await options.getToken?.();
      if (token) headers.set('authorization', `Bearer ${token}`);
    }
    // Aborted while the token was read: the caller has gone (a closed client), and a token read
    // by then may already be the next person's.
    init.signal?.throwIfAborted();
    return doFetch(`${base}${path}`, { ...init, headers });
  }

  /** The server's error answer as an OutpostError with its code. */
  function refusal(res: Response, body: unknown): OutpostError {
    const parsed = errorBodySchema.safeParse(body);
    const code = (parsed.success ? parsed.data.error.code : 'INTERNAL') as RequestErrorCode;
    const message = parsed.success ? parsed.data.error.message : `HTTP ${res.status}`;
    return new OutpostError(code, message, parsed.success ? parsed.data.error.details : undefined);
  }

  async function call<S extends z.ZodType>(
    schema: S,
    path: string,
    init: RequestInit,
    auth: boolean,
  ): Promise<z.output<S>> {
    const res = await send(path, init, auth);
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) throw refusal(res, body);
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new OutpostError('INTERNAL', `unexpected answer from ${path}`);
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
      if (!res.body) throw new OutpostError('INTERNAL', 'the live stream has no body');
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
