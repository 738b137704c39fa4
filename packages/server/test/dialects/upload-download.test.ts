// Seed 003's SmartDMV sync endpoints (upload, download, conflicts, resolve-conflict) on the engine,
// replayed with the seed's own bodies, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempId } from '@outpost/core';
import type { Change } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from '../server-fixture';
import type { TestServer } from '../server-fixture';
import { applyChanges, pullAll, push } from '../sync-client';

interface UploadResult {
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
    conflictId: string;
    resolution: string;
  };
  error?: { code: string; message: string };
}
interface IdMapping {
  tempId: string;
  realId: number;
  entityType: string;
  createdAt: number;
  syncedAt: number;
}
interface UploadAnswer {
  results: UploadResult[];
  idMappings: IdMapping[];
}
interface Entity {
  entityType: string;
  id: number;
  version: number;
  updatedAt: string;
  data: Record<string, unknown>;
}
interface Deletion {
  entityType: string;
  id: number;
  version: number;
  deletedAt: string;
}
interface DownloadAnswer {
  entities: Entity[];
  deletions: Deletion[];
  hasMore: boolean;
  lastSync: string;
}
interface ServerConflict {
  id: string;
  entityType: string;
  entityId: number;
  localData: Record<string, unknown> | null;
  serverData: Record<string, unknown> | null;
  conflictType: string;
  affectedFields: string[];
  detectedAt: number;
  resolution: string;
  resolved: boolean;
}

const errorShape = { error: { code: expect.any(String), message: expect.any(String) } };

describe.each(dialects())('SmartDMV upload, download and conflicts (seed 003) on %s', (kind) => {
  let server: TestServer;
  let vet: string;
  let admin: string;
  let nurse: string;
  let nurseAdmin: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { tenantSchemas: { 'vet-a': vetPractice } } });
    vet = await server.token('vet@vet-a.test');
    admin = await server.token('admin@vet-a.test');
    nurse = await server.token('nurse@clinic-a.test');
    nurseAdmin = await server.token('admin@clinic-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function upload(operations: unknown[], token = vet): Promise<UploadAnswer> {
    const res = await server.request<UploadAnswer>({
      method: 'POST',
      url: '/api/sync/upload',
      token,
      body: { operations },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  async function download(body: unknown, token = vet): Promise<DownloadAnswer> {
    const res = await server.request<DownloadAnswer>({
      method: 'POST',
      url: '/api/sync/download',
      token,
      body,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  /** Downloads until hasMore is false, applying each page to a device's copy. */
  async function downloadAll(
    lastSync: unknown,
    options: { limit?: number; entityTypes?: string[]; between?: () => Promise<void> } = {},
    device = new Map<string, { version: number; data: Record<string, unknown> }>(),
  ) {
    let next = lastSync;
    for (;;) {
      const page = await download({
        lastSync: next,
        ...(options.entityTypes ? { entityTypes: options.entityTypes } : {}),
        ...(options.limit ? { limit: options.limit } : {}),
      });
      for (const e of page.entities)
        device.set(`${e.entityType}/${e.id}`, { version: e.version, data: e.data });
      for (const d of page.deletions) device.delete(`${d.entityType}/${d.id}`);
      next = page.lastSync;
      if (!page.hasMore) return { device, lastSync: next };
      await options.between?.();
    }
  }

  async function conflicts(query = '', token = vet) {
    const res = await server.request<{ conflicts: ServerConflict[] }>({
      method: 'GET',
      url: `/api/sync/conflicts${query}`,
      token,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.conflicts;
  }

  function resolve(body: unknown, token = admin) {
    return server.request<{ success: boolean; entity: Entity; conflict: ServerConflict }>({
      method: 'POST',
      url: '/api/sync/resolve-conflict',
      token,
      body,
    });
  }

  async function record(collection: string, id: number | string) {
    const res = await server.request<{ version: number; deleted: boolean; data: Record<string, unknown> }>({
      method: 'GET',
      url: `/v1/records/${collection}/${id}`,
      token: vet,
    });
    return res.body;
  }

  /** The server's state through v1 pull, in the seed's terms: numeric ids, the id inside data. */
  async function serverState() {
    const replica = new Map<string, Change>();
    applyChanges(replica, (await pullAll(server, vet)).changes);
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

  /** A SOAP note two devices edit in the same section from the same version: an open conflict. */
  async function openNoteConflict(section: string, ours: string, theirs: string) {
    const created = await upload([
      {
        operation: 'create',
        entityType: 'soapNotes',
        tempId: makeTempId('soapNote'),
        data: { appointmentId: 1, subjective: 'Limping' },
      },
    ]);
    const noteId = created.results[0]?.realId ?? 0;
    await upload([
      {
        operation: 'update',
        entityType: 'soapNotes',
        entityId: noteId,
        data: { [section]: theirs },
        version: 1,
      },
    ]);
    const answer = await upload([
      {
        operation: 'update',
        entityType: 'soapNotes',
        entityId: noteId,
        data: { [section]: ours },
        version: 1,
      },
    ]);
    return { noteId, result: answer.results[0] };
  }

  it('replays the seed’s dependency graph upload: Client -> Pet -> Appointment -> SOAPNote, ids mapped', async () => {
    // Client (id: 1) exists on the server.
    const client = await upload([
      {
        operation: 'create',
        entityType: 'users',
        tempId: 'temp_client',
        data: { name: 'Client One', role: 'CLIENT' },
      },
    ]);
    expect(client.results[0]?.realId).toBe(1);

    // Pet (id: temp_123, owner 1) -> Appointment (id: temp_456, petId: temp_123) -> SOAPNote (id: temp_789),
    // spelled as seed 003 spells them.
    const answer = await upload([
      { operation: 'create', entityType: 'pet', entityId: 'temp_123', data: { name: 'Simba', ownerId: 1 } },
      {
        operation: 'create',
        entityType: 'appointment',
        entityId: 'temp_456',
        data: { title: 'Checkup', date: '2024-11-02T09:00:00Z', petId: 'temp_123' },
      },
      {
        operation: 'create',
        entityType: 'SOAPNote',
        entityId: 'temp_789',
        data: { appointmentId: 'temp_456', subjective: 'Limping' },
      },
      // The seed's own temp-id format, temp_<timestamp>_<random>_<entityType>.
      {
        operation: 'create',
        entityType: 'pets',
        tempId: 'temp_1730534400000_a7b3c2_pet',
        data: { name: 'Kuku', ownerId: 'temp_client' },
      },
    ]);
    const mapping = (tempId: string, realId: number, entityType: string) => ({
      tempId,
      realId,
      entityType,
      createdAt: expect.any(Number),
      syncedAt: expect.any(Number),
    });
    expect(answer.results).toEqual([
      { success: true, entityType: 'pet', realId: 1, tempId: 'temp_123', version: 1 },
      { success: true, entityType: 'appointment', realId: 1, tempId: 'temp_456', version: 1 },
      { success: true, entityType: 'SOAPNote', realId: 1, tempId: 'temp_789', version: 1 },
      { success: true, entityType: 'pets', realId: 2, tempId: 'temp_1730534400000_a7b3c2_pet', version: 1 },
    ]);
    expect(answer.idMappings.slice(0, 4)).toEqual([
      mapping('temp_123', 1, 'pet'),
      mapping('temp_456', 1, 'appointment'),
      mapping('temp_789', 1, 'SOAPNote'),
      { ...mapping('temp_1730534400000_a7b3c2_pet', 2, 'pets'), createdAt: 1730534400000 },
    ]);
    // The engine may also repeat the mapping of a temp id the upload only referenced.
    expect(answer.idMappings.slice(4)).toEqual(
      answer.idMappings.length > 4 ? [mapping('temp_client', 1, 'users')] : [],
    );
    // Stored records hold real ids only; the appointment's client comes from the pet's owner.
    expect((await record('appointments', 1)).data).toMatchObject({ petId: '1', clientId: '1' });
    expect((await record('soapNotes', 1)).data).toMatchObject({ appointmentId: '1' });
    expect((await record('pets', 2)).data).toMatchObject({ ownerId: '1' });
  });

  it('replays the seed’s download body: { lastSync, entityTypes } -> { entities, deletions }', async () => {
    const answer = await download({ lastSync: 1730534400000, entityTypes: ['pets', 'appointments'] });
    expect(answer).toMatchObject({ deletions: [], hasMore: false, lastSync: expect.any(String) });
    expect(answer.entities).toEqual([
      {
        entityType: 'pets',
        id: 1,
        version: 1,
        updatedAt: expect.any(String),
        data: { id: 1, name: 'Simba', ownerId: 1 },
      },
      {
        entityType: 'appointments',
        id: 1,
        version: 1,
        updatedAt: expect.any(String),
        data: { id: 1, title: 'Checkup', date: '2024-11-02T09:00:00Z', petId: 1, clientId: 1 },
      },
      {
        entityType: 'pets',
        id: 2,
        version: 1,
        updatedAt: expect.any(String),
        data: { id: 2, name: 'Kuku', ownerId: 1 },
      },
    ]);

    // A deletion since then comes as a deletion, not an entity.
    const deleted = await upload([
      { operation: 'delete', entityType: 'pets', entityId: 2, timestamp: Date.now() },
    ]);
    expect(deleted.results[0]).toMatchObject({ success: true, realId: 2, version: 2 });
    const next = await download({ lastSync: answer.lastSync, entityTypes: ['pets', 'appointments'] });
    expect(next).toEqual({
      entities: [],
      deletions: [{ entityType: 'pets', id: 2, version: 2, deletedAt: expect.any(String) }],
      hasMore: false,
      lastSync: expect.any(String),
      timestamp: expect.any(Number),
    });
    expect((await download({ lastSync: next.lastSync, entityTypes: ['pets'] })).entities).toEqual([]);
    // Widened to every entity type, that sync point never read the users and notes stored before
    // it: the device is told to start over rather than go on without them.
    const widened = await server.request<{ error: { code: string; details: { entityTypes: string[] } } }>({
      method: 'POST',
      url: '/api/sync/download',
      token: vet,
      body: { lastSync: next.lastSync },
    });
    expect(widened.status).toBe(410);
    expect(widened.body.error.code).toBe('CURSOR_EXPIRED');
    expect(widened.body.error.details.entityTypes).toContain('users');
    expect(widened.body.error.details.entityTypes).not.toContain('pets');
    const fromStart = await download({ lastSync: null });
    expect(fromStart.entities.map((e) => e.entityType)).toContain('users');
  });

  it('downloads page by page to exactly the server’s state while uploads and v1 pushes interleave', async () => {
    await upload(
      Array.from({ length: 60 }, (_, i) => ({
        operation: 'create',
        entityType: 'users',
        tempId: `temp_bulk_${i}`,
        data: { name: `Owner ${i}` },
      })),
    );
    let round = 0;
    const between = async () => {
      round += 1;
      await Promise.all([
        upload([
          {
            operation: 'update',
            entityType: 'users',
            entityId: 1 + round,
            data: { email: `o${round}@vet.test` },
            timestamp: Date.now(),
          },
          {
            operation: 'create',
            entityType: 'pets',
            tempId: `temp_round_${round}`,
            data: { name: `Pup ${round}`, ownerId: 3 },
          },
        ]),
        push(server, vet, [
          { collection: 'users', type: 'update', id: String(30 + round), data: { role: 'CLIENT' } },
          ...(round === 2 ? [{ collection: 'pets' as const, type: 'delete' as const, id: '1' }] : []),
        ]),
      ]);
    };
    const { device, lastSync } = await downloadAll(null, { limit: 6, between });
    expect(round).toBeGreaterThan(5);
    await downloadAll(lastSync, {}, device);
    expect(device).toEqual(await serverState());
    expect(device.has('pets/1')).toBe(false);
  });

  it('reports a conflict in the seed’s terms and lists it through GET /api/sync/conflicts', async () => {
    expect(await conflicts('', admin)).toEqual([]);
    const { noteId, result } = await openNoteConflict('plan', 'Rest for a week', 'X-ray on Monday');
    expect(result).toEqual({
      success: false,
      conflict: true,
      entityType: 'soapNotes',
      realId: noteId,
      version: 2,
      conflictData: {
        localData: { id: noteId, plan: 'Rest for a week' },
        serverData: { id: noteId, appointmentId: 1, subjective: 'Limping', plan: 'X-ray on Monday' },
        conflictType: 'version',
        affectedFields: ['plan'],
        conflictId: expect.any(String),
        resolution: 'open',
        serverVersion: 2,
      },
    });
    const listed = await conflicts();
    expect(listed).toEqual([
      {
        id: result?.conflictData?.conflictId,
        entityType: 'soapNotes',
        entityId: noteId,
        operation: {
          operation: 'update',
          entityType: 'soapNotes',
          entityId: noteId,
          data: { id: noteId, plan: 'Rest for a week' },
          version: 1,
        },
        localData: { id: noteId, plan: 'Rest for a week' },
        serverData: { id: noteId, appointmentId: 1, subjective: 'Limping', plan: 'X-ray on Monday' },
        serverVersion: 2,
        detectedAt: expect.any(Number),
        conflictType: 'version',
        affectedFields: ['plan'],
        strategy: 'manual',
        resolution: 'open',
        resolved: false,
        resolvedAt: null,
        resolvedBy: null,
      },
    ]);
    expect(await conflicts('', admin)).toEqual(listed);
    // Another practice, even its administrator, finds nothing.
    expect(await conflicts('?status=all', nurseAdmin)).toEqual([]);
    expect(await conflicts('?status=resolved&entityType=soapNotes')).toEqual([]);
  });

  it('resolves through the conflict desk with each of the seed’s strategies; v1 pull sees the result', async () => {
    const v1Start = (await pullAll(server, vet)).cursor;
    const downloaded = await downloadAll(0);

    // merge: the fields as a person chose them, references by the seed's numeric ids.
    const merge = await openNoteConflict('assessment', 'Sprain', 'Fracture');
    const merged = await resolve({
      conflictId: merge.result?.conflictData?.conflictId,
      resolution: { type: 'merge', mergedData: { assessment: 'Hairline fracture', appointmentId: 1 } },
    });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({
      success: true,
      entity: {
        entityType: 'soapNotes',
        id: merge.noteId,
        version: 3,
        data: { id: merge.noteId, appointmentId: 1, assessment: 'Hairline fracture' },
      },
      conflict: { resolution: 'merged', resolved: true },
    });

    // manual: seed 001's "user decides field-by-field" is the same merge.
    const manual = await openNoteConflict('objective', 'Swollen paw', 'Normal gait');
    const byHand = await resolve({
      conflictId: manual.result?.conflictData?.conflictId,
      resolution: { type: 'manual', mergedData: { objective: 'Swollen left paw' } },
    });
    expect(byHand.body.entity).toMatchObject({ version: 3, data: { objective: 'Swollen left paw' } });

    // client-wins and server-wins, the strategy as a plain string.
    const local = await openNoteConflict('plan', 'Keep local', 'Use server');
    const kept = await resolve({
      conflictId: local.result?.conflictData?.conflictId,
      resolution: 'client-wins',
    });
    expect(kept.body.entity).toMatchObject({ version: 3, data: { plan: 'Keep local' } });
    const server_ = await openNoteConflict('plan', 'Ours', 'Theirs');
    const stays = await resolve({
      conflictId: server_.result?.conflictData?.conflictId,
      resolution: { type: 'server-wins' },
    });
    expect(stays.body).toMatchObject({
      success: true,
      entity: { version: 2, data: { plan: 'Theirs' } },
      conflict: { resolution: 'server-won' },
    });

    // Every client sees the resolutions: v1 pull and the seed's download alike.
    const v1 = await pullAll(server, vet, { cursor: v1Start });
    const notes = new Map(
      v1.changes.filter((c) => c.collection === 'soapNotes').map((c) => [Number(c.id), c]),
    );
    expect(notes.get(merge.noteId)).toMatchObject({ version: 3, data: { assessment: 'Hairline fracture' } });
    expect(notes.get(local.noteId)).toMatchObject({ version: 3, data: { plan: 'Keep local' } });
    await downloadAll(downloaded.lastSync, {}, downloaded.device);
    expect(downloaded.device.get(`soapNotes/${manual.noteId}`)).toMatchObject({
      version: 3,
      data: { objective: 'Swollen left paw' },
    });
    expect(downloaded.device).toEqual(await serverState());
    const settled = [merge, manual, local, server_].map((c) => c.result?.conflictData?.conflictId);
    expect((await conflicts()).filter((c) => settled.includes(c.id))).toEqual([]);
    const resolved = await conflicts('?status=resolved&entityType=soapNotes');
    expect(settled.map((id) => resolved.find((c) => c.id === id)?.resolution)).toEqual([
      'merged',
      'merged',
      'client-won',
      'server-won',
    ]);
  });

  it('keeps resolution to those allowed: 403 for a clinician, 404 for an unknown or another practice’s conflict', async () => {
    const { result } = await openNoteConflict('subjective', 'Eating less', 'Eating well');
    const conflictId = result?.conflictData?.conflictId;
    const before = await record('soapNotes', result?.realId ?? 0);

    const asVet = await resolve({ conflictId, resolution: 'client-wins' }, vet);
    expect(asVet.status).toBe(403);
    expect(asVet.body).toMatchObject(errorShape);
    for (const [body, token] of [
      [{ conflictId, resolution: 'client-wins' }, nurseAdmin],
      [{ conflictId: 12345, resolution: 'client-wins' }, admin],
      [{ conflictId: '../../etc', resolution: 'client-wins' }, admin],
    ] as const) {
      const res = await resolve(body, token);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject(errorShape);
    }
    for (const body of [
      {},
      { conflictId },
      { conflictId, resolution: 'obliterate' },
      { conflictId, resolution: 'merge' },
      { conflictId, resolution: { type: 'manual' } },
      { conflictId, resolution: 'server-wins', mergedData: { plan: 'x' } },
      { conflictId, resolution: { type: 'merge', mergedData: { wings: 2 } } },
    ]) {
      const res = await resolve(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject(errorShape);
    }
    expect(await record('soapNotes', result?.realId ?? 0)).toEqual(before);
    expect((await conflicts()).map((c) => c.id)).toContain(conflictId);
  });

  it('applies a resent upload once, and shows v1 changes in download and upload changes in v1 pull', async () => {
    const start = (await downloadAll(0)).lastSync;
    const v1Start = (await pullAll(server, vet)).cursor;
    const operations = [
      {
        id: 1,
        operation: 'create',
        entityType: 'users',
        tempId: 'temp_resend_owner',
        data: { name: 'Mercy' },
        timestamp: 1733000000000,
      },
      {
        id: 2,
        operation: 'create',
        entityType: 'pets',
        tempId: 'temp_resend_pet',
        data: { name: 'Bruno', ownerId: 'temp_resend_owner' },
        timestamp: 1733000000001,
      },
    ];
    const first = await upload(operations);
    const again = await upload(operations);
    expect(again.results).toEqual(first.results.map((r) => ({ ...r, duplicate: true })));
    expect(again.idMappings.map((m) => [m.tempId, m.realId])).toEqual(
      first.idMappings.map((m) => [m.tempId, m.realId]),
    );
    const v1 = await pullAll(server, vet, { cursor: v1Start });
    expect(v1.changes.map((c) => [c.collection, c.id, c.version, c.data])).toEqual([
      ['users', String(first.results[0]?.realId), 1, { name: 'Mercy' }],
      [
        'pets',
        String(first.results[1]?.realId),
        1,
        { name: 'Bruno', ownerId: String(first.results[0]?.realId) },
      ],
    ]);

    const v1Push = await push(server, vet, [
      {
        collection: 'pets',
        type: 'update',
        id: String(first.results[1]?.realId),
        baseVersion: 1,
        data: { species: 'dog' },
      },
    ]);
    expect(v1Push.results[0]?.status).toBe('applied');
    const seen = await download({ lastSync: start });
    expect(seen.entities.map((e) => [e.entityType, e.id, e.version])).toEqual([
      ['users', first.results[0]?.realId, 1],
      ['pets', first.results[1]?.realId, 2],
    ]);
    expect(seen.entities[1]?.data).toEqual({
      id: first.results[1]?.realId,
      name: 'Bruno',
      ownerId: first.results[0]?.realId,
      species: 'dog',
    });
  });

  it('keeps another practice out of download and upload', async () => {
    const theirs = await server.request<DownloadAnswer>({
      method: 'POST',
      url: '/api/sync/download',
      token: nurse,
      body: { lastSync: null },
    });
    expect(theirs.status).toBe(200);
    expect(theirs.body.entities).toEqual([]);
    expect(theirs.body.deletions).toEqual([]);
    const mine = await download({ lastSync: null, limit: 1 });
    const borrowed = await server.request({
      method: 'POST',
      url: '/api/sync/download',
      token: nurse,
      body: { lastSync: mine.lastSync },
    });
    expect(borrowed.status).toBe(400);
    const before = await record('pets', 1);
    const write = await upload(
      [{ operation: 'update', entityType: 'pets', entityId: 1, data: { name: 'Mine now' } }],
      nurse,
    );
    expect(write.results[0]).toMatchObject({ success: false, error: { code: 'UNKNOWN_COLLECTION' } });
    expect(await record('pets', 1)).toEqual(before);
  });

  it('refuses bad bodies whole with 400 and the error shape, and stores nothing', async () => {
    const { cursor } = await pullAll(server, vet);
    const opsBefore = (await server.app.outpost.store.countOps('vet-a', {})).total;
    const bad: Array<{ method: 'GET' | 'POST'; url: string; body?: unknown }> = [
      { method: 'POST', url: '/api/sync/upload', body: '{"operations": [' },
      { method: 'POST', url: '/api/sync/upload', body: {} },
      { method: 'POST', url: '/api/sync/upload', body: [] },
      { method: 'POST', url: '/api/sync/upload', body: { operations: { 0: 'create' } } },
      { method: 'POST', url: '/api/sync/download', body: { lastSync: { at: 1 } } },
      { method: 'POST', url: '/api/sync/download', body: { lastSync: 'whenever' } },
      { method: 'POST', url: '/api/sync/download', body: { entityTypes: 'pets' } },
      { method: 'POST', url: '/api/sync/download', body: { entityTypes: ['pets', 'dragons'] } },
      { method: 'POST', url: '/api/sync/download', body: { limit: 0 } },
      { method: 'POST', url: '/api/sync/download', body: '"download"' },
      { method: 'GET', url: '/api/sync/conflicts?status=pending' },
      { method: 'GET', url: '/api/sync/conflicts?limit=0' },
      { method: 'POST', url: '/api/sync/resolve-conflict', body: [] },
    ];
    for (const req of bad) {
      const res = await server.request({ ...req, token: vet });
      expect(res.status, `${req.url} ${JSON.stringify(req.body)}`).toBe(400);
      expect(res.body).toMatchObject(errorShape);
    }
    const unauthenticated = await server.request({
      method: 'POST',
      url: '/api/sync/upload',
      body: { operations: [] },
    });
    expect(unauthenticated.status).toBe(401);
    expect((await pullAll(server, vet, { cursor })).changes).toEqual([]);
    expect((await server.app.outpost.store.countOps('vet-a', {})).total).toBe(opsBefore);
  });

  it('refuses mergedData no record could hold with 400, before the conflict desk compares it', async () => {
    const { noteId, result } = await openNoteConflict('plan', 'Splint', 'Cast');
    const conflictId = result?.conflictData?.conflictId ?? '';
    expect(result?.conflictData?.resolution).toBe('open');
    const before = await record('soapNotes', noteId);
    // JSON.stringify cannot write a value this deep (neither could the server): built as text.
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const bodies = [
      JSON.stringify({ conflictId, resolution: { type: 'merge', mergedData: { plan: 'DEEP' } } }),
      JSON.stringify({ conflictId, resolution: 'manual', mergedData: { plan: 'DEEP' } }),
      JSON.stringify({ conflictId, resolution: { type: 'merge', mergedData: { plan: 'Half \ud83d' } } }),
    ].map((text) => text.replace('"DEEP"', deep));
    for (const body of bodies) {
      const res = await resolve(body);
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
    }
    // Nothing changed: the record is as it was and the conflict still waits for a person.
    expect(await record('soapNotes', noteId)).toEqual(before);
    expect((await conflicts()).map((c) => c.id)).toContain(conflictId);
    const settled = await resolve({
      conflictId,
      resolution: { type: 'merge', mergedData: { plan: 'Cast' } },
    });
    expect(settled.status, JSON.stringify(settled.body)).toBe(200);
  });
});
