// Fuzzing every route the server serves, v1 and dialects, on SQLite and PostgreSQL: valid requests
// mutated (fields dropped, retyped, oversized, wrongly nested, prototype keys, numbers as strings),
// arbitrary JSON, raw bodies (a file's chunk) cut, lengthened, damaged or retyped, odd query
// strings, path parameters and headers (a chunk's hash, a byte range). Every answer is below 500,
// every refusal has PROTOCOL.md's error shape, a refused request leaves the stored data as it was
// (but for the one refusal documented to drop something: a file whose chunks do not make its
// declared whole is dropped whole), and exactly the refusals (401, 403, and the 404 of a route)
// are audited.
// OUTPOST_FUZZ_SEED=<n> replays a run; OUTPOST_FUZZ_RUNS=<n> sets the runs per route.
import { createHash } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidRecordId, requestErrorStatus } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint, refusalCount } from './security/fingerprint';
import type { Fingerprint } from './security/fingerprint';
import {
  bodyPlanArb,
  bodyText,
  encodeOdd,
  encoded,
  headerPlanArb,
  headerStepArb,
  headersWith,
  paramPlanArb,
  queryStepArb,
  queryWith,
  rawBytes,
  rawPlanArb,
} from './security/mutations';
import type {
  AuthPlan,
  BodyPlan,
  HeaderPlan,
  HeaderStep,
  ParamPlan,
  QueryStep,
  RawPlan,
} from './security/mutations';
import { caseFor, notServedBySyncServer, pathOf, rawHeaders, routeCatalog } from './security/route-catalog';
import type { RouteCase, Sendable } from './security/route-catalog';
import { routeKey, servedRoutes } from './security/served-routes';
import type { ServedRoute } from './security/served-routes';
import { expiredToken, forgedToken } from './security/tokens';
import { buildWorld, sha256Hex } from './security/world';
import type { World } from './security/world';

const seed = Number(process.env['OUTPOST_FUZZ_SEED'] ?? 20_260_307);
const runsPerRoute = Number(process.env['OUTPOST_FUZZ_RUNS'] ?? 80);
const file = 'packages/server/test/fuzz.test.ts';
// Logins verify a password hash (scrypt) on purpose slowly: fewer runs keep the file inside its budget.
// A route that takes raw bytes (a file's chunk) gets twice the runs: its body has more ways to be
// wrong (length, bytes, hash, type), and a damaged chunk that passes its own hash only shows when a
// file completes; each of those requests is quick.
const runsFor = (route: ServedRoute, takesBytes: boolean) =>
  route.url === '/v1/auth/login' ? Math.ceil(runsPerRoute / 3) : takesBytes ? runsPerRoute * 2 : runsPerRoute;

/** PROTOCOL.md's code for each status. */
const codeOf: Record<number, string> = Object.fromEntries(
  Object.entries(requestErrorStatus).map(([code, status]) => [status, code]),
);

interface Plan {
  head: boolean;
  /**
   * The path, query and token as the example has them, so the body and the headers that go with it
   * (content type, encoding, a chunk's hash, a byte range) reach the checks behind the route's
   * first ones: a route with two path parameters otherwise gets both as sent in one request in seven.
   */
  bodyOnly: boolean;
  n: number;
  example: number;
  params: ParamPlan[];
  query: QueryStep[];
  body: BodyPlan;
  /** For a route whose example has raw bytes: what is sent instead of them. */
  raw: RawPlan;
  bodyOnGet: boolean;
  headers: HeaderPlan;
  /** One step per header the example carries besides authorization and content-type. */
  extraHeaders: HeaderStep[];
}

const planArb: fc.Arbitrary<Plan> = fc.record({
  // One request in five to a GET route goes as its HEAD twin.
  head: fc.nat({ max: 4 }).map((n) => n === 0),
  bodyOnly: fc.nat({ max: 3 }).map((n) => n === 0),
  n: fc.nat(),
  example: fc.nat(),
  params: fc.array(paramPlanArb, { minLength: 2, maxLength: 2 }),
  query: fc.array(queryStepArb, { maxLength: 3 }),
  body: bodyPlanArb,
  raw: rawPlanArb,
  bodyOnGet: fc.boolean(),
  headers: headerPlanArb,
  extraHeaders: fc.array(headerStepArb, { minLength: 2, maxLength: 2 }),
});

interface Built {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  payload?: string | Buffer;
  /** The file the request names: its id, when well formed and sent as the example has it or encoded. */
  fileId?: string;
}

function describeRequest(r: Built): string {
  const body =
    r.payload === undefined
      ? ''
      : ` body(${r.payload.length}): ${JSON.stringify(r.payload.toString('utf8').slice(0, 300))}`;
  const headers = JSON.stringify(r.headers, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length})` : v,
  );
  const url = r.url.length > 300 ? `${r.url.slice(0, 300)}…(${r.url.length})` : r.url;
  return `${r.method} ${url} ${headers}${body}`;
}

/** The answer's text, undoing the compression the request's accept-encoding asked for. */
function decoded(raw: Buffer, encoding: unknown): string {
  const plain =
    encoding === 'gzip'
      ? gunzipSync(raw)
      : encoding === 'deflate'
        ? inflateSync(raw)
        : encoding === 'br'
          ? brotliDecompressSync(raw)
          : raw;
  return plain.toString('utf8');
}

function parsed(text: string, context: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`an error answer that is not JSON\n${context}`);
  }
}

describe.each(dialects())('fuzzing every route on %s', (kind) => {
  let server: TestServer;
  let world: World;
  let tokens: Record<
    Exclude<AuthPlan, 'sender' | 'none' | 'empty-bearer' | 'basic' | 'huge' | 'comma-joined'>,
    string
  > & {
    byRole: Record<'nurse' | 'admin' | 'vetAdmin', string>;
  };
  let routes: ServedRoute[];
  let current: Fingerprint;
  const tally = {
    requests: 0,
    byStatus: new Map<string, number>(),
    /** Per route: requests sent, and how many were answered 2xx (the share that got past validation). */
    byRoute: new Map<string, { sent: number; answered: number }>(),
    startedAt: 0,
  };

  beforeAll(async () => {
    server = await startTestServer(kind, {
      server: {
        // Live streams end right after `ready`, so inject's answer to one ends.
        live: { maxStreamMs: 0 },
        tenantSchemas: { 'vet-a': vetPractice },
        limits: {
          rateLimitPerMinute: false,
          bodyLimitBytes: 256 * 1024,
          maxOpsPerPush: 200,
          // Every refusal is written here, so the test can count them exactly.
          auditRefusalsPerMinute: Number.MAX_SAFE_INTEGER,
          auditRefusalsPerCallerPerMinute: Number.MAX_SAFE_INTEGER,
        },
      },
    });
    world = await buildWorld(server);
    tokens = {
      byRole: { nurse: world.nurse, admin: world.admin, vetAdmin: world.vetAdmin },
      duplicated: world.admin,
      'lowercase-scheme': world.nurse,
      'trailing-garbage': world.nurse,
      'other-tenant': await server.token('nurse@clinic-b.test'),
      forged: await forgedToken({ sub: 'intruder', tenant: 'clinic-a', roles: ['admin'] }),
      expired: await expiredToken({ sub: world.nurseId, tenant: 'clinic-a', roles: ['clinician'] }),
    };
    routes = servedRoutes(server.app);
    current = await fingerprint(server.app.outpost.store);
    tally.startedAt = Date.now();
    console.info(
      `fuzz on ${kind}: seed ${seed} (OUTPOST_FUZZ_SEED=${seed} replays), ${runsPerRoute} runs per route`,
    );
  });
  afterAll(async () => {
    const seconds = ((Date.now() - tally.startedAt) / 1000).toFixed(1);
    const statuses = [...tally.byStatus].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s}: ${n}`);
    console.info(`fuzz on ${kind}: ${tally.requests} requests in ${seconds} s; ${statuses.join(', ')}`);
    const routes = [...tally.byRoute].map(([route, t]) => `${route} ${t.sent}/${t.answered}`);
    console.info(`fuzz on ${kind}, requests/2xx per route: ${routes.join('; ')}`);
    await server?.close();
    await server?.storage.destroy();
  });

  it('knows every route the server serves', () => {
    const unknown = routes.map(routeKey).filter((key) => {
      const [method = '', url = ''] = key.split(' ');
      return caseFor(method, url) === undefined;
    });
    expect(unknown, 'routes neither fuzzed nor listed in security/route-catalog.ts').toEqual([]);
    const stale = routeCatalog
      .map((c) => `${c.method} ${c.url}`)
      .filter((key) => !routes.some((r) => routeKey(r) === key));
    expect(stale, 'catalog entries the server does not serve').toEqual([]);
    expect(
      Object.keys(notServedBySyncServer).filter((key) => routes.some((r) => routeKey(r) === key)),
    ).toEqual([]);
  });

  function authHeader(plan: AuthPlan, sender: string | undefined): string | string[] | undefined {
    switch (plan) {
      case 'sender':
        return sender === undefined ? undefined : `Bearer ${sender}`;
      case 'none':
        return undefined;
      case 'empty-bearer':
        return 'Bearer ';
      case 'lowercase-scheme':
        return `bearer ${tokens['lowercase-scheme']}`;
      case 'basic':
        return 'Basic bnVyc2VAY2xpbmljLWEudGVzdDpwYXNzd29yZA==';
      case 'duplicated':
        // Node keeps the first of two Authorization headers, so this is the valid one.
        return [`Bearer ${tokens.duplicated}`, `Bearer ${tokens.forged}`];
      case 'comma-joined':
        // What a proxy that merges repeated headers would pass on.
        return `Bearer ${tokens.duplicated}, Bearer ${tokens.forged}`;
      case 'trailing-garbage':
        return `Bearer ${tokens['trailing-garbage']}x`;
      case 'huge':
        return `Bearer ${'a'.repeat(12_000)}`;
      default:
        return `Bearer ${tokens[plan]}`;
    }
  }

  function build(route: ServedRoute, rc: RouteCase, plan: Plan): Built {
    const examples = rc.fuzz.examples(world, plan.n);
    const example: Sendable = examples[plan.example % examples.length] ?? {};
    const names = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1] ?? '');
    const segments: Record<string, string> = {};
    names.forEach((name, i) => {
      const p = (plan.bodyOnly ? undefined : plan.params[i]) ?? { kind: 'example' };
      const value = example.params?.[name] ?? '';
      segments[name] =
        p.kind === 'example' ? encodeOdd(value) : p.kind === 'encoded' ? encodeOdd(p.value) : p.text;
    });
    const method = route.method;
    const sendsBody =
      method !== 'GET' && method !== 'HEAD' ? true : plan.bodyOnGet && plan.body.kind !== 'none';
    const raw = example.raw;
    // A raw body's bytes as the plan makes them, its hash header computed for the example's bytes
    // or (rehash) for those sent; otherwise the JSON body as the plan makes it.
    const bytes =
      raw && sendsBody ? rawBytes(raw.bytes, plan.raw.bytes, bodyText(undefined, plan.body)) : undefined;
    const text = !raw && sendsBody ? bodyText(example.body, plan.body) : undefined;
    const { payload, header: contentEncoding } = encoded(bytes ?? text, plan.headers.encoding);
    const sender = rc.fuzz.as === 'nobody' ? undefined : tokens.byRole[rc.fuzz.as];
    const exampleHeaders = {
      ...(raw ? rawHeaders(raw, plan.raw.rehash && bytes ? bytes : raw.bytes) : {}),
      ...example.headers,
    };
    const contentType = raw
      ? plan.raw.contentType.kind === 'example'
        ? raw.contentType
        : plan.raw.contentType.value
      : payload !== undefined
        ? plan.headers.contentType
        : null;
    delete exampleHeaders['content-type'];
    const headers: Record<string, string | string[]> = headersWith(exampleHeaders, plan.extraHeaders);
    const auth = authHeader(plan.bodyOnly ? 'sender' : plan.headers.auth, sender);
    if (auth !== undefined) headers['authorization'] = auth;
    if (contentType !== null) headers['content-type'] = contentType;
    if (contentEncoding !== undefined) headers['content-encoding'] = contentEncoding;
    if (plan.headers.acceptEncoding !== null) headers['accept-encoding'] = plan.headers.acceptEncoding;
    const idPlan = plan.bodyOnly ? { kind: 'example' as const } : plan.params[names.indexOf('id')];
    const id =
      idPlan?.kind === 'example'
        ? example.params?.['id']
        : idPlan?.kind === 'encoded'
          ? idPlan.value
          : undefined;
    // Only a well-formed id can name a file (and only such may be asked of the database).
    const fileId =
      route.url.startsWith('/v1/files/') && id !== undefined && isValidRecordId(id) ? id : undefined;
    return {
      method,
      url: pathOf(route.url, segments, true) + queryWith(example.query, plan.bodyOnly ? [] : plan.query),
      headers,
      ...(payload !== undefined ? { payload } : {}),
      ...(fileId !== undefined ? { fileId } : {}),
    };
  }

  /** Files of that id (any clinic's), and files refused for their whole hash so far. */
  async function fileCounts(id: string): Promise<{ named: number; dropped: number }> {
    const db = server.app.outpost.store.db;
    const [named, dropped] = await Promise.all([
      db
        .selectFrom('files')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('id', '=', id)
        .executeTakeFirst(),
      db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('action', '=', 'file-upload')
        .where('outcome', '=', 'checksum-mismatch')
        .executeTakeFirst(),
    ]);
    return { named: Number(named?.n ?? 0), dropped: Number(dropped?.n ?? 0) };
  }

  /**
   * The one refusal that changes stored data, as docs/server.md says: the chunk that completed a
   * file whose whole did not hash as declared drops that file, description and chunks, and nothing
   * else; the drop is audited.
   */
  async function expectDroppedWhole(
    request: Built,
    before: Fingerprint,
    files: { named: number; dropped: number } | undefined,
    context: string,
  ): Promise<void> {
    const { files: filesBefore, file_chunks: _chunks, ...othersBefore } = before;
    const { files: filesNow, file_chunks: chunksNow, ...othersNow } = current;
    expect(othersNow, `a file refused for its whole hash changed other stored data\n${context}`).toEqual(
      othersBefore,
    );
    expect(filesNow.rows, context).toBe(filesBefore.rows - 1);
    expect(
      request.fileId,
      `a file refused for its whole hash, named by no id the fuzzer knows\n${context}`,
    ).toBeDefined();
    const after = await fileCounts(request.fileId ?? '');
    expect(after, context).toEqual({ named: (files?.named ?? 0) - 1, dropped: (files?.dropped ?? 0) + 1 });
    const orphans = await server.app.outpost.store.db
      .selectFrom('file_chunks as c')
      .leftJoin('files as f', (join) =>
        join.onRef('f.tenant', '=', 'c.tenant').onRef('f.id', '=', 'c.file_id'),
      )
      .select((eb) => eb.fn.countAll().as('n'))
      .where('f.id', 'is', null)
      .executeTakeFirst();
    expect(
      Number(orphans?.n ?? 0),
      `chunks left of a dropped file (${chunksNow.rows} held)\n${context}`,
    ).toBe(0);
  }

  /** Sends one request and checks the answer and what it did to the store; returns the answer's status and reason. */
  async function send(
    route: ServedRoute,
    rc: RouteCase,
    request: Built,
  ): Promise<{ status: number; reason: unknown }> {
    const store = server.app.outpost.store;
    const before = current;
    const refusalsBefore = await refusalCount(store);
    const files = request.fileId !== undefined ? await fileCounts(request.fileId) : undefined;
    const res = await server.app.inject({
      method: request.method as 'GET',
      url: request.url,
      headers: request.headers,
      ...(request.payload !== undefined ? { payload: request.payload } : {}),
    });
    const status = res.statusCode;
    tally.requests += 1;
    let message = '';
    const text = decoded(res.rawPayload, res.headers['content-encoding']);
    const context = `${describeRequest(request)}\n-> ${status} ${text.slice(0, 500)}`;
    let code = '';
    let reason: unknown;
    if (status >= 300 && request.method !== 'HEAD') {
      const body = parsed(text, context) as {
        error?: { code?: unknown; message?: unknown; details?: { reason?: unknown } };
      };
      expect(body, context).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
      code = String(body.error?.code);
      message = String(body.error?.message);
      reason = body.error?.details?.reason;
    }
    const label = code === '' ? String(status) : `${status} ${code}`;
    tally.byStatus.set(label, (tally.byStatus.get(label) ?? 0) + 1);
    const perRoute = tally.byRoute.get(routeKey(route)) ?? { sent: 0, answered: 0 };
    perRoute.sent += 1;
    if (status < 300) perRoute.answered += 1;
    tally.byRoute.set(routeKey(route), perRoute);

    expect(status, context).toBeLessThan(500);
    expect(status, context).toBeGreaterThanOrEqual(200);
    if (code !== '') expect(code, context).toBe(codeOf[status]);

    current = await fingerprint(store);
    if (status === 400 && reason === 'file-checksum')
      await expectDroppedWhole(request, before, files, context);
    else if (status >= 300)
      expect(current, `a refused request changed stored data\n${context}`).toEqual(before);

    const refusals = (await refusalCount(store)) - refusalsBefore;
    const refusal =
      rc.publicBecause === undefined &&
      (status === 401 || status === 403 || (status === 404 && !message.startsWith('no route')));
    if (request.method === 'HEAD' && status === 404) expect(refusals, context).toBeLessThanOrEqual(1);
    else expect(refusals, `refusals audited\n${context}`).toBe(refusal ? 1 : 0);
    return { status, reason };
  }

  it.each(routeCatalog.map((c) => [`${c.method} ${c.url}`, c] as const))('%s', async (name, rc) => {
    const served = routes.filter(
      (r) => r.url === rc.url && (r.method === rc.method || (rc.method === 'GET' && r.method === 'HEAD')),
    );
    expect(served.length).toBeGreaterThan(0);
    const main = served.find((r) => r.method === rc.method) ?? served[0];
    const head = served.find((r) => r.method === 'HEAD');
    if (!main) return;
    const takesBytes = rc.fuzz.examples(world, 0).some((e) => e.raw !== undefined);
    // Each route its own seed, from the run's seed and its name: no two routes replay the same plans.
    const routeSeed =
      (seed ^ Number.parseInt(createHash('sha256').update(name).digest('hex').slice(0, 8), 16)) >>> 0;
    try {
      await fc.assert(
        fc.asyncProperty(planArb, async (plan) => {
          const route = plan.head && head ? head : main;
          await send(route, rc, build(route, rc, plan));
        }),
        { seed: routeSeed, numRuns: runsFor(main, takesBytes), endOnFailure: true },
      );
    } catch (err) {
      // fast-check names the route's own seed; the run's seed replays the whole file as it ran.
      const replay = `OUTPOST_FUZZ_SEED=${seed} OUTPOST_FUZZ_RUNS=${runsPerRoute} npx vitest run ${file}`;
      throw new Error(`replay: ${replay}\n${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  });

  it('holds the one refusal that changes stored data to dropping exactly the file it names', async () => {
    // A chunk damaged before it was hashed passes its own check; the file it completes does not.
    // The fuzzer meets this only now and then; here it meets it every run, through the same checks.
    const url = '/v1/files/:id/chunks/:index';
    const route = routes.find((r) => r.method === 'PUT' && r.url === url);
    const rc = caseFor('PUT', url);
    if (!route || !rc) throw new Error(`${url} is not served`);
    const bytes = Buffer.alloc(1500, 'whole');
    const id = `fuzz-dropped-${kind}`;
    const declared = await server.request({
      method: 'PUT',
      url: `/v1/files/${id}`,
      token: world.nurse,
      body: { ...world.file.declaration, size: bytes.length, sha256: sha256Hex(bytes), chunkSize: 1024 },
    });
    expect(declared.status).toBe(200);
    const chunk = (index: number, damaged = false): Built => {
      const body = Buffer.from(bytes.subarray(index * 1024, (index + 1) * 1024));
      if (damaged) body[0] = (body[0] ?? 0) ^ 1;
      return {
        method: 'PUT',
        url: `/v1/files/${id}/chunks/${index}`,
        headers: {
          authorization: `Bearer ${world.nurse}`,
          'content-type': 'application/octet-stream',
          'x-outpost-sha256': sha256Hex(body),
        },
        payload: body,
        fileId: id,
      };
    };
    current = await fingerprint(server.app.outpost.store);
    expect(await send(route, rc, chunk(0))).toEqual({ status: 200, reason: undefined });
    expect(await send(route, rc, chunk(1, true))).toEqual({ status: 400, reason: 'file-checksum' });
    expect((await server.request({ method: 'GET', url: `/v1/files/${id}`, token: world.nurse })).status).toBe(
      404,
    );
    current = await fingerprint(server.app.outpost.store);
  });

  it('pins what it found: NUL text, broken URLs, long parameters get 4xx in the error shape', async () => {
    const store = server.app.outpost.store;
    const before = await fingerprint(store);
    // A NUL in an id made PostgreSQL fail the query (a 500 there, a 404 on SQLite): now 400 on both.
    const nul = await server.request({
      method: 'GET',
      url: '/v1/records/patients/a%00b',
      token: world.nurse,
    });
    expect(nul.status).toBe(400);
    expect(nul.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    // The router's own refusals came in Fastify's shape (and 414): now PROTOCOL.md's.
    const broken = await server.request({ method: 'GET', url: '/v1/conflicts/%E0%A4%A', token: world.admin });
    expect([broken.status, broken.body]).toMatchObject([400, { error: { code: 'VALIDATION_FAILED' } }]);
    const long = await server.request({
      method: 'GET',
      url: `/v1/conflicts/${'x'.repeat(300)}`,
      token: world.admin,
    });
    expect([long.status, long.body]).toMatchObject([404, { error: { code: 'NOT_FOUND' } }]);
    // A NUL in the envelope refuses the push whole, and nothing is stored.
    const envelope = await server.request({
      method: 'POST',
      url: '/v1/sync/push',
      token: world.nurse,
      body: {
        clientId: 'c',
        deviceId: 'tab\u0000let',
        ops: [{ opId: 'nul-1', collection: 'patients', type: 'create', id: 'nul1', data: { name: 'N' } }],
      },
    });
    expect([envelope.status, envelope.body]).toMatchObject([400, { error: { code: 'VALIDATION_FAILED' } }]);
    expect(await fingerprint(store)).toEqual(before);
    // In one op it is that op's own fault: rejected alone, and the others apply.
    const res = await server.request<{ results: Array<{ status: string; error?: { code: string } }> }>({
      method: 'POST',
      url: '/v1/sync/push',
      token: world.nurse,
      body: {
        clientId: 'c',
        deviceId: 'tablet-nul',
        ops: [
          { opId: 'nul\u0000op', collection: 'patients', type: 'create', id: 'nul2', data: { name: 'N' } },
          {
            opId: 'nul-3',
            collection: 'encounters',
            type: 'create',
            id: 'nul3',
            data: { patientId: 'p\u0000' },
          },
          { opId: 'nul-4', collection: 'patients', type: 'create', id: 'nul4', data: { name: 'Fine' } },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => [r.status, r.error?.code])).toEqual([
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'UNRESOLVED_REFERENCE'],
      ['applied', undefined],
    ]);

    // A version past 32 bits made PostgreSQL's integer columns overflow (a 500 there, found through
    // SmartDMV's push): no record ever has one, so it is refused like any malformed version.
    const huge = 2 ** 53 - 1;
    const versions = await server.request<{ results: Array<{ status: string; error?: { code: string } }> }>({
      method: 'POST',
      url: '/v1/sync/push',
      token: world.nurse,
      body: {
        clientId: 'c',
        deviceId: 'tablet-nul',
        ops: [
          {
            opId: 'huge-1',
            collection: 'patients',
            type: 'update',
            id: world.patientId,
            baseVersion: huge,
            data: { phone: '1' },
          },
        ],
      },
    });
    expect(versions.body.results.map((r) => [r.status, r.error?.code])).toEqual([
      ['rejected', 'VALIDATION_FAILED'],
    ]);
    const seed = await server.request<{ success: boolean; results: Array<{ error?: { code: string } }> }>({
      method: 'POST',
      url: '/api/sync/push',
      token: world.vetAdmin,
      body: {
        operations: [
          {
            operation: 'update',
            entityType: 'pets',
            entityId: world.vetPetId,
            data: { name: 'X' },
            version: huge,
          },
        ],
      },
    });
    expect(seed.body.results[0]?.error?.code).toBe('VALIDATION_FAILED');
    const queued = await server.request({
      method: 'POST',
      url: '/api/v1/sync/queue',
      token: world.nurse,
      body: {
        deviceId: 'tablet-nul',
        operation: 'UPDATE',
        resourceType: 'patient',
        resourceId: world.patientId,
        data: { phone: '1' },
        createdAtClient: new Date().toISOString(),
        version: huge,
      },
    });
    expect([queued.status, queued.body]).toMatchObject([400, { error: { code: 'VALIDATION_FAILED' } }]);

    // An appointment date in epoch milliseconds past any date threw while being read (a 500 on both).
    const appointment = await server.request<{ results: Array<{ error?: { code: string } }> }>({
      method: 'POST',
      url: '/api/sync/upload',
      token: world.vetAdmin,
      body: {
        operations: [
          {
            operation: 'create',
            entityType: 'appointment',
            tempId: 'temp_appt_far',
            data: { title: 'Far', date: huge, petId: world.vetPetId },
          },
        ],
      },
    });
    expect([appointment.status, appointment.body.results[0]?.error?.code]).toEqual([
      200,
      'VALIDATION_FAILED',
    ]);
    current = await fingerprint(store);
  });
});
