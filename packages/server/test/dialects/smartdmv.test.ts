// Seed 001's SmartDMV API (POST /api/sync/push, GET /api/sync/pull) on the engine, replayed with the
// seed's own bodies, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempId, uuidv7 } from '@outpost/core';
import type { Change } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from '../server-fixture';
import type { TestServer } from '../server-fixture';
import { applyChanges, pullAll, push } from '../sync-client';

interface SeedResult {
  operationId?: unknown;
  success: boolean;
  entityType: string;
  realId?: number;
  tempId?: string;
  version?: number;
  duplicate?: true;
  conflict?: true;
  conflictData?: {
    localData: Record<string, unknown> | null;
    serverData: Record<string, unknown> | null;
    conflictType: string;
    affectedFields: string[];
    conflictId?: string;
    resolution: string;
  };
  error?: { code: string; message: string; details?: unknown };
}
interface PushAnswer {
  success: boolean;
  processed: number;
  failed: number;
  conflicts: number;
  results: SeedResult[];
}
interface SeedChange {
  entityType: string;
  operation: 'create' | 'update' | 'delete';
  data: Record<string, unknown>;
  id: number;
  version: number;
  updatedAt: string;
}
interface PullAnswer {
  success: boolean;
  timestamp: number;
  changes: SeedChange[];
  hasMore: boolean;
  nextTimestamp: string;
}

const errorShape = { error: { code: expect.any(String), message: expect.any(String) } };
const tenantSchemas = { 'vet-a': vetPractice };

describe.each(dialects())('SmartDMV push and pull (seed 001) on %s', (kind) => {
  let server: TestServer;
  let vet: string;
  let nurse: string;
  /** Pet 123's owner, in the practice where users 1..456 and pets 1..123 exist. */
  let ownerOfPet123: number;

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { tenantSchemas } });
    vet = await server.token('vet@vet-a.test');
    nurse = await server.token('nurse@clinic-a.test');
    // The seed's example names pet 123 and practitioner 456: make a practice where they exist.
    const users = await seedPush({
      operations: Array.from({ length: 456 }, (_, i) => ({
        operation: 'create',
        entityType: 'users',
        tempId: `temp_user_${i + 1}`,
        data: { name: `Person ${i + 1}`, role: i < 400 ? 'CLIENT' : 'VET' },
      })),
    });
    expect(users.results.map((r) => r.realId)).toEqual(Array.from({ length: 456 }, (_, i) => i + 1));
    ownerOfPet123 = 42;
    const pets = await seedPush({
      operations: Array.from({ length: 123 }, (_, i) => ({
        operation: 'create',
        entityType: 'pets',
        tempId: `temp_pet_${i + 1}`,
        data: { name: `Pet ${i + 1}`, species: 'dog', ownerId: i === 122 ? ownerOfPet123 : 1 + (i % 400) },
      })),
    });
    expect(pets.results.at(-1)).toMatchObject({ success: true, realId: 123 });
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function seedPush(body: unknown, token = vet): Promise<PushAnswer> {
    const res = await server.request<PushAnswer>({ method: 'POST', url: '/api/sync/push', token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  async function seedPull(query: string, token = vet): Promise<PullAnswer> {
    const res = await server.request<PullAnswer>({ method: 'GET', url: `/api/sync/pull?${query}`, token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  /** Seed 001's own pagination loop, run as the seed writes it. */
  async function seedPullAll(
    from: unknown = 0,
    query = '',
    between: () => Promise<void> = async () => {},
  ): Promise<{ changes: SeedChange[]; last: unknown; pages: number }> {
    let hasMore = true;
    let lastTimestamp = from;
    const changes: SeedChange[] = [];
    let pages = 0;
    while (hasMore) {
      const data = await seedPull(`lastSyncTimestamp=${String(lastTimestamp)}${query}`);
      changes.push(...data.changes);
      pages += 1;
      hasMore = data.hasMore;
      lastTimestamp = data.nextTimestamp || data.timestamp;
      if (hasMore) await between();
    }
    return { changes, last: lastTimestamp, pages };
  }

  async function record(collection: string, id: number | string) {
    const res = await server.request<{ version: number; deleted: boolean; data: Record<string, unknown> }>({
      method: 'GET',
      url: `/v1/records/${collection}/${id}`,
      token: vet,
    });
    return res;
  }

  /** What a SmartDMV device holds after applying changes: entityType/id -> version and data. */
  function seedReplica(changes: readonly SeedChange[], into = new Map<string, SeedChange>()) {
    for (const c of changes) {
      if (c.operation === 'delete') into.delete(`${c.entityType}/${c.id}`);
      else into.set(`${c.entityType}/${c.id}`, c);
    }
    return into;
  }

  /** The server's state through v1 pull, in the seed's terms: ids and references as numbers, the id in data. */
  async function serverState(collections?: string): Promise<Map<string, { version: number; data: unknown }>> {
    const replica = new Map<string, Change>();
    applyChanges(replica, (await pullAll(server, vet, collections ? { collections } : {})).changes);
    const refs = new Set(['ownerId', 'petId', 'practitionerId', 'clientId', 'appointmentId']);
    return new Map(
      [...replica.values()].map((c) => [
        `${c.collection}/${c.id}`,
        {
          version: c.version,
          data: {
            id: Number(c.id),
            ...Object.fromEntries(
              Object.entries(c.data ?? {}).map(([f, v]) => [f, refs.has(f) ? Number(v) : v]),
            ),
          },
        },
      ]),
    );
  }

  function asState(replica: Map<string, SeedChange>) {
    return new Map([...replica].map(([k, c]) => [k, { version: c.version, data: c.data }]));
  }

  it('replays the seed’s offline appointment: no clientId sent, the pet’s owner becomes the client', async () => {
    // Step 1 and 3 of "Creating an Appointment Offline", as the seed writes them.
    const appointment = {
      title: 'Checkup',
      type: 'checkup',
      date: new Date(),
      durationMinutes: 30,
      petId: 123,
      practitionerId: 456,
      practiceId: 1,
      // Note: NO clientId in request
    };
    const answer = await seedPush({
      operations: [
        {
          operation: 'create',
          entityType: 'appointments',
          data: { ...appointment },
          tempId: 'temp_appt_12345',
        },
      ],
    });
    // Step 5: the client receives the id mapping.
    expect(answer.results).toEqual([
      {
        tempId: 'temp_appt_12345',
        realId: expect.any(Number),
        success: true,
        entityType: 'appointments',
        version: 1,
      },
    ]);
    const stored = await record('appointments', answer.results[0]?.realId ?? 0);
    expect(stored.body.data).toEqual({
      title: 'Checkup',
      type: 'checkup',
      date: appointment.date.toISOString(),
      durationMinutes: 30,
      petId: '123',
      practitionerId: '456',
      practiceId: 1,
      clientId: String(ownerOfPet123),
    });
    // Through the seed's pull the ids are the integers its database uses.
    const pulled = await seedPullAll(0, '&entityTypes=appointments');
    expect(pulled.changes.find((c) => c.id === answer.results[0]?.realId)?.data).toMatchObject({
      id: answer.results[0]?.realId,
      petId: 123,
      practitionerId: 456,
      clientId: ownerOfPet123,
    });
  });

  it('answers the seed’s push request format with its response format, a timestamp conflict included', async () => {
    const existing = await seedPush({
      operations: [
        {
          operation: 'create',
          entityType: 'appointments',
          tempId: 'temp_appt_conflict',
          data: { title: 'Checkup', date: '2024-11-10T12:00:00.000Z', petId: 12 },
          timestamp: 1699564700000,
        },
      ],
    });
    const apptId = existing.results[0]?.realId ?? 0;
    // Someone at the practice moves the appointment after the device last synced.
    const v1 = await push(server, vet, [
      {
        collection: 'appointments',
        type: 'update',
        id: String(apptId),
        baseVersion: 1,
        data: { title: 'Vaccination', date: '2024-11-11T09:00:00.000Z' },
      },
    ]);
    expect(v1.results[0]?.status).toBe('applied');

    const answer = await seedPush({
      operations: [
        {
          id: 1,
          operation: 'create',
          entityType: 'appointments',
          entityId: 'temp_123',
          data: { title: 'Dental', date: '2024-11-12T10:00:00.000Z', petId: 7, durationMinutes: 45 },
          timestamp: 1699564800000,
          version: 1,
          userId: 'user_123',
          practiceId: 1,
          tenantId: 'smartvet',
        },
        {
          id: 2,
          operation: 'update',
          entityType: 'appointments',
          entityId: apptId,
          data: { title: 'Checkup (moved)', date: '2024-11-10T15:00:00.000Z' },
          timestamp: 1699564800000,
          userId: 'user_123',
          practiceId: 1,
          tenantId: 'smartvet',
        },
      ],
      clientTimestamp: 1699564800000,
    });
    expect(answer).toEqual({
      success: true,
      processed: 1,
      failed: 0,
      conflicts: 1,
      results: [
        {
          operationId: 1,
          success: true,
          realId: expect.any(Number),
          tempId: 'temp_123',
          entityType: 'appointments',
          version: 1,
        },
        {
          operationId: 2,
          success: false,
          conflict: true,
          entityType: 'appointments',
          realId: apptId,
          version: 2,
          conflictData: {
            localData: { id: apptId, title: 'Checkup (moved)', date: '2024-11-10T15:00:00.000Z' },
            serverData: expect.objectContaining({
              id: apptId,
              title: 'Vaccination',
              date: '2024-11-11T09:00:00.000Z',
              petId: 12,
            }),
            conflictType: 'timestamp',
            affectedFields: ['date', 'title'],
            conflictId: expect.any(String),
            resolution: 'server-won',
            serverVersion: 2,
          },
        },
      ],
    });
    // Appointments settle last-write-wins: the older change lost and the server's version stands.
    expect((await record('appointments', apptId)).body).toMatchObject({
      version: 2,
      data: { title: 'Vaccination' },
    });
  });

  it('answers the seed’s pull request with its response format, and its loop reaches the server’s state', async () => {
    const first = await seedPull(
      'lastSyncTimestamp=1699564800000&practiceId=1&entityTypes=appointments,pets',
    );
    expect(first).toEqual({
      success: true,
      timestamp: expect.any(Number),
      changes: expect.any(Array),
      hasMore: true,
      nextTimestamp: expect.any(String),
    });
    // A real time cannot be placed in commit order, so it reads as a first sync: from the start.
    expect(first.changes).toHaveLength(100);
    expect(first.changes[0]).toEqual({
      entityType: 'pets',
      operation: 'create',
      data: { id: 1, name: 'Pet 1', species: 'dog', ownerId: 1 },
      id: 1,
      version: 1,
      updatedAt: expect.any(String),
    });
    expect(new Set(first.changes.map((c) => c.entityType))).toEqual(new Set(['pets']));

    const all = await seedPullAll(0);
    expect(all.pages).toBeGreaterThan(5);
    expect(asState(seedReplica(all.changes))).toEqual(await serverState());
    // Where the loop stopped is where the next sync starts: nothing new, nothing repeated.
    expect((await seedPull(`lastSyncTimestamp=${String(all.last)}`)).changes).toEqual([]);
  });

  it('pages with hasMore/nextTimestamp to exactly the server’s state while pushes interleave', async () => {
    let round = 0;
    // Between pages, v1 and the seed's push write at once: records already pulled change, new ones
    // appear, one is deleted.
    const writes = async () => {
      round += 1;
      await Promise.all([
        push(server, vet, [
          { collection: 'pets', type: 'update', id: String(round), data: { species: `cat ${round}` } },
          {
            collection: 'users',
            type: 'create',
            id: makeTempId('users'),
            data: { name: `v1 owner ${round}` },
          },
        ]),
        seedPush({
          operations: [
            {
              operation: 'update',
              entityType: 'pets',
              entityId: 60 + round,
              data: { name: `Renamed ${round}` },
              timestamp: Date.now(),
            },
            {
              operation: 'create',
              entityType: 'pets',
              tempId: `temp_pet_round_${round}_${uuidv7()}`,
              data: { name: `New ${round}`, ownerId: 3 },
            },
            ...(round === 3
              ? [{ operation: 'delete', entityType: 'pets', entityId: 50, timestamp: Date.now() }]
              : []),
          ],
        }),
      ]);
    };
    const paged = await seedPullAll(0, '&limit=40', writes);
    expect(round).toBeGreaterThan(10);
    const replica = seedReplica(paged.changes);
    // The last round's writes may land after the last page: the next sync picks them up.
    seedReplica((await seedPullAll(paged.last, '&limit=40')).changes, replica);
    expect(asState(replica)).toEqual(await serverState());
    expect(replica.has('pets/50')).toBe(false);
    expect(replica.get('pets/61')?.data['name']).toBe('Renamed 1');
  });

  it('maps temp ids to real ids, and later operations may still name a record by its temp id', async () => {
    const first = await seedPush({
      operations: [
        { operation: 'create', entityType: 'users', tempId: 'temp_owner_a', data: { name: 'Ruth Banda' } },
        {
          operation: 'create',
          entityType: 'pets',
          tempId: 'temp_pet_a',
          data: { name: 'Simba', ownerId: 'temp_owner_a' },
        },
        {
          operation: 'create',
          entityType: 'appointments',
          tempId: 'temp_appt_a',
          data: { title: 'Limping', date: '2024-12-01T08:00:00Z', petId: 'temp_pet_a' },
        },
      ],
    });
    expect(first.results.map((r) => [r.tempId, r.success])).toEqual([
      ['temp_owner_a', true],
      ['temp_pet_a', true],
      ['temp_appt_a', true],
    ]);
    const [owner, pet, appt] = first.results.map((r) => r.realId ?? 0);
    expect((await record('appointments', appt ?? 0)).body.data).toMatchObject({
      petId: String(pet),
      clientId: String(owner),
    });

    // A later push from the same device still says temp_appt_a, as an offline device would.
    const later = await seedPush({
      operations: [
        {
          operation: 'update',
          entityType: 'appointments',
          entityId: 'temp_appt_a',
          data: { durationMinutes: 20 },
          version: 1,
        },
        {
          operation: 'create',
          entityType: 'soapNotes',
          tempId: 'temp_note_a',
          data: { appointmentId: 'temp_appt_a', subjective: 'Limping on the left foreleg' },
        },
      ],
    });
    expect(later.results).toMatchObject([
      { success: true, realId: appt, tempId: 'temp_appt_a', version: 2 },
      { success: true, tempId: 'temp_note_a' },
    ]);
    expect((await record('soapNotes', later.results[1]?.realId ?? 0)).body.data).toEqual({
      appointmentId: String(appt),
      subjective: 'Limping on the left foreleg',
    });
  });

  it('derives clientId, refuses an appointment for a missing pet clearly, and coerces date and duration', async () => {
    const answer = await seedPush({
      operations: [
        {
          operation: 'create',
          entityType: 'appointments',
          tempId: 'temp_appt_offset',
          // A device that sends a client anyway: the pet's owner replaces it.
          data: { date: '2024-11-10T14:00:00+02:00', durationMinutes: '45', petId: 123, clientId: 7 },
        },
        {
          operation: 'create',
          entityType: 'appointments',
          tempId: 'temp_appt_nopet',
          data: { title: 'Ghost', date: '2024-11-10T12:00:00Z', petId: 999999 },
        },
        {
          operation: 'create',
          entityType: 'appointments',
          tempId: 'temp_appt_epoch',
          data: { date: 1731240000000, durationMinutes: 30, petId: 5 },
        },
        {
          operation: 'create',
          entityType: 'appointments',
          tempId: 'temp_appt_baddate',
          data: { date: 'next tuesday', petId: 5 },
        },
      ],
    });
    expect(answer).toMatchObject({ processed: 2, failed: 2, conflicts: 0 });
    const [offset, nopet, epoch, baddate] = answer.results;
    expect(nopet).toEqual({
      success: false,
      entityType: 'appointments',
      tempId: 'temp_appt_nopet',
      error: {
        code: 'UNRESOLVED_REFERENCE',
        message: 'petId points to a pets record that does not exist',
        details: { field: 'petId', collection: 'pets', id: '999999' },
      },
    });
    expect(baddate?.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('date'),
    });
    expect((await record('appointments', offset?.realId ?? 0)).body.data).toMatchObject({
      date: '2024-11-10T12:00:00.000Z',
      durationMinutes: 45,
      clientId: String(ownerOfPet123),
    });
    expect((await record('appointments', epoch?.realId ?? 0)).body.data).toMatchObject({
      date: new Date(1731240000000).toISOString(),
      durationMinutes: 30,
    });
  });

  it('applies a resent operation once, and retries one that was refused once its cause is fixed', async () => {
    const body = {
      operations: [
        {
          id: 31,
          operation: 'create',
          entityType: 'appointments',
          tempId: 'temp_appt_waits_for_pet',
          data: { date: '2024-12-02T09:00:00Z', petId: 'temp_pet_late' },
          timestamp: 1733130000000,
        },
      ],
    };
    // The pet's create has not reached the server yet: refused, and nothing stored.
    const refused = await seedPush(body);
    expect(refused.results[0]?.error?.code).toBe('UNRESOLVED_REFERENCE');
    expect(refused.results[0]?.error?.message).toContain('temp_pet_late');

    await seedPush({
      operations: [
        {
          id: 30,
          operation: 'create',
          entityType: 'pets',
          tempId: 'temp_pet_late',
          data: { name: 'Late', ownerId: 2 },
          timestamp: 1733129990000,
        },
      ],
    });
    // The device's queue retries the same operation unchanged: now it applies.
    const retried = await seedPush(body);
    expect(retried.results[0]).toMatchObject({
      success: true,
      tempId: 'temp_appt_waits_for_pet',
      version: 1,
    });
    const { cursor } = await pullAll(server, vet);

    // The answer was lost and the device sends it again: the first outcome, nothing applied twice.
    const again = await seedPush(body);
    expect(again.results[0]).toEqual({ ...retried.results[0], duplicate: true });
    const updateBody = {
      operations: [
        {
          id: 32,
          operation: 'update',
          entityType: 'appointments',
          entityId: retried.results[0]?.realId,
          data: { title: 'Vaccination' },
          timestamp: 1733130100000,
        },
      ],
    };
    expect((await seedPush(updateBody)).results[0]).toMatchObject({ success: true, version: 2 });
    expect((await seedPush(updateBody)).results[0]).toMatchObject({
      success: true,
      version: 2,
      duplicate: true,
    });
    const changes = (await pullAll(server, vet, { cursor })).changes;
    expect(changes.map((c) => [c.collection, c.version])).toEqual([['appointments', 2]]);
  });

  it('shows changes made through v1 in the seed’s pull, and the seed’s pushes in v1 pull', async () => {
    const seedStart = (await seedPullAll(0)).last;
    const v1Start = (await pullAll(server, vet)).cursor;

    const owner = makeTempId('users');
    const v1 = await push(server, vet, [
      { collection: 'users', type: 'create', id: owner, data: { name: 'Grace', role: 'CLIENT' } },
      { collection: 'pets', type: 'create', id: makeTempId('pets'), data: { name: 'Rex', ownerId: owner } },
    ]);
    const [grace, rex] = v1.results.map((r) => Number(r.id));
    const seen = await seedPullAll(seedStart);
    expect(seen.changes).toEqual([
      expect.objectContaining({
        entityType: 'users',
        id: grace,
        operation: 'create',
        data: { id: grace, name: 'Grace', role: 'CLIENT' },
      }),
      expect.objectContaining({
        entityType: 'pets',
        id: rex,
        data: { id: rex, name: 'Rex', ownerId: grace },
      }),
    ]);

    // The device edits the pet it pulled and sends the whole entity back, as the seed's push does.
    const pulledRex = seen.changes[1];
    const edit = await seedPush({
      operations: [
        {
          operation: 'update',
          entityType: 'pets',
          entityId: rex,
          data: { ...pulledRex?.data, species: 'dog', updatedAt: pulledRex?.updatedAt },
          version: pulledRex?.version,
          timestamp: Date.now(),
        },
      ],
    });
    expect(edit.results[0]).toMatchObject({ success: true, version: 2 });
    const v1Seen = await pullAll(server, vet, { cursor: v1Start });
    expect(v1Seen.changes.find((c) => c.collection === 'pets')).toMatchObject({
      id: String(rex),
      version: 2,
      data: { name: 'Rex', ownerId: String(grace), species: 'dog' },
    });
  });

  it('keeps every practice to itself: another tenant sees and changes nothing, whatever practiceId says', async () => {
    const vetPage = await seedPull('lastSyncTimestamp=&entityTypes=appointments');
    // practiceId is not the tenant: the token is. Any value gives the same answer.
    const named = await seedPull('lastSyncTimestamp=&entityTypes=appointments&practiceId=clinic-a');
    expect(named.changes).toEqual(vetPage.changes);

    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Amina K.' } },
    ]);
    for (const practiceId of ['vet-a', '1', '']) {
      const other = await seedPull(`lastSyncTimestamp=0&practiceId=${practiceId}`, nurse);
      expect(other.changes.map((c) => c.entityType)).toEqual(['patients']);
    }
    const appts = await server.request({
      method: 'GET',
      url: '/api/sync/pull?entityTypes=appointments&practiceId=vet-a',
      token: nurse,
    });
    expect(appts.status).toBe(400);
    // A vet-a position means nothing in clinic-a.
    const borrowed = await server.request({
      method: 'GET',
      url: `/api/sync/pull?lastSyncTimestamp=${encodeURIComponent(vetPage.nextTimestamp)}`,
      token: nurse,
    });
    expect(borrowed.status).toBe(400);
    expect(borrowed.body).toMatchObject(errorShape);

    const before = await record('appointments', 1);
    const write = await seedPush(
      {
        operations: [
          {
            operation: 'update',
            entityType: 'appointments',
            entityId: 1,
            data: { title: 'Hijacked' },
            practiceId: 1,
            tenantId: 'vet-a',
          },
        ],
      },
      nurse,
    );
    expect(write.results[0]).toMatchObject({ success: false, error: { code: 'UNKNOWN_COLLECTION' } });
    expect((await record('appointments', 1)).body).toEqual(before.body);
  });

  it('refuses a bad body whole with 400 and the error shape, and stores nothing', async () => {
    const { cursor } = await pullAll(server, vet);
    const opsBefore = (await server.app.outpost.store.countOps('vet-a', {})).total;
    const bad: Array<{ method: 'GET' | 'POST'; url: string; body?: unknown; status?: number }> = [
      { method: 'POST', url: '/api/sync/push', body: '{"operations": [' },
      { method: 'POST', url: '/api/sync/push', body: [] },
      { method: 'POST', url: '/api/sync/push', body: {} },
      { method: 'POST', url: '/api/sync/push', body: { operations: 'create' } },
      { method: 'POST', url: '/api/sync/push', body: { operations: null } },
      { method: 'POST', url: '/api/sync/push', body: '"just a string"' },
      {
        method: 'POST',
        url: '/api/sync/push',
        body: {
          operations: Array.from({ length: 1001 }, (_, i) => ({
            operation: 'create',
            entityType: 'users',
            tempId: `temp_too_many_${i}`,
            data: { name: 'x' },
          })),
        },
        status: 413,
      },
      { method: 'GET', url: '/api/sync/pull?lastSyncTimestamp=not-a-time-or-cursor' },
      { method: 'GET', url: '/api/sync/pull?lastSyncTimestamp=1.0.AAAAAAAAAAAAAAAAAAAAAA' },
      { method: 'GET', url: '/api/sync/pull?entityTypes=appointments,unicorns' },
      { method: 'GET', url: '/api/sync/pull?limit=0' },
      { method: 'GET', url: '/api/sync/pull?limit=lots' },
    ];
    for (const req of bad) {
      const res = await server.request({ ...req, token: vet });
      expect(res.status, `${req.url} ${JSON.stringify(req.body)?.slice(0, 60)}`).toBe(req.status ?? 400);
      expect(res.body).toMatchObject(errorShape);
    }
    expect((await pullAll(server, vet, { cursor })).changes).toEqual([]);
    expect((await server.app.outpost.store.countOps('vet-a', {})).total).toBe(opsBefore);

    // An operation that is wrong on its own is refused alone; the others apply.
    const mixed = await seedPush({
      operations: [
        'not an operation',
        { operation: 'frobnicate', entityType: 'pets', entityId: 1, data: {} },
        { operation: 'update', entityType: 'pets', entityId: 1, data: { name: 'Ok' }, timestamp: 'soonish' },
        { operation: 'update', entityType: 'pets', entityId: 1, data: { name: 'Ok' }, version: 'one' },
        { operation: 'update', entityType: 'pets', entityId: 1, data: { wings: 2 } },
        { operation: 'update', entityType: 'pets', entityId: 2, data: { species: 'parrot' } },
      ],
    });
    expect(mixed.results.map((r) => r.error?.code ?? r.success)).toEqual([
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      true,
    ]);
    expect(mixed.results[2]?.error?.details).toEqual({ field: 'timestamp' });
    expect((await pullAll(server, vet, { cursor })).changes.map((c) => [c.collection, c.id])).toEqual([
      ['pets', '2'],
    ]);
  });

  it('refuses an operation no record could hold alone, before anything hashes it; the others apply', async () => {
    const { cursor } = await pullAll(server, vet);
    const opsBefore = (await server.app.outpost.store.countOps('vet-a', {})).total;
    const petBefore = (await record('pets', 3)).body;
    // JSON.stringify cannot write a value this deep (neither could the server): built as text.
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const operations = [
      { id: 801, operation: 'update', entityType: 'pets', entityId: 3, data: { name: 'DEEP' } },
      { id: 'DEEP', operation: 'update', entityType: 'pets', entityId: 3, data: { name: 'Deep id' } },
      { id: 803, operation: 'create', entityType: 'DEEP', tempId: 'temp_deep_type', data: { name: 'T' } },
      { id: 804, operation: 'update', entityType: 'pets', entityId: 3, data: { name: 'Half \ud83d' } },
      {
        id: 805,
        operation: 'update',
        entityType: 'pets',
        entityId: 3,
        data: { name: 'x' },
        practiceId: 'DEEP',
      },
      { id: { queue: 806 }, operation: 'update', entityType: 'pets', entityId: 3, data: { name: 'Obj id' } },
      { id: true, operation: 'update', entityType: 'pets', entityId: 3, data: { name: 'Bool id' } },
      { id: 808, operation: 'update', entityType: 'pets', entityId: 4, data: { name: 'Still applied' } },
    ];
    const text = JSON.stringify({ operations }).replaceAll('"DEEP"', deep);
    const res = await server.request<PushAnswer>({
      method: 'POST',
      url: '/api/sync/push',
      token: vet,
      body: text,
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    expect(res.body).toMatchObject({ success: true, processed: 1, failed: 7, conflicts: 0 });
    expect(res.body.results.map((r) => [r.error?.code ?? r.success, r.error?.details])).toEqual([
      ['VALIDATION_FAILED', { field: 'data' }],
      ['VALIDATION_FAILED', { field: 'id' }],
      ['VALIDATION_FAILED', { field: 'entityType' }],
      ['VALIDATION_FAILED', { field: 'data' }],
      ['VALIDATION_FAILED', { field: 'practiceId' }],
      ['VALIDATION_FAILED', { field: 'id' }],
      ['VALIDATION_FAILED', { field: 'id' }],
      [true, undefined],
    ]);
    const [deepData, deepId, deepType, half, deepOther, objectId, boolId] = res.body.results;
    expect(deepData?.error?.message).toMatch(/at most 32 levels deep/);
    expect(deepData?.operationId).toBe(801);
    // What cannot be sent back is not echoed.
    expect(deepId).not.toHaveProperty('operationId');
    expect(deepType).not.toHaveProperty('entityType');
    expect(deepType?.operationId).toBe(803);
    expect(half?.error?.message).toMatch(/lone UTF-16 surrogate/);
    expect(deepOther?.error?.message).toMatch(/practiceId may nest at most 32 levels deep/);
    expect(objectId?.error?.message).toMatch(/a string or a number/);
    expect(objectId).not.toHaveProperty('operationId');
    expect(boolId).not.toHaveProperty('operationId');

    // The same through seed 003's upload.
    const upload = await server.request<{ results: SeedResult[] }>({
      method: 'POST',
      url: '/api/sync/upload',
      token: vet,
      body: JSON.stringify({ operations: operations.slice(0, 2) }).replaceAll('"DEEP"', deep),
    });
    expect(upload.status, JSON.stringify(upload.body).slice(0, 300)).toBe(200);
    expect(upload.body.results.map((r) => [r.error?.code, r.error?.details])).toEqual([
      ['VALIDATION_FAILED', { field: 'data' }],
      ['VALIDATION_FAILED', { field: 'id' }],
    ]);

    // Nothing of the refused operations was stored or journaled.
    expect((await record('pets', 3)).body).toEqual(petBefore);
    expect((await pullAll(server, vet, { cursor })).changes.map((c) => [c.collection, c.id])).toEqual([
      ['pets', '4'],
    ]);
    expect((await server.app.outpost.store.countOps('vet-a', {})).total).toBe(opsBefore + 1);
  });
});
