import { Dexie } from 'dexie';
import type { DexieOptions, Table } from 'dexie';
import { StoreClosedError, StoreOpenError, StoreWriteError } from '../stores/store-errors';
import { isEmptyFileWrite, ownBytes } from './local-file-store';
import type { FileStoreSnapshot, FileWrite, LocalFileStore, StoredFile } from './local-file-store';

export interface IndexedDbFileStoreOptions {
  /**
   * The name given to `indexedDbStore`: the files live in a database of their own, `<name>-files`,
   * so the record store's schema version never moves for them and a device can clear one without
   * the other.
   */
  name: string;
  /** Defaults to the platform's `indexedDB`; tests pass fake-indexeddb's. */
  indexedDB?: IDBFactory;
  IDBKeyRange?: typeof IDBKeyRange;
}

interface ChunkRow {
  id: string;
  index: number;
  bytes: Uint8Array<ArrayBuffer>;
}

interface MetaRow {
  key: string;
  value: unknown;
}

type FilesDb = Dexie & {
  files: Table<StoredFile, string>;
  chunks: Table<ChunkRow, [string, number]>;
  meta: Table<MetaRow, string>;
};

const schemaV1 = {
  files: 'id',
  // One row per chunk: an upload reads one chunk at a time, and a photo is never read whole to
  // send a piece of it.
  chunks: '[id+index]',
  meta: 'key',
};

/**
 * A device's files in IndexedDB through Dexie 4, one read-write transaction per write with
 * strict durability, as the record store (`indexedDbStore`) commits: a photo reported attached
 * has been flushed to disk. No Web Lock of its own: the client opens it after the record store,
 * whose lock already keeps a second tab out.
 */
export function indexedDbFileStore(options: IndexedDbFileStoreOptions): LocalFileStore {
  const name = `${options.name}-files`;
  // Strict: see indexeddb-store.ts. Dexie merges its options over its defaults, so only what was given.
  const dexieOptions: DexieOptions = { autoOpen: false, chromeTransactionDurability: 'strict' };
  if (options.indexedDB) dexieOptions.indexedDB = options.indexedDB;
  if (options.IDBKeyRange) dexieOptions.IDBKeyRange = options.IDBKeyRange;
  const db = new Dexie(name, dexieOptions) as FilesDb;
  db.version(1).stores(schemaV1);
  const tables = [db.files, db.chunks, db.meta];
  let opening: Promise<void> | null = null;
  let closed = false;

  async function ensureOpen(): Promise<void> {
    if (db.isOpen()) return;
    opening ??= db.open().then(
      () => {
        opening = null;
      },
      (cause: unknown) => {
        opening = null;
        throw new StoreOpenError(name, cause);
      },
    );
    await opening;
  }

  /** Every chunk row of one file. */
  const chunksOf = (id: string) =>
    db.chunks.where('[id+index]').between([id, Dexie.minKey], [id, Dexie.maxKey], true, true);

  return {
    kind: 'indexeddb',

    async load(): Promise<FileStoreSnapshot> {
      closed = false;
      await ensureOpen();
      return db.transaction('r', [db.files, db.meta], async () => {
        const files = await db.files.toArray();
        const meta: Record<string, unknown> = {};
        for (const row of await db.meta.toArray()) meta[row.key] = row.value;
        return { files, meta };
      });
    },

    async commit(write: FileWrite): Promise<void> {
      if (closed) throw new StoreClosedError(name);
      await ensureOpen();
      if (isEmptyFileWrite(write)) return;
      const metaEntries = Object.entries(write.meta ?? {});
      try {
        await db.transaction('rw', tables, async () => {
          for (const id of write.deleteFiles ?? []) {
            await db.files.delete(id);
            await chunksOf(id).delete();
          }
          for (const id of write.dropChunks ?? []) await chunksOf(id).delete();
          if (write.putFiles?.length) await db.files.bulkPut(write.putFiles);
          for (const { id, chunks } of write.putChunks ?? []) {
            await chunksOf(id).delete();
            await db.chunks.bulkPut(chunks.map((bytes, index) => ({ id, index, bytes: ownBytes(bytes) })));
          }
          const removed = metaEntries.filter(([, value]) => value === undefined).map(([key]) => key);
          const set = metaEntries
            .filter(([, value]) => value !== undefined)
            .map(([key, value]) => ({ key, value }));
          if (removed.length) await db.meta.bulkDelete(removed);
          if (set.length) await db.meta.bulkPut(set);
        });
      } catch (cause) {
        throw new StoreWriteError(name, cause);
      }
    },

    async readChunk(id: string, index: number) {
      if (closed) throw new StoreClosedError(name);
      await ensureOpen();
      return (await db.chunks.get([id, index]))?.bytes;
    },

    async clear(): Promise<void> {
      if (closed) throw new StoreClosedError(name);
      await ensureOpen();
      await db.transaction('rw', tables, async () => {
        for (const table of tables) await table.clear();
      });
    },

    async close(): Promise<void> {
      closed = true;
      opening = null;
      db.close();
    },
  };
}
