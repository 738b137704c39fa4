// What the hub's tests share: the answers of seed 004's routes, a link to the central server that a
// test can break on purpose, and the moves of a scene (a tablet writes to the hub, the central desk
// writes upstream, the hub syncs, each side is read back).
import { expect } from 'vitest';
import type { Change } from '@outpost/core';
import type { TestServer } from '../server-fixture';
import { pullAll, push } from '../sync-client';

export interface HubRun {
  success: boolean;
  completedAt: string;
  durationMs: number;
  push: { total: number; success: number; failed: number; conflicts: number };
  pull: { total: number; applied: number; skipped: number; conflicts: number };
  conflicts: Array<{ entityType: string; entityId: string; resolution: string; reason: string }>;
  error?: { code: string; message: string };
}

export interface HubStatus {
  pending: number;
  processing: number;
  failed: number;
  oldestPendingAt: string | null;
  lastSyncAt: string | null;
  health: string;
  lastError: { code: string; message: string; at: string } | null;
}

type Faked = { status: number; body: unknown } | null;

/**
 * A link to the central server that a test can cut, make lose a push's answer after the central
 * server applied it, hold a push while the clinic keeps working, cut in the middle of a pull, or
 * answer in the central server's place (a broken upstream or a proxy's page).
 */
export class Link {
  mode: 'up' | 'down' | 'lose-push-answer' = 'up';
  pushesSent = 0;
  pullsSent = 0;
  /** The link goes down once this many pulls have been sent (counted by pullsSent). */
  cutAfterPulls: number | null = null;
  /**
   * The link goes down at the first pull after one the central server answered 410 (a resync
   * begins): whether or not a connection kept alive to a stopped server failed a request first.
   */
  cutAfterExpired = false;
  /** A pull was answered 410. */
  expiredSeen = false;
  /** Asks the central server for pages this small, so a test sees several without a thousand records. */
  pageSize: number | null = null;
  /** Runs while a push is on its way to the central server, before it arrives there. */
  duringPush: (() => Promise<void>) | null = null;
  /** Answers a request in the central server's place; null lets it through. */
  fake: ((url: string, init: RequestInit | undefined) => Faked) | null = null;

  readonly fetch: typeof fetch = async (input, init) => {
    if (this.mode === 'down') throw new TypeError('fetch failed: the clinic is offline');
    let url = String(input);
    const isPush = url.includes('/v1/sync/push');
    if (isPush) this.pushesSent += 1;
    if (url.includes('/v1/sync/pull')) {
      const cut = this.cutAfterPulls !== null && this.pullsSent >= this.cutAfterPulls;
      if (cut || (this.cutAfterExpired && this.expiredSeen)) {
        this.mode = 'down';
        throw new TypeError('fetch failed: the link dropped in the middle of a pull');
      }
      this.pullsSent += 1;
      // A safety net for a hub that would pull forever: the test fails instead of hanging.
      if (this.pullsSent > 200) throw new TypeError('the test link stops a hub that pulls forever');
      if (this.pageSize !== null) url = url.replace(/([?&]limit=)\d+/, `$1${this.pageSize}`);
    }
    const faked = this.fake?.(url, init) ?? null;
    if (faked) {
      return new Response(typeof faked.body === 'string' ? faked.body : JSON.stringify(faked.body), {
        status: faked.status,
        headers: { 'content-type': 'application/json' },
      });
    }
    if (isPush && this.duringPush) {
      const work = this.duringPush;
      this.duringPush = null;
      await work();
    }
    const response = await globalThis.fetch(url, init);
    if (url.includes('/v1/sync/pull') && response.status === 410) this.expiredSeen = true;
    if (isPush && this.mode === 'lose-push-answer') {
      // The central server applied the push; its answer never reaches the hub.
      await response.text();
      throw new TypeError('fetch failed: connection reset');
    }
    return response;
  };
}

/** The live records a server's user pulls, by `collection/id`. */
async function liveRecords(server: TestServer, email: 'nurse@clinic-a.test' | 'admin@clinic-a.test') {
  const { changes } = await pullAll(server, await server.token(email));
  return new Map<string, Change>(
    changes.filter((c) => !c.deleted).map((c) => [`${c.collection}/${c.id}`, c]),
  );
}

/**
 * A scene's moves, on whichever hub and central server `servers` names at the time of the call
 * (tests make fresh ones, or restart the hub, between moves).
 */
export function hubScene(servers: () => { hub: TestServer; central: TestServer }) {
  /** Seed 004's route on the hub, as the hub's nurse: 200, or the test fails. */
  const call = async (path = '/api/v1/sync/run', method: 'POST' | 'GET' = 'POST'): Promise<HubRun> => {
    const { hub } = servers();
    const res = await hub.request<HubRun>({
      method,
      url: path,
      token: await hub.token('nurse@clinic-a.test'),
    });
    expect(res.status).toBe(200);
    return res.body;
  };
  return {
    call,
    run: () => call('/api/v1/sync/run'),
    pushOnly: () => call('/api/v1/sync/push'),
    pullOnly: () => call('/api/v1/sync/pull', 'GET'),
    async status(): Promise<HubStatus> {
      const { hub } = servers();
      const res = await hub.request<HubStatus>({
        method: 'GET',
        url: '/api/v1/sync/status',
        token: await hub.token('nurse@clinic-a.test'),
      });
      expect(res.status).toBe(200);
      return res.body;
    },
    /** A tablet of the hub pushes to the hub. */
    async onTablet(ops: Parameters<typeof push>[2]) {
      const { hub } = servers();
      return push(hub, await hub.token('nurse@clinic-a.test'), ops);
    },
    /** The central desk pushes to the central server. */
    async centrally(ops: Parameters<typeof push>[2]) {
      const { central } = servers();
      return push(central, await central.token('admin@clinic-a.test'), ops, {
        clientId: 'central-desk',
        deviceId: 'desk',
      });
    },
    /** A record as a server holds it now (tombstones too); null when it has none. */
    async record(server: TestServer, collection: string, id: string) {
      const res = await server.request<{
        version: number;
        deleted: boolean;
        data: Record<string, unknown> | null;
      }>({
        method: 'GET',
        url: `/v1/records/${collection}/${id}`,
        token: await server.token('admin@clinic-a.test'),
      });
      return res.status === 200 ? res.body : null;
    },
    /** What a tablet of the hub sees after a full pull from the hub. */
    tabletView: () => liveRecords(servers().hub, 'nurse@clinic-a.test'),
    /** What a desk of the central server sees. */
    centralView: () => liveRecords(servers().central, 'admin@clinic-a.test'),
  };
}
