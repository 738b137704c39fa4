// Gap-free pull under concurrent pushes: 8 pushers write thousands of ops over real HTTP while
// pullers follow their cursors; every puller ends with exactly the server's state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HlcClock, uuidv7 } from '@outpost/core';
import type { Change, PullResponse, PushResponse } from '@outpost/core';
import { dialects, password, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { applyChanges, opId } from './sync-client';

const pushers = 8;
const batchesPerPusher = 12;
const opsPerBatch = 40;
const sharedRecords = 20;

describe.each(
  dialects().filter((d) => d === 'postgres' || process.env['OUTPOST_SQLITE_CONCURRENCY'] === '1'),
)('concurrent pushers and pullers on %s', (kind) => {
  let server: TestServer;
  let base: string;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const address = server.app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nurse@clinic-a.test', password }),
    });
    token = ((await login.json()) as { token: string }).token;
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function post(body: unknown): Promise<PushResponse> {
    const res = await fetch(`${base}/v1/sync/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`push ${res.status}: ${await res.text()}`);
    return (await res.json()) as PushResponse;
  }

  async function pullPage(cursor: string | undefined): Promise<PullResponse> {
    const res = await fetch(`${base}/v1/sync/pull?limit=97${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status !== 200) throw new Error(`pull ${res.status}: ${await res.text()}`);
    return (await res.json()) as PullResponse;
  }

  it('every puller ends with exactly the server state', async () => {
    // Records every pusher updates, so their versions race and intermediate states collapse.
    const shared = Array.from({ length: sharedRecords }, () => uuidv7());
    await post({
      clientId: 'setup',
      deviceId: 'setup',
      ops: shared.map((id) => ({
        opId: opId(),
        collection: 'patients',
        type: 'create',
        id,
        data: { name: 'Shared' },
      })),
    });

    let pushing = true;
    const pushersDone = Promise.all(
      Array.from({ length: pushers }, async (_, p) => {
        const clock = new HlcClock({ node: `device-${p}` });
        const mine: string[] = [];
        for (let b = 0; b < batchesPerPusher; b++) {
          const ops = Array.from({ length: opsPerBatch }, (_, i) => {
            const n = b * opsPerBatch + i;
            if (n % 10 === 3) {
              // No baseVersion: "apply on whatever is there", so concurrent updates all land.
              const id = shared[(n + p) % sharedRecords] ?? '';
              return {
                opId: opId(),
                collection: 'patients',
                type: 'update',
                id,
                data: { notes: `p${p} n${n}` },
                hlc: clock.tick(),
              };
            }
            if (n % 10 === 7 && mine.length > 0) {
              const id = mine.shift() ?? '';
              return { opId: opId(), collection: 'patients', type: 'delete', id, hlc: clock.tick() };
            }
            const id = uuidv7();
            mine.push(id);
            return {
              opId: opId(),
              collection: 'patients',
              type: 'create',
              id,
              data: { name: `P${p}-${n}` },
              hlc: clock.tick(),
            };
          });
          const res = await post({ clientId: `client-${p}`, deviceId: `device-${p}`, ops });
          const failed = res.results.filter((r) => r.status !== 'applied');
          expect(failed).toEqual([]);
        }
      }),
    ).finally(() => {
      pushing = false;
    });

    // Pullers follow the stream while pushes are in flight, then once more after they finish.
    const pullers = Array.from({ length: 3 }, async () => {
      const replica = new Map<string, Change>();
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const stillPushing = pushing;
        const page = await pullPage(cursor);
        pages += 1;
        applyChanges(replica, page.changes);
        cursor = page.cursor;
        if (!page.hasMore && !stillPushing) break;
      }
      return { replica, pages };
    });

    await pushersDone;
    const results = await Promise.all(pullers);

    // The server's state, read straight from a fresh full pull after everything settled.
    const truth = new Map<string, Change>();
    let cursor: string | undefined;
    for (;;) {
      const page = await pullPage(cursor);
      applyChanges(truth, page.changes);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    expect(truth.size).toBeGreaterThan(pushers * batchesPerPusher * opsPerBatch * 0.5);
    for (const { replica, pages } of results) {
      expect(pages).toBeGreaterThan(1);
      expect(replica.size).toBe(truth.size);
      for (const [key, change] of truth) {
        expect(replica.get(key)?.version, key).toBe(change.version);
        expect(replica.get(key)?.data).toEqual(change.data);
      }
    }
    // Each shared record saw every update exactly once.
    const updatesPerShared = new Map<string, number>();
    for (let p = 0; p < pushers; p++) {
      for (let n = 0; n < batchesPerPusher * opsPerBatch; n++) {
        if (n % 10 === 3) {
          const id = shared[(n + p) % sharedRecords] ?? '';
          updatesPerShared.set(id, (updatesPerShared.get(id) ?? 0) + 1);
        }
      }
    }
    for (const id of shared)
      expect(truth.get(`patients/${id}`)?.version).toBe(1 + (updatesPerShared.get(id) ?? 0));
  });
});
