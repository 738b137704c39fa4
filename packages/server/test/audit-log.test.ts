// GET /v1/audit (decision 0035): a clinic's administrator reads its audit trail (logins, push ops,
// refusals, ignored overrides...) newest first, filtered and paged, on both databases; nobody
// else reads it, and no clinic reads another's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditResponseSchema, uuidv7 } from '@outpost/core';
import type { AuditLogEvent, AuditResponse, PushResponse } from '@outpost/core';
import { ensureUsers } from '../src/index';
import { dialects, password, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { opId, push } from './sync-client';

type Answer = { status: number; body: AuditResponse & { error?: { code: string; message: string } } };

/** One event's identity: its number, or the op's id. */
const keyOf = (e: AuditLogEvent) => (e.opId !== undefined ? `op:${e.opId}` : `event:${e.seq}`);

describe.each(dialects())('the audit log over HTTP on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let admin: string;
  let otherAdmin: string;
  let nurseId: string;
  let adminId: string;
  /** The server's clock runs this far ahead of real time: a test moves it to tell times apart. */
  let aheadMs = 0;
  /** When set, the server's clock stands still at it: many events then share one millisecond. */
  let frozenAt: number | null = null;
  const now = () => new Date(frozenAt ?? Date.now() + aheadMs);

  async function login(email: string): Promise<{ token: string; id: string }> {
    const res = await server.request<{ token: string; user: { id: string } }>({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email, password },
    });
    expect(res.status).toBe(200);
    return { token: res.body.token, id: res.body.user.id };
  }

  async function audit(query: string, token = admin): Promise<Answer> {
    const res = await server.request<Answer['body']>({ method: 'GET', url: `/v1/audit${query}`, token });
    if (res.status === 200) auditResponseSchema.parse(res.body);
    return res;
  }

  /** Every event the filter finds, newest first, following the cursor `limit` at a time. */
  async function everything(filter: string, limit = 1000): Promise<AuditLogEvent[]> {
    const events: AuditLogEvent[] = [];
    let cursor: string | null = null;
    do {
      const sep = filter === '' ? '?' : '&';
      const page = await audit(
        `${filter}${sep}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(page.status).toBe(200);
      events.push(...page.body.events);
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    return events;
  }

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { now } });
    await ensureUsers(server.app.outpost.store, [
      { email: 'admin@clinic-b.test', tenant: 'clinic-b', roles: ['admin'], password },
    ]);
    ({ token: nurse, id: nurseId } = await login('nurse@clinic-a.test'));
    ({ token: admin, id: adminId } = await login('admin@clinic-a.test'));
    ({ token: otherAdmin } = await login('admin@clinic-b.test'));
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  it("lists a nurse's sign-in and her push's ops, newest first, with who, device, record and outcome; never the data", async () => {
    const patient = uuidv7();
    await server.request({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email: 'nurse@clinic-a.test', password: 'wrong' },
    });
    const pushed = await push(
      server,
      nurse,
      [
        {
          opId: `${patient}-1`,
          collection: 'patients',
          type: 'create',
          id: patient,
          data: { name: 'Confidential Name' },
        },
        {
          opId: `${patient}-2`,
          collection: 'patients',
          type: 'update',
          id: patient,
          baseVersion: 1,
          data: { village: 'Secret' },
        },
        {
          opId: `${patient}-3`,
          collection: 'patients',
          type: 'update',
          id: patient,
          baseVersion: 1,
          data: { village: 'Other' },
        },
        { collection: 'encounters', type: 'create', id: uuidv7(), data: { patientId: uuidv7() } },
      ],
      { deviceId: 'tablet-7' },
    );
    const res = await audit(`?recordId=${patient}`);
    expect(res.status).toBe(200);
    expect(res.body.events.map((e) => [e.action, e.opId, e.opType, e.outcome])).toEqual([
      // Ops of one push share their time: listed by op id, descending.
      ['push-op', `${patient}-3`, 'update', 'conflict:open'],
      ['push-op', `${patient}-2`, 'update', 'applied'],
      ['push-op', `${patient}-1`, 'create', 'applied'],
    ]);
    for (const e of res.body.events) {
      expect(e).toMatchObject({
        userId: nurseId,
        email: 'nurse@clinic-a.test',
        deviceId: 'tablet-7',
        collection: 'patients',
        recordId: patient,
        route: null,
      });
      expect(pushed.results.map((r) => r.opId)).toContain(e.opId);
      expect(e.seq).toBeUndefined();
    }
    const refused = await audit(`?collection=encounters&userId=${nurseId}`);
    expect(refused.body.events.map((e) => e.outcome)).toEqual(['rejected:UNRESOLVED_REFERENCE']);

    const all = await audit('');
    const logins = all.body.events.filter((e) => e.userId === nurseId && e.action.startsWith('login'));
    expect(logins.map((e) => [e.action, e.outcome, e.email])).toEqual([
      ['login-failed', 'wrong-password', 'nurse@clinic-a.test'],
      ['login', 'ok', 'nurse@clinic-a.test'],
    ]);
    expect(logins[0]?.seq).toEqual(expect.any(Number));
    const times = all.body.events.map((e) => e.at);
    expect(times).toEqual([...times].sort().reverse());
    const text = JSON.stringify(all.body);
    for (const secret of ['Confidential Name', 'Secret', 'Other']) expect(text).not.toContain(secret);
  });

  it('filters by person (user id or email), device, action (one or several) and time range', async () => {
    aheadMs += 60 * 60_000;
    const startedAt = now().toISOString();
    await login('nurse@clinic-a.test');
    const record = uuidv7();
    await push(server, nurse, [{ collection: 'patients', type: 'create', id: record, data: { name: 'A' } }], {
      deviceId: 'tablet-8',
    });
    aheadMs += 60 * 60_000;
    const laterAt = now().toISOString();
    await login('admin@clinic-a.test');
    await push(
      server,
      admin,
      [{ collection: 'patients', type: 'update', id: record, data: { sex: 'female' } }],
      {
        deviceId: 'office-pc',
      },
    );

    const byUser = await everything(`?userId=${nurseId}`);
    expect(byUser.length).toBeGreaterThan(3);
    expect(new Set(byUser.map((e) => e.userId))).toEqual(new Set([nurseId]));
    expect(await everything('?email=NURSE@clinic-a.test')).toEqual(byUser);
    expect(await everything(`?email=nurse@clinic-a.test&userId=${adminId}`)).toEqual([]);
    expect(await everything('?email=nobody@clinic-a.test')).toEqual([]);

    const byDevice = await everything('?deviceId=tablet-8');
    expect(byDevice.map((e) => [e.action, e.recordId, e.userId])).toEqual([['push-op', record, nurseId]]);

    const logins = await everything('?action=login');
    expect(new Set(logins.map((e) => e.action))).toEqual(new Set(['login']));
    const both = await everything('?action=login,push-op');
    expect(new Set(both.map((e) => e.action))).toEqual(new Set(['login', 'push-op']));
    expect(await everything('?action=push-op&action=login')).toEqual(both);
    expect(both.filter((e) => e.action === 'login')).toEqual(logins);

    const window = await everything(
      `?from=${encodeURIComponent(startedAt)}&to=${encodeURIComponent(laterAt)}&userId=${nurseId}`,
    );
    expect(window.map((e) => [e.action, e.deviceId])).toEqual([
      ['push-op', 'tablet-8'],
      ['login', null],
    ]);
    const since = await everything(`?from=${encodeURIComponent(laterAt)}`);
    expect(since.map((e) => [e.action, e.userId])).toEqual([
      ['push-op', adminId],
      ['login', adminId],
    ]);
    // The same instant with an offset: times are read as instants, whatever zone they are written in.
    const offset = new Date(Date.parse(laterAt) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    expect(await everything(`?from=${encodeURIComponent(offset)}`)).toEqual(since);
    const before = await everything(`?to=${encodeURIComponent(startedAt)}`);
    expect(before.every((e) => e.at < startedAt)).toBe(true);
    expect(before.length + (await everything(`?from=${encodeURIComponent(startedAt)}`)).length).toBe(
      (await everything('')).length,
    );
  });

  it('pages through the cursor with no event missing or repeated while pushes happen between pages', async () => {
    // One millisecond for all of it: ops of a push, the ignored overrides written with them, and
    // logins share their time, so the order rests on the tie-breaks alone.
    frozenAt = Date.now() + aheadMs + 60 * 60_000;
    try {
      const patient = uuidv7();
      await push(server, admin, [
        { collection: 'patients', type: 'create', id: patient, data: { name: 'P' } },
      ]);
      for (let i = 0; i < 4; i += 1) {
        await login('nurse@clinic-a.test');
        await push(
          server,
          nurse,
          [
            { collection: 'patients', type: 'update', id: patient, data: { phone: `55${i}` } },
            {
              collection: 'patients',
              type: 'update',
              id: patient,
              data: { village: `V${i}` },
              strategy: 'client-wins',
            },
            { collection: 'encounters', type: 'create', id: uuidv7(), data: { patientId: patient } },
          ],
          { deviceId: `tablet-${i % 2}` },
        );
      }
      const before = await everything('', 1000);
      expect(new Set(before.map(keyOf)).size).toBe(before.length);

      const seen: AuditLogEvent[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await audit(`?limit=3${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        expect(page.status).toBe(200);
        expect(page.body.events.length).toBeLessThanOrEqual(3);
        seen.push(...page.body.events);
        cursor = page.body.nextCursor;
        pages += 1;
        // Between pages, the clinic goes on: a push and a sign-in, in the same millisecond too.
        await push(server, nurse, [
          { collection: 'patients', type: 'update', id: patient, data: { phone: `9${pages}` } },
        ]);
        await login('admin@clinic-a.test');
      } while (cursor !== null);

      const keys = seen.map(keyOf);
      expect(new Set(keys).size, 'an event listed twice').toBe(keys.length);
      const missing = before.filter((e) => !keys.includes(keyOf(e)));
      expect(missing, 'events the walk missed').toEqual([]);
      expect(pages).toBeGreaterThan(before.length / 3);
    } finally {
      // The clock goes on from the frozen time, never back before it.
      aheadMs = (frozenAt ?? 0) + 1000 - Date.now();
      frozenAt = null;
    }
    // Walked again at a clock that moves: the same, with pushes from another device between pages.
    const before = await everything('');
    const seen: AuditLogEvent[] = [];
    let cursor: string | null = null;
    do {
      const page = await audit(`?limit=7${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      seen.push(...page.body.events);
      cursor = page.body.nextCursor;
      await push(
        server,
        nurse,
        [{ collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'N' } }],
        {
          deviceId: 'tablet-between',
        },
      );
    } while (cursor !== null);
    expect(seen.map(keyOf)).toEqual(before.map(keyOf));
  });

  it('answers 403 to anyone but an administrator, and audits that refusal', async () => {
    const res = await audit('?limit=5', nurse);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
    // Bad parameters too: a nurse learns nothing of what the route would take.
    expect((await audit('?limit=0', nurse)).status).toBe(403);
    const refusals = await audit(`?action=refused&userId=${nurseId}&limit=2`);
    expect(refusals.body.events.map((e) => [e.route, e.outcome])).toEqual([
      ['GET /v1/audit', 'forbidden'],
      ['GET /v1/audit', 'forbidden'],
    ]);
    const unsigned = await server.request({ method: 'GET', url: '/v1/audit' });
    expect(unsigned.status).toBe(401);
  });

  it("shows another clinic's administrator none of clinic-a's events, whatever it sends", async () => {
    const record = uuidv7();
    await push(server, nurse, [{ collection: 'patients', type: 'create', id: record, data: { name: 'A' } }], {
      deviceId: 'tablet-secret',
    });
    const own = await everything('', 1000);
    expect(own.length).toBeGreaterThan(0);
    const theirs = await audit('', otherAdmin);
    expect(theirs.status).toBe(200);
    // Its own sign-in, and nothing of clinic-a's.
    expect(theirs.body.events.map((e) => [e.action, e.email])).toEqual([['login', 'admin@clinic-b.test']]);
    const clinicA = [nurseId, adminId, record, 'tablet-secret', 'nurse@clinic-a.test', 'admin@clinic-a.test'];
    for (const query of [
      `?userId=${nurseId}`,
      '?email=nurse@clinic-a.test',
      '?deviceId=tablet-secret',
      `?recordId=${record}`,
      '?collection=patients',
      '?action=push-op',
      '?limit=1000',
    ]) {
      const res = await audit(query, otherAdmin);
      expect(res.status, query).toBe(200);
      const text = JSON.stringify(res.body);
      for (const marker of clinicA) expect(text, query).not.toContain(marker);
    }
    // A cursor of clinic-a's pages names nothing in clinic-b: refused, as a made-up one is.
    const first = await audit('?limit=1');
    const cursor = first.body.nextCursor ?? '';
    expect(cursor).not.toBe('');
    const replay = await audit(`?cursor=${encodeURIComponent(cursor)}`, otherAdmin);
    expect(replay.status).toBe(400);
    expect(replay.body.error?.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(replay.body)).not.toContain(nurseId);
  });

  it('refuses bad parameters with 400 in the error shape, and nothing 5xx', async () => {
    const valid = (await audit('?limit=1')).body.nextCursor ?? '';
    const [payload = '', mac = ''] = valid.split('.');
    const flipped = `${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    const forged = `${Buffer.from(JSON.stringify(['2099-01-01T00:00:00.000Z', 'event', 1])).toString('base64url')}.${mac}`;
    const bad = [
      'limit=0',
      'limit=5000',
      'limit=1001',
      'limit=ten',
      'limit=1.5',
      'limit=-3',
      'from=yesterday',
      'from=2026-13-01T00:00:00Z',
      'from=2026-02-30T00:00:00Z',
      'from=2026-03-01',
      'to=2026-03-01T25:00:00Z',
      'to=2026-03-01T08:00:00',
      'from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z',
      'cursor=garbage',
      `cursor=${encodeURIComponent(flipped)}`,
      `cursor=${encodeURIComponent(forged)}`,
      `cursor=${'a'.repeat(3000)}`,
      'action=LOGIN',
      'action=sign-in',
      'action=login;drop',
      'action=login,',
      'action=login&action=teleport',
      'userId=a&userId=b',
      `userId=${'u'.repeat(200)}`,
      `deviceId=${'d'.repeat(200)}`,
      'collection[$ne]=x',
      'sort=asc',
    ];
    for (const query of bad) {
      const res = await audit(`?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body, query).toEqual({
        error: { code: 'VALIDATION_FAILED', message: expect.any(String), details: expect.anything() },
      });
    }
    // Empty parameters are not given (PROTOCOL.md's route templates write them so).
    expect((await audit('?userId=&limit=&cursor=')).status).toBe(200);
  });

  it("records a nurse's ignored client-wins as override-ignored, naming her, the device and the record; not an administrator's", async () => {
    const patient = uuidv7();
    await push(server, admin, [{ collection: 'patients', type: 'create', id: patient, data: { name: 'O' } }]);
    await push(server, admin, [
      {
        collection: 'patients',
        type: 'update',
        id: patient,
        baseVersion: 1,
        data: { village: 'Server side' },
      },
    ]);
    const asked = opId();
    const op = {
      opId: asked,
      collection: 'patients',
      type: 'update' as const,
      id: patient,
      baseVersion: 1,
      data: { village: 'Mine wins' },
      strategy: 'client-wins' as const,
    };
    const answer = await push(server, nurse, [op], { deviceId: 'tablet-9' });
    // The push's answer is what it was: settled by the collection's rule, nothing said of the rule asked for.
    expect(answer.results[0]).toMatchObject({
      status: 'conflict',
      conflict: { strategy: 'manual', outcome: 'open' },
    });
    expect(Object.keys(answer.results[0] ?? {}).sort()).toEqual([
      'collection',
      'conflict',
      'id',
      'opId',
      'status',
      'version',
    ]);
    // Sent again (its answer lost): the same op, not a second attempt.
    const again = await server.request<PushResponse>({
      method: 'POST',
      url: '/v1/sync/push',
      token: nurse,
      body: { clientId: 'client-1', deviceId: 'tablet-9', ops: [op] },
    });
    expect(again.body.results[0]?.status).toBe('duplicate');
    // The collection's own rule overrides nothing.
    await push(server, nurse, [
      { collection: 'patients', type: 'update', id: patient, data: { phone: '1' }, strategy: 'merge' },
    ]);

    const ignored = await everything(`?action=override-ignored&recordId=${patient}`);
    expect(ignored).toEqual([
      expect.objectContaining({
        action: 'override-ignored',
        userId: nurseId,
        email: 'nurse@clinic-a.test',
        deviceId: 'tablet-9',
        collection: 'patients',
        recordId: patient,
        outcome: 'client-wins',
        route: null,
      }),
    ]);
    // Beside the op it belongs to: the same time, listed right after it.
    const around = await everything(`?recordId=${patient}&userId=${nurseId}&deviceId=tablet-9`);
    expect(around.map((e) => [e.action, e.opId ?? null, e.outcome])).toEqual([
      ['push-op', asked, 'conflict:open'],
      ['override-ignored', null, 'client-wins'],
    ]);
    expect(around[0]?.at).toBe(around[1]?.at);

    // An administrator may override: hers is honoured and nothing is recorded as ignored.
    const honoured = await push(server, admin, [
      {
        collection: 'patients',
        type: 'update',
        id: patient,
        baseVersion: 1,
        data: { village: 'Admin' },
        strategy: 'client-wins',
      },
    ]);
    expect(honoured.results[0]).toMatchObject({ status: 'applied', conflict: { outcome: 'client-won' } });
    expect(await everything(`?action=override-ignored&recordId=${patient}`)).toEqual(ignored);
    expect(await everything(`?action=override-ignored&userId=${adminId}`)).toEqual([]);
  });
});
