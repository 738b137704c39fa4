// Files attached to records (docs/server.md, "Files"; decision 0022): a photo sent in chunks over a
// link that drops, each chunk checked by its hash, resumed where it stopped, and read back whole or
// by range; nothing of another clinic reachable. On SQLite and PostgreSQL.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collection, defineSchema, uuidv7 } from '@outpost/core';
import type { ChunkReceipt, FileStatus } from '@outpost/core';
import { createSyncServer } from '../src/index';
import { FileStore } from '../src/storage/file-store';
import { createStorage, dialects, startTestServer, testSecret } from './server-fixture';
import type { TestServer } from './server-fixture';
import { signToken } from './security/tokens';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const chunkSize = 1024;

/** Wound photos a clinician may attach; lab results a clinician may read but not write; a kiosk's intake scans it may send but not read back. */
const schema = defineSchema({
  name: 'file-test',
  collections: {
    wounds: collection({
      fields: z.object({ note: z.string() }),
      permissions: { clinician: ['read', 'create', 'update'], kiosk: [] },
    }),
    labs: collection({ fields: z.object({ result: z.string() }), permissions: { clinician: ['read'] } }),
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

describe.each(dialects())('files on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let otherClinic: string;

  beforeAll(async () => {
    server = await startTestServer(kind, {
      schema,
      server: { limits: { rateLimitPerMinute: false, maxFileBytes: 64 * 1024 } },
    });
    nurse = await server.token('nurse@clinic-a.test');
    otherClinic = await server.token('nurse@clinic-b.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  const declare = (id: string, body: unknown, token = nurse) =>
    server.request<FileStatus>({ method: 'PUT', url: `/v1/files/${id}`, token, body });

  async function sendChunk(
    id: string,
    index: number,
    bytes: Uint8Array,
    options: { token?: string; hash?: string | null; contentType?: string } = {},
  ) {
    const hash = options.hash === undefined ? sha256(bytes) : options.hash;
    const res = await server.app.inject({
      method: 'PUT',
      url: `/v1/files/${id}/chunks/${index}`,
      headers: {
        authorization: `Bearer ${options.token ?? nurse}`,
        'content-type': options.contentType ?? 'application/octet-stream',
        ...(hash === null ? {} : { 'x-outpost-sha256': hash }),
      },
      payload: Buffer.from(bytes),
    });
    return {
      status: res.statusCode,
      body: JSON.parse(res.body) as ChunkReceipt & {
        error?: { code: string; details?: { reason?: string } };
      },
    };
  }

  const status = (id: string, token = nurse) =>
    server.request<FileStatus>({ method: 'GET', url: `/v1/files/${id}`, token });

  async function download(id: string, headers: Record<string, string> = {}, token = nurse) {
    const res = await server.app.inject({
      method: 'GET',
      url: `/v1/files/${id}/content`,
      headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip, br', ...headers },
    });
    return { status: res.statusCode, bytes: res.rawPayload, headers: res.headers, text: res.body };
  }

  async function uploadWhole(id: string, bytes: Uint8Array, description: unknown = describeFile(bytes)) {
    expect((await declare(id, description)).status).toBe(200);
    const count = Math.ceil(bytes.length / chunkSize);
    let last: ChunkReceipt | undefined;
    for (let i = 0; i < count; i++) {
      const sent = await sendChunk(id, i, chunkOf(bytes, i));
      expect(sent.status).toBe(200);
      last = sent.body;
    }
    return last;
  }

  it('takes a photo in chunks sent in any order and gives back exactly its bytes', async () => {
    const photo = randomBytes(3 * chunkSize + 500);
    const id = uuidv7();
    const declared = await declare(id, describeFile(photo));
    expect(declared.status).toBe(200);
    expect(declared.body).toMatchObject({
      id,
      chunkCount: 4,
      missingChunks: [0, 1, 2, 3],
      complete: false,
      createdBy: expect.any(String),
    });

    for (const index of [2, 0, 3])
      expect((await sendChunk(id, index, chunkOf(photo, index))).status).toBe(200);
    expect((await status(id)).body).toMatchObject({ missingChunks: [1], complete: false });
    expect((await download(id)).status).toBe(409);

    const last = await sendChunk(id, 1, chunkOf(photo, 1));
    expect(last.body).toEqual({ received: 4, chunkCount: 4, complete: true });
    expect((await status(id)).body).toMatchObject({
      missingChunks: [],
      complete: true,
      completedAt: expect.any(String),
    });

    const got = await download(id);
    expect(got.status).toBe(200);
    expect(Buffer.compare(got.bytes, photo)).toBe(0);
    expect(got.headers['etag']).toBe(`"${sha256(photo)}"`);
    expect(got.headers['x-outpost-sha256']).toBe(sha256(photo));
    expect(got.headers['content-type']).toBe('image/jpeg');
    expect(got.headers['content-encoding']).toBeUndefined();
    // Never run in the app's origin, whatever the device called it.
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.headers['content-disposition']).toMatch(
      /^attachment; filename\*=UTF-8''Amina%20K\.%20left%20heel\.jpg$/,
    );
    expect(got.headers['content-security-policy']).toContain('sandbox');
  });

  it('resumes after a dropped link: declaring again says what is missing, a resent chunk is stored once', async () => {
    const photo = randomBytes(3 * chunkSize);
    const id = uuidv7();
    const description = describeFile(photo);
    await declare(id, description);
    expect((await sendChunk(id, 0, chunkOf(photo, 0))).body).toMatchObject({ received: 1 });
    // The answer to chunk 1 was lost on the way back: the device cannot know it arrived.
    expect((await sendChunk(id, 1, chunkOf(photo, 1))).status).toBe(200);

    const again = await declare(id, description);
    expect(again.status).toBe(200);
    expect(again.body.missingChunks).toEqual([2]);
    // Sent again anyway: answered, counted once.
    expect((await sendChunk(id, 1, chunkOf(photo, 1))).body).toEqual({
      received: 2,
      chunkCount: 3,
      complete: false,
    });
    expect((await sendChunk(id, 2, chunkOf(photo, 2))).body).toEqual({
      received: 3,
      chunkCount: 3,
      complete: true,
    });
    expect((await sendChunk(id, 2, chunkOf(photo, 2))).body).toEqual({
      received: 3,
      chunkCount: 3,
      complete: true,
    });
    expect(Buffer.compare((await download(id)).bytes, photo)).toBe(0);
  });

  it('refuses a damaged chunk and keeps nothing of it, so the device sends it again', async () => {
    const photo = randomBytes(2 * chunkSize);
    const id = uuidv7();
    const description = describeFile(photo);
    await declare(id, description);
    const damaged = Buffer.from(chunkOf(photo, 0));
    damaged[10] = (damaged[10] ?? 0) ^ 0xff;

    const refused = await sendChunk(id, 0, damaged, { hash: sha256(chunkOf(photo, 0)) });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { reason: 'chunk-checksum' },
    });
    expect((await status(id)).body.missingChunks).toEqual([0, 1]);

    // Wrong length, no hash, an index past the end, and not raw bytes: each refused, nothing kept.
    expect((await sendChunk(id, 0, chunkOf(photo, 0).subarray(1))).status).toBe(400);
    expect((await sendChunk(id, 0, chunkOf(photo, 0), { hash: null })).status).toBe(400);
    expect((await sendChunk(id, 2, chunkOf(photo, 1))).status).toBe(400);
    expect((await sendChunk(id, -1, chunkOf(photo, 1))).status).toBe(400);
    expect((await sendChunk(id, 0, chunkOf(photo, 0), { contentType: 'text/plain' })).status).toBe(415);
    expect((await status(id)).body.missingChunks).toEqual([0, 1]);

    await uploadWhole(id, photo, description);
    expect(Buffer.compare((await download(id)).bytes, photo)).toBe(0);
  });

  it('drops a file whose chunks do not make the declared whole, and takes it whole on the second try', async () => {
    const photo = randomBytes(2 * chunkSize + 1);
    const id = uuidv7();
    const wrong = describeFile(photo, { sha256: sha256(randomBytes(photo.length)) });
    await declare(id, wrong);
    await sendChunk(id, 0, chunkOf(photo, 0));
    await sendChunk(id, 1, chunkOf(photo, 1));
    const last = await sendChunk(id, 2, chunkOf(photo, 2));
    expect(last.status).toBe(400);
    expect(last.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { reason: 'file-checksum' },
    });
    expect((await status(id)).status).toBe(404);
    expect((await download(id)).status).toBe(404);

    // The record already names this id: the device describes the file again under it, and sends it.
    await uploadWhole(id, photo, { ...wrong, sha256: sha256(photo) });
    expect(Buffer.compare((await download(id)).bytes, photo)).toBe(0);

    const events = await server.app.outpost.store.auditEvents('clinic-a');
    const audited = events.filter((e) => e.action === 'file-upload' && e.recordId === wrong.recordId);
    expect(audited.map((e) => e.outcome)).toEqual(['checksum-mismatch', 'complete']);
    expect(audited[0]).toMatchObject({ collection: 'wounds', deviceId: 'tablet-7' });
  });

  it('answers a chunk for a file dropped while it waited as not found, not as a server error', async () => {
    const photo = randomBytes(chunkSize + 1);
    const id = uuidv7();
    await declare(id, describeFile(photo, { sha256: sha256(randomBytes(photo.length)) }));
    const files = new FileStore(server.app.outpost.store);
    const found = await files.find('clinic-a', id);
    expect(found).not.toBeNull();
    await sendChunk(id, 0, chunkOf(photo, 0));
    expect((await sendChunk(id, 1, chunkOf(photo, 1))).body.error?.details?.reason).toBe('file-checksum');
    // A resend of chunk 0 that found the file just before it was dropped:
    const late = await files.putChunk(
      'clinic-a',
      found!,
      0,
      chunkOf(photo, 0),
      sha256(chunkOf(photo, 0)),
      { userId: 'u', deviceId: null },
      new Date().toISOString(),
    );
    expect(late).toEqual({ kind: 'gone' });
    expect((await status(id)).status).toBe(404);
  });

  it('audits a completed upload with who, device and record, never the file name', async () => {
    const photo = randomBytes(chunkSize);
    const id = uuidv7();
    const description = describeFile(photo, {
      name: 'Kofi Mensah consent.pdf',
      contentType: 'application/pdf',
    });
    await uploadWhole(id, photo, description);
    const events = await server.app.outpost.store.auditEvents('clinic-a');
    const audited = events.filter((e) => e.action === 'file-upload' && e.recordId === description.recordId);
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ outcome: 'complete', collection: 'wounds', deviceId: 'tablet-7' });
    expect(JSON.stringify(events)).not.toContain('Kofi');
  });

  it("lists a record's files for every device of the clinic, and for no one else", async () => {
    const recordId = uuidv7();
    const first = randomBytes(chunkSize);
    const second = randomBytes(2 * chunkSize);
    const [a, b] = [uuidv7(), uuidv7()];
    await uploadWhole(a, first, describeFile(first, { recordId }));
    await declare(b, describeFile(second, { recordId, name: 'second.jpg' }));
    await declare(uuidv7(), describeFile(first));
    const list = (query: string, token = nurse) =>
      server.request<{ files: FileStatus[] }>({ method: 'GET', url: `/v1/files?${query}`, token });

    const listed = await list(`collection=wounds&recordId=${recordId}`);
    expect(listed.status).toBe(200);
    expect(listed.body.files.map((f) => [f.id, f.complete, f.missingChunks])).toEqual([
      [a, true, []],
      [b, false, [0, 1]],
    ]);
    expect((await list(`collection=wounds&recordId=${recordId}`, otherClinic)).body).toEqual({ files: [] });
    expect((await list(`collection=nope&recordId=${recordId}`)).status).toBe(404);
    expect((await list(`collection=wounds`)).status).toBe(400);
    const kiosk = await signToken({ sub: 'kiosk-1', tenant: 'clinic-a', roles: ['kiosk'] });
    expect((await list(`collection=wounds&recordId=${recordId}`, kiosk)).status).toBe(403);
  });

  it('never lets one id name two files', async () => {
    const photo = randomBytes(chunkSize);
    const id = uuidv7();
    const description = describeFile(photo);
    await declare(id, description);
    const other = await declare(id, { ...description, sha256: sha256(randomBytes(chunkSize)) });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ error: { code: 'CONFLICT' } });
    expect((await status(id)).body.sha256).toBe(description.sha256);
  });

  it('serves byte ranges, so a cut-off download resumes', async () => {
    const photo = randomBytes(2 * chunkSize + 100);
    const id = uuidv7();
    await uploadWhole(id, photo);
    const size = photo.length;

    const across = await download(id, { range: 'bytes=1000-1100' });
    expect(across.status).toBe(206);
    expect(across.headers['content-range']).toBe(`bytes 1000-1100/${size}`);
    expect(Buffer.compare(across.bytes, photo.subarray(1000, 1101))).toBe(0);

    const rest = await download(id, { range: 'bytes=2000-' });
    expect(rest.status).toBe(206);
    expect(Buffer.compare(rest.bytes, photo.subarray(2000))).toBe(0);

    const tail = await download(id, { range: 'bytes=-10' });
    expect(Buffer.compare(tail.bytes, photo.subarray(size - 10))).toBe(0);

    const past = await download(id, { range: `bytes=${size}-` });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${size}`);
    expect(JSON.parse(past.text)).toMatchObject({ error: { code: 'RANGE_NOT_SATISFIABLE' } });

    // A range this server does not serve (several at once) gets the whole file.
    const several = await download(id, { range: 'bytes=0-1,5-6' });
    expect(several.status).toBe(200);
    expect(several.bytes.length).toBe(size);
  });

  it('takes an empty file as complete at once, and refuses one that claims bytes it has not got', async () => {
    const id = uuidv7();
    const empty = new Uint8Array();
    expect((await declare(id, describeFile(empty))).body).toMatchObject({ chunkCount: 0, complete: true });
    const got = await download(id);
    expect(got.status).toBe(200);
    expect(got.bytes.length).toBe(0);
    expect((await declare(uuidv7(), describeFile(empty, { sha256: sha256(randomBytes(4)) }))).status).toBe(
      400,
    );
  });

  it('refuses bad descriptions with 4xx and stores nothing', async () => {
    const photo = randomBytes(100);
    const cases: Array<[string, unknown, number]> = [
      ['unknown collection', describeFile(photo, { collection: 'nope' }), 400],
      ['over the size limit', describeFile(photo, { size: 64 * 1024 + 1 }), 413],
      ['a chunk too small', describeFile(photo, { chunkSize: 10 }), 400],
      ['a hash out of shape', describeFile(photo, { sha256: 'abc' }), 400],
      ['a media type out of shape', describeFile(photo, { contentType: 'jpeg' }), 400],
      ['an unknown field', describeFile(photo, { owner: 'x' }), 400],
      ['half a character in its name', describeFile(photo, { name: 'wound \ud800.jpg' }), 400],
      ['a temp id for its record', describeFile(photo, { recordId: 'temp_1732345678_ab12cd_wounds' }), 400],
      ['no body', undefined, 400],
    ];
    for (const [what, body, expected] of cases) {
      const id = uuidv7();
      const res = await declare(id, body);
      expect(res.status, what).toBe(expected);
      expect(res.body, what).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
      expect((await status(id)).status, what).toBe(404);
    }
    expect((await declare('bad id!', describeFile(photo))).status).toBe(400);
  });

  it('takes its permissions from the collection: write to upload, read to download', async () => {
    const photo = randomBytes(chunkSize);
    const kiosk = await signToken({ sub: 'kiosk-1', tenant: 'clinic-a', roles: ['kiosk'] });
    // A clinician may read lab results but not attach to them.
    expect((await declare(uuidv7(), describeFile(photo, { collection: 'labs' }))).status).toBe(403);
    // The intake kiosk may send a scan but not read anything back, its own scan included.
    const scan = uuidv7();
    expect((await declare(scan, describeFile(photo, { collection: 'intake' }), kiosk)).status).toBe(200);
    expect((await sendChunk(scan, 0, photo, { token: kiosk })).body).toMatchObject({ complete: true });
    expect((await status(scan, kiosk)).status).toBe(403);
    expect((await download(scan, {}, kiosk)).status).toBe(403);
    // And it may not add to a clinician's wound photo, nor learn that there is one: it has no right
    // on wounds, so the photo is not there for it, as one that never was.
    const wound = uuidv7();
    await declare(wound, describeFile(photo));
    expect((await sendChunk(wound, 0, photo, { token: kiosk })).status).toBe(404);
    expect((await status(wound)).body.missingChunks).toEqual([0]);
  });

  it("keeps another clinic's files out of reach, answering exactly as for a file that never was", async () => {
    const photo = randomBytes(chunkSize);
    const id = uuidv7();
    await uploadWhole(id, photo);
    const never = uuidv7();
    const probes = async (fileId: string) => [
      await status(fileId, otherClinic),
      await download(fileId, {}, otherClinic),
      await sendChunk(fileId, 0, photo, { token: otherClinic }),
    ];
    const theirs = await probes(id);
    const none = await probes(never);
    for (const [i, answer] of theirs.entries()) {
      expect(answer.status).toBe(404);
      const body = 'text' in answer ? JSON.parse(answer.text) : answer.body;
      const noneAnswer = none[i];
      const noneBody = noneAnswer && 'text' in noneAnswer ? JSON.parse(noneAnswer.text) : noneAnswer?.body;
      expect(JSON.stringify(body).replace(id, 'ID')).toBe(JSON.stringify(noneBody).replace(never, 'ID'));
    }
    // The same id in clinic b is clinic b's own file, and clinic a's stays as it was.
    const theirPhoto = randomBytes(100);
    expect((await declare(id, describeFile(theirPhoto), otherClinic)).body).toMatchObject({
      complete: false,
      size: 100,
    });
    expect(Buffer.compare((await download(id)).bytes, photo)).toBe(0);
  });

  it('completes a file once when its last two chunks arrive together', async () => {
    const photo = randomBytes(4 * chunkSize);
    const id = uuidv7();
    const description = describeFile(photo);
    await declare(id, description);
    await sendChunk(id, 0, chunkOf(photo, 0));
    await sendChunk(id, 1, chunkOf(photo, 1));
    const answers = await Promise.all([2, 3, 2, 3].map((i) => sendChunk(id, i, chunkOf(photo, i))));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await status(id)).body).toMatchObject({ complete: true, missingChunks: [] });
    const events = await server.app.outpost.store.auditEvents('clinic-a');
    const completed = events.filter((e) => e.action === 'file-upload' && e.recordId === description.recordId);
    expect(completed.map((e) => e.outcome)).toEqual(['complete']);
    expect(Buffer.compare((await download(id)).bytes, photo)).toBe(0);
  });
});

describe('the file size limit', () => {
  it('is refused at start when it is not a whole number of bytes, not taken as no limit', async () => {
    for (const maxFileBytes of [Number.NaN, -1, 1.5]) {
      const storage = await createStorage('sqlite');
      const database = await storage.open();
      try {
        await expect(
          createSyncServer({ schema, database, auth: { jwtSecret: testSecret }, limits: { maxFileBytes } }),
        ).rejects.toThrow(/maxFileBytes must be a whole number/);
      } finally {
        await database.close();
        await storage.destroy();
      }
    }
  });
});
