import { IDBDatabase, IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { encryptedFileStore } from '../crypto/encrypted-file-store';
import { describeFileStoreConformance } from './file-store-conformance';
import type { FileStoreTarget } from './file-store-conformance';
import { indexedDbFileStore } from './indexeddb-file-store';
import type { LocalFileStore, StoredFile } from './local-file-store';
import { memoryFileStore } from './memory-file-store';

// Low enough that a test derives a key in about a millisecond; the default is 310,000.
const TEST_ITERATIONS = 1_000;
const passphrase = 'correct horse battery staple';
let memoryNames = 0;

function targetOf(make: () => LocalFileStore, cleanup?: () => Promise<void>): FileStoreTarget {
  const made: LocalFileStore[] = [];
  const next = () => {
    const store = make();
    made.push(store);
    return store;
  };
  return {
    store: next(),
    reopen: async () => next(),
    cleanup: async () => {
      for (const store of made) await store.close();
      await cleanup?.();
    },
  };
}

function memoryTarget(wrap = (s: LocalFileStore) => s): FileStoreTarget {
  const name = `file-conformance-${++memoryNames}`;
  return targetOf(
    () => wrap(memoryFileStore({ name })),
    () => memoryFileStore({ name }).clear(),
  );
}

function indexedDbTarget(wrap = (s: LocalFileStore) => s): FileStoreTarget {
  const factory = new IDBFactory();
  return targetOf(() => wrap(indexedDbFileStore({ name: 'clinic', indexedDB: factory, IDBKeyRange })));
}

const encrypted = (store: LocalFileStore) =>
  encryptedFileStore(store, { passphrase, iterations: TEST_ITERATIONS });

describeFileStoreConformance('memoryFileStore', async () => memoryTarget());
describeFileStoreConformance('indexedDbFileStore over fake-indexeddb', async () => indexedDbTarget());
describeFileStoreConformance('encryptedFileStore over memoryFileStore', async () => memoryTarget(encrypted));
describeFileStoreConformance('encryptedFileStore over indexedDbFileStore', async () =>
  indexedDbTarget(encrypted),
);

const photoName = 'Amina Kachingwe wound.jpg';
const photo = new TextEncoder().encode('PLAINTEXT-PHOTO '.repeat(200)) as Uint8Array<ArrayBuffer>;
const file: StoredFile = {
  id: 'f-1',
  collection: 'encounters',
  recordId: 'e-1',
  name: photoName,
  contentType: 'image/jpeg',
  size: photo.byteLength,
  sha256: 'c'.repeat(64),
  chunkSize: 2048,
  chunkCount: 2,
  chunkSha256: ['d'.repeat(64), 'e'.repeat(64)],
  createdAt: '2026-11-22T08:00:00.000Z',
  origin: 'device',
  state: 'waiting',
  chunksUploaded: 0,
  held: true,
  attempts: 0,
};
const chunks = [photo.slice(0, 2048), photo.slice(2048)];

/** Whether `needle` occurs anywhere in `haystack`. */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('indexedDbFileStore', () => {
  it('keeps files in a database of their own beside the record store', async () => {
    const factory = new IDBFactory();
    const store = indexedDbFileStore({ name: 'clinic', indexedDB: factory, IDBKeyRange });
    await store.load();
    expect((await factory.databases()).map((d) => d.name)).toEqual(['clinic-files']);
    await store.close();
  });

  it('asks for strict durability on every write, so a photo reported attached survives a power cut', async () => {
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    try {
      const store = indexedDbFileStore({ name: 'clinic-durable', indexedDB: new IDBFactory(), IDBKeyRange });
      await store.load();
      await store.commit({ putFiles: [file], putChunks: [{ id: 'f-1', chunks }] });
      await store.commit({ dropChunks: ['f-1'] });
      await store.close();
      const writes = transaction.mock.calls.filter(([, mode]) => mode === 'readwrite');
      expect(writes).toHaveLength(2);
      for (const [, , options] of writes) expect(options).toMatchObject({ durability: 'strict' });
    } finally {
      transaction.mockRestore();
    }
  });
});

describe('encryptedFileStore', () => {
  it('stores no plaintext: neither the bytes, nor the name, nor whose file it is', async () => {
    const inner = memoryFileStore();
    const store = encrypted(inner);
    await store.load();
    await store.commit({ putFiles: [file], putChunks: [{ id: 'f-1', chunks }] });

    const raw = await inner.load();
    const text = JSON.stringify(raw);
    expect(text).not.toContain('Amina');
    expect(text).not.toContain('e-1');
    expect(text).not.toContain('encounters');
    expect(raw.files.map((f) => f.id)).toEqual(['f-1']);
    const needle = new TextEncoder().encode('PLAINTEXT');
    for (const i of [0, 1]) {
      const sealed = await inner.readChunk('f-1', i);
      expect(sealed?.byteLength).toBe(chunks[i]!.byteLength + 28);
      expect(contains(sealed!, needle)).toBe(false);
    }
    expect(await store.readChunk('f-1', 1)).toEqual(chunks[1]);
    expect((await store.load()).files).toEqual([file]);
  });

  it('refuses a wrong passphrase before reading or writing anything', async () => {
    const name = `file-wrong-${++memoryNames}`;
    const right = encrypted(memoryFileStore({ name }));
    await right.load();
    await right.commit({ putFiles: [file], putChunks: [{ id: 'f-1', chunks }] });
    const wrong = encryptedFileStore(memoryFileStore({ name }), {
      passphrase: 'wrong',
      iterations: TEST_ITERATIONS,
    });
    await expect(wrong.load()).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    await expect(wrong.commit({ deleteFiles: ['f-1'] })).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect((await right.load()).files).toEqual([file]);
  });

  it('does not open a chunk moved to another index or file', async () => {
    const inner = memoryFileStore();
    const store = encrypted(inner);
    await store.load();
    await store.commit({ putFiles: [file], putChunks: [{ id: 'f-1', chunks }] });
    const first = (await inner.readChunk('f-1', 0))!;
    const second = (await inner.readChunk('f-1', 1))!;
    await inner.commit({ putChunks: [{ id: 'f-1', chunks: [second, first] }] });
    await expect(store.readChunk('f-1', 0)).rejects.toMatchObject({ code: 'ENCRYPTED_DATA_DAMAGED' });
    await inner.commit({ putChunks: [{ id: 'f-2', chunks: [first] }] });
    await expect(store.readChunk('f-2', 0)).rejects.toMatchObject({ code: 'ENCRYPTED_DATA_DAMAGED' });
  });

  it('seals files kept in the clear before, bytes and all, the first time it is loaded', async () => {
    const inner = memoryFileStore();
    await inner.load();
    await inner.commit({ putFiles: [file], putChunks: [{ id: 'f-1', chunks }] });
    const store = encrypted(inner);
    expect((await store.load()).files).toEqual([file]);
    expect(JSON.stringify(await inner.load())).not.toContain('Amina');
    expect(contains((await inner.readChunk('f-1', 0))!, new TextEncoder().encode('PLAINTEXT'))).toBe(false);
    expect(await store.readChunk('f-1', 0)).toEqual(chunks[0]);
  });
});
