// A minimal protocol client for tests: pushes ops and follows pull cursors, holding what it pulled.
import { HlcClock, uuidv7 } from '@outpost/core';
import type { Change, PullResponse, PushOp, PushResponse } from '@outpost/core';
import type { TestServer } from './server-fixture';

let opCounter = 0;

export function opId(): string {
  opCounter += 1;
  return `${uuidv7()}-${opCounter}`;
}

const clock = new HlcClock({ node: 'test-device' });
export const hlc = () => clock.tick();

export async function push(
  server: TestServer,
  token: string,
  ops: ReadonlyArray<Partial<PushOp> & Pick<PushOp, 'collection' | 'type' | 'id'>>,
  device: { clientId?: string; deviceId?: string } = {},
): Promise<PushResponse> {
  const res = await server.request<PushResponse>({
    method: 'POST',
    url: '/v1/sync/push',
    token,
    body: {
      clientId: device.clientId ?? 'client-1',
      deviceId: device.deviceId ?? 'tablet-1',
      ops: ops.map((op) => ({ opId: opId(), hlc: hlc(), ...op })),
    },
  });
  if (res.status !== 200) throw new Error(`push failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** One pull page. */
export async function pull(
  server: TestServer,
  token: string,
  options: { cursor?: string; limit?: number; collections?: string } = {},
): Promise<PullResponse> {
  const params = new URLSearchParams();
  if (options.cursor) params.set('cursor', options.cursor);
  if (options.limit) params.set('limit', String(options.limit));
  if (options.collections) params.set('collections', options.collections);
  const res = await server.request<PullResponse>({ method: 'GET', url: `/v1/sync/pull?${params}`, token });
  if (res.status !== 200) throw new Error(`pull failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Follows the cursor from `cursor` until hasMore is false; returns every change and the final cursor. */
export async function pullAll(
  server: TestServer,
  token: string,
  options: { cursor?: string; limit?: number; collections?: string } = {},
): Promise<{ changes: Change[]; cursor: string; pages: number }> {
  let cursor = options.cursor;
  const changes: Change[] = [];
  let pages = 0;
  for (;;) {
    const page = await pull(server, token, { ...options, ...(cursor ? { cursor } : {}) });
    pages += 1;
    changes.push(...page.changes);
    cursor = page.cursor;
    if (!page.hasMore) return { changes, cursor, pages };
  }
}

/** Applies pulled changes to a replica, as a client would: latest version wins, tombstones remove. */
export function applyChanges(replica: Map<string, Change>, changes: readonly Change[]): void {
  for (const c of changes) {
    const key = `${c.collection}/${c.id}`;
    if (c.deleted) replica.delete(key);
    else replica.set(key, c);
  }
}

/** A value `levels` objects deep, for data past the nesting limit (maxDataDepth). */
export function nestedValue(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 'x' };
  for (let i = 1; i < levels; i++) value = { inner: value };
  return value;
}

/** The JSON text of a value `levels` objects deep: deeper than JSON.stringify could write. */
export function nestedJson(levels: number): string {
  return `${'{"inner":'.repeat(levels - 1)}{"leaf":"x"}${'}'.repeat(levels - 1)}`;
}
