import { StoreClosedError, StoreWriteError } from '../stores/store-errors';
import { ownBytes } from './local-file-store';
import type { FileStoreSnapshot, FileWrite, LocalFileStore, StoredFile } from './local-file-store';

export interface MemoryFileStoreOptions {
  /**
   * Stores made with the same name in one process share their files, as two connections to one
   * IndexedDB database would, so a test can "restart" a client. Unnamed stores are private.
   */
  name?: string;
}

interface MemoryFiles {
  files: Map<string, StoredFile>;
  /** File id -> its chunks, index 0 first. */
  chunks: Map<string, Array<Uint8Array<ArrayBuffer>>>;
  meta: Map<string, unknown>;
}

const namedStores = new Map<string, MemoryFiles>();

function empty(): MemoryFiles {
  return { files: new Map(), chunks: new Map(), meta: new Map() };
}

function apply(data: MemoryFiles, write: FileWrite): void {
  for (const id of write.deleteFiles ?? []) {
    data.files.delete(id);
    data.chunks.delete(id);
  }
  for (const id of write.dropChunks ?? []) data.chunks.delete(id);
  for (const file of write.putFiles ?? []) data.files.set(file.id, file);
  for (const { id, chunks } of write.putChunks ?? []) data.chunks.set(id, [...chunks]);
  for (const [key, value] of Object.entries(write.meta ?? {})) {
    if (value === undefined) data.meta.delete(key);
    else data.meta.set(key, value);
  }
}

/** IndexedDB refuses these keys; refused here too so the two stores behave alike. */
function checkKeys(write: FileWrite): void {
  const ids = [
    ...(write.putFiles ?? []).map((f) => f.id),
    ...(write.putChunks ?? []).map((c) => c.id),
    ...(write.dropChunks ?? []),
    ...(write.deleteFiles ?? []),
  ];
  for (const id of ids) if (typeof id !== 'string') throw new TypeError('a file needs a string id');
  for (const { chunks } of write.putChunks ?? []) {
    for (const chunk of chunks)
      if (!(chunk instanceof Uint8Array)) throw new TypeError('a chunk must be a Uint8Array');
  }
}

/**
 * Files in memory, for tests, simulations and a client that keeps nothing across restarts (the
 * default). Behaves like the IndexedDB store where a caller could tell: writes are all or nothing,
 * values are copied in and out, descriptions load in id order.
 */
export function memoryFileStore(options: MemoryFileStoreOptions = {}): LocalFileStore {
  const { name } = options;
  let privateData: MemoryFiles | undefined;
  const data = (): MemoryFiles => {
    if (name === undefined) return (privateData ??= empty());
    let shared = namedStores.get(name);
    if (!shared) namedStores.set(name, (shared = empty()));
    return shared;
  };
  const label = `${name ?? 'memory'}-files`;
  let closed = false;

  return {
    kind: 'memory',

    async load(): Promise<FileStoreSnapshot> {
      closed = false;
      const { files, meta } = data();
      return structuredClone({
        files: [...files.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
        meta: Object.fromEntries(meta),
      });
    },

    async commit(write: FileWrite): Promise<void> {
      if (closed) throw new StoreClosedError(label);
      let copy: FileWrite;
      try {
        checkKeys(write);
        // Copied whole before anything is applied: what structuredClone refuses fails here.
        copy = structuredClone({
          ...write,
          putChunks: write.putChunks?.map(({ id, chunks }) => ({ id, chunks: chunks.map(ownBytes) })),
        });
      } catch (cause) {
        throw new StoreWriteError(label, cause);
      }
      apply(data(), copy);
    },

    async readChunk(id: string, index: number) {
      if (closed) throw new StoreClosedError(label);
      const chunk = data().chunks.get(id)?.[index];
      return chunk === undefined ? undefined : chunk.slice();
    },

    async clear(): Promise<void> {
      if (closed) throw new StoreClosedError(label);
      const current = data();
      current.files.clear();
      current.chunks.clear();
      current.meta.clear();
    },

    async close(): Promise<void> {
      closed = true;
    },
  };
}
