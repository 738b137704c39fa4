import type { LocalStore, WriteBatch } from './stores/local-store';
import { isEmptyBatch } from './stores/local-store';
import { LocalState } from './local-state';
import { ClientClosedError } from './client-closed';

export type ChangeListener = (collections: ReadonlySet<string>) => void;

/**
 * The local store and its in-memory mirror behind one door. Writes run one at a time: each
 * computes its batch from the current state, commits it to the store in one transaction, then
 * mirrors it and tells subscribers. No write ever waits on the network while it holds the door.
 */
export class LocalDb {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<ChangeListener>();
  private closed = false;

  private constructor(
    readonly store: LocalStore,
    readonly state: LocalState,
  ) {}

  static async open(store: LocalStore): Promise<LocalDb> {
    return new LocalDb(store, new LocalState(await store.load()));
  }

  /**
   * Runs `compute` against the current state and commits what it returns as one batch. The
   * result of `compute` is handed back once the batch is durable and mirrored. A write marked
   * `durable: false` is only mirrored: for states worth showing but not worth a disk write.
   */
  write<T>(
    compute: () => { batch: WriteBatch | null; result: T },
    options: { durable?: boolean } = {},
  ): Promise<T> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const run = this.queue.then(async () => {
      const { batch, result } = compute();
      if (batch !== null && !isEmptyBatch(batch)) {
        if (options.durable !== false) await this.store.commit(batch);
        this.state.apply(batch);
        this.notify(batch);
      }
      return result;
    });
    // A failed write must not wedge the writes queued behind it.
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Refuses every write asked for from now on (the client closed: its session is over), and
   * resolves once the writes already queued have ended, so the store can close under nothing.
   */
  close(): Promise<void> {
    this.closed = true;
    return this.queue.then(() => undefined);
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(batch: WriteBatch): void {
    const touched = new Set<string>();
    for (const r of batch.putRecords ?? []) touched.add(r.collection);
    for (const r of batch.deleteRecords ?? []) touched.add(r.collection);
    if ((batch.putOps?.length ?? 0) > 0 || (batch.deleteOps?.length ?? 0) > 0) touched.add('$outbox');
    if ((batch.putConflicts?.length ?? 0) > 0 || (batch.deleteConflicts?.length ?? 0) > 0)
      touched.add('$conflicts');
    if (touched.size === 0) return;
    for (const listener of this.listeners) listener(touched);
  }
}
