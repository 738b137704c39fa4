// The conflict engine end to end: each collection's rule on the wire, the archive, and settling
// archived conflicts by a person (list, get, resolve, undo, bulk), on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HlcClock, maxDataDepth, stableHash, uuidv7 } from '@outpost/core';
import type { Change, Conflict, ConflictListResponse, PushResult, ResolveResponse } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { applyChanges, nestedValue, pullAll, push } from './sync-client';

describe.each(dialects())('conflicts on %s', (kind) => {
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

  async function newPatient(data: Record<string, unknown> = {}): Promise<string> {
    const id = uuidv7();
    const res = await push(server, nurse, [
      { collection: 'patients', type: 'create', id, data: { name: 'Amina K.', ...data } },
    ]);
    expect(res.results[0]?.status).toBe('applied');
    return id;
  }

  async function record(collection: string, id: string) {
    const res = await server.request<{
      version: number;
      deleted: boolean;
      data: Record<string, unknown> | null;
    }>({ method: 'GET', url: `/v1/records/${collection}/${id}`, token: admin });
    return res.body;
  }

  async function one(token: string, op: Parameters<typeof push>[2][number], deviceId = 'tablet-1') {
    const res = await push(server, token, [op], { deviceId });
    return res.results[0] as PushResult;
  }

  describe('each collection settles by its own rule', () => {
    it('patients merge: edits of different fields combine, with the conflict archived as merged', async () => {
      const id = await newPatient({ village: 'Ntcheu' });
      await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Dedza' },
      });
      const res = await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { phone: '0999 123' },
      });
      expect(res).toMatchObject({
        status: 'applied',
        version: 3,
        conflict: { kind: 'version', strategy: 'merge', outcome: 'merged', fields: [] },
      });
      expect((await record('patients', id)).data).toEqual({
        name: 'Amina K.',
        village: 'Dedza',
        phone: '0999 123',
      });
      const archive = await server.app.outpost.store.conflictsForRecord('clinic-a', 'patients', id);
      expect(archive).toMatchObject([
        { outcome: 'merged', serverData: { village: 'Dedza' }, clientData: { phone: '0999 123' } },
      ]);
    });

    it('patients merge: the same field changed on both sides waits for a person, record unchanged', async () => {
      const id = await newPatient({ village: 'Ntcheu' });
      await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Dedza' },
      });
      const res = await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Mzuzu', phone: '1' },
      });
      expect(res).toMatchObject({
        status: 'conflict',
        version: 2,
        conflict: {
          strategy: 'manual',
          outcome: 'open',
          fields: ['village'],
          client: { data: { village: 'Mzuzu' } },
        },
      });
      expect((await record('patients', id)).data).toEqual({ name: 'Amina K.', village: 'Dedza' });
    });

    it('encounters last-write-wins: the later HLC wins whichever arrives last; the loser is archived', async () => {
      const patientId = await newPatient();
      const early = new HlcClock({ node: 'tablet-early', now: () => 1_000 }).tick();
      const late = new HlcClock({ node: 'tablet-late', now: () => Date.now() + 60_000 }).tick();
      const a = uuidv7();
      const b = uuidv7();
      for (const id of [a, b]) {
        await one(nurse, {
          collection: 'encounters',
          type: 'create',
          id,
          data: { patientId, diagnosis: 'malaria' },
        });
      }
      // a: the later edit arrives first, then the earlier one loses.
      await one(nurse, {
        collection: 'encounters',
        type: 'update',
        id: a,
        baseVersion: 1,
        hlc: late,
        data: { diagnosis: 'typhoid' },
      });
      const lost = await one(nurse, {
        collection: 'encounters',
        type: 'update',
        id: a,
        baseVersion: 1,
        hlc: early,
        data: { diagnosis: 'flu' },
      });
      expect(lost).toMatchObject({
        status: 'conflict',
        conflict: { outcome: 'server-won', strategy: 'last-write-wins' },
      });
      // b: the earlier edit arrives first, then the later one wins.
      await one(nurse, {
        collection: 'encounters',
        type: 'update',
        id: b,
        baseVersion: 1,
        hlc: early,
        data: { diagnosis: 'flu' },
      });
      const won = await one(nurse, {
        collection: 'encounters',
        type: 'update',
        id: b,
        baseVersion: 1,
        hlc: late,
        data: { diagnosis: 'typhoid' },
      });
      expect(won).toMatchObject({ status: 'applied', version: 3, conflict: { outcome: 'client-won' } });
      expect((await record('encounters', a)).data?.['diagnosis']).toBe('typhoid');
      expect((await record('encounters', b)).data?.['diagnosis']).toBe('typhoid');
    });

    it('an edit stamped years ahead is stamped by the server as it arrives: a later edit still wins', async () => {
      const patientId = await newPatient();
      const id = uuidv7();
      await one(nurse, {
        collection: 'encounters',
        type: 'create',
        id,
        data: { patientId, diagnosis: 'malaria' },
      });
      // A tablet whose clock was set years ahead.
      const ahead = new HlcClock({
        node: 'tablet-ahead',
        now: () => Date.now() + 5 * 365 * 86_400_000,
      }).tick();
      const first = await one(nurse, {
        collection: 'encounters',
        type: 'update',
        id,
        baseVersion: 1,
        hlc: ahead,
        data: { diagnosis: 'typhoid' },
      });
      expect(first).toMatchObject({ status: 'applied', version: 2 });
      const stamped = (await pullAll(server, admin)).changes.find((c) => c.id === id)?.hlc ?? '';
      // Other tests here moved the server's clock a minute ahead at most.
      expect(stamped < new HlcClock({ node: 'x', now: () => Date.now() + 3_600_000 }).tick()).toBe(true);
      // Another tablet, whose clock is two hours fast (within the day a clock may be off), edited
      // the first version later.
      const later = new HlcClock({ node: 'tablet-fast', now: () => Date.now() + 7_200_000 }).tick();
      const second = await one(
        nurse,
        {
          collection: 'encounters',
          type: 'update',
          id,
          baseVersion: 1,
          hlc: later,
          data: { diagnosis: 'flu' },
        },
        'tablet-2',
      );
      expect(second).toMatchObject({ status: 'applied', conflict: { outcome: 'client-won' } });
      expect((await record('encounters', id)).data?.['diagnosis']).toBe('flu');
    });

    it('delete-update both ways: an edit of a deleted record and a delete of an edited one', async () => {
      const patientId = await newPatient();
      const gone = uuidv7();
      const edited = uuidv7();
      await push(server, nurse, [
        { collection: 'encounters', type: 'create', id: gone, data: { patientId } },
        { collection: 'encounters', type: 'create', id: edited, data: { patientId } },
        { collection: 'encounters', type: 'delete', id: gone, baseVersion: 1 },
        {
          collection: 'encounters',
          type: 'update',
          id: edited,
          baseVersion: 1,
          data: { notes: 'seen twice' },
        },
      ]);
      const old = new HlcClock({ node: 'tablet-old', now: () => 1_000 }).tick();
      const late = await one(nurse, {
        collection: 'encounters',
        type: 'update',
        id: gone,
        baseVersion: 1,
        hlc: old,
        data: { notes: 'x' },
      });
      expect(late).toMatchObject({
        status: 'conflict',
        conflict: { kind: 'delete-update', outcome: 'server-won' },
      });
      const del = await one(nurse, {
        collection: 'encounters',
        type: 'delete',
        id: edited,
        baseVersion: 1,
        hlc: old,
      });
      expect(del).toMatchObject({
        status: 'conflict',
        conflict: { kind: 'delete-update', fields: ['notes'] },
      });
      expect(await record('encounters', edited)).toMatchObject({
        deleted: false,
        data: { notes: 'seen twice' },
      });
    });

    it('detects by hash and by timestamp for clients that send no version', async () => {
      const id = await newPatient({ village: 'Ntcheu' });
      const staleHash = stableHash({ name: 'Amina K.', village: 'Ntcheu' });
      await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Dedza' },
      });
      const byHash = await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseHash: staleHash,
        // A client that sends only hashes: the server cannot tell which fields it changed since.
        hlc: undefined,
        data: { village: 'Zomba' },
      });
      expect(byHash).toMatchObject({ status: 'conflict', conflict: { kind: 'hash', fields: ['village'] } });
      const current = stableHash((await record('patients', id)).data);
      const fresh = await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseHash: current,
        data: { village: 'Zomba' },
      });
      expect(fresh).toMatchObject({ status: 'applied', version: 3 });
      expect(fresh.conflict).toBeUndefined();
      const old = new HlcClock({ node: 'tablet-old', now: () => 1_000 }).tick();
      const byTime = await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        hlc: old,
        data: { village: 'Blantyre' },
      });
      expect(byTime).toMatchObject({
        status: 'conflict',
        conflict: { kind: 'timestamp', fields: ['village'] },
      });
      // A change equal to what the server holds is no conflict, however stale its base.
      const same = await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Zomba' },
      });
      expect(same).toMatchObject({ status: 'applied', version: 3 });
    });

    it('honours a per-op strategy from a role allowed to override, and ignores it from others', async () => {
      const id = await newPatient({ village: 'Ntcheu' });
      await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Dedza' },
      });
      const ignored = await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        strategy: 'client-wins',
        data: { village: 'Mzuzu' },
      });
      expect(ignored).toMatchObject({
        status: 'conflict',
        conflict: { strategy: 'manual', outcome: 'open' },
      });
      const forced = await one(admin, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        strategy: 'client-wins',
        data: { village: 'Mzuzu' },
      });
      expect(forced).toMatchObject({
        status: 'applied',
        conflict: { strategy: 'client-wins', outcome: 'client-won' },
      });
      expect((await record('patients', id)).data?.['village']).toBe('Mzuzu');
    });

    it('locks an intake form once: the locking edit applies, every later change is refused and archived', async () => {
      const patientId = await newPatient();
      const formId = uuidv7();
      await push(server, nurse, [
        { collection: 'intakeForms', type: 'create', id: formId, data: { patientId, answers: { pain: 3 } } },
        { collection: 'intakeForms', type: 'update', id: formId, baseVersion: 1, data: { isLocked: true } },
      ]);
      const res = await push(server, nurse, [
        {
          collection: 'intakeForms',
          type: 'update',
          id: formId,
          baseVersion: 2,
          data: { answers: { pain: 5 } },
        },
        { collection: 'intakeForms', type: 'update', id: formId, baseVersion: 2, data: { isLocked: false } },
        { collection: 'intakeForms', type: 'delete', id: formId, baseVersion: 2 },
      ]);
      expect(res.results.map((r) => r.error?.code)).toEqual(['LOCKED', 'LOCKED', 'LOCKED']);
      expect(await record('intakeForms', formId)).toMatchObject({
        version: 2,
        data: { answers: { pain: 3 }, isLocked: true },
      });
      const archive = await server.app.outpost.store.conflictsForRecord('clinic-a', 'intakeForms', formId);
      expect(archive.map((c) => [c.kind, c.outcome])).toEqual([
        ['locked', 'rejected'],
        ['locked', 'rejected'],
        ['locked', 'rejected'],
      ]);
    });
  });

  describe('settling by a person', () => {
    async function openConflictOnVillage(): Promise<{ id: string; conflictId: string }> {
      const id = await newPatient({ village: 'Ntcheu' });
      await one(
        nurse,
        { collection: 'patients', type: 'update', id, baseVersion: 1, data: { village: 'Dedza' } },
        'tablet-2',
      );
      const res = await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Mzuzu', phone: '0888' },
      });
      expect(res.conflict?.outcome).toBe('open');
      return { id, conflictId: String(res.conflict?.id) };
    }

    it('resolve, then undo: each is a new version a second client pulls', async () => {
      const { id, conflictId } = await openConflictOnVillage();
      const second = new Map<string, Change>();
      let { changes, cursor } = await pullAll(server, admin);
      applyChanges(second, changes);
      expect(second.get(`patients/${id}`)?.data).toMatchObject({ village: 'Dedza' });

      const got = await server.request<Conflict>({
        method: 'GET',
        url: `/v1/conflicts/${conflictId}`,
        token: admin,
      });
      expect(got.body).toMatchObject({
        id: conflictId,
        recordId: id,
        kind: 'version',
        fields: ['village'],
        outcome: 'open',
        server: { data: { village: 'Dedza' }, version: 2 },
        client: { data: { village: 'Mzuzu', phone: '0888' }, baseVersion: 1 },
        resolvedAt: null,
      });

      // The administrator picks the client's village and the server's (absent) phone, field by field.
      const resolved = await server.request<ResolveResponse>({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/resolve`,
        token: admin,
        body: { strategy: 'merge', mergedData: { village: 'Mzuzu' } },
      });
      expect(resolved.status).toBe(200);
      expect(resolved.body.conflict).toMatchObject({ outcome: 'merged', strategy: 'merge' });
      expect(resolved.body.conflict.resolvedBy).toBeTruthy();
      expect(resolved.body.record).toMatchObject({
        version: 3,
        data: { name: 'Amina K.', village: 'Mzuzu' },
      });
      ({ changes, cursor } = await pullAll(server, admin, { cursor }));
      applyChanges(second, changes);
      expect(second.get(`patients/${id}`)).toMatchObject({ version: 3, data: { village: 'Mzuzu' } });
      expect(second.get(`patients/${id}`)?.data).not.toHaveProperty('phone');

      const undone = await server.request<ResolveResponse>({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/undo`,
        token: admin,
      });
      expect(undone.status).toBe(200);
      expect(undone.body.conflict).toMatchObject({ outcome: 'open', resolvedAt: null });
      expect(undone.body.record).toMatchObject({ version: 4, data: { village: 'Dedza' } });
      ({ changes, cursor } = await pullAll(server, admin, { cursor }));
      applyChanges(second, changes);
      expect(second.get(`patients/${id}`)).toMatchObject({ version: 4, data: { village: 'Dedza' } });

      // Nothing left to undo.
      const again = await server.request<{ error: { code: string; details?: unknown } }>({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/undo`,
        token: admin,
      });
      expect(again.status).toBe(409);
      // The reason a screen words it by, where the message names the record by id.
      expect(again.body.error).toMatchObject({ code: 'CONFLICT', details: { reason: 'nothing-to-undo' } });

      const events = await server.app.outpost.store.auditEvents('clinic-a');
      expect(events.filter((e) => e.recordId === id).map((e) => [e.action, e.outcome])).toEqual(
        expect.arrayContaining([
          ['resolve', 'merged'],
          ['undo', 'open'],
        ]),
      );
    });

    it('refuses to undo once the record changed after the resolution (409), and changes nothing', async () => {
      const { id, conflictId } = await openConflictOnVillage();
      const resolved = await server.request<ResolveResponse>({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/resolve`,
        token: admin,
        body: { strategy: 'client-wins' },
      });
      expect(resolved.body.record.data).toMatchObject({ village: 'Mzuzu', phone: '0888' });
      await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 3,
        data: { notes: 'follow up' },
      });
      const undo = await server.request<{ error: { code: string; details?: unknown } }>({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/undo`,
        token: admin,
      });
      expect(undo.status).toBe(409);
      expect(undo.body.error).toMatchObject({
        code: 'CONFLICT',
        details: { reason: 'changed-since', resolvedVersion: 3, currentVersion: 4 },
      });
      expect(await record('patients', id)).toMatchObject({
        version: 4,
        data: { village: 'Mzuzu', phone: '0888', notes: 'follow up' },
      });
      const still = await server.request<Conflict>({
        method: 'GET',
        url: `/v1/conflicts/${conflictId}`,
        token: admin,
      });
      expect(still.body.outcome).toBe('client-won');
    });

    it('settles by last-write-wins on request, and server-wins leaves the record as it is', async () => {
      const a = await openConflictOnVillage();
      const lww = await server.request<ResolveResponse>({
        method: 'POST',
        url: `/v1/conflicts/${a.conflictId}/resolve`,
        token: admin,
        body: { strategy: 'last-write-wins' },
      });
      // The client's edit was made after the server's (the test client's clock ticks forward).
      expect(lww.body).toMatchObject({
        conflict: { outcome: 'client-won' },
        record: { data: { village: 'Mzuzu' } },
      });
      const b = await openConflictOnVillage();
      const kept = await server.request<ResolveResponse>({
        method: 'POST',
        url: `/v1/conflicts/${b.conflictId}/resolve`,
        token: admin,
        body: { strategy: 'server-wins' },
      });
      expect(kept.body).toMatchObject({
        conflict: { outcome: 'server-won' },
        record: { version: 2, data: { village: 'Dedza' } },
      });
    });

    it('lets only resolvers settle, shows clinicians their own conflicts only, and hides other clinics', async () => {
      const { conflictId } = await openConflictOnVillage();
      // A conflict the administrator's own device raised: not the nurse's to see.
      const id = await newPatient({ village: 'Ntcheu' });
      await one(nurse, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Dedza' },
      });
      const adminsOwn = await one(admin, {
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { village: 'Zomba' },
      });

      const forbidden = await server.request<{ error: { code: string } }>({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/resolve`,
        token: nurse,
        body: { strategy: 'client-wins' },
      });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.error.code).toBe('FORBIDDEN');
      expect(
        (await server.request({ method: 'GET', url: `/v1/conflicts/${conflictId}`, token: nurse })).status,
      ).toBe(200);
      expect(
        (
          await server.request({
            method: 'GET',
            url: `/v1/conflicts/${adminsOwn.conflict?.id}`,
            token: nurse,
          })
        ).status,
      ).toBe(404);
      const mine = await server.request<ConflictListResponse>({
        method: 'GET',
        url: '/v1/conflicts?limit=500',
        token: nurse,
      });
      expect(mine.body.conflicts.length).toBeGreaterThan(0);
      expect(mine.body.conflicts.every((c) => c.userId === mine.body.conflicts[0]?.userId)).toBe(true);
      expect(mine.body.conflicts.map((c) => c.id)).not.toContain(adminsOwn.conflict?.id);

      const other = await server.token('nurse@clinic-b.test');
      for (const url of [`/v1/conflicts/${conflictId}`]) {
        expect((await server.request({ method: 'GET', url, token: other })).status).toBe(404);
      }
      const cross = await server.request({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/resolve`,
        token: other,
        body: { strategy: 'client-wins' },
      });
      expect(cross.status).toBe(404);
      const theirs = await server.request<ConflictListResponse>({
        method: 'GET',
        url: '/v1/conflicts',
        token: other,
      });
      expect(theirs.body.conflicts).toEqual([]);
      const still = await server.request<Conflict>({
        method: 'GET',
        url: `/v1/conflicts/${conflictId}`,
        token: admin,
      });
      expect(still.body.outcome).toBe('open');
    });

    it('refuses bad resolutions with 400 and changes nothing', async () => {
      const { id, conflictId } = await openConflictOnVillage();
      const before = await record('patients', id);
      for (const body of [
        { strategy: 'merge' },
        { strategy: 'client-wins', mergedData: { village: 'x' } },
        { strategy: 'merge', mergedData: { village: 'x', bloodType: 'O' } },
        { strategy: 'merge', mergedData: { name: '' } },
        { strategy: 'manual' },
        { strategy: 'merge', mergedData: 'village' },
        // Data no record may hold: nested past the limit, or with a key named __proto__.
        { strategy: 'merge', mergedData: { village: 'x', notes: nestedValue(maxDataDepth) } },
        { strategy: 'merge', mergedData: JSON.parse('{"village":"x","notes":{"__proto__":{"a":1}}}') },
        'not json',
      ]) {
        const res = await server.request<{ error: { code: string } }>({
          method: 'POST',
          url: `/v1/conflicts/${conflictId}/resolve`,
          token: admin,
          body,
        });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
      }
      expect(await record('patients', id)).toEqual(before);
      const missing = await server.request({
        method: 'POST',
        url: '/v1/conflicts/nope/resolve',
        token: admin,
        body: { strategy: 'server-wins' },
      });
      expect(missing.status).toBe(404);
      const badQuery = await server.request({
        method: 'GET',
        url: '/v1/conflicts?status=maybe',
        token: admin,
      });
      expect(badQuery.status).toBe(400);
    });

    it('server-wins after the client won puts the server version back, as the archive holds it', async () => {
      const { id, conflictId } = await openConflictOnVillage();
      const resolve = (strategy: string) =>
        server.request<ResolveResponse>({
          method: 'POST',
          url: `/v1/conflicts/${conflictId}/resolve`,
          token: admin,
          body: { strategy },
        });
      expect((await resolve('client-wins')).body.record.data).toMatchObject({
        village: 'Mzuzu',
        phone: '0888',
      });
      const back = await resolve('server-wins');
      expect(back.status).toBe(200);
      expect(back.body.conflict.outcome).toBe('server-won');
      // The version the administrator was shown as the server's, not the client's under a server label.
      expect(back.body.record.data).toEqual(back.body.conflict.server?.data);
      expect((await record('patients', id)).data).toMatchObject({ village: 'Dedza' });
      expect((await record('patients', id)).data).not.toHaveProperty('phone');
    });

    it('takes the body as PROTOCOL.md writes it: an empty mergedData beside another strategy', async () => {
      const { id, conflictId } = await openConflictOnVillage();
      const res = await server.request<ResolveResponse>({
        method: 'POST',
        url: `/v1/conflicts/${conflictId}/resolve`,
        token: admin,
        body: { strategy: 'server-wins', mergedData: {} },
      });
      expect(res.status).toBe(200);
      expect(res.body.conflict.outcome).toBe('server-won');
      expect((await record('patients', id))?.data).toMatchObject({ village: 'Dedza' });
    });

    it('will not apply a refused change to a signed note', async () => {
      const patientId = await newPatient();
      const encounterId = uuidv7();
      const noteId = uuidv7();
      await push(server, nurse, [
        { collection: 'encounters', type: 'create', id: encounterId, data: { patientId } },
        {
          collection: 'clinicalNotes',
          type: 'create',
          id: noteId,
          data: { encounterId, body: 'Seen', signatureHash: 'sig' },
        },
      ]);
      const refused = await one(nurse, {
        collection: 'clinicalNotes',
        type: 'update',
        id: noteId,
        baseVersion: 1,
        data: { body: 'x' },
      });
      const res = await server.request<{ error: { code: string; details?: unknown } }>({
        method: 'POST',
        url: `/v1/conflicts/${refused.conflict?.id}/resolve`,
        token: admin,
        body: { strategy: 'client-wins' },
      });
      expect(res.status).toBe(409);
      expect(res.body.error.details).toEqual({ reason: 'frozen-attempt' });
      expect((await record('clinicalNotes', noteId)).data?.['body']).toBe('Seen');
    });

    it('pages through the archive and bulk-resolves open conflicts by filter', async () => {
      const patientId = await newPatient();
      const rxIds = [uuidv7(), uuidv7(), uuidv7()];
      for (const rx of rxIds) {
        await push(server, nurse, [
          {
            collection: 'prescriptions',
            type: 'create',
            id: rx,
            data: { patientId, drug: 'Amoxicillin', dose: '500 mg' },
          },
          { collection: 'prescriptions', type: 'update', id: rx, baseVersion: 1, data: { dose: '250 mg' } },
          { collection: 'prescriptions', type: 'update', id: rx, baseVersion: 1, data: { dose: '1 g' } },
        ]);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/v1/conflicts?collection=prescriptions&status=open&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await server.request<ConflictListResponse>({ method: 'GET', url, token: admin });
        expect(page.body.conflicts.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.conflicts.map((c) => c.recordId));
        cursor = page.body.nextCursor;
      } while (cursor !== null);
      expect(seen).toEqual(rxIds);

      const bulk = await server.request<{ resolved: number; failed: number }>({
        method: 'POST',
        url: '/v1/conflicts/bulk-resolve',
        token: admin,
        body: { strategy: 'client-wins', collection: 'prescriptions' },
      });
      expect(bulk.body).toMatchObject({ resolved: 3, failed: 0 });
      for (const rx of rxIds) expect((await record('prescriptions', rx)).data?.['dose']).toBe('1 g');
      const open = await server.request<ConflictListResponse>({
        method: 'GET',
        url: '/v1/conflicts?collection=prescriptions&status=open',
        token: admin,
      });
      expect(open.body.conflicts).toEqual([]);
      const denied = await server.request({
        method: 'POST',
        url: '/v1/conflicts/bulk-resolve',
        token: nurse,
        body: { strategy: 'server-wins' },
      });
      expect(denied.status).toBe(403);
    });
  });
});
