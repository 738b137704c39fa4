// A real sync server on SQLite over loopback, and the faults a test injects on purpose: the
// network cut before the server, the answer lost after the server committed, and manual time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { collection, defineSchema } from '@outpost/core';
import type { Change, RecordData, Schema } from '@outpost/core';
import { z } from 'zod';
import { createSyncServer, ensureUsers, openSqlite } from '@outpost/server';
import { fieldClinic } from '@outpost/examples';
import { createSyncClient } from '../src/index';
import type { LocalStore, SyncClient, SyncClientOptions } from '../src/index';
import type { Timers } from '../src/network/timers';

export const password = 'outpost-test';

/**
 * A schema whose orders (the higher priority) a clinician may write but not read: the server
 * refuses to pull them to a clinician (403), which a device pulling what its role reads cannot
 * know beforehand.
 */
export const ordersUnreadable: Schema = defineSchema({
  name: 'restricted',
  collections: {
    orders: collection({
      fields: z.object({ drug: z.string() }),
      priority: 1,
      permissions: { admin: ['read', 'create'], clinician: ['create'] },
    }),
    notes: collection({
      fields: z.object({ body: z.string() }),
      permissions: { admin: ['read', 'create'], clinician: ['read', 'create'] },
    }),
  },
});
const users = [
  { email: 'nurse@clinic-a.test', tenant: 'clinic-a', roles: ['clinician'] },
  { email: 'admin@clinic-a.test', tenant: 'clinic-a', roles: ['admin'] },
  { email: 'vet@vet-a.test', tenant: 'vet-a', roles: ['clinician'] },
  { email: 'admin@vet-a.test', tenant: 'vet-a', roles: ['admin'] },
];

export interface TestServer {
  app: FastifyInstance;
  url: string;
  token(email: string): Promise<string>;
  close(): Promise<void>;
}

/** `bodyLimitBytes`: the largest request the server takes (default 10 MB); `maxFileBytes`: the largest file. */
export async function startServer(
  schema: Schema,
  options: { bodyLimitBytes?: number; maxFileBytes?: number } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-client-'));
  const app = await createSyncServer({
    schema,
    database: await openSqlite(join(dir, 'outpost.sqlite')),
    auth: { jwtSecret: 'client-test-secret-client-test-secret' },
    limits: { rateLimitPerMinute: false, ...options },
  });
  await ensureUsers(
    app.outpost.store,
    users.map((u) => ({ ...u, password })),
  );
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const tokens = new Map<string, string>();
  return {
    app,
    url,
    async token(email) {
      const cached = tokens.get(email);
      if (cached) return cached;
      const res = await fetch(`${url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      const body = (await res.json()) as { token: string };
      tokens.set(email, body.token);
      return body.token;
    },
    async close() {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The whole server state of a tenant, as a fresh pull from scratch sees it. */
export async function serverState(server: TestServer, email: string): Promise<Map<string, RecordData>> {
  const token = await server.token(email);
  const state = new Map<string, RecordData>();
  let cursor: string | undefined;
  for (;;) {
    const res = await fetch(`${server.url}/v1/sync/pull?limit=5000${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const page = (await res.json()) as { changes: Change[]; cursor: string; hasMore: boolean };
    for (const c of page.changes) {
      if (c.deleted) state.delete(`${c.collection}/${c.id}`);
      else state.set(`${c.collection}/${c.id}`, c.data ?? {});
    }
    cursor = page.cursor;
    if (!page.hasMore) return state;
  }
}

/** A request's JSON body as the server reads it: gunzipped when the transport gzipped it. */
export function jsonBody(init: RequestInit | undefined): unknown {
  if (typeof init?.body === 'string') return JSON.parse(init.body) as unknown;
  if (init?.body instanceof Uint8Array && new Headers(init.headers).get('content-encoding') === 'gzip')
    return JSON.parse(gunzipSync(init.body).toString('utf8')) as unknown;
  return undefined;
}

export type NetworkMode = 'online' | 'offline' | 'lose-answers' | 'server-error';

/** A fetch a test can cut, and a log of what reached the server. */
export class TestNetwork {
  mode: NetworkMode = 'online';
  /** How many more requests lose their answer before the mode returns to online. */
  private losses = 0;
  readonly sent: Array<{ method: string; path: string; body: unknown }> = [];

  /** The next request to `path` waits, as on a slow link, until the test lets it go. */
  private held: {
    path: string;
    stage: 'request' | 'answer';
    reached: () => void;
    released: Promise<void>;
  } | null = null;

  /** Live streams the server has answered: each can be cut as a broken link cuts it. */
  private readonly liveStreams = new Set<AbortController>();
  /** `changes` events the server sent on this network's live streams, counted as they arrive. */
  liveNotices = 0;
  /** `files` events likewise. */
  liveFileNotices = 0;
  /** Answer the live stream 404, as a server that has none does. */
  noLiveStream = false;
  /** End every live stream once `ready` has passed, as a proxy that cuts long responses does. */
  endLiveStreamsAtReady = false;

  /** Breaks every open live stream, as a dropped connection does. */
  cutLiveStreams(): void {
    for (const cut of this.liveStreams) cut.abort(new TypeError('the connection was reset'));
    this.liveStreams.clear();
  }

  get openLiveStreams(): number {
    return this.liveStreams.size;
  }

  loseNextAnswers(n: number): void {
    this.losses = n;
    this.mode = 'lose-answers';
  }

  /**
   * Holds the next request to `path`, before it reaches the server or (`answer`) after the server
   * answered it: `reached` resolves once it is waiting, `release` lets it go on.
   */
  holdNext(
    path: string,
    stage: 'request' | 'answer' = 'request',
  ): { reached: Promise<void>; release: () => void } {
    let reached = () => {};
    let release = () => {};
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { path, stage, reached, released };
    return { reached: waiting, release };
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    if (this.mode === 'offline') throw new TypeError('fetch failed: network is offline');
    if (this.mode === 'server-error') {
      return new Response(JSON.stringify({ error: { code: 'INTERNAL', message: 'down' } }), {
        status: 503,
        headers: { 'content-type': 'application/json' },
      });
    }
    const held = this.held?.path === url.pathname ? this.held : null;
    if (held) this.held = null;
    if (held?.stage === 'request') {
      held.reached();
      await held.released;
    }
    this.sent.push({ method: init?.method ?? 'GET', path: url.pathname, body: jsonBody(init) });
    if (url.pathname === '/v1/sync/events') return this.liveStream(input, init);
    const res = await fetch(input, init);
    if (held?.stage === 'answer') {
      held.reached();
      await held.released;
    }
    if (this.mode === 'lose-answers') {
      await res.arrayBuffer();
      this.losses -= 1;
      if (this.losses <= 0) this.mode = 'online';
      throw new TypeError('fetch failed: connection reset after the request was sent');
    }
    return res;
  };

  /** The live stream, counted as it arrives and cut when the test says. */
  private async liveStream(
    input: Parameters<typeof fetch>[0],
    init: RequestInit | undefined,
  ): Promise<Response> {
    if (this.noLiveStream) {
      return new Response(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no route' } }), {
        status: 404,
        headers: { 'content-type': 'application/json' },
      });
    }
    const cut = new AbortController();
    const signals = init?.signal ? [init.signal, cut.signal] : [cut.signal];
    const res = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    if (!res.ok || !res.body) return res;
    this.liveStreams.add(cut);
    init?.signal?.addEventListener('abort', () => this.liveStreams.delete(cut));
    const decoder = new TextDecoder();
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          const text = decoder.decode(chunk, { stream: true });
          this.liveNotices += text.split('event: changes').length - 1;
          this.liveFileNotices += text.split('event: files').length - 1;
          controller.enqueue(chunk);
          if (this.endLiveStreamsAtReady && text.includes('event: ready')) {
            controller.terminate();
            this.liveStreams.delete(cut);
            cut.abort(new TypeError('the proxy ended the response'));
          }
        },
        flush: () => {
          this.liveStreams.delete(cut);
        },
      }),
    );
    return new Response(counted, { status: res.status, headers: res.headers });
  }

  pushes(): Array<{
    ops: Array<{
      opId: string;
      collection: string;
      type: string;
      id: string;
      data?: Record<string, unknown>;
    }>;
  }> {
    return this.sent.filter((s) => s.path === '/v1/sync/push').map((s) => s.body as never);
  }
}

/** Time that moves only when the test says so. Timers fire in order of their due time. */
export class ManualTimers implements Timers {
  private current: number;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 10, 22, 8, 0, 0)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.current + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** The due times of the timers waiting, relative to now. */
  waiting(): number[] {
    return [...this.pending.values()].map((t) => t.at - this.current).sort((a, b) => a - b);
  }

  /** Moves time forward, firing each timer that comes due (and letting its async work settle). */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.current = Math.max(this.current, due[1].at);
      due[1].fn();
      await settle();
    }
    this.current = end;
    await settle();
  }
}

/** Lets promise chains started by timers run to their next real I/O wait. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

const opened = new Set<SyncClient>();

/**
 * A client signed in as `email` over the test network, with no automatic sync and no network
 * monitor unless the test asks: the test drives both. Closed by closeClients() after each test.
 */
export async function openClient(
  server: TestServer,
  email: string,
  store: LocalStore,
  network: TestNetwork,
  extra: Partial<SyncClientOptions> = {},
): Promise<SyncClient> {
  const token = await server.token(email);
  const client = await createSyncClient({
    schema: fieldClinic,
    url: server.url,
    getToken: async () => token,
    store,
    deviceId: 'tablet-7',
    fetch: network.fetch,
    autoSync: false,
    probeIntervalMs: false,
    ...extra,
  });
  opened.add(client);
  return client;
}

/** Closes one client, as an app being shut or a tablet restarting does. */
export async function closeClient(client: SyncClient): Promise<void> {
  opened.delete(client);
  await client.close();
}

export async function closeClients(): Promise<void> {
  for (const client of [...opened]) await closeClient(client);
}
