// The store's contract, through the HTTP API, on SQLite and PostgreSQL alike.
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7, makeTempId } from '@outpost/core';
import type { PushResponse } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { applyChanges, hlc, opId, pull, pullAll, push } from './sync-client';

describe.each(dialects())('push and pull on %s', (kind) => {
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

  it('round-trips device-made ids: create, update, reference, delete', async () => {
    const patientId = uuidv7();
    const encounterId = uuidv7();
    const res = await push(server, nurse, [
      {
        collection: 'patients',
        type: 'create',
        id: patientId,
        data: { name: 'Amina K.', allergies: ['penicillin'] },
      },
      { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { village: 'Ntcheu' } },
      {
        collection: 'encounters',
        type: 'create',
        id: encounterId,
        data: { patientId, diagnosis: 'Malaria' },
      },
      { collection: 'encounters', type: 'delete', id: encounterId, baseVersion: 1 },
    ]);
    expect(res.results.map((r) => [r.status, r.version])).toEqual([
      ['applied', 1],
      ['applied', 2],
      ['applied', 1],
      ['applied', 2],
    ]);
    expect(res.idMappings).toEqual([]);

    const { changes } = await pullAll(server, nurse);
    const patient = changes.find((c) => c.id === patientId);
    expect(patient).toMatchObject({
      version: 2,
      deleted: false,
      data: { name: 'Amina K.', allergies: ['penicillin'], village: 'Ntcheu' },
    });
    // Intermediate versions collapse: the record appears once, at its latest state.
    expect(changes.filter((c) => c.id === patientId)).toHaveLength(1);
    expect(changes.find((c) => c.id === encounterId)).toMatchObject({
      version: 2,
      deleted: true,
      data: null,
    });

    const record = await server.request({
      method: 'GET',
      url: `/v1/records/patients/${patientId}`,
      token: nurse,
    });
    expect(record.status).toBe(200);
    expect(record.body).toMatchObject({ version: 2, data: { village: 'Ntcheu' } });
  });

  it('clears a field with null and refuses to clear a required one', async () => {
    const id = uuidv7();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id, data: { name: 'Joseph M.', phone: '+265 1' } },
    ]);
    const res = await push(server, nurse, [
      { collection: 'patients', type: 'update', id, baseVersion: 1, data: { phone: null } },
      { collection: 'patients', type: 'update', id, baseVersion: 2, data: { name: null } },
    ]);
    expect(res.results.map((r) => r.status)).toEqual(['applied', 'rejected']);
    expect(res.results[1]?.error?.code).toBe('VALIDATION_FAILED');
    const record = await server.request<{ data: Record<string, unknown> }>({
      method: 'GET',
      url: `/v1/records/patients/${id}`,
      token: nurse,
    });
    expect(record.body.data).toEqual({ name: 'Joseph M.' });
  });

  it('applies nothing twice when the same push is sent again, and replays the first outcomes', async () => {
    const id = uuidv7();
    const body = {
      clientId: 'client-retry',
      deviceId: 'tablet-retry',
      ops: [
        { opId: opId(), collection: 'patients', type: 'create', id, data: { name: 'Grace P.' }, hlc: hlc() },
        {
          opId: opId(),
          collection: 'patients',
          type: 'update',
          id,
          baseVersion: 1,
          data: { village: 'Balaka' },
          hlc: hlc(),
        },
        {
          opId: opId(),
          collection: 'patients',
          type: 'update',
          id,
          baseVersion: 1,
          data: { village: 'Zomba' },
          hlc: hlc(),
        },
        { opId: opId(), collection: 'nope', type: 'create', id: uuidv7(), data: {}, hlc: hlc() },
      ],
    };
    const first = await server.request<PushResponse>({
      method: 'POST',
      url: '/v1/sync/push',
      token: nurse,
      body,
    });
    const before = await pullAll(server, nurse);
    // The response was "lost": the device sends exactly the same push again.
    const second = await server.request<PushResponse>({
      method: 'POST',
      url: '/v1/sync/push',
      token: nurse,
      body,
    });
    expect(first.body.results.map((r) => r.status)).toEqual(['applied', 'applied', 'conflict', 'rejected']);
    expect(second.body.results.map((r) => r.status)).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    expect(second.body.results.map((r) => r.originalStatus)).toEqual([
      'applied',
      'applied',
      'conflict',
      'rejected',
    ]);
    expect(second.body.results.map((r) => r.version)).toEqual(first.body.results.map((r) => r.version));
    // The replayed conflict carries both versions again, as the first answer did.
    expect(second.body.results[2]?.conflict).toEqual(first.body.results[2]?.conflict);

    const after = await pullAll(server, nurse, { cursor: before.cursor });
    expect(after.changes).toEqual([]);
    const record = await server.request<{ version: number; data: unknown }>({
      method: 'GET',
      url: `/v1/records/patients/${id}`,
      token: nurse,
    });
    expect(record.body).toMatchObject({ version: 2, data: { name: 'Grace P.', village: 'Balaka' } });
    // The repeats are counted for the device's queue health, once per resent op.
    const status = await server.request<{ ops: { duplicate: number; applied: number } }>({
      method: 'GET',
      url: '/v1/sync/status?deviceId=tablet-retry',
      token: nurse,
    });
    expect(status.body.ops).toMatchObject({ duplicate: 4, applied: 2 });
    // Only the one real conflict is archived, not a second copy from the repeat.
    expect(await server.app.outpost.store.conflictsForRecord('clinic-a', 'patients', id)).toHaveLength(1);
  });

  it('answers a push that mixes resent and new ops: the resent as duplicates, the new applied once', async () => {
    const patient = uuidv7();
    const other = uuidv7();
    const created = {
      opId: opId(),
      collection: 'patients',
      type: 'create',
      id: patient,
      data: { name: 'Mphatso B.' },
      hlc: hlc(),
    };
    const send = (ops: unknown[]) =>
      server.request<PushResponse>({
        method: 'POST',
        url: '/v1/sync/push',
        token: nurse,
        body: { clientId: 'client-mixed', deviceId: 'tablet-mixed', ops },
      });
    const start = (await pullAll(server, nurse)).cursor;
    expect((await send([created])).body.results.map((r) => r.status)).toEqual(['applied']);
    // The device never saw that answer: it sends the create again, with what it typed since.
    const mixed = await send([
      created,
      {
        opId: opId(),
        collection: 'patients',
        type: 'update',
        id: patient,
        baseVersion: 1,
        data: { village: 'Dedza' },
        hlc: hlc(),
      },
      {
        opId: opId(),
        collection: 'patients',
        type: 'create',
        id: other,
        data: { name: 'Kondwani T.' },
        hlc: hlc(),
      },
    ]);
    expect(mixed.body.results.map((r) => [r.status, r.version])).toEqual([
      ['duplicate', 1],
      ['applied', 2],
      ['applied', 1],
    ]);
    const { changes } = await pullAll(server, nurse, { cursor: start });
    expect(changes.map((c) => [c.id, c.version, c.data])).toEqual([
      [patient, 2, { name: 'Mphatso B.', village: 'Dedza' }],
      [other, 1, { name: 'Kondwani T.' }],
    ]);
    expect(await server.app.outpost.store.conflictsForRecord('clinic-a', 'patients', patient)).toEqual([]);
    const status = await server.request<{ ops: { duplicate: number; applied: number } }>({
      method: 'GET',
      url: '/v1/sync/status?deviceId=tablet-mixed',
      token: nurse,
    });
    expect(status.body.ops).toMatchObject({ duplicate: 1, applied: 3 });
  });

  it('replays an op journaled with its whole result, as rows written before the compact journal hold it', async () => {
    const first = { opId: opId(), collection: 'patients', id: uuidv7() };
    await server.app.outpost.store.db
      .insertInto('ops')
      .values({
        tenant: 'clinic-a',
        op_id: first.opId,
        client_id: 'client-1',
        device_id: 'tablet-1',
        user_id: 'someone-earlier',
        collection: first.collection,
        record_id: first.id,
        op_type: 'create',
        status: 'applied',
        result: JSON.stringify({ ...first, status: 'applied', version: 1 }),
        received_at: new Date().toISOString(),
        duplicates: 0,
      })
      .execute();
    const res = await push(server, nurse, [
      { opId: first.opId, collection: 'patients', type: 'create', id: first.id, data: { name: 'Thoko B.' } },
    ]);
    expect(res.results).toEqual([{ ...first, status: 'duplicate', originalStatus: 'applied', version: 1 }]);
    const journaled = (await server.app.outpost.store.opLog('clinic-a', 100_000)).find(
      (o) => o.opId === first.opId,
    );
    expect(journaled?.result).toEqual({ ...first, status: 'applied', version: 1 });
  });

  it('settles a stale update as a conflict, keeps the server version and archives the client copy', async () => {
    const id = uuidv7();
    await push(server, nurse, [
      { collection: 'encounters', type: 'create', id: uuidv7(), data: { patientId: 'missing' } },
    ]).then((r) => expect(r.results[0]?.error?.code).toBe('UNRESOLVED_REFERENCE'));
    await push(server, nurse, [{ collection: 'patients', type: 'create', id, data: { name: 'Tiyamike' } }]);
    await push(
      server,
      nurse,
      [{ collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'Dedza' } }],
      {
        deviceId: 'tablet-2',
      },
    );
    const res = await push(server, nurse, [
      { collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'Mzuzu' } },
    ]);
    expect(res.results[0]).toMatchObject({
      status: 'conflict',
      version: 2,
      conflict: {
        kind: 'version',
        fields: ['village'],
        server: { version: 2, data: { village: 'Dedza' } },
        client: { data: { village: 'Mzuzu' } },
      },
    });
    const [archived] = await server.app.outpost.store.conflictsForRecord('clinic-a', 'patients', id);
    expect(archived).toMatchObject({
      kind: 'version',
      clientData: { village: 'Mzuzu' },
      serverData: { village: 'Dedza' },
      baseVersion: 1,
    });
  });

  it('keeps prescriptions open for a person instead of settling them', async () => {
    const patientId = uuidv7();
    const rxId = uuidv7();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Chikondi' } },
      {
        collection: 'prescriptions',
        type: 'create',
        id: rxId,
        data: { patientId, drug: 'Amoxicillin', dose: '500 mg' },
      },
      { collection: 'prescriptions', type: 'update', id: rxId, baseVersion: 1, data: { dose: '250 mg' } },
    ]);
    const res = await push(server, nurse, [
      { collection: 'prescriptions', type: 'update', id: rxId, baseVersion: 1, data: { dose: '1 g' } },
    ]);
    expect(res.results[0]).toMatchObject({
      status: 'conflict',
      conflict: { strategy: 'manual', outcome: 'open' },
    });
    const status = await server.request<{ openConflicts: number }>({
      method: 'GET',
      url: '/v1/sync/status',
      token: nurse,
    });
    expect(status.body.openConflicts).toBeGreaterThanOrEqual(1);
  });

  it('refuses any change to a signed note and keeps each attempt in the archive', async () => {
    const patientId = uuidv7();
    const encounterId = uuidv7();
    const noteId = uuidv7();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Mphatso' } },
      { collection: 'encounters', type: 'create', id: encounterId, data: { patientId } },
      { collection: 'clinicalNotes', type: 'create', id: noteId, data: { encounterId, body: 'Draft' } },
      {
        collection: 'clinicalNotes',
        type: 'update',
        id: noteId,
        baseVersion: 1,
        data: { body: 'Final', signatureHash: 'sig-1' },
      },
    ]);
    const before = await server.request({
      method: 'GET',
      url: `/v1/records/clinicalNotes/${noteId}`,
      token: nurse,
    });
    const res = await push(server, nurse, [
      {
        collection: 'clinicalNotes',
        type: 'update',
        id: noteId,
        baseVersion: 2,
        data: { body: 'Edited later' },
      },
      { collection: 'clinicalNotes', type: 'delete', id: noteId, baseVersion: 2 },
    ]);
    expect(res.results.map((r) => r.error?.code)).toEqual(['IMMUTABLE', 'IMMUTABLE']);
    const after = await server.request({
      method: 'GET',
      url: `/v1/records/clinicalNotes/${noteId}`,
      token: nurse,
    });
    expect(JSON.stringify(after.body)).toBe(JSON.stringify(before.body));
    const archive = await server.app.outpost.store.conflictsForRecord('clinic-a', 'clinicalNotes', noteId);
    // Both attempts came in one push and share a timestamp: their order in the archive is not promised.
    expect(archive).toHaveLength(2);
    expect(archive.map((c) => [c.kind, c.outcome, c.clientData])).toEqual(
      expect.arrayContaining([
        ['immutable', 'rejected', { body: 'Edited later' }],
        ['immutable', 'rejected', null],
      ]),
    );
  });

  it('settles a create that names an existing record against that record, among creates of new ones', async () => {
    // A create names a device-made id, which nearly always is new; these name a live record, a
    // tombstone and a signed note, and must be settled against them as any change would be.
    const [live, gone, fresh1, fresh2, encounterId, noteId] = [
      uuidv7(),
      uuidv7(),
      uuidv7(),
      uuidv7(),
      uuidv7(),
      uuidv7(),
    ];
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: live, data: { name: 'Chikondi', village: 'Dedza' } },
      { collection: 'patients', type: 'create', id: gone, data: { name: 'Left the district' } },
      { collection: 'patients', type: 'delete', id: gone, baseVersion: 1 },
      { collection: 'encounters', type: 'create', id: encounterId, data: { patientId: live } },
      {
        collection: 'clinicalNotes',
        type: 'create',
        id: noteId,
        data: { encounterId, body: 'Signed', signatureHash: 'sig-1' },
      },
    ]);
    const start = (await pullAll(server, nurse)).cursor;
    const creates = [
      { collection: 'patients', id: fresh1, data: { name: 'New one' } },
      { collection: 'patients', id: live, data: { name: 'Chikondi B.' } },
      { collection: 'patients', id: gone, data: { name: 'Came back' } },
      { collection: 'clinicalNotes', id: noteId, data: { encounterId, body: 'Rewritten' } },
      { collection: 'patients', id: fresh2, data: { name: 'Another new one' } },
    ];
    const body = {
      clientId: 'client-1',
      deviceId: 'tablet-1',
      ops: creates.map((c) => ({ opId: opId(), hlc: hlc(), type: 'create', ...c })),
    };
    const send = () =>
      server.request<PushResponse>({ method: 'POST', url: '/v1/sync/push', token: nurse, body });
    const res = await send();
    expect(res.body.results.map((r) => [r.status, r.version, r.error?.code])).toEqual([
      ['applied', 1, undefined],
      // A create carries no base version: against a record that exists it is a stale change, and
      // the server's copy (the live record, the deletion) wins, the device's kept in the archive.
      ['conflict', 1, undefined],
      ['conflict', 2, undefined],
      ['rejected', 1, 'IMMUTABLE'],
      ['applied', 1, undefined],
    ]);
    const { changes } = await pullAll(server, nurse, { cursor: start });
    expect(changes.map((c) => [c.id, c.version, c.data])).toEqual(
      expect.arrayContaining([
        [fresh1, 1, { name: 'New one' }],
        [fresh2, 1, { name: 'Another new one' }],
      ]),
    );
    expect(changes).toHaveLength(2);
    const stored = (collection: string, id: string) =>
      server.app.outpost.store.getRecord('clinic-a', collection, id);
    expect(await stored('patients', live)).toMatchObject({
      version: 1,
      data: { name: 'Chikondi', village: 'Dedza' },
    });
    expect(await stored('patients', gone)).toMatchObject({ version: 2, deleted: true });
    expect(await stored('clinicalNotes', noteId)).toMatchObject({ version: 1, data: { body: 'Signed' } });
    for (const [collection, id] of [
      ['patients', live],
      ['patients', gone],
      ['clinicalNotes', noteId],
    ] as const) {
      expect(await server.app.outpost.store.conflictsForRecord('clinic-a', collection, id)).toHaveLength(1);
    }
    // Sent again, as after a lost response: every op answered from the journal, nothing applied twice.
    const again = await send();
    expect(again.body.results.map((r) => [r.status, r.originalStatus, r.version])).toEqual(
      res.body.results.map((r) => ['duplicate', r.status, r.version]),
    );
    expect((await pullAll(server, nurse, { cursor: start })).changes).toEqual(changes);
  });

  it('pages with limit and hasMore, and filters by collection', async () => {
    const ids = Array.from({ length: 7 }, () => uuidv7());
    const start = (await pullAll(server, nurse)).cursor;
    await push(
      server,
      nurse,
      ids.map((id, i) => ({
        collection: 'patients',
        type: 'create' as const,
        id,
        data: { name: `Patient ${i}` },
      })),
    );
    const paged = await pullAll(server, nurse, { cursor: start, limit: 3 });
    expect(paged.pages).toBe(3);
    expect(paged.changes.map((c) => c.id)).toEqual(ids);
    const first = await pull(server, nurse, { cursor: start, limit: 3 });
    expect(first.hasMore).toBe(true);
    const onlyEncounters = await pullAll(server, nurse, { cursor: start, collections: 'encounters' });
    expect(onlyEncounters.changes).toEqual([]);
  });

  it('continues a selective pull for the same collections or fewer, and starts over for more (410)', async () => {
    const start = (await pullAll(server, nurse)).cursor;
    const patientId = uuidv7();
    const encounterId = uuidv7();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Chosen first' } },
      { collection: 'encounters', type: 'create', id: encounterId, data: { patientId, diagnosis: 'flu' } },
    ]);
    // Patients only, as a device syncing its patient list first.
    const patientsOnly = await pullAll(server, nurse, { cursor: start, collections: 'patients' });
    expect(patientsOnly.changes.map((c) => c.id)).toEqual([patientId]);
    expect(
      (await pull(server, nurse, { cursor: patientsOnly.cursor, collections: 'patients' })).changes,
    ).toEqual([]);
    // Continued for every collection, the cursor would skip the encounter for good.
    for (const collections of [undefined, 'patients,encounters']) {
      const res = await server.request<{ error: { code: string; details: unknown } }>({
        method: 'GET',
        url: `/v1/sync/pull?cursor=${patientsOnly.cursor}${collections ? `&collections=${collections}` : ''}`,
        token: nurse,
      });
      expect(res.status).toBe(410);
      expect(res.body.error).toMatchObject({
        code: 'CURSOR_EXPIRED',
        details: { collections: expect.arrayContaining(['encounters']) },
      });
      expect(res.body.error.details).not.toMatchObject({ collections: expect.arrayContaining(['patients']) });
    }
    // From the start, as the client then does, the encounter comes.
    const again = await pullAll(server, nurse, { cursor: start });
    expect(again.changes.map((c) => c.id)).toEqual([patientId, encounterId]);
    // An unfiltered cursor may narrow; a forged scope fails the signature.
    expect((await pull(server, nurse, { cursor: again.cursor, collections: 'encounters' })).changes).toEqual(
      [],
    );
    const [position, horizon, , epoch, mac] = patientsOnly.cursor.split('.');
    const widened = `${position}.${horizon}.${Buffer.from('encounters,patients').toString('base64url')}.${epoch}.${mac}`;
    const forged = await server.request({
      method: 'GET',
      url: `/v1/sync/pull?cursor=${widened}`,
      token: nurse,
    });
    expect(forged.status).toBe(400);
  });

  it('pulls text that JSON must escape exactly as it was pushed, and tombstones with null data', async () => {
    const start = (await pullAll(server, nurse)).cursor;
    const id = uuidv7();
    const gone = uuidv7();
    const tricky =
      'Ama "Mama" O\'Neil \\ back\nnew line\ttab \u0000 \u0001\u001f é 漢字 🩺 \u2028\u2029 </script>';
    await push(server, nurse, [
      {
        collection: 'patients',
        type: 'create',
        id,
        data: { name: tricky, allergies: ['a"b', '\\'], notes: '{"not":"json"}' },
      },
      { collection: 'patients', type: 'create', id: gone, data: { name: 'Temporary' } },
      { collection: 'patients', type: 'delete', id: gone, baseVersion: 1 },
    ]);
    const { changes } = await pullAll(server, nurse, { cursor: start });
    expect(changes).toEqual([
      {
        collection: 'patients',
        id,
        version: 1,
        deleted: false,
        data: { name: tricky, allergies: ['a"b', '\\'], notes: '{"not":"json"}' },
        updatedAt: expect.any(String),
        hlc: expect.any(String),
      },
      {
        collection: 'patients',
        id: gone,
        version: 2,
        deleted: true,
        data: null,
        updatedAt: expect.any(String),
        hlc: expect.any(String),
      },
    ]);
    const stored = await server.app.outpost.store.getRecord('clinic-a', 'patients', id);
    expect(changes[0]?.updatedAt).toBe(stored?.updatedAt);
    expect(changes[0]?.hlc).toBe(stored?.hlc);
  });

  it('pulls ids with every character a record id may hold, and stores no id JSON would need escaped', async () => {
    const start = (await pullAll(server, nurse)).cursor;
    const id = 'Chart_2026.11-b';
    await push(server, nurse, [{ collection: 'patients', type: 'create', id, data: { name: 'Grace P.' } }]);
    const { changes } = await pullAll(server, nurse, { cursor: start });
    expect(changes.map((c) => c.id)).toEqual([id]);

    // Pull writes ids between quotes unescaped; the store itself refuses one that would break that,
    // whichever path hands it over, and the transaction writes nothing.
    const { store } = server.app.outpost;
    const record = { ...(await store.getRecord('clinic-a', 'patients', id))!, position: 0 };
    for (const bad of ['quote"d', 'back\\slash', 'new\nline']) {
      await expect(
        store.write('clinic-a', 1, (w) =>
          w.writeRecords([{ ...record, id: bad, position: w.nextPosition() }]),
        ),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await store.getRecord('clinic-a', 'patients', bad)).toBeNull();
    }
    expect((await pullAll(server, nurse, { cursor: start })).changes.map((c) => c.id)).toEqual([id]);
  });

  it('leaves out of a page what the caller may not see, and moves the cursor past it', async () => {
    const { store } = server.app.outpost;
    const before = await store.pullChanges('clinic-a', 0, 100_000);
    const start = before.last ?? 0;
    const patientId = uuidv7();
    const encounterId = uuidv7();
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: patientId, data: { name: 'Thoko M.' } },
      { collection: 'encounters', type: 'create', id: encounterId, data: { patientId, diagnosis: 'Cough' } },
    ]);
    const all = await store.pullChanges('clinic-a', start, 1000);
    // Whether the filter runs in SQL (some collections) or on the page (every collection the schema
    // has, here as if the encounters collection had left the schema), the page and cursor agree.
    for (const everyCollection of [false, true]) {
      const page = await store.pullChanges('clinic-a', start, 1000, ['patients'], everyCollection);
      const changes = JSON.parse(`[${page.changes}]`) as Array<{ id: string }>;
      expect(changes.map((c) => c.id)).toEqual([patientId]);
      expect(page.hasMore).toBe(false);
    }
    const onPage = await store.pullChanges('clinic-a', start, 1000, ['patients'], true);
    expect(onPage.last).toBe(all.last);
  });

  it('compresses a pull page as the client asks (brotli for a browser, gzip for gzip), with the same changes as plain', async () => {
    await push(
      server,
      nurse,
      Array.from({ length: 60 }, (_, i) => ({
        collection: 'patients',
        type: 'create' as const,
        id: uuidv7(),
        data: { name: `Patient ${i}`, notes: 'Follow up at the next outreach visit. '.repeat(4) },
      })),
    );
    const get = (encoding: string) =>
      server.app.inject({
        method: 'GET',
        url: '/v1/sync/pull?limit=1000',
        headers: { authorization: `Bearer ${nurse}`, 'accept-encoding': encoding },
      });
    const [plain, zipped, browser] = await Promise.all([
      get('identity'),
      get('gzip'),
      get('gzip, deflate, br, zstd'),
    ]);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(16 * 1024);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(Number(zipped.headers['content-length'])).toBe(zipped.rawPayload.length);
    expect(JSON.parse(gunzipSync(zipped.rawPayload).toString('utf8'))).toEqual(JSON.parse(plain.body));
    expect(browser.headers['content-encoding']).toBe('br');
    expect(browser.rawPayload.length).toBeLessThan(plain.body.length / 4);
    expect(JSON.parse(brotliDecompressSync(browser.rawPayload).toString('utf8'))).toEqual(
      JSON.parse(plain.body),
    );
  });

  it('tells a client whose cursor predates purged tombstones to resync (410)', async () => {
    const id = uuidv7();
    await push(server, nurse, [{ collection: 'patients', type: 'create', id, data: { name: 'Temporary' } }]);
    const old = await pullAll(server, nurse);
    await push(server, nurse, [{ collection: 'patients', type: 'delete', id, baseVersion: 1 }]);
    const later = await pullAll(server, nurse);
    await server.app.outpost.store.purgeTombstones(new Date(Date.now() + 60_000).toISOString());
    const expired = await server.request({
      method: 'GET',
      url: `/v1/sync/pull?cursor=${old.cursor}`,
      token: nurse,
    });
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ error: { code: 'CURSOR_EXPIRED' } });
    // The same when changes follow the cursor (the page then carries the horizon it was read with).
    await push(server, nurse, [
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Next' } },
    ]);
    const stillExpired = await server.request({
      method: 'GET',
      url: `/v1/sync/pull?cursor=${old.cursor}`,
      token: nurse,
    });
    expect(stillExpired.status).toBe(410);
    const fine = await server.request({
      method: 'GET',
      url: `/v1/sync/pull?cursor=${later.cursor}`,
      token: nurse,
    });
    expect(fine.status).toBe(200);
    // A fresh sync from the start reproduces the server's state without the purged record.
    const fresh = await pullAll(server, nurse);
    expect(fresh.changes.find((c) => c.id === id)).toBeUndefined();
  });

  it('replays a pull from scratch into exactly the server state', async () => {
    const replica = new Map();
    applyChanges(replica, (await pullAll(server, nurse, { limit: 5 })).changes);
    const live = [...replica.values()];
    for (const change of live) {
      const res = await server.request<{ version: number; data: unknown }>({
        method: 'GET',
        url: `/v1/records/${change.collection}/${change.id}`,
        token: nurse,
      });
      expect(res.body).toMatchObject({ version: change.version, data: change.data });
    }
  });
});

describe.each(dialects())('server-assigned ids on %s', (kind) => {
  let server: TestServer;
  let vet: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { schema: vetPractice });
    vet = await server.token('vet@vet-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  it('maps temp ids within one push and in later pushes, and derives appointment.clientId', async () => {
    const owner = makeTempId('users');
    const pet = makeTempId('pets');
    const appointment = makeTempId('appointments');
    const first = await push(server, vet, [
      { collection: 'users', type: 'create', id: owner, data: { name: 'Ruth Banda', role: 'CLIENT' } },
      {
        collection: 'pets',
        type: 'create',
        id: pet,
        data: { name: 'Simba', species: 'dog', ownerId: owner },
      },
      {
        collection: 'appointments',
        type: 'create',
        id: appointment,
        data: { date: '2026-11-22T09:00:00Z', petId: pet, title: 'Checkup' },
      },
    ]);
    expect(first.results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied']);
    const ids = Object.fromEntries(first.idMappings.map((m) => [m.tempId, m.id]));
    expect(Object.keys(ids).sort()).toEqual([appointment, owner, pet].sort());
    for (const r of first.results) expect(r.id).toBe(ids[r.tempId ?? '']);

    // The stored records point at real ids only.
    const petRecord = await server.request<{ data: Record<string, unknown> }>({
      method: 'GET',
      url: `/v1/records/pets/${ids[pet]}`,
      token: vet,
    });
    expect(petRecord.body.data['ownerId']).toBe(ids[owner]);
    const appt = await server.request<{ data: Record<string, unknown> }>({
      method: 'GET',
      url: `/v1/records/appointments/${ids[appointment]}`,
      token: vet,
    });
    expect(appt.body.data).toMatchObject({ petId: ids[pet], clientId: ids[owner] });

    // A later push still names the records by their temp ids, as an offline device would.
    const later = await push(server, vet, [
      {
        collection: 'appointments',
        type: 'update',
        id: appointment,
        baseVersion: 1,
        data: { durationMinutes: 30 },
      },
      {
        collection: 'soapNotes',
        type: 'create',
        id: makeTempId('soapNotes'),
        data: { appointmentId: appointment, subjective: 'Limping' },
      },
    ]);
    expect(later.results.map((r) => r.status)).toEqual(['applied', 'applied']);
    expect(later.results[0]?.id).toBe(ids[appointment]);
    const note = await server.request<{ data: Record<string, unknown> }>({
      method: 'GET',
      url: `/v1/records/soapNotes/${later.results[1]?.id}`,
      token: vet,
    });
    expect(note.body.data['appointmentId']).toBe(ids[appointment]);
  });

  it('fails dependants of a rejected create, and leaves unknown temp ids unresolved', async () => {
    const owner = makeTempId('users');
    const res = await push(server, vet, [
      { collection: 'users', type: 'create', id: owner, data: { email: 'no name' } },
      { collection: 'pets', type: 'create', id: makeTempId('pets'), data: { name: 'Kuku', ownerId: owner } },
      {
        collection: 'pets',
        type: 'create',
        id: makeTempId('pets'),
        data: { name: 'Nkhuku', ownerId: makeTempId('users') },
      },
    ]);
    expect(res.results.map((r) => r.error?.code)).toEqual([
      'VALIDATION_FAILED',
      'DEPENDENCY_FAILED',
      'UNRESOLVED_REFERENCE',
    ]);
    expect(res.idMappings).toEqual([]);
  });

  it('does not let another client of the same tenant use a temp id it never created', async () => {
    const owner = makeTempId('users');
    await push(server, vet, [{ collection: 'users', type: 'create', id: owner, data: { name: 'Peter' } }], {
      clientId: 'client-a',
    });
    const res = await push(
      server,
      vet,
      [{ collection: 'users', type: 'update', id: owner, data: { name: 'Paul' } }],
      {
        clientId: 'client-b',
      },
    );
    expect(res.results[0]?.error?.code).toBe('UNRESOLVED_REFERENCE');
  });

  it('refuses a final id where the server assigns ids', async () => {
    const res = await push(server, vet, [
      { collection: 'users', type: 'create', id: 'my-own-id', data: { name: 'X' } },
    ]);
    expect(res.results[0]?.error?.code).toBe('VALIDATION_FAILED');
  });
});
