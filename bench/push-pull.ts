// Our side: a real sync server over HTTP, driven the way one device syncs.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { loginResponseSchema } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { createSyncServer, ensureUsers } from '@outpost/server';
import type { Database } from '@outpost/server';
import { jsonClient } from './http-client';
import type { JsonClient } from './http-client';
import { inBatches } from './workload';
import type { PatientCreateOp } from './workload';

export const pushBatchSize = 500;
export const pullPageSize = 1000;

/** Seconds of work and how many items it covered; turned into a rate by the caller. */
export interface Timed {
  count: number;
  seconds: number;
}

export interface SyncTimings {
  push: Timed;
  pull: Timed;
}

export interface OursOptions {
  /**
   * The client's Accept-Encoding. Default what a browser asks for over HTTPS, as the clinic app's
   * tablets do: the server then answers in brotli, and compresses every response over 1 KB. 'gzip'
   * is what PROTOCOL.md promises every client; 'identity' shows what compression costs.
   */
  acceptEncoding?: 'gzip, deflate, br' | 'gzip' | 'identity';
}

const user = {
  email: 'bench@clinic.test',
  password: 'bench-password-1',
  tenant: 'bench',
  roles: ['clinician'],
};

function headers(acceptEncoding: string, token?: string): Record<string, string> {
  const out: Record<string, string> = { 'accept-encoding': acceptEncoding };
  if (token !== undefined) out['authorization'] = `Bearer ${token}`;
  return out;
}

export interface BenchServer {
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Signed in as the bench user of tenant `bench`, with the chosen accept-encoding. */
  headers: Record<string, string>;
  /** The device's connection to `base`; closed with the server by `close`. */
  client: JsonClient;
  close(): Promise<void>;
}

/** A real sync server on a free loopback port, with the bench user signed in through the login route. */
export async function startBenchServer(database: Database, options: OursOptions = {}): Promise<BenchServer> {
  const acceptEncoding = options.acceptEncoding ?? 'gzip, deflate, br';
  const app = await createSyncServer({
    schema: fieldClinic,
    database,
    auth: { jwtSecret: 'bench-secret-that-is-at-least-32-characters-long' },
    limits: { rateLimitPerMinute: false },
  }).catch(async (error: unknown) => {
    await database.close();
    throw error;
  });
  let client: JsonClient | undefined;
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await ensureUsers(app.outpost.store, [user]);
    const device = (client = jsonClient(base));
    const login = loginResponseSchema.parse(
      await device.post(
        '/v1/auth/login',
        JSON.stringify({ email: user.email, password: user.password }),
        headers(acceptEncoding),
      ),
    );
    const close = async () => {
      device.close();
      await app.close();
    };
    return { app, base, headers: headers(acceptEncoding, login.token), client: device, close };
  } catch (error) {
    client?.close();
    await app.close();
    throw error;
  }
}

/**
 * Pushes `ops` in batches of 500, one request after the other as a device does, then pulls them all
 * back from an empty cursor in pages of 1000. Every push result must be `applied` and the pull must
 * return exactly the ops' count; anything else throws, since a fast wrong answer measures nothing.
 * Closing the server closes (and so removes) `database`.
 */
export async function measureOurs(
  database: Database,
  ops: readonly PatientCreateOp[],
  options: OursOptions = {},
): Promise<SyncTimings> {
  const { client, close, headers: authorized } = await startBenchServer(database, options);
  try {
    // The device serialised its queue long before it found a network: keep that out of the timing.
    const bodies = inBatches(ops, pushBatchSize).map((batch) => ({
      size: batch.length,
      json: JSON.stringify({ clientId: 'bench-client', deviceId: 'bench-tablet', ops: batch }),
    }));
    const push = await timed(async () => {
      for (const body of bodies) {
        const results = pushResults(await client.post('/v1/sync/push', body.json, authorized));
        const notApplied = results.filter((r) => !isApplied(r));
        if (results.length !== body.size || notApplied.length > 0) {
          throw new Error(
            `push: ${results.length} results for ${body.size} ops, ${notApplied.length} not applied; ` +
              `first: ${JSON.stringify(notApplied[0] ?? null)}`,
          );
        }
      }
      return ops.length;
    });

    await withStatistics(database);
    const pull = await timed(async () => {
      let cursor: string | undefined;
      let changes = 0;
      for (let hasMore = true; hasMore;) {
        const query = new URLSearchParams({ limit: String(pullPageSize) });
        if (cursor !== undefined) query.set('cursor', cursor);
        const page = pullPage(await client.get(`/v1/sync/pull?${query}`, authorized));
        changes += page.changes.length;
        cursor = page.cursor;
        hasMore = page.hasMore;
      }
      if (changes !== ops.length) throw new Error(`pull returned ${changes} changes, expected ${ops.length}`);
      return changes;
    });
    return { push, pull };
  } finally {
    await close();
  }
}

// Responses are checked by hand rather than with the protocol's zod schemas: validating every
// result and change would time the bench client, which shares this process with the server.

function pushResults(body: unknown): unknown[] {
  const results = typeof body === 'object' && body !== null && 'results' in body ? body.results : undefined;
  if (!Array.isArray(results)) {
    throw new Error(`push: response has no results: ${JSON.stringify(body).slice(0, 500)}`);
  }
  return results;
}

function isApplied(result: unknown): boolean {
  return typeof result === 'object' && result !== null && 'status' in result && result.status === 'applied';
}

export function pullPage(body: unknown): { changes: unknown[]; cursor: string; hasMore: boolean } {
  if (
    typeof body === 'object' &&
    body !== null &&
    'changes' in body &&
    'cursor' in body &&
    'hasMore' in body
  ) {
    const { changes, cursor, hasMore } = body;
    if (Array.isArray(changes) && typeof cursor === 'string' && typeof hasMore === 'boolean') {
      return { changes, cursor, hasMore };
    }
  }
  throw new Error(`pull: unexpected response: ${JSON.stringify(body).slice(0, 500)}`);
}

/**
 * Before either side's pull, outside its timing: PostgreSQL gathers statistics on the tables just
 * written, as autovacuum does within a minute of any bulk load. Without them it plans the raw
 * keyset read as a sort of every row after the cursor, page after page, which made raw's pull
 * quadratic; ours avoids that plan (dialect-sql's inPositionOrder), so the ratio measured the
 * planner's mistake, not our server (decision 0017). SQLite's planner needs none.
 */
export async function withStatistics(database: Database): Promise<void> {
  if (database.kind === 'postgres') await sql`analyze`.execute(database.db);
}

export async function timed(work: () => Promise<number>): Promise<Timed> {
  const start = performance.now();
  const count = await work();
  return { count, seconds: (performance.now() - start) / 1000 };
}
