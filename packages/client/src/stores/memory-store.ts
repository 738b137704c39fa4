import { StoreClosedError, StoreWriteError } from './store-errors';
import type {
  LocalConflict,
  LocalRecord,
  LocalStore,
  OutboxEntry,
  StoreSnapshot,
  WriteBatch,
} from './local-store';

export interface MemoryStoreOptions {
  /**
   * Stores made with the same name in one process share their data, as two connections to one
   * IndexedDB database would, so a test can "restart" a client with a new store object. Unnamed
   * stores are private to the object.
   */
  name?: string;
}

interface MemoryData {
  records: Map<string, LocalRecord>;
  outbox: Map<number, OutboxEntry>;
  conflicts: Map<string, LocalConflict>;
  meta: Map<string, unknown>;
}

const namedStores = new Map<string, MemoryData>();

function emptyData(): MemoryData {
  return { records: new Map(), outbox: new Map(), conflicts: new Map(), meta: new Map() };
}

// The same separator the server uses: a NUL cannot appear in a collection name.
function recordKey(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}

/** IndexedDB refuses these keys; refusing them here too keeps the two stores interchangeable. */
function checkKeys(batch: WriteBatch): void {
  const isString = (value: unknown): value is string => typeof value === 'string';
  const isSeq = (value: unknown): value is number => typeof value === 'number' && !Number.isNaN(value);
  for (const r of [...(batch.putRecords ?? []), ...(batch.deleteRecords ?? [])]) {
    if (!isString(r.collection) || !isString(r.id))
      throw new TypeError('a record needs a string collection and id');
  }
  for (const op of batch.putOps ?? [])
    if (!isSeq(op.seq)) throw new TypeError('an outbox entry needs a numeric seq');
  for (const seq of batch.deleteOps ?? [])
    if (!isSeq(seq)) throw new TypeError('an outbox seq must be a number');
  for (const c of batch.putConflicts ?? [])
    if (!isString(c.id)) throw new TypeError('a conflict needs a string id');
  for (const id of batch.deleteConflicts ?? [])
    if (!isString(id)) throw new TypeError('a conflict id must be a string');
}

function apply(data: MemoryData, batch: WriteBatch): void {
  for (const { collection, id } of batch.deleteRecords ?? []) data.records.delete(recordKey(collection, id));
  for (const seq of batch.deleteOps ?? []) data.outbox.delete(seq);
  for (const id of batch.deleteConflicts ?? []) data.conflicts.delete(id);
  for (const record of batch.putRecords ?? [])
    data.records.set(recordKey(record.collection, record.id), record);
  for (const op of batch.putOps ?? []) data.outbox.set(op.seq, op);
  for (const conflict of batch.putConflicts ?? []) data.conflicts.set(conflict.id, conflict);
  for (const [key, value] of Object.entries(batch.meta ?? {})) {
    if (value === undefined) data.meta.delete(key);
    else data.meta.set(key, value);
  }
}

const byKey =
  <T>(key: (item: T) => string) =>
  (a: T, b: T) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };

/**
 * A store in memory, for tests and simulations. It behaves like the IndexedDB store where a caller
 * could tell: batches are all or nothing, values are copied in and out (structured clone, as
 * IndexedDB does), keys IndexedDB would refuse are refused, and loads come back in key order.
 */
export function memoryStore(options: MemoryStoreOptions = {}): LocalStore {
  const { name } = options;
  let privateData: MemoryData | undefined;
  // Looked up on every call rather than once, so clear() through one named object is seen by all.
  const data = (): MemoryData => {
    if (name === undefined) return (privateData ??= emptyData());
    let shared = namedStores.get(name);
    if (!shared) namedStores.set(name, (shared = emptyData()));
    return shared;
  };
  const label = name ?? 'memory';
  /** As the IndexedDB store: set by close(), cleared by the next load(). */
  let closed = false;

  return {
    kind: 'memory',

    async load(): Promise<StoreSnapshot> {
      closed = false;
      const { records, outbox, conflicts, meta } = data();
      return structuredClone({
        records: [...records.values()].sort(byKey((r) => recordKey(r.collection, r.id))),
        outbox: [...outbox.values()].sort((a, b) => a.seq - b.seq),
        conflicts: [...conflicts.values()].sort(byKey((c) => c.id)),
        meta: Object.fromEntries(meta),
      });
    },

    async commit(batch: WriteBatch): Promise<void> {
      if (closed) throw new StoreClosedError(label);
      let copy: WriteBatch;
      try {
        // Copying the whole batch before touching the stored state is the validation step: anything
        // structuredClone refuses (a function, a symbol...) fails here, so nothing is half-applied.
        copy = structuredClone(batch);
        checkKeys(copy);
      } catch (cause) {
        throw new StoreWriteError(label, cause);
      }
      apply(data(), copy);
    },

    async clear(): Promise<void> {
      if (closed) throw new StoreClosedError(label);
      const current = data();
      for (const table of [current.records, current.outbox, current.conflicts, current.meta]) table.clear();
    },

    // Nothing to release: the data stays in memory so a later load() (a "restarted" client) sees it.
    async close(): Promise<void> {
      closed = true;
    },
  };
}
