// A resolution that must not overrule someone else's: `onlyOpen` on POST /v1/conflicts/:id/resolve
// settles a conflict only while it is still open, also when two administrators race for it, on
// SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { Conflict, PushResult, ResolveResponse } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { push } from './sync-client';
import type { TenantWrite } from '../src/storage/sync-store';

type Answer = ResolveResponse & {
  error?: { code: string; message: string; details?: Record<string, unknown> };
};

describe.each(dialects())('resolving only an open conflict on %s', (kind) => {
  let server: TestServer;
  /**
   * Where the second administrator's request lands: on PostgreSQL another instance over the same
   * database (instances behind a load balancer share nothing else); on SQLite, whose file one
   * server serves, the same instance.
   */
  let other: TestServer;
  let nurse: string;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    other = kind === 'postgres' ? await startTestServer(kind, { storage: server.storage }) : server;
    nurse = await server.token('nurse@clinic-a.test');
    admin = await server.token('admin@clinic-a.test');
  });
  afterAll(async () => {
    if (other !== server) await other.close();
    await server.close();
    await server.storage.destroy();
  });

  function resolve(conflictId: string, body: unknown, on: TestServer = server) {
    return on.request<Answer>({
      method: 'POST',
      url: `/v1/conflicts/${conflictId}/resolve`,
      token: admin,
      body,
    });
  }

  async function conflictNow(conflictId: string): Promise<Conflict> {
    return (
      await server.request<Conflict>({ method: 'GET', url: `/v1/conflicts/${conflictId}`, token: admin })
    ).body;
  }

  async function prescription(id: string) {
    return (
      await server.request<{ version: number; data: Record<string, unknown> }>({
        method: 'GET',
        url: `/v1/records/prescriptions/${id}`,
        token: admin,
      })
    ).body;
  }

  async function resolveEvents(recordId: string): Promise<number> {
    const events = await server.app.outpost.store.auditEvents('clinic-a');
    return events.filter((e) => e.recordId === recordId && e.action === 'resolve').length;
  }

  /** A prescription changed to 250 mg, and tablet 2's change of its first version to 1 g: an open conflict. */
  async function openDoseConflict(): Promise<{ rx: string; conflictId: string }> {
    const patientId = uuidv7();
    const rx = uuidv7();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Amina K.' } },
      {
        collection: 'prescriptions',
        type: 'create',
        id: rx,
        data: { patientId, drug: 'Amoxicillin', dose: '500 mg' },
      },
      { collection: 'prescriptions', type: 'update', id: rx, baseVersion: 1, data: { dose: '250 mg' } },
    ]);
    const stale = await push(
      server,
      nurse,
      [{ collection: 'prescriptions', type: 'update', id: rx, baseVersion: 1, data: { dose: '1 g' } }],
      { deviceId: 'tablet-2' },
    );
    const result = stale.results[0] as PushResult;
    expect(result.conflict?.outcome).toBe('open');
    return { rx, conflictId: String(result.conflict?.id) };
  }

  it('refuses a conflict settled since with 409 saying how it stands, and changes nothing', async () => {
    const { rx, conflictId } = await openDoseConflict();
    // An open conflict settles with onlyOpen as without it.
    const first = await resolve(conflictId, { strategy: 'client-wins', onlyOpen: true });
    expect(first.status).toBe(200);
    expect(first.body.conflict.outcome).toBe('client-won');
    const settled = await conflictNow(conflictId);
    const before = await prescription(rx);
    expect(before.data['dose']).toBe('1 g');

    const refused = await resolve(conflictId, { strategy: 'server-wins', onlyOpen: true });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'CONFLICT',
      details: {
        reason: 'not-open',
        outcome: 'client-won',
        strategy: 'client-wins',
        resolvedBy: settled.resolvedBy,
        resolvedAt: settled.resolvedAt,
      },
    });
    expect(settled.resolvedBy).toBeTruthy();
    expect(refused.body.error?.message).toContain('no longer open');
    expect(await prescription(rx)).toEqual(before);
    expect(await conflictNow(conflictId)).toEqual(settled);
    expect(await resolveEvents(rx)).toBe(1);

    // Without it (or false), as PROTOCOL.md writes the body, an administrator changes a decision;
    // undoing that goes back to the first settlement: the refused request left nothing behind.
    const changed = await resolve(conflictId, { strategy: 'server-wins', onlyOpen: false });
    expect(changed.status).toBe(200);
    expect(changed.body.conflict.outcome).toBe('server-won');
    expect((await prescription(rx)).data['dose']).toBe('250 mg');
    const undone = await server.request<ResolveResponse>({
      method: 'POST',
      url: `/v1/conflicts/${conflictId}/undo`,
      token: admin,
    });
    expect(undone.body.conflict).toMatchObject({ outcome: 'client-won', resolvedAt: settled.resolvedAt });
    expect((await prescription(rx)).data['dose']).toBe('1 g');
  });

  /**
   * Holds every resolution at the door of its transaction until `count` have arrived, on each
   * server's store, then lets them all in: whatever either request read before its transaction,
   * it read while the conflict was still open. The closest two resolutions can race.
   */
  function meetAtTheLock(count: number): () => void {
    let arrive: () => void = () => undefined;
    const together = new Promise<void>((resolveAll) => {
      let arrived = 0;
      arrive = () => {
        arrived += 1;
        if (arrived === count) resolveAll();
      };
    });
    const stores = [...new Set([server.app.outpost.store, other.app.outpost.store])];
    const restores = stores.map((store) => {
      const write = store.write.bind(store);
      store.write = async <T>(
        tenant: string,
        changes: number,
        fn: (w: TenantWrite) => Promise<T>,
        origin?: string,
      ): Promise<T> => {
        arrive();
        await together;
        return write(tenant, changes, fn, origin);
      };
      return () => {
        store.write = write;
      };
    });
    return () => restores.forEach((restore) => restore());
  }

  it('two administrators resolving one open conflict at once with onlyOpen: exactly one wins', async () => {
    for (let round = 0; round < 3; round++) {
      const { rx, conflictId } = await openDoseConflict();
      const release = meetAtTheLock(2);
      const pair = await Promise.all([
        resolve(conflictId, { strategy: 'client-wins', onlyOpen: true }, server),
        resolve(conflictId, { strategy: 'server-wins', onlyOpen: true }, other),
      ]).finally(release);
      expect(pair.map((a) => a.status).sort()).toEqual([200, 409]);
      const winner = pair.find((a) => a.status === 200) as (typeof pair)[number];
      const loser = pair.find((a) => a.status === 409) as (typeof pair)[number];
      // The loser is told the winner's settlement, which is what the archive and the record hold.
      const now = await conflictNow(conflictId);
      expect(now).toMatchObject({
        outcome: winner.body.conflict.outcome,
        resolvedAt: winner.body.conflict.resolvedAt,
      });
      expect(loser.body.error?.details).toMatchObject({
        reason: 'not-open',
        outcome: now.outcome,
        resolvedBy: now.resolvedBy,
        resolvedAt: now.resolvedAt,
      });
      expect((await prescription(rx)).data['dose']).toBe(now.outcome === 'client-won' ? '1 g' : '250 mg');
      expect(await resolveEvents(rx)).toBe(1);
    }
  });

  it('refuses an onlyOpen that is not true or false with 400, and changes nothing', async () => {
    const { rx, conflictId } = await openDoseConflict();
    const before = await prescription(rx);
    for (const onlyOpen of ['yes', 1, null, 'true']) {
      const res = await resolve(conflictId, { strategy: 'client-wins', onlyOpen });
      expect(res.status, JSON.stringify(onlyOpen)).toBe(400);
      expect(res.body.error?.code).toBe('VALIDATION_FAILED');
    }
    expect(await prescription(rx)).toEqual(before);
    expect((await conflictNow(conflictId)).outcome).toBe('open');
  });
});
