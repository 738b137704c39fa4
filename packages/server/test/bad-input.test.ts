// Bad input gets a 4xx in the error shape of PROTOCOL.md, never a 5xx, and changes nothing.
import { gunzipSync, gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { dialects, startTestServer, testSecret } from './server-fixture';
import type { TestServer } from './server-fixture';
import { hlc, nestedJson, opId, pullAll } from './sync-client';

const errorShape = { error: { code: expect.any(String), message: expect.any(String) } };

describe.each(dialects())('bad input on %s', (kind) => {
  let server: TestServer;
  let nurse: string;

  beforeAll(async () => {
    server = await startTestServer(kind, {
      server: { limits: { bodyLimitBytes: 64 * 1024, maxOpsPerPush: 50, rateLimitPerMinute: false } },
    });
    nurse = await server.token('nurse@clinic-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  let opsBefore = 0;
  beforeEach(async () => {
    opsBefore = (await server.app.outpost.store.countOps('clinic-a', {})).total;
  });

  /** Nothing a bad request sends may reach the store. */
  async function expectNothingStored() {
    expect((await pullAll(server, nurse)).changes).toEqual([]);
    expect((await server.app.outpost.store.countOps('clinic-a', {})).total).toBe(opsBefore);
  }

  function pushRaw(payload: string | Buffer, headers: Record<string, string> = {}) {
    return server.app.inject({
      method: 'POST',
      url: '/v1/sync/push',
      headers: { authorization: `Bearer ${nurse}`, 'content-type': 'application/json', ...headers },
      payload,
    });
  }

  it('malformed JSON -> 400', async () => {
    const res = await pushRaw('{"clientId": "a", "ops": [');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    await expectNothingStored();
  });

  it('a key named __proto__ in a body taken whole -> 400 that says so, not "invalid JSON"', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":"nurse@clinic-a.test","password":"outpost-demo","__proto__":{"admin":true}}',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: 'the body has a key named __proto__ or a constructor.prototype, which are not accepted',
      },
    });
    const broken = await pushRaw('{"clientId": "a", "ops": [');
    expect(broken.json()).toMatchObject({ error: { message: expect.stringMatching(/not valid JSON/) } });
  });

  it('wrong envelope types -> 400, refused whole', async () => {
    for (const body of [
      [],
      { clientId: 1, deviceId: 'd', ops: [] },
      { clientId: 'c', deviceId: 'd', ops: 'not an array' },
      { clientId: 'c', deviceId: 'd' },
      'just a string',
      null,
    ]) {
      const res = await pushRaw(JSON.stringify(body));
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toMatchObject(errorShape);
    }
    await expectNothingStored();
  });

  it('bad ops are rejected one by one with their reason; nothing of them is stored', async () => {
    const ops = [
      { opId: opId(), collection: 'ghosts', type: 'create', id: uuidv7(), data: { name: 'x' } },
      { opId: opId(), collection: 'patients', type: 'create', id: uuidv7(), data: {} },
      { opId: opId(), collection: 'patients', type: 'create', id: uuidv7(), data: { name: 42 } },
      {
        opId: opId(),
        collection: 'patients',
        type: 'create',
        id: uuidv7(),
        data: { name: 'A', shoeSize: 44 },
      },
      { opId: opId(), collection: 'patients', type: 'upsert', id: uuidv7(), data: { name: 'A' } },
      {
        opId: opId(),
        collection: 'patients',
        type: 'create',
        id: 'has spaces/and slashes',
        data: { name: 'A' },
      },
      { opId: opId(), collection: 'patients', type: 'create', id: uuidv7() },
      { opId: opId(), collection: 'patients', type: 'update', id: uuidv7(), data: { name: 'A' } },
      {
        opId: opId(),
        collection: 'patients',
        type: 'create',
        id: uuidv7(),
        data: { name: 'A' },
        hlc: 'yesterday',
      },
      {
        opId: opId(),
        collection: 'patients',
        type: 'create',
        id: uuidv7(),
        data: { name: 'A' },
        baseVersion: -1,
      },
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'no opId' } },
      42,
    ];
    const res = await pushRaw(JSON.stringify({ clientId: 'c', deviceId: 'd', ops }));
    expect(res.statusCode).toBe(200);
    const codes = (
      res.json() as { results: Array<{ status: string; error?: { code: string } }> }
    ).results.map((r) => [r.status, r.error?.code]);
    expect(codes).toEqual([
      ['rejected', 'UNKNOWN_COLLECTION'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'NOT_FOUND'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
    ]);
    expect((await pullAll(server, nurse)).changes).toEqual([]);
    // Rejections with an opId are journaled (so a retry is answered the same way); no record changed.
    const counts = await server.app.outpost.store.countOps('clinic-a', {});
    expect(counts.applied).toBe(0);
  });

  it('an op whose data nests too deep or has a __proto__ key is refused alone, the others apply', async () => {
    const kept = uuidv7();
    const op = (name: string, id: string, data: string) =>
      `{"opId":"${name}-${id}","collection":"patients","type":"create","id":"${id}","data":${data}}`;
    const ids = [kept, uuidv7(), uuidv7(), uuidv7()];
    // Written as text: 5,000 levels is deeper than JSON.stringify (and the server, before) could walk.
    const body = `{"clientId":"c","deviceId":"d","ops":[${[
      op('kept', kept, '{"name":"Kept"}'),
      op('deep', ids[1] ?? '', `{"name":"Deep","notes":${nestedJson(5000)}}`),
      op('proto', ids[2] ?? '', '{"name":"P","__proto__":{"signedAt":"2024-01-01"}}'),
      op('nested', ids[3] ?? '', '{"name":"Q","allergies":[{"__proto__":{"a":1}}]}'),
    ].join(',')}]}`;
    // Another clinic's nurse: the rest of this file checks that clinic-a stores nothing.
    const nurseB = await server.token('nurse@clinic-b.test');
    const send = () =>
      server.app.inject({
        method: 'POST',
        url: '/v1/sync/push',
        headers: { authorization: `Bearer ${nurseB}`, 'content-type': 'application/json' },
        payload: body,
      });
    const answers = [await send(), await send()];
    for (const res of answers) expect(res.statusCode).toBe(200);
    const [first, again] = answers.map(
      (res) =>
        (
          res.json() as {
            results: Array<{ status: string; originalStatus?: string; error?: { message: string } }>;
          }
        ).results,
    );
    expect(first?.map((r) => [r.status, r.error?.message])).toEqual([
      ['applied', undefined],
      ['rejected', 'data may nest at most 32 levels deep'],
      ['rejected', 'data may not have a key named __proto__'],
      ['rejected', 'data may not have a key named __proto__'],
    ]);
    // Sent again, as after a lost response: each answered from its first outcome.
    expect(again?.map((r) => [r.status, r.originalStatus])).toEqual([
      ['duplicate', 'applied'],
      ['duplicate', 'rejected'],
      ['duplicate', 'rejected'],
      ['duplicate', 'rejected'],
    ]);
    expect((await pullAll(server, nurseB)).changes.map((c) => c.id)).toEqual([kept]);
    // The archive keeps the refusals, without data no record could hold.
    const archived = await server.app.inject({
      method: 'GET',
      url: '/v1/rejections',
      headers: { authorization: `Bearer ${nurseB}` },
    });
    const rejections = (archived.json() as { rejections: Array<{ recordId: string; data: unknown }> })
      .rejections;
    expect(rejections.filter((r) => ids.slice(1).includes(r.recordId)).map((r) => r.data)).toEqual([
      null,
      null,
      null,
    ]);
  });

  it('text with half of a character: its op refused alone, the same when sent again, never a 500', async () => {
    const nurseB = await server.token('nurse@clinic-b.test');
    const send = (payload: string) =>
      server.app.inject({
        method: 'POST',
        url: '/v1/sync/push',
        headers: { authorization: `Bearer ${nurseB}`, 'content-type': 'application/json' },
        payload,
      });
    // Escaped in the JSON as a client's serialiser writes a string cut inside an emoji.
    const body = `{"clientId":"c","deviceId":"d","ops":[${[
      `{"opId":"op-\\ud800","collection":"patients","type":"create","id":"${uuidv7()}","data":{"name":"A"}}`,
      `{"opId":"${opId()}","collection":"patients","type":"create","id":"${uuidv7()}","data":{"name":"Cut \\ud83d"}}`,
    ].join(',')}]}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await send(body);
      expect(res.statusCode).toBe(200);
      const results = (
        res.json() as {
          results: Array<{ status: string; originalStatus?: string; error?: { message: string } }>;
        }
      ).results;
      expect(results[0]).toMatchObject({
        status: 'rejected',
        error: { message: 'opId may not contain NUL or half of a character' },
      });
      // The second op has a usable opId: journaled, so its resend is a duplicate of the refusal.
      expect(results[1]).toMatchObject(
        attempt === 0
          ? { status: 'rejected', error: { message: expect.stringMatching(/lone UTF-16 surrogate/) } }
          : { status: 'duplicate', originalStatus: 'rejected' },
      );
    }
    const envelope = await send('{"clientId":"c","deviceId":"tablet-\\udc00","ops":[]}');
    expect(envelope.statusCode).toBe(400);
  });

  it('an oversize body -> 413, also when it only grows once gunzipped', async () => {
    const big = JSON.stringify({
      clientId: 'c',
      deviceId: 'd',
      ops: [
        {
          opId: opId(),
          collection: 'patients',
          type: 'create',
          id: uuidv7(),
          data: { name: 'x', notes: 'a'.repeat(100_000) },
        },
      ],
    });
    const plain = await pushRaw(big);
    expect(plain.statusCode).toBe(413);
    expect(plain.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    const zipped = gzipSync(big);
    expect(zipped.length).toBeLessThan(64 * 1024);
    const bomb = await pushRaw(zipped, { 'content-encoding': 'gzip' });
    expect(bomb.statusCode).toBe(413);
    await expectNothingStored();
  });

  it('more ops than allowed in one push -> 413, refused whole', async () => {
    const ops = Array.from({ length: 51 }, () => ({
      opId: opId(),
      collection: 'patients',
      type: 'delete',
      id: 'x',
    }));
    const res = await pushRaw(JSON.stringify({ clientId: 'c', deviceId: 'd', ops }));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', details: { maxOps: 50 } } });
    await expectNothingStored();
  });

  it('a body that is not JSON -> 415; a broken gzip body -> 400', async () => {
    const form = await pushRaw('clientId=c', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.statusCode).toBe(415);
    expect(form.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const broken = await pushRaw(Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toMatchObject(errorShape);
    await expectNothingStored();
  });

  it('absent, malformed, forged, expired or claim-less tokens -> 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, secret = testSecret, exp = now + 600) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('someone')
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(secret));
    const tokens: Array<[string, string | undefined]> = [
      ['absent', undefined],
      ['malformed', 'not-a-jwt'],
      [
        'forged',
        await sign({ tenant: 'clinic-a', roles: ['admin'] }, 'another-secret-another-secret-another-secret'),
      ],
      ['expired', await sign({ tenant: 'clinic-a', roles: ['admin'] }, testSecret, now - 60)],
      ['no tenant', await sign({ roles: ['admin'] })],
      [
        'unsigned',
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', tenant: 'clinic-a', roles: ['admin'], exp: now + 600 })).toString('base64url')}.`,
      ],
    ];
    const body = {
      clientId: 'c',
      deviceId: 'd',
      ops: [
        {
          opId: opId(),
          collection: 'patients',
          type: 'create',
          id: uuidv7(),
          data: { name: 'x' },
          hlc: hlc(),
        },
      ],
    };
    for (const [name, token] of tokens) {
      for (const [method, url] of [
        ['POST', '/v1/sync/push'],
        ['GET', '/v1/sync/pull'],
        ['GET', '/v1/sync/status'],
        ['GET', '/v1/records/patients/x'],
      ] as const) {
        const res = await server.request({
          method,
          url,
          ...(token ? { token } : {}),
          ...(method === 'POST' ? { body } : {}),
        });
        expect(res.status, `${name} ${method} ${url}`).toBe(401);
        expect(res.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      }
    }
    await expectNothingStored();
  });

  it('wrong login -> 401; bad login body -> 400', async () => {
    const wrong = await server.request({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email: 'nurse@clinic-a.test', password: 'nope' },
    });
    expect(wrong.status).toBe(401);
    const nobody = await server.request({
      method: 'POST',
      url: '/v1/auth/login',
      body: { email: 'who@nowhere.test', password: 'nope' },
    });
    expect(nobody.status).toBe(401);
    expect(nobody.body).toEqual(wrong.body);
    const bad = await server.request({ method: 'POST', url: '/v1/auth/login', body: { email: 5 } });
    expect(bad.status).toBe(400);
  });

  it('bad pull parameters -> 400; unknown routes -> 404; never a 5xx', async () => {
    for (const url of [
      '/v1/sync/pull?limit=0',
      '/v1/sync/pull?limit=5001',
      '/v1/sync/pull?limit=abc',
      '/v1/sync/pull?collections=ghosts',
      '/v1/sync/pull?cursor=%00%01',
    ]) {
      const res = await server.request({ method: 'GET', url, token: nurse });
      expect(res.status, url).toBe(400);
      expect(res.body).toMatchObject(errorShape);
    }
    const unknown = await server.request({ method: 'GET', url: '/v1/nothing-here', token: nurse });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const stats = await server.request({ method: 'GET', url: '/v1/sync/stats', token: nurse });
    expect(stats.status).toBe(403);
  });

  it("takes a parameter given empty, as PROTOCOL.md's route templates write them, as not given", async () => {
    const admin = await server.token('admin@clinic-a.test');
    for (const url of [
      '/v1/sync/pull?cursor=&limit=&collections=&deviceId=',
      '/v1/sync/status?deviceId=',
      '/v1/sync/stats?userId=&deviceId=',
      '/v1/conflicts?status=&collection=&kind=&recordId=&limit=&cursor=',
      '/v1/rejections?collection=&recordId=&opId=&deviceId=&limit=&cursor=',
    ]) {
      const res = await server.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(res.statusCode, url).toBe(200);
    }
    // Still refused when given and wrong.
    const bad = await server.app.inject({
      method: 'GET',
      url: '/v1/sync/pull?limit=0',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('gzip in both directions', async () => {
    const id = uuidv7();
    const body = gzipSync(
      JSON.stringify({
        clientId: 'c',
        deviceId: 'd',
        ops: [
          {
            opId: opId(),
            collection: 'patients',
            type: 'create',
            id,
            data: { name: 'Zipped', notes: 'n'.repeat(5000) },
            hlc: hlc(),
          },
        ],
      }),
    );
    const res = await server.app.inject({
      method: 'POST',
      url: '/v1/sync/push',
      headers: {
        authorization: `Bearer ${nurse}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    const pulled = await server.app.inject({
      method: 'GET',
      url: '/v1/sync/pull',
      headers: { authorization: `Bearer ${nurse}`, 'accept-encoding': 'gzip' },
    });
    expect(pulled.headers['content-encoding']).toBe('gzip');
    const changes = JSON.parse(gunzipSync(pulled.rawPayload).toString('utf8')) as {
      changes: Array<{ id: string }>;
    };
    expect(changes.changes.map((c) => c.id)).toContain(id);
  });

  it('reads the auth scheme and the content coding in any case, and x-gzip as gzip', async () => {
    for (const [scheme, coding] of [
      ['bearer', 'GZIP'],
      ['BEARER', 'x-gzip'],
      ['Bearer', ' Gzip '],
    ] as const) {
      const id = uuidv7();
      const body = {
        clientId: 'c',
        deviceId: 'd',
        ops: [{ opId: opId(), collection: 'patients', type: 'create', id, data: { name: scheme } }],
      };
      const res = await server.app.inject({
        method: 'POST',
        url: '/v1/sync/push',
        headers: {
          authorization: `${scheme} ${nurse}`,
          'content-type': 'application/json',
          'content-encoding': coding,
        },
        payload: gzipSync(JSON.stringify(body)),
      });
      expect(res.statusCode, `${scheme} / ${coding}`).toBe(200);
      expect(res.json()).toMatchObject({ results: [{ id, status: 'applied' }] });
    }
  });
});

describe('rate limit', () => {
  it('answers 429 in the error shape once a user exceeds the limit, per user', async () => {
    const server = await startTestServer('sqlite', { server: { limits: { rateLimitPerMinute: 5 } } });
    try {
      const a = await server.token('nurse@clinic-a.test');
      const b = await server.token('nurse@clinic-b.test');
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push((await server.request({ method: 'GET', url: '/v1/sync/status', token: a })).status);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      const limited = await server.request({ method: 'GET', url: '/v1/sync/status', token: a });
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      expect((await server.request({ method: 'GET', url: '/v1/sync/status', token: b })).status).toBe(200);
    } finally {
      await server.close();
      await server.storage.destroy();
    }
  });
});

describe.runIf(dialects().includes('postgres'))('rate limit across server instances', () => {
  it("counts a user's requests to every instance on one PostgreSQL database together, per window", async () => {
    let clockAheadMs = 0;
    const server = { limits: { rateLimitPerMinute: 6 }, now: () => new Date(Date.now() + clockAheadMs) };
    const first = await startTestServer('postgres', { server });
    const second = await startTestServer('postgres', { storage: first.storage, server });
    try {
      const nurse = await first.token('nurse@clinic-a.test');
      const status = (instance: TestServer, token: string) =>
        instance.request({ method: 'GET', url: '/v1/sync/status', token }).then((r) => r.status);
      // A load balancer sends the tablet's requests to each instance in turn.
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push(await status(i % 2 === 0 ? first : second, nurse));
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
      const limited = await second.request({ method: 'GET', url: '/v1/sync/status', token: nurse });
      expect(limited.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      // Another user is counted apart, and a minute later the nurse is let through again.
      expect(await status(second, await second.token('nurse@clinic-b.test'))).toBe(200);
      clockAheadMs = 61_000;
      expect([await status(first, nurse), await status(second, nurse)]).toEqual([200, 200]);
    } finally {
      await second.close();
      await first.close();
      await first.storage.destroy();
    }
  });
});
