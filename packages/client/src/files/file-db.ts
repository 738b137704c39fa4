import { ClientClosedError } from '../client-closed';
import { isEmptyFileWrite } from './local-file-store';
import type { FileWrite, LocalFileStore, StoredFile } from './local-file-store';

/**
 * The file store behind one door, as `LocalDb` keeps the record store: the descriptions mirrored
 * in memory (read once on open; the bytes stay in the store), writes one at a time, each computed
 * from the mirror, committed, then mirrored and told to subscribers.
 */
export class FileDb {
  readonly files = new Map<string, StoredFile>();
  /** The store's meta, mirrored as the descriptions are. */
  readonly meta: Record<string, unknown> = {};
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  private constructor(readonly store: LocalFileStore) {}

  static async open(store: LocalFileStore): Promise<FileDb> {
    const db = new FileDb(store);
    const snapshot = await store.load();
    for (const file of snapshot.files) db.files.set(file.id, file);
    Object.assign(db.meta, snapshot.meta);
    return db;
  }

  /** Runs `compute` against the mirror and commits what it returns whole; null commits nothing. */
  write<T>(compute: () => { write: FileWrite | null; result: T }): Promise<T> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const run = this.queue.then(async () => {
      if (this.closed) throw new ClientClosedError();
      const { write, result } = compute();
      if (write !== null && !isEmptyFileWrite(write)) {
        await this.store.commit(write);
        for (const id of write.deleteFiles ?? []) this.files.delete(id);
        for (const file of write.putFiles ?? []) this.files.set(file.id, file);
        for (const [key, value] of Object.entries(write.meta ?? {})) {
          if (value === undefined) delete this.meta[key];
          else this.meta[key] = value;
        }
        this.notify();
      }
      return result;
    });
    // A failed write must not wedge the writes queued behind it.
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Puts one file's description changed by `change`, if it is still here (a person may have discarded it). */
  update(id: string, change: (file: StoredFile) => StoredFile): Promise<StoredFile | undefined> {
    return this.write(() => {
      const file = this.files.get(id);
      if (!file) return { write: null, result: undefined };
      const next = change(file);
      return { write: { putFiles: [next] }, result: next };
    });
  }

  readChunk(id: string, index: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    return this.store.readChunk(id, index);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells subscribers something they show changed: a write, or an upload's progress (not stored). */
  notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Refuses writes from now on, and resolves once those queued have ended. */
  close(): Promise<void> {
    this.closed = true;
    return this.queue.then(() => undefined);
  }
}
