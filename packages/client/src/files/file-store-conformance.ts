import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalFileStore, StoredFile } from './local-file-store';

/**
 * One fresh, empty file store per test. `reopen` is called after the suite closed `store` and gives
 * a store over the same data, as a restarted app makes. `cleanup` releases what the test opened.
 */
export interface FileStoreTarget {
  store: LocalFileStore;
  reopen: () => Promise<LocalFileStore>;
  cleanup?: () => Promise<void>;
}

function described(id: string, extra: Partial<StoredFile> = {}): StoredFile {
  return {
    id,
    collection: 'encounters',
    recordId: 'e-1',
    name: 'wound – left ankle, day 3 🩹.jpg',
    contentType: 'image/jpeg',
    size: 5,
    sha256: 'a'.repeat(64),
    chunkSize: 1024,
    chunkCount: 1,
    chunkSha256: ['b'.repeat(64)],
    createdAt: '2026-11-22T08:00:00.000Z',
    origin: 'device',
    state: 'waiting',
    chunksUploaded: 0,
    held: true,
    attempts: 0,
    ...extra,
  };
}

/** Every byte value, so no encoding step can hide a lost high bit or a NUL. */
function everyByte(length: number, seed = 0): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + seed) % 256;
  return bytes;
}

export function describeFileStoreConformance(name: string, open: () => Promise<FileStoreTarget>): void {
  describe(`${name} conformance`, () => {
    let target: FileStoreTarget;
    let store: LocalFileStore;

    beforeEach(async () => {
      target = await open();
      store = target.store;
      await store.load();
    });
    afterEach(async () => {
      await target.cleanup?.();
    });

    it('loads as empty, and takes an empty write without changing anything', async () => {
      expect(await store.load()).toEqual({ files: [], meta: {} });
      await store.commit({});
      await store.commit({ putFiles: [], putChunks: [], dropChunks: [], deleteFiles: [], meta: {} });
      expect(await store.load()).toEqual({ files: [], meta: {} });
      expect(await store.readChunk('f-1', 0)).toBeUndefined();
    });

    it('keeps a description with its bytes by chunk, and loads descriptions in id order without bytes', async () => {
      const a = described('f-b', { size: 3000, chunkCount: 3, chunkSha256: ['1', '2', '3'] });
      const b = described('f-a', {
        state: 'failed',
        refused: true,
        error: { code: 'FORBIDDEN', message: 'no', details: { reason: 'x' } },
        nextAttemptAt: 1_700_000_000_000,
        uploadedAt: '2026-11-22T09:00:00.000Z',
      });
      const chunks = [everyByte(1024), everyByte(1024, 1), everyByte(952, 2)];
      await store.commit({ putFiles: [a, b], putChunks: [{ id: 'f-b', chunks }] });
      const loaded = await store.load();
      expect(loaded.files).toEqual([b, a]);
      expect(JSON.stringify(loaded)).not.toContain('bytes');
      for (const [i, chunk] of chunks.entries()) expect(await store.readChunk('f-b', i)).toEqual(chunk);
      expect(await store.readChunk('f-b', 3)).toBeUndefined();
      expect(await store.readChunk('f-a', 0)).toBeUndefined();
    });

    it('keeps a 256 KiB chunk byte for byte', async () => {
      const chunk = everyByte(256 * 1024, 3);
      await store.commit({ putFiles: [described('f-1')], putChunks: [{ id: 'f-1', chunks: [chunk] }] });
      const read = await store.readChunk('f-1', 0);
      expect(read?.byteLength).toBe(chunk.byteLength);
      // Compared by hand: a deep equality of 262,144 elements takes the test half a second.
      expect(read?.every((b, i) => b === chunk[i])).toBe(true);
    });

    it('keeps only the bytes of a view, not the buffer around it', async () => {
      const photo = everyByte(4096);
      const view = photo.subarray(1024, 2048);
      await store.commit({ putFiles: [described('f-1')], putChunks: [{ id: 'f-1', chunks: [view] }] });
      const read = await store.readChunk('f-1', 0);
      expect(read).toEqual(photo.slice(1024, 2048));
      expect(read?.buffer.byteLength).toBe(1024);
    });

    it('replaces every chunk of a file on put, and drops or deletes only the files named', async () => {
      await store.commit({
        putFiles: [described('f-1'), described('f-2')],
        putChunks: [
          { id: 'f-1', chunks: [everyByte(10), everyByte(10, 1), everyByte(10, 2)] },
          { id: 'f-2', chunks: [everyByte(10, 5)] },
        ],
      });
      await store.commit({ putChunks: [{ id: 'f-1', chunks: [everyByte(4, 9)] }] });
      expect(await store.readChunk('f-1', 0)).toEqual(everyByte(4, 9));
      expect(await store.readChunk('f-1', 1)).toBeUndefined();
      expect(await store.readChunk('f-1', 2)).toBeUndefined();

      await store.commit({
        putFiles: [described('f-1', { held: false })],
        dropChunks: ['f-1', 'never-held'],
      });
      expect(await store.readChunk('f-1', 0)).toBeUndefined();
      expect((await store.load()).files).toEqual([described('f-1', { held: false }), described('f-2')]);

      await store.commit({ deleteFiles: ['f-2', 'never-stored'] });
      expect((await store.load()).files).toEqual([described('f-1', { held: false })]);
      expect(await store.readChunk('f-2', 0)).toBeUndefined();
    });

    it('applies deletes before puts, so a file deleted and put in one write holds the put', async () => {
      await store.commit({
        putFiles: [described('f-1')],
        putChunks: [{ id: 'f-1', chunks: [everyByte(8)] }],
      });
      await store.commit({
        deleteFiles: ['f-1'],
        putFiles: [described('f-1', { name: 'again.jpg' })],
        putChunks: [{ id: 'f-1', chunks: [everyByte(8, 4)] }],
      });
      expect((await store.load()).files).toEqual([described('f-1', { name: 'again.jpg' })]);
      expect(await store.readChunk('f-1', 0)).toEqual(everyByte(8, 4));
    });

    it('sets and removes meta', async () => {
      await store.commit({ meta: { a: { nested: [1, 'two'] }, b: 2 } });
      await store.commit({ meta: { b: undefined, c: null } });
      expect((await store.load()).meta).toEqual({ a: { nested: [1, 'two'] }, c: null });
    });

    it('stores nothing of a write it cannot store, bytes included', async () => {
      await store.commit({
        putFiles: [described('f-1')],
        putChunks: [{ id: 'f-1', chunks: [everyByte(8)] }],
      });
      const unclonable = { ...described('f-2'), extra: () => 1 } as unknown as StoredFile;
      await expect(
        store.commit({
          putFiles: [unclonable],
          putChunks: [
            { id: 'f-2', chunks: [everyByte(8, 1)] },
            { id: 'f-1', chunks: [everyByte(8, 2)] },
          ],
          deleteFiles: ['f-1'],
          meta: { late: true },
        }),
      ).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
      expect(await store.load()).toEqual({ files: [described('f-1')], meta: {} });
      expect(await store.readChunk('f-1', 0)).toEqual(everyByte(8));
      expect(await store.readChunk('f-2', 0)).toBeUndefined();
    });

    it('is not changed by a caller mutating what it put or read', async () => {
      const file = described('f-1');
      const chunk = everyByte(16);
      await store.commit({ putFiles: [file], putChunks: [{ id: 'f-1', chunks: [chunk] }] });
      (file as { name: string }).name = 'changed.jpg';
      chunk[0] = 99;
      const read = await store.readChunk('f-1', 0);
      if (read) read[1] = 99;
      ((await store.load()).files[0] as { recordId: string }).recordId = 'changed';
      expect((await store.load()).files).toEqual([described('f-1')]);
      expect(await store.readChunk('f-1', 0)).toEqual(everyByte(16));
    });

    it('refuses writes and reads after close(), and takes them again once loaded', async () => {
      await store.commit({
        putFiles: [described('f-1')],
        putChunks: [{ id: 'f-1', chunks: [everyByte(8)] }],
      });
      await store.close();
      await expect(store.commit({ meta: { late: true } })).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(store.readChunk('f-1', 0)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      expect(await store.load()).toEqual({ files: [described('f-1')], meta: {} });
      await store.commit({ meta: { nextSession: true } });
      expect(await store.readChunk('f-1', 0)).toEqual(everyByte(8));
    });

    it('keeps everything for a store reopened after a restart', async () => {
      await store.commit({
        putFiles: [described('f-1'), described('f-2', { held: false, state: 'synced' })],
        putChunks: [{ id: 'f-1', chunks: [everyByte(1024), everyByte(5, 1)] }],
        meta: { kept: 1 },
      });
      await store.close();
      const again = await target.reopen();
      expect(await again.load()).toEqual({
        files: [described('f-1'), described('f-2', { held: false, state: 'synced' })],
        meta: { kept: 1 },
      });
      expect(await again.readChunk('f-1', 1)).toEqual(everyByte(5, 1));
      await again.commit({ deleteFiles: ['f-2'] });
      expect((await again.load()).files).toEqual([described('f-1')]);
    });

    it('clears every file, chunk and meta key, and stays usable', async () => {
      await store.commit({
        putFiles: [described('f-1')],
        putChunks: [{ id: 'f-1', chunks: [everyByte(8)] }],
        meta: { a: 1 },
      });
      await store.clear();
      expect(await store.load()).toEqual({ files: [], meta: {} });
      expect(await store.readChunk('f-1', 0)).toBeUndefined();
      await store.commit({ putFiles: [described('f-2')] });
      expect((await store.load()).files).toEqual([described('f-2')]);
    });
  });
}
