// The WatermelonDB sync protocol at the HTTP level: its rules for pull and push, refusals, tenant
// isolation, and gap-free timestamps under concurrent pushes, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HlcClock, formatHlc, parseHlc, uuidv7 } from '@outpost/core';
import type { Change, ErrorBody, RecordResponse } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from '../server-fixture';
import type { TestServer } from '../server-fixture';
import { opId, pullAll, push } from '../sync-client';
import { encountersGrantedLater } from './watermelon/read-access';

interface RawRecord {
  id: string;
  [column: string]: unknown;
}
interface PullBody {
  changes: Record<string, { created: RawRecord[]; updated: RawRecord[]; deleted: string[] }>;
  timestamp: number;
}
type Changes = Record<string, { created?: RawRecord[]; updated?: RawRecord[]; deleted?: string[] }>;

function pullUrl(lastPulledAt: number | null, migration: unknown = null): string {
  return `/watermelon/sync/pull?last_pulled_at=${lastPulledAt}&schema_version=1&migration=${encodeURIComponent(
    JSON.stringify(migration),
  )}`;
}

async function wmPull(
  server: TestServer,
  token: string,
  lastPulledAt: number | null,
  migration: unknown = null,
) {
  const res = await server.request<PullBody>({ method: 'GET', url: pullUrl(lastPulledAt, migration), token });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

function wmPush(server: TestServer, token: string, lastPulledAt: number, changes: Changes) {
  return server.request<ErrorBody & { conflicts: unknown[] }>({
    method: 'POST',
    url: `/watermelon/sync/push?last_pulled_at=${lastPulledAt}`,
    token,
    body: changes,
  });
}

/** A patient as a WatermelonDB device sends it: every column, WatermelonDB's bookkeeping included. */
function patientRaw(id: string, columns: Record<string, unknown> = {}): RawRecord {
  return {
    id,
    _status: 'created',
    _changed: '',
    name: 'Amina K.',
    dateOfBirth: null,
    sex: null,
    village: null,
    phone: null,
    allergies: null,
    notes: null,
    created_at: 1_700_000_000_000,
    updated_at: 1_700_000_000_000,
    ...columns,
  };
}

/** An id like WatermelonDB's own: 16 random letters and digits. */
const deviceId = () => uuidv7().replace(/-/g, '').slice(-16);

describe.each(dialects())('the WatermelonDB protocol on %s', (kind) => {
  let server: TestServer;
  let nurse: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    nurse = await server.token('nurse@clinic-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function stored(collection: string, id: string, token = nurse) {
    return server.request<RecordResponse>({ method: 'GET', url: `/v1/records/${collection}/${id}`, token });
  }

  it('pull answers the change set with a timestamp WatermelonDB accepts; a first sync leaves out deletions', async () => {
    const empty = await startTestServer(kind);
    try {
      const token = await empty.token('nurse@clinic-a.test');
      const first = await wmPull(empty, token, null);
      // WatermelonDB refuses a timestamp of 0, and keeps it as a JavaScript number.
      expect(first.changes).toEqual({});
      expect(Number.isSafeInteger(first.timestamp) && first.timestamp > 0).toBe(true);

      const [kept, gone] = [deviceId(), deviceId()];
      await push(empty, token, [
        { collection: 'patients', type: 'create', id: kept, data: { name: 'Kept', allergies: ['sulfa'] } },
        { collection: 'patients', type: 'create', id: gone, data: { name: 'Gone' } },
      ]);
      const afterCreates = await wmPull(empty, token, first.timestamp);
      expect(afterCreates.timestamp).toBeGreaterThan(first.timestamp);
      await push(empty, token, [{ collection: 'patients', type: 'delete', id: gone }]);

      const fresh = await wmPull(empty, token, null);
      expect(fresh.changes['patients']).toEqual({
        created: [],
        updated: [
          expect.objectContaining({
            id: kept,
            name: 'Kept',
            allergies: '["sulfa"]',
            village: null,
            created_at: expect.any(Number),
          }),
        ],
        deleted: [],
      });
      const since = await wmPull(empty, token, afterCreates.timestamp);
      expect(since.changes).toEqual({ patients: { created: [], updated: [], deleted: [gone] } });
      expect(since.timestamp).toBe(fresh.timestamp);
      expect(await wmPull(empty, token, fresh.timestamp)).toEqual({
        changes: {},
        timestamp: fresh.timestamp,
      });
    } finally {
      await empty.close();
      await empty.storage.destroy();
    }
  });

  it('an unknown column refuses the whole push, names the column, and stores nothing', async () => {
    const { timestamp } = await wmPull(server, nurse, null);
    const [good, bad] = [deviceId(), deviceId()];
    const res = await wmPush(server, nurse, timestamp, {
      patients: { created: [patientRaw(good), patientRaw(bad, { bloodGroup: 'O+' })] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.message).toContain('bloodGroup');
    expect(res.body.error.details).toMatchObject({
      rejected: [{ table: 'patients', id: bad, details: { fields: ['bloodGroup'] } }],
    });
    expect((await stored('patients', good)).status).toBe(404);
    expect((await stored('patients', bad)).status).toBe(404);
  });

  it('a record changed after lastPulledAt refuses the whole push with 409; the retry after a pull applies', async () => {
    const id = deviceId();
    await push(server, nurse, [{ collection: 'patients', type: 'create', id, data: { name: 'Amina K.' } }]);
    const { timestamp } = await wmPull(server, nurse, null);
    await push(server, nurse, [{ collection: 'patients', type: 'update', id, data: { village: 'Dedza' } }]);

    const newcomer = deviceId();
    const changes = {
      patients: {
        created: [patientRaw(newcomer)],
        updated: [patientRaw(id, { _status: 'updated', _changed: 'phone', phone: '+265 1' })],
      },
    };
    const refused = await wmPush(server, nurse, timestamp, changes);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'CONFLICT',
      details: { changed: [{ table: 'patients', id }] },
    });
    expect((await stored('patients', newcomer)).status).toBe(404);
    expect((await stored('patients', id)).body.data).toEqual({ name: 'Amina K.', village: 'Dedza' });

    // WatermelonDB pulls, keeps its own change on top of the server's record, and pushes again.
    const pulled = await wmPull(server, nurse, timestamp);
    expect(pulled.changes['patients']?.updated.map((r) => r.id)).toContain(id);
    const retried = await wmPush(server, nurse, pulled.timestamp, {
      patients: {
        created: [patientRaw(newcomer)],
        updated: [
          patientRaw(id, { _status: 'updated', _changed: 'phone', phone: '+265 1', village: 'Dedza' }),
        ],
      },
    });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect((await stored('patients', id)).body.data).toEqual({
      name: 'Amina K.',
      village: 'Dedza',
      phone: '+265 1',
    });
    expect((await stored('patients', newcomer)).status).toBe(200);
  });

  it('follows its rules for records that exist or not: create updates, update creates, a missing deletion is no error', async () => {
    const existing = deviceId();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: existing, data: { name: 'Before' } },
    ]);
    const { timestamp } = await wmPull(server, nurse, null);
    const missing = deviceId();
    const res = await wmPush(server, nurse, timestamp, {
      patients: {
        created: [patientRaw(existing, { name: 'After', updated_at: Date.now() })],
        updated: [patientRaw(missing, { _status: 'updated', name: 'Was missing' })],
        deleted: [deviceId()],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.conflicts).toEqual([]);
    expect((await stored('patients', existing)).body).toMatchObject({ version: 2, data: { name: 'After' } });
    expect((await stored('patients', missing)).body).toMatchObject({
      version: 1,
      data: { name: 'Was missing' },
    });
  });

  it('an updated_at the device did not touch is no time of an edit, so it raises no conflict', async () => {
    // A model without an updatedAt property leaves the pulled updated_at as it was.
    const id = deviceId();
    const stamp = formatHlc({ ms: Date.now(), counter: 7, node: 'zz-other-device' });
    await push(server, nurse, [
      {
        collection: 'patients',
        type: 'create',
        id,
        data: { name: 'Amina K.', village: 'Ntcheu' },
        hlc: stamp,
      },
    ]);
    const { changes, timestamp } = await wmPull(server, nurse, null);
    const sent = changes['patients']?.updated.find((r) => r.id === id);
    expect(sent?.['updated_at']).toBe(parseHlc(stamp)?.ms);
    const res = await wmPush(server, nurse, timestamp, {
      patients: { updated: [{ ...sent, id, _status: 'updated', _changed: 'village', village: 'Dedza' }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.conflicts).toEqual([]);
    expect((await stored('patients', id)).body.data).toEqual({ name: 'Amina K.', village: 'Dedza' });
  });

  it('takes the bare change set or { changes, lastPulledAt }, as JSON or as text', async () => {
    const { timestamp } = await wmPull(server, nurse, null);
    const [asText, wrapped] = [deviceId(), deviceId()];
    const text = await server.request({
      method: 'POST',
      url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
      token: nurse,
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: JSON.stringify({ patients: { created: [patientRaw(asText)], updated: [], deleted: [] } }),
    });
    expect(text.status, JSON.stringify(text.body)).toBe(200);
    const envelope = await server.request({
      method: 'POST',
      url: '/watermelon/sync/push',
      token: nurse,
      body: {
        changes: { patients: { created: [patientRaw(wrapped)], updated: [], deleted: [] } },
        lastPulledAt: timestamp,
      },
    });
    expect(envelope.status, JSON.stringify(envelope.body)).toBe(200);
    expect((await stored('patients', asText)).status).toBe(200);
    expect((await stored('patients', wrapped)).status).toBe(200);
  });

  it('refuses bad requests with the protocol error shape and changes nothing', async () => {
    const { timestamp } = await wmPull(server, nurse, null);
    const id = deviceId();
    const one = { patients: { created: [patientRaw(id)] } };
    const cases: Array<[number, string, Parameters<TestServer['request']>[0]]> = [
      [401, 'UNAUTHORIZED', { method: 'GET', url: pullUrl(null) }],
      [
        401,
        'UNAUTHORIZED',
        { method: 'POST', url: `/watermelon/sync/push?last_pulled_at=${timestamp}`, body: one },
      ],
      [
        400,
        'VALIDATION_FAILED',
        { method: 'GET', url: '/watermelon/sync/pull?last_pulled_at=yesterday', token: nurse },
      ],
      [
        400,
        'VALIDATION_FAILED',
        { method: 'GET', url: '/watermelon/sync/pull?last_pulled_at=null&migration=%7B', token: nurse },
      ],
      [400, 'VALIDATION_FAILED', { method: 'POST', url: '/watermelon/sync/push', token: nurse, body: one }],
      [
        400,
        'VALIDATION_FAILED',
        {
          method: 'POST',
          url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
          token: nurse,
          headers: { 'content-type': 'text/plain' },
          body: '{"patients": ',
        },
      ],
      [
        400,
        'VALIDATION_FAILED',
        {
          method: 'POST',
          url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
          token: nurse,
          body: { ...one, bloodBank: { created: [{ id: deviceId() }] } },
        },
      ],
      [
        400,
        'VALIDATION_FAILED',
        {
          method: 'POST',
          url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
          token: nurse,
          body: { patients: { created: [patientRaw(id), patientRaw('../etc')] } },
        },
      ],
      [
        400,
        'VALIDATION_FAILED',
        {
          method: 'POST',
          url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
          token: nurse,
          body: { patients: { created: [patientRaw(id)], deleted: [id] } },
        },
      ],
      [
        400,
        'VALIDATION_FAILED',
        {
          method: 'POST',
          url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
          token: nurse,
          body: { patients: { created: [patientRaw(id, { name: '' })] } },
        },
      ],
      [
        400,
        'VALIDATION_FAILED',
        {
          method: 'POST',
          url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
          token: nurse,
          body: { patients: { created: 'all of them' } },
        },
      ],
    ];
    for (const [status, code, request] of cases) {
      const res = await server.request<ErrorBody>(request);
      expect(
        [res.status, res.body.error?.code],
        `${request.method} ${request.url} ${JSON.stringify(request.body)}`,
      ).toEqual([status, code]);
      expect(typeof res.body.error.message).toBe('string');
    }
    expect((await stored('patients', id)).status).toBe(404);

    // A local table of the app's own that has nothing to push is no error.
    const fine = await wmPush(server, nurse, timestamp, {
      ...one,
      appSettings: { created: [], updated: [], deleted: [] },
    });
    expect(fine.status, JSON.stringify(fine.body)).toBe(200);
  });

  it('refuses a push sent as text whose change set zod would read as less, whole, and stores nothing', async () => {
    const { timestamp } = await wmPull(server, nurse, null);
    const [underProto, protoColumn, deepColumn, halfChar, inEnvelope] = [
      deviceId(),
      deviceId(),
      deviceId(),
      deviceId(),
      deviceId(),
    ];
    const table = (id: string, columns: Record<string, unknown> = {}) =>
      JSON.stringify({ created: [patientRaw(id, columns)], updated: [], deleted: [] });
    // Built as text: JSON.stringify cannot write a value this deep, nor a key named __proto__.
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const bodies: Array<[string, string]> = [
      ['a table under __proto__', `{"__proto__":{"patients":${table(underProto)}}}`],
      [
        'a record with a __proto__ key',
        `{"patients":${table(protoColumn, { village: 'VILLAGE' }).replace('"village":"VILLAGE"', '"__proto__":{"village":"Dedza"}')}}`,
      ],
      [
        'a column nested 20 000 levels deep',
        `{"patients":${table(deepColumn, { notes: 'DEEP' }).replace('"DEEP"', deep)}}`,
      ],
      ['a column with half of a character', `{"patients":${table(halfChar, { name: 'cut \ud83d' })}}`],
      [
        'the envelope with a table under __proto__',
        `{"changes":{"__proto__":{"patients":${table(inEnvelope)}}},"lastPulledAt":${timestamp}}`,
      ],
    ];
    for (const [what, body] of bodies) {
      for (const contentType of ['text/plain;charset=UTF-8', 'application/json']) {
        const res = await server.request<ErrorBody>({
          method: 'POST',
          url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
          token: nurse,
          headers: { 'content-type': contentType },
          body,
        });
        expect([res.status, res.body.error?.code], `${what} as ${contentType}`).toEqual([
          400,
          'VALIDATION_FAILED',
        ]);
        expect(typeof res.body.error.message).toBe('string');
      }
    }
    for (const id of [underProto, protoColumn, deepColumn, halfChar, inEnvelope]) {
      expect((await stored('patients', id)).status).toBe(404);
    }
    expect((await wmPull(server, nurse, timestamp)).changes).toEqual({});
  });

  it('refuses a table with a list the protocol does not name, naming it, and stores nothing', async () => {
    const kept = deviceId();
    expect(
      (
        await push(server, nurse, [
          { collection: 'patients', type: 'create', id: kept, data: { name: 'Kept' } },
        ])
      ).results[0]?.status,
    ).toBe('applied');
    const { timestamp } = await wmPull(server, nurse, null);
    const [misspelt, capital] = [deviceId(), deviceId()];
    const cases: Array<[string, Changes | Record<string, unknown>]> = [
      ['updatd', { patients: { updatd: [patientRaw(misspelt, { _status: 'updated' })] } }],
      ['Created', { patients: { Created: [patientRaw(capital)] } }],
      ['deleted_ids', { patients: { created: [], updated: [], deleted_ids: [kept] } }],
    ];
    for (const [key, changes] of cases) {
      for (const request of [
        { headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: JSON.stringify(changes) },
        { body: changes },
        { url: '/watermelon/sync/push', body: { changes, lastPulledAt: timestamp } },
      ]) {
        const res = await server.request<ErrorBody>({
          method: 'POST',
          url: `/watermelon/sync/push?last_pulled_at=${timestamp}`,
          token: nurse,
          ...request,
        });
        expect([res.status, res.body.error?.code], `${key} ${JSON.stringify(request)}`).toEqual([
          400,
          'VALIDATION_FAILED',
        ]);
        expect(res.body.error.message).toContain(`"${key}"`);
        expect(res.body.error.details).toEqual([
          { path: 'patients', message: expect.stringContaining(`"${key}"`) },
        ]);
      }
    }
    expect((await stored('patients', misspelt)).status).toBe(404);
    expect((await stored('patients', capital)).status).toBe(404);
    expect((await stored('patients', kept)).body).toMatchObject({ deleted: false, data: { name: 'Kept' } });
    expect((await wmPull(server, nurse, timestamp)).changes).toEqual({});
  });

  it("another clinic's token sees none of clinic-a's records and cannot change them", async () => {
    const id = deviceId();
    const { timestamp } = await wmPull(server, nurse, null);
    expect(
      (
        await wmPush(server, nurse, timestamp, {
          patients: { created: [patientRaw(id, { name: 'Clinic A patient' })] },
        })
      ).status,
    ).toBe(200);
    const clinicA = new Set((await pullAll(server, nurse)).changes.map((c) => c.id));

    const other = await server.token('nurse@clinic-b.test');
    const seen = await wmPull(server, other, null);
    const ids = Object.values(seen.changes).flatMap((t) => [...t.updated.map((r) => r.id), ...t.deleted]);
    expect(ids.filter((x) => clinicA.has(x))).toEqual([]);

    // Naming clinic-a's id from clinic-b touches only clinic-b's own record of that id.
    const pushed = await wmPush(server, other, seen.timestamp, {
      patients: { updated: [patientRaw(id, { _status: 'updated', name: 'Not yours' })] },
    });
    expect(pushed.status).toBe(200);
    expect(
      (
        await wmPush(server, other, (await wmPull(server, other, seen.timestamp)).timestamp, {
          patients: { deleted: [id] },
        })
      ).status,
    ).toBe(200);
    expect((await stored('patients', id)).body).toMatchObject({
      deleted: false,
      data: { name: 'Clinic A patient' },
    });
  });

  it('sends every record of a table a device added in a migration', async () => {
    const encounterPatient = deviceId();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: encounterPatient, data: { name: 'Has a visit' } },
      {
        collection: 'encounters',
        type: 'create',
        id: 'visit-before-migration',
        data: { patientId: encounterPatient },
      },
    ]);
    const { timestamp } = await wmPull(server, nurse, null);
    expect((await wmPull(server, nurse, timestamp)).changes).toEqual({});
    const migrated = await wmPull(server, nurse, timestamp, {
      from: 1,
      tables: ['encounters', 'notATable'],
      columns: [],
    });
    expect(migrated.changes['encounters']?.updated.map((r) => r.id)).toContain('visit-before-migration');
    expect(migrated.changes['patients']).toBeUndefined();
  });

  it("a device that may read a collection only since its last pull gets that collection's older records", async () => {
    const access = encountersGrantedLater();
    const clinic = await startTestServer(kind, { schema: access.schema });
    try {
      const token = await clinic.token('nurse@clinic-a.test');
      const patientId = deviceId();
      await push(clinic, await clinic.token('admin@clinic-a.test'), [
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Grace M.' } },
        { collection: 'encounters', type: 'create', id: 'visit-before-access', data: { patientId } },
        { collection: 'patients', type: 'create', id: deviceId(), data: { name: 'Registered later' } },
      ]);
      const first = await wmPull(clinic, token, null);
      expect(Object.keys(first.changes)).toEqual(['patients']);
      expect(first.changes['patients']?.updated).toHaveLength(2);

      // The clinic lets clinicians read encounters: the visit is older than the device's last pull.
      access.grantEncounters();
      const next = await wmPull(clinic, token, first.timestamp);
      expect(next.changes).toEqual({
        encounters: {
          created: [],
          updated: [expect.objectContaining({ id: 'visit-before-access', patientId })],
          deleted: [],
        },
      });
      // Sent once: from then on the device's timestamp says it reads encounters.
      expect((await wmPull(clinic, token, next.timestamp)).changes).toEqual({});
    } finally {
      await clinic.close();
      await clinic.storage.destroy();
    }
  });

  it('a timestamp given before timestamps carried what the device reads still misses nothing', async () => {
    const { timestamp } = await wmPull(server, nurse, null);
    // What this server answered before: the change position plus one.
    const before = Math.floor(timestamp / 4096);
    const patientId = deviceId();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Yamikani T.' } },
    ]);
    const again = await wmPull(server, nurse, before);
    expect(again.changes['patients']?.updated.map((r) => r.id)).toContain(patientId);
    expect((await wmPull(server, nurse, again.timestamp)).changes).toEqual({});
  });

  it('pulls that follow the timestamp while pushes run concurrently miss nothing', async () => {
    const replica = new Map<string, RawRecord>();
    let timestamp: number | null = null;
    let pushing = true;
    const pushers = Promise.all(
      Array.from({ length: 4 }, async (_, p) => {
        const clock = new HlcClock({ node: `pusher-${p}` });
        const mine: string[] = [];
        for (let batch = 0; batch < 8; batch++) {
          const ops = Array.from({ length: 15 }, (_, n) => {
            if (n % 5 === 4 && mine.length > 0) {
              return {
                opId: opId(),
                collection: 'patients',
                type: 'delete',
                id: mine.shift() ?? '',
                hlc: clock.tick(),
              };
            }
            const id = deviceId();
            mine.push(id);
            return {
              opId: opId(),
              collection: 'patients',
              type: 'create',
              id,
              data: { name: `P${p}-${batch}-${n}` },
              hlc: clock.tick(),
            };
          });
          const res = await server.request<{ results: Array<{ status: string }> }>({
            method: 'POST',
            url: '/v1/sync/push',
            token: nurse,
            body: { clientId: `pusher-${p}`, deviceId: `pusher-${p}`, ops },
          });
          expect(res.body.results.filter((r) => r.status !== 'applied')).toEqual([]);
        }
      }),
    ).finally(() => {
      pushing = false;
    });
    let pulls = 0;
    for (;;) {
      const stillPushing = pushing;
      const page = await wmPull(server, nurse, timestamp);
      pulls += 1;
      for (const r of page.changes['patients']?.updated ?? []) replica.set(r.id, r);
      for (const id of page.changes['patients']?.deleted ?? []) replica.delete(id);
      timestamp = page.timestamp;
      if (!stillPushing) break;
      // A device's next pull waits for the network; app.inject's does not. On SQLite a pull can run
      // start to end in microtasks, so without this turn of the event loop the pushers never would.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await pushers;
    expect(pulls).toBeGreaterThan(1);

    const truth = new Map<string, Change>();
    for (const c of (await pullAll(server, nurse, { collections: 'patients' })).changes) {
      if (c.deleted) truth.delete(c.id);
      else truth.set(c.id, c);
    }
    expect([...replica.keys()].sort()).toEqual([...truth.keys()].sort());
    for (const [id, c] of truth) expect(replica.get(id)?.['name']).toBe(c.data?.['name']);
  });
});

describe.each(dialects())('WatermelonDB protocol edge cases on %s', (kind) => {
  it('ids the server assigns: a device cannot create such records, and changes the ones it was sent', async () => {
    const server = await startTestServer(kind, { server: { tenantSchemas: { 'vet-a': vetPractice } } });
    try {
      const vet = await server.token('vet@vet-a.test');
      const made = await push(server, vet, [
        {
          collection: 'users',
          type: 'create',
          id: 'temp_1730534400000_a7b3c2_users',
          data: { name: 'Owner' },
        },
      ]);
      const ownerId = made.idMappings[0]?.id ?? '';
      const { changes, timestamp } = await wmPull(server, vet, null);
      expect(changes['users']?.updated).toEqual([expect.objectContaining({ id: ownerId, name: 'Owner' })]);

      const refused = await wmPush(server, vet, timestamp, {
        pets: { created: [{ id: deviceId(), name: 'Rex', species: null, ownerId }] },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toMatch(/^pets ids are assigned by the server/);

      const renamed = await wmPush(server, vet, timestamp, {
        users: { updated: [{ id: ownerId, name: 'Owner Renamed', email: null, role: null }] },
      });
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
      const res = await server.request<RecordResponse>({
        method: 'GET',
        url: `/v1/records/users/${ownerId}`,
        token: vet,
      });
      expect(res.body.data).toEqual({ name: 'Owner Renamed' });
      expect((await pullAll(server, vet)).changes.filter((c) => c.collection === 'pets')).toEqual([]);
    } finally {
      await server.close();
      await server.storage.destroy();
    }
  });

  it('a lastPulledAt older than purged deletions is told to start over', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const server = await startTestServer(kind, { server: { now: () => now, tombstoneRetentionDays: 30 } });
    try {
      let token = await server.token('nurse@clinic-a.test');
      const before = await wmPull(server, token, null);
      const id = deviceId();
      await push(server, token, [
        { collection: 'patients', type: 'create', id, data: { name: 'Soon gone' } },
        { collection: 'patients', type: 'delete', id },
      ]);
      now = new Date('2026-03-01T00:00:00Z');
      expect(await server.app.outpost.store.purgeTombstones('2026-02-01T00:00:00Z')).toBe(1);
      // The first token expired while time moved on; another user of the clinic signs in now.
      token = await server.token('admin@clinic-a.test');

      const expired = await server.request<ErrorBody>({
        method: 'GET',
        url: pullUrl(before.timestamp),
        token,
      });
      expect(expired.status).toBe(410);
      expect(expired.body.error.code).toBe('CURSOR_EXPIRED');
      const fresh = await wmPull(server, token, null);
      expect((await wmPull(server, token, fresh.timestamp)).changes).toEqual({});
    } finally {
      await server.close();
      await server.storage.destroy();
    }
  });
});
