import { IDBDatabase, IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { encryptedStore } from '../crypto/encrypted-store';
import { indexedDbStore } from './indexeddb-store';
import type { LocalRecord, LocalStore } from './local-store';
import { memoryStore } from './memory-store';
import { describeStoreConformance } from './store-conformance';
import type { ConformanceTarget } from './store-conformance';

// Low enough that a test derives a key in about a millisecond; the default is 310,000.
const TEST_ITERATIONS = 1_000;
let memoryNames = 0;

/** A target whose stores all come from `make`; cleanup closes every one it handed out. */
function targetOf(make: () => LocalStore, cleanup?: () => Promise<void>): ConformanceTarget {
  const made: LocalStore[] = [];
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

function memoryTarget(wrap: (store: LocalStore) => LocalStore = (store) => store): ConformanceTarget {
  // Named, so reopen() makes a new object over the same data, as a restarted client would.
  const name = `conformance-${++memoryNames}`;
  return targetOf(
    () => wrap(memoryStore({ name })),
    () => memoryStore({ name }).clear(),
  );
}

function indexedDbTarget(wrap: (store: LocalStore) => LocalStore = (store) => store): ConformanceTarget {
  // A fresh factory per test is a fresh, empty "browser profile": no test sees another's data.
  const factory = new IDBFactory();
  return targetOf(() => wrap(indexedDbStore({ name: 'clinic', indexedDB: factory, IDBKeyRange })));
}

const encrypted = (store: LocalStore) =>
  encryptedStore(store, { passphrase: 'correct horse battery staple', iterations: TEST_ITERATIONS });

describeStoreConformance('memoryStore', async () => memoryTarget());
describeStoreConformance('indexedDbStore over fake-indexeddb', async () => indexedDbTarget());
describeStoreConformance('encryptedStore over memoryStore', async () => memoryTarget(encrypted));
describeStoreConformance('encryptedStore over indexedDbStore', async () => indexedDbTarget(encrypted));

const patient: LocalRecord = {
  collection: 'patients',
  id: 'p-1',
  data: { name: 'Amina Kachingwe' },
  deleted: false,
  version: 1,
  hlc: '2025-03-04T08:15:00.000Z_0000_tablet-7',
  updatedAt: '2025-03-04T08:15:00.000Z',
};

describe('memoryStore', () => {
  it('keeps an unnamed store private to its object', async () => {
    const a = memoryStore();
    await a.commit({ putRecords: [patient] });
    expect((await memoryStore().load()).records).toEqual([]);
    expect((await a.load()).records).toEqual([patient]);
  });

  it('shares one named store between every object made with its name', async () => {
    const name = `shared-${++memoryNames}`;
    const a = memoryStore({ name });
    const b = memoryStore({ name });
    await a.commit({ putRecords: [patient] });
    expect((await b.load()).records).toEqual([patient]);
    await b.clear();
    expect((await a.load()).records).toEqual([]);
    expect((await memoryStore({ name: `${name}-other` }).load()).records).toEqual([]);
  });
});

describe('indexedDbStore', () => {
  it('names the store when there is no IndexedDB to open', async () => {
    // Node has no global indexedDB, as a browser with storage disabled may not either.
    const store = indexedDbStore({ name: 'clinic-no-idb' });
    await expect(store.load()).rejects.toMatchObject({
      name: 'StoreOpenError',
      code: 'STORE_OPEN_FAILED',
      store: 'clinic-no-idb',
      message: expect.stringContaining("'clinic-no-idb' could not be opened"),
    });
  });

  it('names the store when IndexedDB refuses to open it', async () => {
    const refusing = {
      open: () => {
        throw new DOMException('The user denied permission to access the database.', 'SecurityError');
      },
    } as unknown as IDBFactory;
    const store = indexedDbStore({ name: 'clinic-refused', indexedDB: refusing, IDBKeyRange });
    const error: unknown = await store.load().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORE_OPEN_FAILED', store: 'clinic-refused' });
    expect((error as Error).message).toMatch(/clinic-refused.*SecurityError/);
  });

  it('asks for strict durability on every write, so a change reported saved survives a power cut', async () => {
    // Chromium (since 121), Firefox and Safari default to relaxed durability: a write is reported
    // done once it reaches the OS buffers, and a tablet losing power seconds later loses it, the
    // mark that an op was sent included (a later edit would then be folded into it and lost behind
    // the server's "duplicate"). fake-indexeddb keeps no disk, so the test reads what was asked for.
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    try {
      const store = indexedDbStore({ name: 'clinic-durable', indexedDB: new IDBFactory(), IDBKeyRange });
      await store.load();
      await store.commit({ putRecords: [patient], meta: { cursor: 'c-1' } });
      await store.clear();
      await store.close();
      const writes = transaction.mock.calls.filter(([, mode]) => mode === 'readwrite');
      expect(writes).toHaveLength(2);
      for (const [, , options] of writes) expect(options).toMatchObject({ durability: 'strict' });
    } finally {
      transaction.mockRestore();
    }
  });

  it('keeps databases of different names apart', async () => {
    const factory = new IDBFactory();
    const a = indexedDbStore({ name: 'clinic-a', indexedDB: factory, IDBKeyRange });
    const b = indexedDbStore({ name: 'clinic-b', indexedDB: factory, IDBKeyRange });
    await a.commit({ putRecords: [patient] });
    expect((await b.load()).records).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });
});
