/**
 * The sync server of a run: one `createSyncServer` over a SQLite file (or, for the dialect check,
 * a PostgreSQL database), on the run's virtual clock, that the schedule stops and starts again on
 * the same data. Requests reach it through Fastify's inject, one at a time, from the network.
 */
import type { FastifyInstance } from 'fastify';
import type { Schema } from '@outpost/core';
import { createSyncServer } from '@outpost/server';
import type { ChangeNotice, Database } from '@outpost/server';
import type { Prng } from './prng';

export const jwtSecret = 'outpost-simulation-secret-0123456789abcdef';
/** The epoch of the run's database, in the form a migration makes one (22 base64url characters). */
const simulationEpoch = 'simulation-epoch-00000';

export interface ServerRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface ServerReply {
  status: number;
  body: string;
  contentType: string;
}

export interface ServerHostOptions {
  schema: Schema;
  tenantSchemas: Readonly<Record<string, Schema>>;
  /** Opens the run's database; called again on every restart. */
  openDatabase: () => Promise<Database>;
  now: () => number;
  random: Prng;
}

/** What the network's live streams hear of the server: its change notices, and its going down. */
export interface ServerWatcher {
  notice(notice: ChangeNotice): void;
  stopping(): void;
}

export class ServerHost {
  private app: FastifyInstance | null = null;
  private incarnation = 0;
  private readonly watchers = new Set<ServerWatcher>();

  constructor(private readonly o: ServerHostOptions) {}

  get up(): boolean {
    return this.app !== null;
  }

  get instance(): FastifyInstance {
    if (!this.app) throw new Error('the server is down');
    return this.app;
  }

  async start(): Promise<void> {
    this.incarnation += 1;
    const random = this.o.random;
    const database = await this.o.openDatabase();
    // The database's epoch (decision 0050), which every pull cursor carries, is random, made by its
    // migration: fixed here, as the server's other randomness is seeded, so a seed replays exactly.
    // The same on every start: a restart keeps a database's epoch, and the run never restores one.
    await database.db
      .updateTable('database_epoch')
      .set({ epoch: simulationEpoch })
      .where('id', '=', 1)
      .execute();
    const app = await createSyncServer({
      schema: this.o.schema,
      tenantSchemas: this.o.tenantSchemas,
      database,
      auth: { jwtSecret, tokenTtlSeconds: 365 * 24 * 60 * 60 },
      limits: { rateLimitPerMinute: false },
      now: () => new Date(this.o.now()),
      instanceId: `sim-server-${this.incarnation}`,
      randomBytes: (n) => random.bytes(n),
      // inject cannot wait on a stream: the route answers `ready` and ends, and the network keeps
      // the stream going (SimNetwork's live streams) with the store's own notices.
      live: { maxStreamMs: 0 },
    });
    await app.ready();
    app.outpost.store.onChange((notice) => {
      for (const w of this.watchers) w.notice(notice);
    });
    this.app = app;
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = null;
    for (const w of this.watchers) w.stopping();
    await app?.close();
  }

  /** Hears every incarnation's change notices, until the returned function is called. */
  watch(watcher: ServerWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  async handle(request: ServerRequest): Promise<ServerReply> {
    const res = await this.instance.inject({
      method: request.method as 'GET',
      url: request.url,
      headers: request.headers,
      ...(request.body !== undefined ? { payload: request.body } : {}),
    });
    return {
      status: res.statusCode,
      body: res.body,
      contentType: String(res.headers['content-type'] ?? 'application/json'),
    };
  }

  async token(user: { userId: string; tenant: string; roles: string[] }): Promise<string> {
    // The simulation ends no sessions: every user's generation stays 0.
    const { token } = await this.instance.outpost.tokens.issue(
      { ...user, sessionGeneration: 0 },
      new Date(this.o.now()),
    );
    return token;
  }
}
