// Settling archived conflicts by a person, at the edges: what a resolution or an undo may not do
// to a record (a signed note, a locked form, edits made after the conflict), on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HlcClock, uuidv7 } from '@outpost/core';
import type { PushResult, ResolveResponse } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { push } from './sync-client';

describe.each(dialects())('the conflict desk on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    nurse = await server.token('nurse@clinic-a.test');
    admin = await server.token('admin@clinic-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function one(op: Parameters<typeof push>[2][number], deviceId = 'tablet-1') {
    const res = await push(server, nurse, [op], { deviceId });
    return res.results[0] as PushResult;
  }

  async function record(collection: string, id: string) {
    const res = await server.request<{ version: number; deleted: boolean; data: Record<string, unknown> }>({
      method: 'GET',
      url: `/v1/records/${collection}/${id}`,
      token: admin,
    });
    return res.body;
  }

  function desk(conflictId: string, action: 'resolve' | 'undo', body?: unknown) {
    return server.request<ResolveResponse & { error?: { code: string } }>({
      method: 'POST',
      url: `/v1/conflicts/${conflictId}/${action}`,
      token: admin,
      ...(body !== undefined ? { body } : {}),
    });
  }

  async function newPatient(data: Record<string, unknown> = {}): Promise<string> {
    const id = uuidv7();
    expect(
      (await one({ collection: 'patients', type: 'create', id, data: { name: 'Amina K.', ...data } })).status,
    ).toBe('applied');
    return id;
  }

  /** An encounter (diagnosis malaria) whose diagnosis tablet 2 changed to typhoid at `hlc`, as version 2. */
  async function encounterRetypedOnTablet2(hlc: string): Promise<{ patientId: string; id: string }> {
    const patientId = await newPatient();
    const id = uuidv7();
    await one({ collection: 'encounters', type: 'create', id, data: { patientId, diagnosis: 'malaria' } });
    await one(
      { collection: 'encounters', type: 'update', id, baseVersion: 1, hlc, data: { diagnosis: 'typhoid' } },
      'tablet-2',
    );
    return { patientId, id };
  }

  /**
   * A prescription the nurse changed from 500 mg to 250 mg (version 2), then tablet 2's change of
   * the same first version to 1 g: the conflict it raised (prescriptions wait for a person).
   */
  async function doseConflict(patientId: string): Promise<{ rx: string; stale: PushResult }> {
    const rx = uuidv7();
    const res = await push(server, nurse, [
      {
        collection: 'prescriptions',
        type: 'create',
        id: rx,
        data: { patientId, drug: 'Amoxicillin', dose: '500 mg' },
      },
      { collection: 'prescriptions', type: 'update', id: rx, baseVersion: 1, data: { dose: '250 mg' } },
    ]);
    expect(res.results[1]?.status).toBe('applied');
    const stale = await one(
      { collection: 'prescriptions', type: 'update', id: rx, baseVersion: 1, data: { dose: '1 g' } },
      'tablet-2',
    );
    return { rx, stale };
  }

  const early = () => new HlcClock({ node: 'tablet-early', now: () => Date.now() - 3_600_000 }).tick();
  const late = () => new HlcClock({ node: 'tablet-late', now: () => Date.now() + 60_000 }).tick();

  it('undo refuses to unsign a note that a resolution signed: a signed note never changes again', async () => {
    const patientId = await newPatient();
    const encounterId = uuidv7();
    const noteId = uuidv7();
    await push(server, nurse, [
      { collection: 'encounters', type: 'create', id: encounterId, data: { patientId } },
      { collection: 'clinicalNotes', type: 'create', id: noteId, data: { encounterId, body: 'Seen' } },
    ]);
    // Tablet 2 corrects the body later; tablet 1's signing, made earlier, loses by last-write-wins.
    await one(
      {
        collection: 'clinicalNotes',
        type: 'update',
        id: noteId,
        baseVersion: 1,
        hlc: late(),
        data: { body: 'Seen, febrile' },
      },
      'tablet-2',
    );
    const signing = await one({
      collection: 'clinicalNotes',
      type: 'update',
      id: noteId,
      baseVersion: 1,
      hlc: early(),
      data: { signatureHash: 'sig-1', signedAt: '2024-11-02T09:00:00Z' },
    });
    expect(signing.conflict).toMatchObject({ outcome: 'server-won' });
    const conflictId = String(signing.conflict?.id);

    // The administrator settles it for the signing clinician: the note is now signed.
    const resolved = await desk(conflictId, 'resolve', { strategy: 'client-wins' });
    expect(resolved.status).toBe(200);
    expect(resolved.body.record.data).toMatchObject({ body: 'Seen, febrile', signatureHash: 'sig-1' });

    const undone = await desk(conflictId, 'undo');
    expect(undone.status).toBe(409);
    expect(undone.body.error?.code).toBe('CONFLICT');
    expect(await record('clinicalNotes', noteId)).toMatchObject({
      version: 3,
      data: { body: 'Seen, febrile', signatureHash: 'sig-1' },
    });
  });

  it('undo refuses to unlock a form that a resolution locked', async () => {
    const patientId = await newPatient();
    const formId = uuidv7();
    await one({
      collection: 'intakeForms',
      type: 'create',
      id: formId,
      data: { patientId, answers: { pain: 3 } },
    });
    await one(
      {
        collection: 'intakeForms',
        type: 'update',
        id: formId,
        baseVersion: 1,
        hlc: late(),
        data: { answers: { pain: 4 } },
      },
      'tablet-2',
    );
    const locking = await one({
      collection: 'intakeForms',
      type: 'update',
      id: formId,
      baseVersion: 1,
      hlc: early(),
      data: { isLocked: true },
    });
    expect(locking.conflict).toMatchObject({ outcome: 'server-won' });
    const conflictId = String(locking.conflict?.id);
    expect((await desk(conflictId, 'resolve', { strategy: 'client-wins' })).status).toBe(200);

    const undone = await desk(conflictId, 'undo');
    expect(undone.status).toBe(409);
    expect(await record('intakeForms', formId)).toMatchObject({
      version: 3,
      data: { answers: { pain: 4 }, isLocked: true },
    });
  });

  it('server-wins after the client won takes back the client’s change only: a later edit of another field stays', async () => {
    const id = await newPatient({ village: 'Ntcheu' });
    await one(
      { collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'Dedza' } },
      'tablet-2',
    );
    const stale = await one({
      collection: 'patients',
      type: 'update',
      id,
      baseVersion: 1,
      data: { village: 'Mzuzu', phone: '0888' },
    });
    const conflictId = String(stale.conflict?.id);
    expect((await desk(conflictId, 'resolve', { strategy: 'client-wins' })).body.record.version).toBe(3);
    // A third nurse writes a note on the resolved record.
    expect(
      (
        await one(
          { collection: 'patients', type: 'update', id, baseVersion: 3, data: { notes: 'Follow up Friday' } },
          'tablet-3',
        )
      ).status,
    ).toBe('applied');

    // The administrator changes their mind about the village and phone.
    const back = await desk(conflictId, 'resolve', { strategy: 'server-wins' });
    expect(back.status).toBe(200);
    expect(back.body.conflict.outcome).toBe('server-won');
    expect((await record('patients', id)).data).toEqual({
      name: 'Amina K.',
      village: 'Dedza',
      notes: 'Follow up Friday',
    });
  });

  it('server-wins after last-write-wins let the client win keeps the edits made since', async () => {
    const { patientId, id } = await encounterRetypedOnTablet2(early());
    const won = await one({
      collection: 'encounters',
      type: 'update',
      id,
      baseVersion: 1,
      hlc: late(),
      data: { diagnosis: 'flu' },
    });
    expect(won.conflict).toMatchObject({ outcome: 'client-won' });
    await one(
      {
        collection: 'encounters',
        type: 'update',
        id,
        baseVersion: 3,
        data: { notes: 'Review in 3 days', vitals: { pulse: 90 } },
      },
      'tablet-3',
    );
    const back = await desk(String(won.conflict?.id), 'resolve', { strategy: 'server-wins' });
    expect(back.status).toBe(200);
    expect((await record('encounters', id)).data).toEqual({
      patientId,
      diagnosis: 'typhoid',
      notes: 'Review in 3 days',
      vitals: { pulse: 90 },
    });
  });

  it('client-wins on a create, days later: the client’s fields apply, a field added since stays', async () => {
    const id = await newPatient({ village: 'Ntcheu' });
    // Tablet 2 registered the same patient again, offline: the village is disputed, left open.
    const again = await one(
      {
        collection: 'patients',
        type: 'create',
        id,
        data: { name: 'Amina K.', village: 'Dedza', sex: 'female' },
      },
      'tablet-2',
    );
    expect(again.conflict).toMatchObject({ outcome: 'open' });
    // Meanwhile a third nurse records the phone on the record as it stands.
    expect(
      (
        await one(
          { collection: 'patients', type: 'update', id, baseVersion: 1, data: { phone: '0999' } },
          'tablet-3',
        )
      ).status,
    ).toBe('applied');

    const resolved = await desk(String(again.conflict?.id), 'resolve', { strategy: 'client-wins' });
    expect(resolved.status).toBe(200);
    expect((await record('patients', id)).data).toEqual({
      name: 'Amina K.',
      village: 'Dedza',
      sex: 'female',
      phone: '0999',
    });
  });

  it('client-wins over a field edited since the conflict is refused, naming the field; the later edit stays', async () => {
    const { rx, stale } = await doseConflict(await newPatient());
    expect(stale.conflict?.outcome).toBe('open');
    // The prescriber changes the dose again, on the record as it stands.
    await one({
      collection: 'prescriptions',
      type: 'update',
      id: rx,
      baseVersion: 2,
      data: { dose: '750 mg' },
    });

    const refused = await server.request<{ error: { code: string; details?: { fields?: string[] } } }>({
      method: 'POST',
      url: `/v1/conflicts/${String(stale.conflict?.id)}/resolve`,
      token: admin,
      body: { strategy: 'client-wins' },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'CONFLICT', details: { fields: ['dose'] } });
    expect(await record('prescriptions', rx)).toMatchObject({ version: 3, data: { dose: '750 mg' } });
    const conflict = await server.request<{ outcome: string }>({
      method: 'GET',
      url: `/v1/conflicts/${String(stale.conflict?.id)}`,
      token: admin,
    });
    expect(conflict.body.outcome).toBe('open');
  });

  it('merge with every field of both versions keeps a field no one disputed that was edited since', async () => {
    const id = await newPatient({ village: 'Ntcheu', notes: 'First visit' });
    await one(
      { collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'Dedza' } },
      'tablet-2',
    );
    const stale = await one({
      collection: 'patients',
      type: 'update',
      id,
      baseVersion: 1,
      data: { village: 'Mzuzu' },
    });
    expect(stale.conflict?.outcome).toBe('open');
    await one(
      { collection: 'patients', type: 'update', id, baseVersion: 2, data: { notes: 'Follow up Friday' } },
      'tablet-3',
    );

    const merged = await desk(String(stale.conflict?.id), 'resolve', {
      strategy: 'merge',
      mergedData: { name: 'Amina K.', village: 'Mzuzu', notes: 'First visit' },
    });
    expect(merged.status).toBe(200);
    expect((await record('patients', id)).data).toEqual({
      name: 'Amina K.',
      village: 'Mzuzu',
      notes: 'Follow up Friday',
    });
  });

  it('client-wins on a delete is refused once the record was edited again since: the later edit stays', async () => {
    const { id } = await encounterRetypedOnTablet2(late());
    const deleting = await one({
      collection: 'encounters',
      type: 'delete',
      id,
      baseVersion: 1,
      hlc: early(),
    });
    expect(deleting.conflict).toMatchObject({ outcome: 'server-won' });
    await one(
      { collection: 'encounters', type: 'update', id, baseVersion: 2, data: { notes: 'Review in 3 days' } },
      'tablet-3',
    );

    const refused = await desk(String(deleting.conflict?.id), 'resolve', { strategy: 'client-wins' });
    expect(refused.status).toBe(409);
    expect(await record('encounters', id)).toMatchObject({
      deleted: false,
      version: 3,
      data: { diagnosis: 'typhoid', notes: 'Review in 3 days' },
    });
  });

  it('a person may change their mind after a merge they typed: server-wins, then client-wins, replace it', async () => {
    const { rx, stale } = await doseConflict(await newPatient());
    const conflictId = String(stale.conflict?.id);
    expect(
      (await desk(conflictId, 'resolve', { strategy: 'merge', mergedData: { dose: '600 mg' } })).status,
    ).toBe(200);
    // The value the merge typed is the desk's own, not an edit made since: server-wins puts the
    // server's dose back rather than leaving the typed one under a "server-won" label.
    const back = await desk(conflictId, 'resolve', { strategy: 'server-wins' });
    expect(back.status).toBe(200);
    expect((await record('prescriptions', rx)).data['dose']).toBe('250 mg');
    expect((await desk(conflictId, 'resolve', { strategy: 'client-wins' })).status).toBe(200);
    expect((await record('prescriptions', rx)).data['dose']).toBe('1 g');
  });

  it('undo does not point a record back at a parent deleted since', async () => {
    const { patientId: first, id } = await encounterRetypedOnTablet2(late());
    const second = await newPatient({ name: 'Amina Kamwendo' });
    // Tablet 1 had moved the encounter to the right patient (the duplicate is to go); it lost.
    const moving = await one({
      collection: 'encounters',
      type: 'update',
      id,
      baseVersion: 1,
      hlc: early(),
      data: { patientId: second },
    });
    expect(moving.conflict).toMatchObject({ outcome: 'server-won' });
    const conflictId = String(moving.conflict?.id);
    expect((await desk(conflictId, 'resolve', { strategy: 'client-wins' })).body.record.data).toMatchObject({
      patientId: second,
    });
    // The duplicate patient is deleted: nothing live names it any more.
    expect((await one({ collection: 'patients', type: 'delete', id: first, baseVersion: 1 })).status).toBe(
      'applied',
    );

    const undone = await desk(conflictId, 'undo');
    expect(undone.status).toBe(409);
    expect(undone.body.error?.code).toBe('CONFLICT');
    expect(await record('encounters', id)).toMatchObject({ version: 3, data: { patientId: second } });
  });

  it('bulk resolve settles only conflicts still open: one another administrator settled meanwhile keeps that choice', async () => {
    const patientId = await newPatient();
    const rxIds: string[] = [];
    const conflictIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { rx, stale } = await doseConflict(patientId);
      expect(stale.conflict?.outcome).toBe('open');
      rxIds.push(rx);
      conflictIds.push(String(stale.conflict?.id));
    }
    // Another administrator settles the first for the clinician right after the bulk run listed it.
    const store = server.app.outpost.store;
    const list = store.listConflicts.bind(store);
    store.listConflicts = async (...args: Parameters<typeof list>) => {
      const listed = await list(...args);
      store.listConflicts = list;
      expect((await desk(String(conflictIds[0]), 'resolve', { strategy: 'client-wins' })).status).toBe(200);
      return listed;
    };
    const bulk = await server.request<{
      resolved: number;
      failed: number;
      results: Array<{ id: string; error?: { code: string } }>;
    }>({
      method: 'POST',
      url: '/v1/conflicts/bulk-resolve',
      token: admin,
      body: { strategy: 'server-wins', ids: conflictIds },
    });
    expect(bulk.status).toBe(200);
    expect(bulk.body).toMatchObject({ resolved: 1, failed: 1 });
    expect(bulk.body.results.find((r) => r.id === conflictIds[0])?.error?.code).toBe('CONFLICT');
    expect((await record('prescriptions', String(rxIds[0]))).data['dose']).toBe('1 g');
    expect((await record('prescriptions', String(rxIds[1]))).data['dose']).toBe('250 mg');
    const first = await server.request<{ outcome: string; strategy: string }>({
      method: 'GET',
      url: `/v1/conflicts/${conflictIds[0]}`,
      token: admin,
    });
    expect(first.body).toMatchObject({ outcome: 'client-won', strategy: 'client-wins' });
  });
});
