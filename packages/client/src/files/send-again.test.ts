import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collection, defineSchema, outpostError } from '@outpost/core';
import type { FileStatus } from '@outpost/core';
import { FileDb } from './file-db';
import type { FileTransport } from './file-transport';
import { FileUploads } from './file-uploads';
import type { RecordIds } from './file-uploads';
import type { StoredFile } from './local-file-store';
import { memoryFileStore } from './memory-file-store';

// Which files a device sends again to a server restored from a backup (decision 0050, "Files"),
// and what a refusal of one does. The real server's side is in test/restored-server-files.test.ts.

const schema = defineSchema({
  name: 'send-again',
  collections: {
    patients: collection({
      fields: z.object({ name: z.string() }),
      permissions: { clinician: ['read', 'create', 'update'] },
    }),
    // Numbered by the server: a restored server gives a lost record's number to another record.
    invoices: collection({
      fields: z.object({ total: z.number() }),
      idStrategy: 'server',
      permissions: { clinician: ['read', 'create'] },
    }),
  },
});

const hash = (c: string) => c.repeat(64);

function file(id: string, extra: Partial<StoredFile> = {}): StoredFile {
  return {
    id,
    collection: 'patients',
    recordId: 'amina',
    name: `${id}.jpg`,
    contentType: 'image/jpeg',
    size: 2000,
    sha256: hash('a'),
    chunkSize: 1024,
    chunkCount: 2,
    chunkSha256: [hash('b'), hash('c')],
    createdAt: `2026-11-22T08:00:0${id.length % 10}.000Z`,
    origin: 'device',
    state: 'synced',
    chunksUploaded: 2,
    held: true,
    attempts: 0,
    uploadedAt: '2026-11-22T09:00:00.000Z',
    ...extra,
  };
}

/** The records the device holds: `amina` and the invoice `7`. */
function recordIds(): RecordIds {
  const held = new Set(['patients/amina', 'invoices/7']);
  return {
    real: (id) => id,
    lost: () => null,
    unsent: () => null,
    withdrawn: () => [],
    held: (collection, id) => held.has(`${collection}/${id}`),
    keptWhole: () => true,
    forgetWithdrawn: async () => {},
  };
}

const refusedTransport = (status: () => Promise<FileStatus>): FileTransport => ({
  declare: () => Promise.reject(outpostError('FORBIDDEN', 'your role may not write patients')),
  putChunk: () => Promise.reject(new Error('no chunk is sent')),
  status,
  list: () => Promise.resolve([]),
  remove: () => Promise.resolve(),
  content: () => Promise.reject(new Error('no download')),
});

async function uploads(files: StoredFile[], transport = refusedTransport(() => Promise.reject(new Error()))) {
  const db = await FileDb.open(memoryFileStore());
  await db.write(() => ({ write: { putFiles: files }, result: undefined }));
  const stage = new FileUploads({
    schema,
    db,
    transport,
    deviceId: 'tablet-7',
    retry: { baseMs: 1000, maxMs: 60_000, maxAttempts: 5 },
    random: () => 0.5,
    now: () => Date.parse('2026-11-23T10:00:00.000Z'),
    recordIds: recordIds(),
  });
  return { db, stage };
}

const send = <T>(request: (signal: AbortSignal) => Promise<T>) => request(new AbortController().signal);

describe('FileUploads.sendAgainAfterRestore', () => {
  it('marks to go again each file held whole and believed on the server, whoever attached it, and no other', async () => {
    const failed: Partial<StoredFile> = {
      state: 'failed',
      refused: true,
      error: { code: 'FORBIDDEN', message: 'no' },
    };
    const { db, stage } = await uploads([
      file('own'),
      // Downloaded here, attached on another tablet: this one may hold the clinic's last copy.
      file('downloaded', { origin: 'server' }),
      // Only its description: no bytes to send.
      file('evicted', { held: false }),
      file('listed', { origin: 'server', held: false, chunkSha256: [] }),
      // Already to go, or stopped: their state stands.
      file('waiting', { state: 'waiting', chunksUploaded: 1, attempts: 2 }),
      file('refused', failed),
      file('incomplete', { origin: 'server', state: 'incomplete', held: false, chunkSha256: [] }),
      // Asked deleted: its delete goes as asked.
      file('deleting', { deletion: { state: 'waiting', requestedAt: '2026-11-23T08:00:00.000Z' } }),
      // Its record is not on the device (dropped by the re-read, or let go): a file of no record.
      file('dropped', { recordId: 'grace' }),
      // Its record's number may name another record on the restored server.
      file('invoice', { collection: 'invoices', recordId: '7' }),
    ]);
    const before = new Map(db.files);

    expect(await stage.sendAgainAfterRestore()).toBe(2);
    expect(db.files.get('own')).toEqual({ ...before.get('own'), state: 'waiting', chunksUploaded: 0 });
    expect(db.files.get('downloaded')).toMatchObject({
      origin: 'server',
      state: 'waiting',
      chunksUploaded: 0,
    });
    for (const id of [
      'evicted',
      'listed',
      'waiting',
      'refused',
      'incomplete',
      'deleting',
      'dropped',
      'invoice',
    ])
      expect(db.files.get(id), id).toEqual(before.get(id));
    expect(stage.counts()).toEqual({ waiting: 3, failed: 1 });

    // Asked again (a stop before the engine took its mark off): nothing more changes.
    expect(await stage.sendAgainAfterRestore()).toBe(0);
  });

  it('persists the marks: a device opened again finds the files waiting', async () => {
    const store = memoryFileStore({ name: `send-again-${Date.now()}` });
    const db = await FileDb.open(store);
    await db.write(() => ({ write: { putFiles: [file('own')] }, result: undefined }));
    const stage = new FileUploads({
      schema,
      db,
      transport: refusedTransport(() => Promise.reject(new Error())),
      deviceId: 'tablet-7',
      retry: { baseMs: 1000, maxMs: 60_000, maxAttempts: 5 },
      random: () => 0.5,
      now: () => 0,
      recordIds: recordIds(),
    });
    await stage.sendAgainAfterRestore();
    await db.close();
    expect((await store.load()).files.map((f) => f.state)).toEqual(['waiting']);
  });

  it('sent again and refused (a role that may no longer upload): as uploaded as before if the server holds it whole', async () => {
    const kept: FileStatus = {
      id: 'downloaded',
      collection: 'patients',
      recordId: 'amina',
      name: 'downloaded.jpg',
      contentType: 'image/jpeg',
      size: 2000,
      sha256: hash('a'),
      chunkSize: 1024,
      chunkCount: 2,
      missingChunks: [],
      complete: true,
      createdBy: 'nurse',
      createdAt: '2026-11-20T08:00:00.000Z',
      completedAt: '2026-11-20T08:01:00.000Z',
    };
    const { db, stage } = await uploads(
      [file('downloaded', { origin: 'server' })],
      refusedTransport(async () => kept),
    );
    await stage.sendAgainAfterRestore();
    let uploaded = 0;
    await stage.upload(send, () => (uploaded += 1));
    expect(uploaded).toBe(1);
    expect(db.files.get('downloaded')).toMatchObject({ state: 'synced', chunksUploaded: 2 });
    expect(db.files.get('downloaded')?.error).toBeUndefined();
  });

  it('sent again and refused, the server lacking it: stopped and shown, its bytes kept', async () => {
    const { db, stage } = await uploads(
      [file('own')],
      refusedTransport(() => Promise.reject(outpostError('NOT_FOUND', 'no file own'))),
    );
    await stage.sendAgainAfterRestore();
    await stage.upload(send, () => {});
    expect(db.files.get('own')).toMatchObject({
      state: 'failed',
      refused: true,
      held: true,
      error: { code: 'FORBIDDEN' },
    });
  });
});
