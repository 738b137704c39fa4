// A file's life after its upload (docs/server.md, "Files"; decision 0022, "Deleting files, purges,
// and the rate limit"): an upload abandoned or a complete file deleted by who may, the bytes of a
// record whose tombstone is purged going with it, a file no role of the caller may touch answered
// exactly as one that never was, and a file's chunks spending a rate budget of their own. On
// SQLite and PostgreSQL.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collection, defineSchema, fileDeletedSchema, uuidv7 } from '@outpost/core';
import type { ChunkReceipt } from '@outpost/core';
import { createSyncServer } from '../src/index';
import { fileChunksPerMinuteFromEnv } from '../src/cli/limits-from-env';
import { FileStore } from '../src/storage/file-store';
import { createStorage, dialects, startTestServer, testSecret } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint } from './security/fingerprint';
import { signToken } from './security/tokens';
import { push } from './sync-client';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const chunkSize = 1024;

/**
 * Wounds: a nurse may photograph and edit, a physician may also delete, a kiosk nothing. Labs: a
 * nurse may read, a physician write. Intake: a kiosk may send scans and not read them back.
 */
const schema = defineSchema({
  name: 'file-lifecycle-test',
  collections: {
    wounds: collection({
      fields: z.object({ note: z.string() }),
      permissions: {
        nurse: ['read', 'create', 'update'],
        physician: ['read', 'create', 'update', 'delete'],
        kiosk: [],
      },
    }),
    labs: collection({
      fields: z.object({ result: z.string() }),
      permissions: { nurse: ['read'], physician: ['read', 'create', 'update', 'delete'] },
    }),
    intake: collection({ fields: z.object({ form: z.string() }), permissions: { kiosk: ['create'] } }),
  },
});

function describeFile(bytes: Uint8Array, over: Record<string, unknown> = {}) {
  return {
    collection: 'wounds',
    recordId: uuidv7(),
    name: 'Amina K. left heel.jpg',
    contentType: 'image/jpeg',
    size: bytes.length,
    sha256: sha256(bytes),
    chunkSize,
    deviceId: 'tablet-7',
    ...over,
  };
}

const chunkOf = (bytes: Uint8Array, index: number) =>
  bytes.subarray(index * chunkSize, (index + 1) * chunkSize);

interface Answer {
  status: number;
  text: string;
  body: { error?: { code: string; message: string; details?: Record<string, unknown> } } & Record<
    string,
    unknown
  >;
}

/** What one server's tests share: requests as a device sends them. */
function client(server: () => TestServer) {
  async function send(
    method: 'GET' | 'PUT' | 'DELETE' | 'POST',
    url: string,
    token: string,
    payload?: { json?: unknown; bytes?: Uint8Array; hash?: string },
  ): Promise<Answer> {
    const res = await server().app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload?.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(payload?.bytes !== undefined
          ? {
              'content-type': 'application/octet-stream',
              'x-outpost-sha256': payload.hash ?? sha256(payload.bytes),
            }
          : {}),
      },
      ...(payload?.json !== undefined ? { payload: JSON.stringify(payload.json) } : {}),
      ...(payload?.bytes !== undefined ? { payload: Buffer.from(payload.bytes) } : {}),
    });
    let body: Answer['body'] = {};
    try {
      body = JSON.parse(res.body) as Answer['body'];
    } catch {
      // bytes of a download
    }
    return { status: res.statusCode, text: res.body, body };
  }
  const api = {
    declare: (id: string, description: unknown, token: string) =>
      send('PUT', `/v1/files/${id}`, token, { json: description }),
    chunk: (id: string, index: number, bytes: Uint8Array, token: string) =>
      send('PUT', `/v1/files/${id}/chunks/${index}`, token, { bytes }),
    status: (id: string, token: string) => send('GET', `/v1/files/${id}`, token),
    content: (id: string, token: string) => send('GET', `/v1/files/${id}/content`, token),
    remove: (id: string, token: string, query = '') => send('DELETE', `/v1/files/${id}${query}`, token),
    list: (collection: string, recordId: string, token: string) =>
      send('GET', `/v1/files?collection=${collection}&recordId=${recordId}`, token),
    /** Declares a file and sends the chunks named (all by default), each taken. */
    async upload(
      id: string,
      bytes: Uint8Array,
      token: string,
      description: Record<string, unknown> = describeFile(bytes),
      chunks?: number[],
    ) {
      const declared = await api.declare(id, description, token);
      expect(declared.status, declared.text).toBe(200);
      const all = Array.from({ length: Math.ceil(bytes.length / chunkSize) }, (_, i) => i);
      for (const i of chunks ?? all) {
        const sent = await api.chunk(id, i, chunkOf(bytes, i), token);
        expect(sent.status, sent.text).toBe(200);
      }
      return description;
    },
  };
  return api;
}

/** Rows of a file, description and chunks, in any clinic. */
async function rowsOf(server: TestServer, id: string): Promise<{ files: number; chunks: number }> {
  const db = server.app.outpost.store.db;
  const [files, chunks] = await Promise.all([
    db
      .selectFrom('files')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('id', '=', id)
      .executeTakeFirst(),
    db
      .selectFrom('file_chunks')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('file_id', '=', id)
      .executeTakeFirst(),
  ]);
  return { files: Number(files?.n ?? 0), chunks: Number(chunks?.n ?? 0) };
}

describe.each(dialects())('a file after its upload on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let physician: string;
  let kiosk: string;
  let otherClinic: string;
  const api = client(() => server);

  beforeAll(async () => {
    server = await startTestServer(kind, {
      schema,
      server: {
        limits: {
          rateLimitPerMinute: false,
          maxFileBytes: 64 * 1024,
          // Every refusal written, so the test can read them.
          auditRefusalsPerMinute: Number.MAX_SAFE_INTEGER,
          auditRefusalsPerCallerPerMinute: Number.MAX_SAFE_INTEGER,
        },
      },
    });
    nurse = await signToken({ sub: 'nurse-1', tenant: 'clinic-a', roles: ['nurse'] });
    physician = await signToken({ sub: 'physician-1', tenant: 'clinic-a', roles: ['physician'] });
    kiosk = await signToken({ sub: 'kiosk-1', tenant: 'clinic-a', roles: ['kiosk'] });
    otherClinic = await signToken({ sub: 'physician-b', tenant: 'clinic-b', roles: ['physician'] });
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  describe('DELETE /v1/files/:id', () => {
    it('lets whoever may upload abandon an upload: description and chunks go, the audit says who, and the id is free again', async () => {
      const photo = randomBytes(3 * chunkSize);
      const id = uuidv7();
      const description = await api.upload(id, photo, nurse, describeFile(photo), [0, 2]);
      expect(await rowsOf(server, id)).toEqual({ files: 1, chunks: 2 });

      const deleted = await api.remove(id, nurse, '?deviceId=tablet-7');
      expect(deleted.status, deleted.text).toBe(200);
      expect(fileDeletedSchema.parse(deleted.body)).toEqual({ id, deleted: true });
      expect(deleted.body).toEqual({ id, deleted: true });
      expect(await rowsOf(server, id)).toEqual({ files: 0, chunks: 0 });
      expect((await api.status(id, nurse)).status).toBe(404);
      expect((await api.list('wounds', String(description['recordId']), nurse)).body).toEqual({ files: [] });
      // A chunk still on its way finds no file, and stores nothing.
      expect((await api.chunk(id, 1, chunkOf(photo, 1), nurse)).status).toBe(404);
      expect(await rowsOf(server, id)).toEqual({ files: 0, chunks: 0 });

      const events = await server.app.outpost.store.auditEvents('clinic-a');
      const audited = events.filter(
        (e) => e.action === 'file-delete' && e.recordId === description['recordId'],
      );
      expect(audited).toEqual([
        {
          tenant: 'clinic-a',
          at: expect.any(String),
          userId: 'nurse-1',
          deviceId: 'tablet-7',
          action: 'file-delete',
          collection: 'wounds',
          recordId: description['recordId'],
          route: null,
          outcome: 'abandoned',
        },
      ]);
      expect(JSON.stringify(events)).not.toContain('Amina');

      // The id may name a file again: the right photo this time, under the id the record holds.
      const right = randomBytes(2 * chunkSize);
      await api.upload(id, right, nurse, describeFile(right, { recordId: description['recordId'] }));
      expect((await api.status(id, nurse)).body).toMatchObject({ complete: true, sha256: sha256(right) });
      const got = await server.app.inject({
        method: 'GET',
        url: `/v1/files/${id}/content`,
        headers: { authorization: `Bearer ${nurse}` },
      });
      expect(Buffer.compare(got.rawPayload, right)).toBe(0);
    });

    it('deletes a complete file only for a role with delete on its collection', async () => {
      const photo = randomBytes(2 * chunkSize + 10);
      const id = uuidv7();
      // The record is on the server: the photo is part of a clinical record.
      const recordId = uuidv7();
      await push(server, nurse, [
        { collection: 'wounds', type: 'create', id: recordId, data: { note: 'heel' } },
      ]);
      const description = await api.upload(id, photo, nurse, describeFile(photo, { recordId }));
      const before = await fingerprint(server.app.outpost.store);

      // The nurse uploaded it but may not delete part of a clinical record.
      const refused = await api.remove(id, nurse);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.any(String) });
      expect(await fingerprint(server.app.outpost.store)).toEqual(before);
      expect((await api.status(id, nurse)).body).toMatchObject({ complete: true });

      const deleted = await api.remove(id, physician);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ id, deleted: true });
      expect(await rowsOf(server, id)).toEqual({ files: 0, chunks: 0 });
      const events = await server.app.outpost.store.auditEvents('clinic-a');
      expect(
        events
          .filter((e) => e.action === 'file-delete' && e.recordId === description['recordId'])
          .map((e) => [e.userId, e.deviceId, e.outcome]),
      ).toEqual([['physician-1', null, 'deleted']]);

      // An empty file is complete the moment it is declared: the same rule.
      const empty = uuidv7();
      await api.declare(empty, describeFile(new Uint8Array(), { recordId }), nurse);
      expect((await api.remove(empty, nurse)).status).toBe(403);
      expect((await api.remove(empty, physician)).status).toBe(200);
    });

    it('answers a delete of nothing, and a delete repeated, 404 exactly as a file that never was', async () => {
      const photo = randomBytes(chunkSize);
      const id = uuidv7();
      await api.upload(id, photo, nurse, describeFile(photo), []);
      expect((await api.remove(id, nurse)).status).toBe(200);
      const again = await api.remove(id, nurse);
      const never = uuidv7();
      const none = await api.remove(never, nurse);
      expect([again.status, none.status]).toEqual([404, 404]);
      expect(again.body.error).toMatchObject({ code: 'NOT_FOUND' });
      expect(again.text.replace(id, 'ID')).toBe(none.text.replace(never, 'ID'));
    });

    it('refuses bad input with a 4xx in the error shape and deletes nothing', async () => {
      const photo = randomBytes(chunkSize);
      const id = uuidv7();
      await api.upload(id, photo, nurse, describeFile(photo), []);
      const before = await fingerprint(server.app.outpost.store);
      const cases: Array<[string, string, number]> = [
        ['an id out of shape', `/v1/files/bad%20id!`, 400],
        ['an id too long', `/v1/files/${'a'.repeat(65)}`, 400],
        ['an unknown query field', `/v1/files/${id}?force=1`, 400],
        ['a device id too long', `/v1/files/${id}?deviceId=${'d'.repeat(129)}`, 400],
      ];
      for (const [what, url, expected] of cases) {
        const res = await server.app.inject({
          method: 'DELETE',
          url,
          headers: { authorization: `Bearer ${nurse}` },
        });
        expect(res.statusCode, what).toBe(expected);
        expect(JSON.parse(res.body), what).toMatchObject({
          error: { code: 'VALIDATION_FAILED', message: expect.any(String) },
        });
      }
      const unsigned = await server.app.inject({ method: 'DELETE', url: `/v1/files/${id}` });
      expect(unsigned.statusCode).toBe(401);
      expect(await fingerprint(server.app.outpost.store)).toEqual(before);
      expect(await rowsOf(server, id)).toEqual({ files: 1, chunks: 0 });
    });

    it('keeps a chunk that found the file just before it was deleted from being stored', async () => {
      const photo = randomBytes(2 * chunkSize);
      const id = uuidv7();
      await api.upload(id, photo, nurse, describeFile(photo), [0]);
      const files = new FileStore(server.app.outpost.store);
      const found = await files.find('clinic-a', id);
      expect(found).not.toBeNull();
      expect((await api.remove(id, nurse)).status).toBe(200);
      const late = await files.putChunk(
        'clinic-a',
        found!,
        1,
        chunkOf(photo, 1),
        sha256(chunkOf(photo, 1)),
        { userId: 'nurse-1', deviceId: null },
        new Date().toISOString(),
      );
      expect(late).toEqual({ kind: 'gone' });
      expect(await rowsOf(server, id)).toEqual({ files: 0, chunks: 0 });
    });

    it("leaves another clinic's file as it was, answering exactly as for a file that never was", async () => {
      const photo = randomBytes(chunkSize);
      const id = uuidv7();
      await api.upload(id, photo, nurse);
      const theirs = await api.remove(id, otherClinic);
      const never = uuidv7();
      const none = await api.remove(never, otherClinic);
      expect(theirs.status).toBe(404);
      expect(theirs.body.error).toMatchObject({ code: 'NOT_FOUND', message: `no file ${id}` });
      expect(theirs.text.replace(id, 'ID')).toBe(none.text.replace(never, 'ID'));
      expect(await rowsOf(server, id)).toEqual({ files: 1, chunks: 1 });
      // Its own clinic's physician deletes it: the route was there, the file was not for them.
      expect((await api.remove(id, physician)).status).toBe(200);
    });
  });

  describe('declaring an id that already names a file', () => {
    it("tells another clinic nothing: its declaration makes its own file, whatever clinic a's holds", async () => {
      // Clinic a's photo, whole, and an upload of clinic a's under way.
      const photo = randomBytes(2 * chunkSize);
      const [whole, partial] = [uuidv7(), uuidv7()];
      const wholeDescription = await api.upload(whole, photo, nurse);
      const partialDescription = await api.upload(partial, photo, nurse, describeFile(photo), [0]);
      const never = uuidv7();

      // Clinic b declares those ids, word for word as clinic a did and with another description:
      // answered exactly as for an id no clinic ever used (its own new file, nothing received).
      const answers = async (id: string) => [
        await api.declare(id, { ...wholeDescription, recordId: partialDescription['recordId'] }, otherClinic),
        await api.declare(id, wholeDescription, otherClinic),
      ];
      const fresh = await answers(never);
      // The answer with the id and the moment left out: the rest is the same byte for byte.
      const shape = (a: Answer | undefined, id: string) =>
        JSON.stringify({ ...(JSON.parse(a?.text.replaceAll(id, 'ID') ?? '{}') as object), createdAt: 'T' });
      for (const id of [whole, partial]) {
        const got = await answers(id);
        for (const [i, answer] of got.entries()) expect(shape(answer, id)).toBe(shape(fresh[i], never));
      }
      expect(fresh.map((a) => a.status)).toEqual([200, 409]);
      expect(fresh[0]?.body).toMatchObject({
        complete: false,
        missingChunks: [0, 1],
        createdBy: 'physician-b',
      });
      // Clinic a's files are as they were; clinic b's of the same id take their own chunks and go.
      expect((await api.status(whole, nurse)).body).toMatchObject({ complete: true, sha256: sha256(photo) });
      expect((await api.status(partial, nurse)).body).toMatchObject({ missingChunks: [1] });
      for (const i of [0, 1])
        expect((await api.chunk(whole, i, chunkOf(photo, i), otherClinic)).status).toBe(200);
      expect((await api.status(whole, otherClinic)).body).toMatchObject({ complete: true });
      expect((await api.remove(whole, otherClinic)).status).toBe(200);
      expect((await api.status(whole, nurse)).body).toMatchObject({ complete: true, sha256: sha256(photo) });
      expect(await rowsOf(server, whole)).toEqual({ files: 1, chunks: 2 });
    });

    it('tells a role of the clinic only that the id is taken, the same words whatever file holds it', async () => {
      // The kiosk may send intake scans and has no right on wounds: a wound photo is not there for
      // it on every route. Ids are one per clinic, so declaring one a wound photo holds is refused,
      // in exactly the words that refuse an id its own scan holds: nothing of the photo is told.
      const photo = randomBytes(chunkSize);
      const wound = uuidv7();
      await api.upload(wound, photo, nurse);
      const scan = uuidv7();
      const scanDescription = describeFile(photo, { collection: 'intake' });
      await api.upload(scan, photo, kiosk, scanDescription);
      const other = describeFile(randomBytes(chunkSize), { collection: 'intake' });
      const before = await fingerprint(server.app.outpost.store);
      const onWound = await api.declare(wound, other, kiosk);
      const onScan = await api.declare(scan, other, kiosk);
      expect([onWound.status, onScan.status]).toEqual([409, 409]);
      expect(onWound.body.error).toMatchObject({ code: 'CONFLICT', message: expect.any(String) });
      expect(onWound.text.replaceAll(wound, 'ID')).toBe(onScan.text.replaceAll(scan, 'ID'));
      expect(onWound.text).not.toMatch(/wounds|Amina|heel/);
      expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    });
  });

  describe('a file no role of the caller may touch', () => {
    it('is 404 on every file route, byte for byte the answer for a file that never was', async () => {
      const photo = randomBytes(chunkSize);
      const complete = uuidv7();
      const partial = uuidv7();
      await api.upload(complete, photo, nurse);
      await api.upload(partial, photo, nurse, describeFile(randomBytes(2 * chunkSize)), []);
      const never = uuidv7();
      // The kiosk has no right on wounds: it may not learn that a wound photo exists.
      const probes = (id: string) => [
        () => api.status(id, kiosk),
        () => api.content(id, kiosk),
        () => api.chunk(id, 0, photo, kiosk),
        () => api.remove(id, kiosk),
      ];
      const before = await fingerprint(server.app.outpost.store);
      for (const id of [complete, partial]) {
        const mine = probes(id);
        const none = probes(never);
        for (const [i, probe] of mine.entries()) {
          const answer = await probe();
          const noneAnswer = await (none[i] ?? probe)();
          expect(answer.status, `${id} probe ${i}`).toBe(404);
          expect(answer.text.replaceAll(id, 'ID'), `probe ${i}`).toBe(
            noneAnswer.text.replaceAll(never, 'ID'),
          );
        }
      }
      expect(await fingerprint(server.app.outpost.store)).toEqual(before);
      // The refusals are audited as not found, like any other.
      const refused = (await server.app.outpost.store.auditEvents('clinic-a', 100_000)).filter(
        (e) => e.action === 'refused' && e.userId === 'kiosk-1',
      );
      expect(refused.map((e) => [e.route, e.outcome])).toEqual(
        Array.from({ length: 2 }, () => [
          ['GET /v1/files/:id', 'not-found'],
          ['GET /v1/files/:id', 'not-found'],
          ['GET /v1/files/:id/content', 'not-found'],
          ['GET /v1/files/:id/content', 'not-found'],
          ['PUT /v1/files/:id/chunks/:index', 'not-found'],
          ['PUT /v1/files/:id/chunks/:index', 'not-found'],
          ['DELETE /v1/files/:id', 'not-found'],
          ['DELETE /v1/files/:id', 'not-found'],
        ]).flat(),
      );
    });

    it('is 403 where the role may see the file but not do that: reading without writing, writing without reading', async () => {
      const photo = randomBytes(chunkSize);
      // A lab scan the physician sends: the nurse may read it, not add to it nor abandon it.
      const lab = uuidv7();
      await api.upload(
        lab,
        photo,
        physician,
        describeFile(randomBytes(2 * chunkSize), { collection: 'labs' }),
        [],
      );
      expect((await api.status(lab, nurse)).status).toBe(200);
      const chunk = await api.chunk(lab, 0, photo, nurse);
      expect(chunk.status).toBe(403);
      expect(chunk.body.error).toMatchObject({ code: 'FORBIDDEN' });
      expect((await api.remove(lab, nurse)).status).toBe(403);
      expect(await rowsOf(server, lab)).toEqual({ files: 1, chunks: 0 });

      // The intake kiosk sends a scan and may not read it back; it could send chunks to it, so it
      // is told it may not read it, not that it is not there. It may abandon its own upload.
      const scan = uuidv7();
      await api.upload(
        scan,
        photo,
        kiosk,
        describeFile(randomBytes(2 * chunkSize), { collection: 'intake' }),
        [0],
      );
      expect((await api.status(scan, kiosk)).status).toBe(403);
      expect((await api.content(scan, kiosk)).status).toBe(403);
      expect((await api.remove(scan, kiosk)).status).toBe(200);
    });
  });

  describe('the tombstone purge', () => {
    it('drops the files of a record whose tombstone is purged, with the record, and keeps every other', async () => {
      const store = server.app.outpost.store;
      const photo = randomBytes(2 * chunkSize + 1);
      const [gone, kept, orphan, recent] = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
      await push(server, physician, [
        { collection: 'wounds', type: 'create', id: gone, data: { note: 'wrong patient' } },
        { collection: 'wounds', type: 'create', id: kept, data: { note: 'heel' } },
        { collection: 'wounds', type: 'create', id: recent, data: { note: 'knee' } },
      ]);
      const files = {
        goneWhole: uuidv7(),
        gonePartial: uuidv7(),
        kept: uuidv7(),
        orphan: uuidv7(),
        recent: uuidv7(),
      };
      await api.upload(files.goneWhole, photo, nurse, describeFile(photo, { recordId: gone }));
      await api.upload(
        files.gonePartial,
        photo,
        nurse,
        describeFile(photo, { recordId: gone, name: 'b.jpg' }),
        [1],
      );
      await api.upload(files.kept, photo, nurse, describeFile(photo, { recordId: kept }));
      // A record that never existed here: its create may still be on its way (decision 0016).
      await api.upload(files.orphan, photo, nurse, describeFile(photo, { recordId: orphan }));
      await api.upload(files.recent, photo, nurse, describeFile(photo, { recordId: recent }));
      // The same id in another clinic is that clinic's own file, on a record it never deleted.
      await api.upload(files.goneWhole, photo, otherClinic, describeFile(photo, { recordId: gone }));
      await push(server, physician, [{ collection: 'wounds', type: 'delete', id: gone, baseVersion: 1 }]);

      // Not old enough yet: the tombstone, and its files, stay.
      expect(await store.purgeTombstones(new Date(Date.now() - 60_000).toISOString())).toBe(0);
      expect(await rowsOf(server, files.goneWhole)).toEqual({ files: 2, chunks: 6 });

      const purgedAt = '2030-01-01T00:00:00.000Z';
      expect(await store.purgeTombstones(new Date(Date.now() + 60_000).toISOString(), purgedAt)).toBe(1);
      // clinic-a's two files of the purged record, description and chunks; clinic-b's stays.
      expect(await rowsOf(server, files.goneWhole)).toEqual({ files: 1, chunks: 3 });
      expect(await rowsOf(server, files.gonePartial)).toEqual({ files: 0, chunks: 0 });
      expect((await api.status(files.goneWhole, nurse)).status).toBe(404);
      expect((await api.status(files.goneWhole, otherClinic)).body).toMatchObject({ complete: true });
      expect((await api.list('wounds', gone, nurse)).body).toEqual({ files: [] });
      for (const id of [files.kept, files.orphan, files.recent])
        expect(await rowsOf(server, id), id).toEqual({ files: 1, chunks: 3 });

      const events = (await store.auditEvents('clinic-a', 100_000)).filter(
        (e) => e.action === 'file-delete' && e.recordId === gone,
      );
      expect(events).toHaveLength(2);
      for (const e of events)
        expect(e).toMatchObject({
          userId: '',
          deviceId: null,
          collection: 'wounds',
          outcome: 'purged',
          at: purgedAt,
        });

      // The record deleted later goes at a later purge, its file with it.
      await push(server, physician, [{ collection: 'wounds', type: 'delete', id: recent, baseVersion: 1 }]);
      expect(await store.purgeTombstones(new Date(Date.now() + 60_000).toISOString())).toBe(1);
      expect(await rowsOf(server, files.recent)).toEqual({ files: 0, chunks: 0 });
      expect(await rowsOf(server, files.kept)).toEqual({ files: 1, chunks: 3 });
      expect(await rowsOf(server, files.orphan)).toEqual({ files: 1, chunks: 3 });
    });

    it('purges on its timer too: a server started past the retention drops the files at start', async () => {
      // The purge the server runs when ready and daily, with its own clock.
      const storage = await createStorage(kind);
      const first = await startTestServer(kind, { schema, storage });
      const id = uuidv7();
      const record = uuidv7();
      try {
        await push(first, physician, [
          { collection: 'wounds', type: 'create', id: record, data: { note: 'x' } },
        ]);
        const photo = randomBytes(chunkSize);
        await client(() => first).upload(id, photo, nurse, describeFile(photo, { recordId: record }));
        await push(first, physician, [{ collection: 'wounds', type: 'delete', id: record, baseVersion: 1 }]);
      } finally {
        await first.close();
      }
      const later = new Date(Date.now() + 91 * 24 * 60 * 60 * 1000);
      const second = await startTestServer(kind, { schema, storage, server: { now: () => later } });
      try {
        await second.app.ready();
        expect(await rowsOf(second, id)).toEqual({ files: 0, chunks: 0 });
        const events = await second.app.outpost.store.auditEvents('clinic-a');
        expect(events.filter((e) => e.action === 'file-delete')).toMatchObject([
          { recordId: record, outcome: 'purged', at: later.toISOString() },
        ]);
      } finally {
        await second.close();
        await storage.destroy();
      }
    });
  });
});

describe.each(dialects())('a complete file of a record that never existed on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let physician: string;
  let kiosk: string;
  const api = client(() => server);

  beforeAll(async () => {
    server = await startTestServer(kind, {
      schema,
      server: { limits: { rateLimitPerMinute: false, maxFileBytes: 64 * 1024 } },
    });
    nurse = await signToken({ sub: 'nurse-1', tenant: 'clinic-a', roles: ['nurse'] });
    physician = await signToken({ sub: 'physician-1', tenant: 'clinic-a', roles: ['physician'] });
    kiosk = await signToken({ sub: 'kiosk-1', tenant: 'clinic-a', roles: ['kiosk'] });
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  it('lets the uploader take back a complete file of a record that never existed here, and no one else without delete', async () => {
    // A photo taken first, uploaded whole under the id of a record whose create the device then
    // withdrew: that record will never exist here, and the photo is part of no clinical record.
    const photo = randomBytes(2 * chunkSize);
    const orphanRecord = uuidv7();
    const orphan = uuidv7();
    await api.upload(orphan, photo, nurse, describeFile(photo, { recordId: orphanRecord }));
    const colleague = await signToken({ sub: 'nurse-2', tenant: 'clinic-a', roles: ['nurse'] });
    const before = await fingerprint(server.app.outpost.store);
    // Another nurse did not upload it; the kiosk has no right on wounds: not there for it.
    const notTheirs = await api.remove(orphan, colleague);
    expect(notTheirs.status).toBe(403);
    expect(notTheirs.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.any(String) });
    expect((await api.remove(orphan, kiosk)).status).toBe(404);
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);

    const taken = await api.remove(orphan, nurse, '?deviceId=tablet-7');
    expect(taken.status, taken.text).toBe(200);
    expect(taken.body).toEqual({ id: orphan, deleted: true });
    expect(await rowsOf(server, orphan)).toEqual({ files: 0, chunks: 0 });
    const events = await server.app.outpost.store.auditEvents('clinic-a');
    expect(
      events
        .filter((e) => e.action === 'file-delete' && e.recordId === orphanRecord)
        .map((e) => [e.userId, e.deviceId, e.outcome]),
    ).toEqual([['nurse-1', 'tablet-7', 'orphan-deleted']]);

    // Once the record exists here, live or deleted, its photo is part of it: delete needed.
    const [live, deleted] = [uuidv7(), uuidv7()];
    const [ofLive, ofDeleted, beforeRecord] = [uuidv7(), uuidv7(), uuidv7()];
    await push(server, nurse, [
      { collection: 'wounds', type: 'create', id: live, data: { note: 'knee' } },
      { collection: 'wounds', type: 'create', id: deleted, data: { note: 'elbow' } },
    ]);
    await push(server, physician, [{ collection: 'wounds', type: 'delete', id: deleted, baseVersion: 1 }]);
    await api.upload(ofLive, photo, nurse, describeFile(photo, { recordId: live }));
    await api.upload(ofDeleted, photo, nurse, describeFile(photo, { recordId: deleted }));
    // Uploaded while its record was not here yet, the create arriving after: the same.
    const later = uuidv7();
    await api.upload(beforeRecord, photo, nurse, describeFile(photo, { recordId: later }));
    await push(server, nurse, [{ collection: 'wounds', type: 'create', id: later, data: { note: 'hip' } }]);
    for (const id of [ofLive, ofDeleted, beforeRecord]) {
      const refused = await api.remove(id, nurse);
      expect(refused.status, id).toBe(403);
      expect(await rowsOf(server, id)).toEqual({ files: 1, chunks: 2 });
    }
    // A record of that id in another clinic is no record here: clinic b's uploader takes its own back.
    const theirs = uuidv7();
    const theirNurse = await signToken({ sub: 'nurse-b', tenant: 'clinic-b', roles: ['nurse'] });
    await api.upload(theirs, photo, theirNurse, describeFile(photo, { recordId: live }));
    expect((await api.remove(theirs, theirNurse)).status).toBe(200);
  });
});

describe.each(dialects())("a file's chunks and the rate limit on %s", (kind) => {
  let server: TestServer;
  let nurse: string;
  let colleague: string;
  const api = client(() => server);

  beforeAll(async () => {
    server = await startTestServer(kind, {
      schema,
      server: { limits: { rateLimitPerMinute: 5, fileChunksPerMinute: 20, maxFileBytes: 64 * 1024 } },
    });
    nurse = await signToken({ sub: 'nurse-rate', tenant: 'clinic-a', roles: ['nurse'] });
    colleague = await signToken({ sub: 'nurse-other', tenant: 'clinic-a', roles: ['nurse'] });
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  const pushOne = (token: string) =>
    server.request({
      method: 'POST',
      url: '/v1/sync/push',
      token,
      body: {
        clientId: 'c',
        deviceId: 'tablet-1',
        ops: [{ opId: uuidv7(), collection: 'wounds', type: 'create', id: uuidv7(), data: { note: 'n' } }],
      },
    });

  it('lets records sync while a file of many chunks uploads, and limits the chunks on their own budget', async () => {
    const photo = randomBytes(24 * chunkSize);
    const id = uuidv7();
    // One request of the user's 5: the description.
    expect((await api.declare(id, describeFile(photo), nurse)).status).toBe(200);
    // 12 chunks: more than the user's whole budget for everything else.
    for (let i = 0; i < 12; i++) expect((await api.chunk(id, i, chunkOf(photo, i), nurse)).status).toBe(200);
    const next = await pushOne(nurse);
    expect(next.status, JSON.stringify(next.body)).toBe(200);

    // The chunks' own budget: 20 a minute, then 429 in the error shape, nothing stored.
    for (let i = 12; i < 20; i++) expect((await api.chunk(id, i, chunkOf(photo, i), nurse)).status).toBe(200);
    const over = await api.chunk(id, 20, chunkOf(photo, 20), nurse);
    expect(over.status).toBe(429);
    expect(over.body).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: expect.any(String),
        details: { retryAfterMs: expect.any(Number) },
      },
    });
    expect((await api.status(id, nurse)).body).toMatchObject({ missingChunks: [20, 21, 22, 23] });

    // Records still sync (requests 3 and 4 of 5); a colleague's chunks have a budget of their own.
    expect((await pushOne(nurse)).status).toBe(200);
    const theirs = uuidv7();
    expect((await api.declare(theirs, describeFile(photo), colleague)).status).toBe(200);
    expect((await api.chunk(theirs, 0, chunkOf(photo, 0), colleague)).status).toBe(200);

    // And the user's budget for everything else holds as before: the 6th request is refused.
    expect((await pushOne(nurse)).status).toBe(200);
    const refused = await pushOne(nurse);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'RATE_LIMITED' } });

    // A chunk without a valid token names no user: it counts with its address, as every request
    // without one does, so bad tokens get no budget of their own.
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await server.app.inject({
        method: 'PUT',
        url: `/v1/files/${uuidv7()}/chunks/0`,
        remoteAddress: '10.9.9.9',
        headers: { authorization: 'Bearer nonsense', 'content-type': 'application/octet-stream' },
        payload: Buffer.alloc(10),
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });
});

describe('the chunks rate budget setting', () => {
  it('leaves chunks unlimited when off, while the rate limit holds for the rest', async () => {
    const server = await startTestServer('sqlite', {
      schema,
      server: { limits: { rateLimitPerMinute: 3, fileChunksPerMinute: false } },
    });
    try {
      const nurse = await signToken({ sub: 'nurse-free', tenant: 'clinic-a', roles: ['nurse'] });
      const api = client(() => server);
      const photo = randomBytes(8 * chunkSize);
      const id = uuidv7();
      expect((await api.declare(id, describeFile(photo), nurse)).status).toBe(200);
      for (let i = 0; i < 8; i++) {
        const sent = await api.chunk(id, i, chunkOf(photo, i), nurse);
        expect(sent.status).toBe(200);
        expect((sent.body as unknown as ChunkReceipt).received).toBe(i + 1);
      }
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await api.status(id, nurse)).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await server.close();
      await server.storage.destroy();
    }
  });

  it('is refused at start when it is not a whole number from 1 or false', async () => {
    for (const fileChunksPerMinute of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY]) {
      const storage = await createStorage('sqlite');
      const database = await storage.open();
      try {
        await expect(
          createSyncServer({
            schema,
            database,
            auth: { jwtSecret: testSecret },
            limits: { fileChunksPerMinute },
          }),
        ).rejects.toThrow(/fileChunksPerMinute must be false or a whole number from 1/);
      } finally {
        await database.close();
        await storage.destroy();
      }
    }
  });

  it('is read from OUTPOST_FILE_CHUNKS_PER_MINUTE: digits, 0 for off, anything else refused by name', () => {
    expect(fileChunksPerMinuteFromEnv(undefined)).toBeUndefined();
    expect(fileChunksPerMinuteFromEnv(' ')).toBeUndefined();
    expect(fileChunksPerMinuteFromEnv('2400')).toBe(2400);
    expect(fileChunksPerMinuteFromEnv('0')).toBe(false);
    for (const nonsense of ['1e3', '-5', '0x10', 'lots', '1.5', '99999999999999999999'])
      expect(() => fileChunksPerMinuteFromEnv(nonsense), nonsense).toThrow(/OUTPOST_FILE_CHUNKS_PER_MINUTE/);
  });
});
