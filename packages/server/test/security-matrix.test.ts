// The security matrix: every route that needs a token, against five callers: no token, a forged
// signature, an expired token, a valid token of another clinic, and a clinic-a role without the
// permission. Each gets the right 401 or 403, or a 404 byte for byte the one an id that never
// existed gets; nothing of clinic-a leaks; nothing changes (and nothing of clinic-a's, whatever
// another clinic's caller does); and each refusal is in the audit with who (when a token said),
// when, the route and why. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint, lastRefusal, refusalCount } from './security/fingerprint';
import {
  caseFor,
  notServedBySyncServer,
  pathOf,
  queryText,
  rawHeaders,
  routeCatalog,
} from './security/route-catalog';
import type { Expectation, MatrixCase, RouteCase } from './security/route-catalog';
import { routeKey, servedRoutes } from './security/served-routes';
import { expiredToken, forgedToken, signToken } from './security/tokens';
import { buildWorld } from './security/world';
import type { World } from './security/world';

type CallerName = 'no token' | 'forged signature' | 'expired token' | 'other clinic';

interface Answer {
  status: number;
  text: string;
}

interface AuditExpectation {
  tenant: string;
  userId: string;
  outcome: string;
}

const tenantSchemas = { 'vet-a': vetPractice };

describe.each(dialects())('security matrix on %s', (kind) => {
  let server: TestServer;
  let world: World;
  const callers = {} as Record<CallerName | 'clinician' | 'visitor', string | undefined>;
  let nonce = 0;
  const sent = { requests: 0, byStatus: new Map<number, number>() };

  beforeAll(async () => {
    server = await startTestServer(kind, {
      server: {
        // Live streams end right after `ready`, so inject's answer to one ends.
        live: { maxStreamMs: 0 },
        tenantSchemas,
        limits: {
          rateLimitPerMinute: false,
          auditRefusalsPerMinute: Number.MAX_SAFE_INTEGER,
          auditRefusalsPerCallerPerMinute: Number.MAX_SAFE_INTEGER,
        },
      },
    });
    world = await buildWorld(server, 1);
    callers['no token'] = undefined;
    callers['forged signature'] = await forgedToken({
      sub: 'intruder',
      tenant: 'clinic-a',
      roles: ['admin'],
    });
    callers['expired token'] = await expiredToken({
      sub: world.nurseId,
      tenant: 'clinic-a',
      roles: ['admin'],
    });
    callers['other clinic'] = await signToken({ sub: 'admin-b', tenant: 'clinic-b', roles: ['admin'] });
    callers.clinician = await signToken({ sub: 'clinician-2', tenant: 'clinic-a', roles: ['clinician'] });
    callers.visitor = await signToken({ sub: 'visitor-1', tenant: 'clinic-a', roles: ['visitor'] });
  });
  afterAll(async () => {
    const statuses = [...sent.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`);
    console.info(`security matrix on ${kind}: ${sent.requests} requests; ${statuses.join(', ')}`);
    await server?.close();
    await server?.storage.destroy();
  });

  it('covers every route the server serves: the public ones say why', () => {
    const routes = servedRoutes(server.app);
    const missing = routes.filter((r) => {
      const rc = caseFor(r.method, r.url);
      return rc === undefined || (rc.matrix === undefined && rc.publicBecause === undefined);
    });
    expect(missing.map(routeKey), 'routes with no matrix row in security/route-catalog.ts').toEqual([]);
    for (const rc of routeCatalog)
      expect(rc.matrix === undefined, `${rc.method} ${rc.url}`).toBe(rc.publicBecause !== undefined);
    // The public ones really are public; the static app's route is not served by the sync server.
    for (const rc of routeCatalog.filter((c) => c.publicBecause !== undefined))
      expect(routes.some((r) => r.method === rc.method && r.url === rc.url)).toBe(true);
    expect(Object.keys(notServedBySyncServer).filter((k) => routes.map(routeKey).includes(k))).toEqual([]);
  });

  async function send(
    rc: RouteCase,
    token: string | undefined,
    target: string,
    method: string = rc.method,
  ): Promise<Answer> {
    const matrix = rc.matrix as MatrixCase;
    nonce += 1;
    const request = matrix.request(world, target, `n${nonce}`);
    const { raw, body } = request;
    const payload = raw ? Buffer.from(raw.bytes) : body !== undefined ? JSON.stringify(body) : undefined;
    const res = await server.app.inject({
      method: method as 'GET',
      url: pathOf(rc.url, request.params) + queryText(request.query),
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...(raw ? rawHeaders(raw) : body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...request.headers,
      },
      ...(payload !== undefined ? { payload } : {}),
    });
    sent.requests += 1;
    sent.byStatus.set(res.statusCode, (sent.byStatus.get(res.statusCode) ?? 0) + 1);
    // What differs between two requests by construction (the id aimed at, the request's own op id,
    // a creation time) is named alike, so the rest must match byte for byte.
    let text = (target === '' ? res.body : res.body.replaceAll(target, '<target>')).replaceAll(
      `n${nonce}`,
      '<nonce>',
    );
    for (const field of matrix.varies ?? [])
      text = text.replaceAll(new RegExp(`"${field}":("[^"]*"|[^,}\\]]*)`, 'g'), `"${field}":"<varies>"`);
    // No caller here may see clinic-a's markers, in the headers either (a file's name, its hash).
    const headers = JSON.stringify(res.headers);
    const label = `${method} ${rc.url} -> ${res.statusCode} ${headers}`;
    for (const marker of world.markers) if (marker !== target) expect(headers, label).not.toContain(marker);
    return { status: res.statusCode, text };
  }

  /** Sends the request, checks nothing changed and exactly one refusal was audited as expected. */
  async function refused(
    rc: RouteCase,
    token: string | undefined,
    target: string,
    status: number,
    audit: AuditExpectation,
    method: string = rc.method,
  ): Promise<Answer> {
    const store = server.app.outpost.store;
    const before = await fingerprint(store);
    const count = await refusalCount(store);
    const answer = await send(rc, token, target, method);
    const label = `${method} ${rc.url} -> ${answer.status} ${answer.text.slice(0, 300)}`;
    expect(answer.status, label).toBe(status);
    if (method !== 'HEAD') {
      const code = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' }[status];
      expect(JSON.parse(answer.text), label).toMatchObject({ error: { code, message: expect.any(String) } });
    }
    for (const marker of world.markers) expect(answer.text, label).not.toContain(marker);
    expect(await fingerprint(store), `${label}: a refused request changed stored data`).toEqual(before);
    expect(await refusalCount(store), `${label}: one refusal audited`).toBe(count + 1);
    const event = await lastRefusal(store);
    expect(event, label).toMatchObject({
      tenant: audit.tenant,
      user_id: audit.userId,
      action: 'refused',
      route: `${method} ${rc.url}`,
      outcome: audit.outcome,
      collection: null,
      record_id: null,
    });
    expect(Date.parse(event?.at ?? ''), label).not.toBeNaN();
    return answer;
  }

  /** Answered 2xx, with nothing of what the caller may not see, and no refusal audited. */
  async function answered(rc: RouteCase, token: string, target: string): Promise<Answer> {
    const store = server.app.outpost.store;
    const count = await refusalCount(store);
    const answer = await send(rc, token, target);
    const label = `${rc.method} ${rc.url} -> ${answer.status} ${answer.text.slice(0, 300)}`;
    expect(answer.status, label).toBeGreaterThanOrEqual(200);
    expect(answer.status, label).toBeLessThan(300);
    for (const marker of world.markers) expect(answer.text, label).not.toContain(marker);
    expect(await refusalCount(store), `${label}: a request that was answered is no refusal`).toBe(count);
    return answer;
  }

  /** Ops of this user the journal holds as refused for their role. */
  async function forbiddenOps(who: { tenant: string; userId: string }): Promise<number> {
    const ops = await server.app.outpost.store.opLog(who.tenant, 100_000);
    return ops.filter(
      (o) => o.userId === who.userId && o.status === 'rejected' && o.result.error?.code === 'FORBIDDEN',
    ).length;
  }

  /** The target a request names, and an id of the same form that never existed. */
  function targets(matrix: MatrixCase): string[] {
    if (!matrix.target) return [''];
    return [matrix.target(world), uuidv7()];
  }

  /**
   * Sends the request for clinic-a's target and for an id that never existed, each answered as
   * expected (`unknown`: for the id that never existed, when that differs).
   */
  async function expectOutcome(
    rc: RouteCase,
    expected: Expectation,
    token: string,
    who: { tenant: string; userId: string },
    unknown: Expectation = expected,
  ): Promise<void> {
    const matrix = rc.matrix as MatrixCase;
    const answers: Answer[] = [];
    // Whatever another clinic's caller may do with its own data, clinic-a's stays as it was.
    const untouched =
      who.tenant === 'clinic-a' ? null : await fingerprint(server.app.outpost.store, 'clinic-a');
    for (const [i, target] of targets(matrix).entries()) {
      const expectation = i === 0 ? expected : unknown;
      if (expectation === 'forbidden')
        answers.push(await refused(rc, token, target, 403, { ...who, outcome: 'forbidden' }));
      else if (expectation === 'hidden')
        answers.push(await refused(rc, token, target, 404, { ...who, outcome: 'not-found' }));
      else {
        const journaled = await forbiddenOps(who);
        const answer = await answered(rc, token, target);
        if (expectation === 'op-forbidden') {
          expect(answer.text).toContain('"FORBIDDEN"');
          // The op's refusal is journaled like every op: who, device, when, which record, outcome.
          expect(await forbiddenOps(who)).toBe(journaled + 1);
        }
        answers.push(answer);
      }
    }
    if (untouched)
      expect(
        await fingerprint(server.app.outpost.store, 'clinic-a'),
        `${rc.method} ${rc.url}: a ${who.tenant} caller changed clinic-a's stored data`,
      ).toEqual(untouched);
    // Nothing tells the caller whether clinic-a's target exists.
    if (answers.length === 2 && unknown === expected)
      expect(answers[0], `${rc.method} ${rc.url}: existing and unknown ids answered alike`).toEqual(
        answers[1],
      );
  }

  const guarded = routeCatalog.filter((c) => c.matrix !== undefined);

  it.each(guarded.map((c) => [`${c.method} ${c.url}`, c] as const))('%s', async (_name, rc) => {
    const matrix = rc.matrix as MatrixCase;
    const unidentified = { tenant: '', userId: '' };
    const cases: Array<[CallerName, AuditExpectation]> = [
      ['no token', { ...unidentified, outcome: 'missing-token' }],
      ['forged signature', { ...unidentified, outcome: 'invalid-token' }],
      // The signature of an expired token holds, so the audit knows whose it was.
      ['expired token', { tenant: 'clinic-a', userId: world.nurseId, outcome: 'expired-token' }],
    ];
    for (const [name, audit] of cases) {
      const answers: Answer[] = [];
      for (const target of targets(matrix))
        answers.push(await refused(rc, callers[name], target, 401, audit));
      if (answers.length === 2) expect(answers[0], name).toEqual(answers[1]);
      if (rc.method === 'GET')
        await refused(rc, callers[name], targets(matrix)[0] ?? '', 401, { ...audit }, 'HEAD');
    }

    await expectOutcome(rc, matrix.otherTenant, callers['other clinic'] ?? '', {
      tenant: 'clinic-b',
      userId: 'admin-b',
    });

    const lacking = matrix.lacking;
    await expectOutcome(
      rc,
      lacking.expect,
      callers[lacking.caller] ?? '',
      { tenant: 'clinic-a', userId: lacking.caller === 'clinician' ? 'clinician-2' : 'visitor-1' },
      lacking.unknown,
    );
  });

  it('the nurse who raised a conflict sees it, and is refused (403) when she settles it', async () => {
    const id = world.conflictIds[0] ?? '';
    const seen = await server.request({ method: 'GET', url: `/v1/conflicts/${id}`, token: world.nurse });
    expect(seen.status).toBe(200);
    const before = await fingerprint(server.app.outpost.store);
    for (const [method, url, body] of [
      ['POST', `/v1/conflicts/${id}/resolve`, { strategy: 'client-wins' }],
      ['POST', `/v1/conflicts/${id}/undo`, undefined],
      ['POST', '/api/sync/resolve-conflict', { conflictId: id, resolution: 'client-wins' }],
      ['PATCH', `/api/v1/sync/resolve/${world.queueItemId}?resolution=CLIENT_WINS`, undefined],
    ] as const) {
      const res = await server.request({ method, url, token: world.nurse, ...(body ? { body } : {}) });
      expect(res.status, url).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
      expect(await lastRefusal(server.app.outpost.store)).toMatchObject({
        tenant: 'clinic-a',
        user_id: world.nurseId,
        outcome: 'forbidden',
      });
    }
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
  });

  it('audits the device a refused request names, and never what it sent', async () => {
    const res = await server.request({
      method: 'GET',
      url: '/v1/sync/pull?collections=patients&deviceId=tablet-42',
      token: callers.visitor,
    });
    expect(res.status).toBe(403);
    expect(await lastRefusal(server.app.outpost.store)).toMatchObject({
      tenant: 'clinic-a',
      user_id: 'visitor-1',
      device_id: 'tablet-42',
      route: 'GET /v1/sync/pull',
      outcome: 'forbidden',
    });
    const queued = await server.request({
      method: 'POST',
      url: '/api/v1/sync/queue',
      token: callers.visitor,
      body: {
        deviceId: 'tablet-43',
        operation: 'CREATE',
        resourceType: 'patient',
        data: { name: 'Confidential Visitor Entry' },
        createdAtClient: new Date().toISOString(),
      },
    });
    expect(queued.status).toBe(403);
    const events = await server.app.outpost.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'refused')
      .orderBy('seq')
      .execute();
    expect(events.at(-1)).toMatchObject({ device_id: 'tablet-43', route: 'POST /api/v1/sync/queue' });
    expect(JSON.stringify(events)).not.toContain('Confidential Visitor Entry');
    for (const marker of world.markers) expect(JSON.stringify(events)).not.toContain(marker);
  });
});

describe('refusals under a flood', () => {
  it('audits at most the configured refusals a minute, counts the rest, rate-limits bad tokens', async () => {
    let now = new Date('2026-03-01T08:00:00.000Z');
    const server = await startTestServer('sqlite', {
      server: {
        now: () => now,
        limits: { rateLimitPerMinute: 50, auditRefusalsPerMinute: 6, auditRefusalsPerCallerPerMinute: 4 },
      },
    });
    try {
      const store = server.app.outpost.store;
      const forged = await forgedToken({ sub: 'intruder', tenant: 'clinic-a', roles: ['admin'] });
      const fromAddress = (address: string) =>
        server.app.inject({
          method: 'GET',
          url: '/v1/sync/status',
          remoteAddress: address,
          headers: { authorization: `Bearer ${forged}` },
        });
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push((await fromAddress('10.0.0.1')).statusCode);
      // The rate limit counts refused tokens by address like any request: a flood is cut off.
      expect(statuses.slice(0, 50).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(50).every((s) => s === 429)).toBe(true);
      expect(await refusalCount(store)).toBe(4);
      for (const address of ['10.0.0.2', '10.0.0.3', '10.0.0.4']) await fromAddress(address);
      expect(await refusalCount(store)).toBe(6);

      // Answered requests write nothing.
      const nurse = await server.token('nurse@clinic-a.test');
      for (let i = 0; i < 5; i++)
        expect((await server.request({ method: 'GET', url: '/v1/sync/status', token: nurse })).status).toBe(
          200,
        );
      expect(await refusalCount(store)).toBe(6);

      // The next minute's first refusal writes the count of those left out, then itself.
      now = new Date('2026-03-01T08:01:00.000Z');
      expect((await fromAddress('10.0.0.9')).statusCode).toBe(401);
      const events = await store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', 'refused')
        .orderBy('seq')
        .execute();
      expect(events).toHaveLength(8);
      // Left out: 46 of the first address's 50 refusals (its 10 answers of 429 are no refusal of
      // access and are not audited), and 1 of the 3 from other addresses once 6 were written.
      expect(events.at(-2)).toMatchObject({ tenant: '', outcome: 'suppressed:47', route: null });
      expect(events.at(-1)).toMatchObject({
        tenant: '',
        outcome: 'invalid-token',
        route: 'GET /v1/sync/status',
      });
    } finally {
      await server.close();
      await server.storage.destroy();
    }
  });
});
