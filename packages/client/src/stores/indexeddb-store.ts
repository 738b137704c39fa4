import { Dexie } from 'dexie';
import type { DexieOptions, Table } from 'dexie';
import { StoreClosedError, StoreOpenError, StoreWriteError } from './store-errors';
import { isEmptyBatch } from './local-store';
import type {
  LocalConflict,
  LocalRecord,
  LocalStore,
  OutboxEntry,
  StoreSnapshot,
  WriteBatch,
} from './local-store';

export interface IndexedDbStoreOptions {
  /** The IndexedDB database name. One device keeps one database per signed-in clinic or user. */
  name: string;
  /** Defaults to the platform's `indexedDB`; tests pass fake-indexeddb's. */
  indexedDB?: IDBFactory;
  IDBKeyRange?: typeof IDBKeyRange;
  /**
   * One tab at a time opens a database: two tabs writing one outbox would number their changes
   * alike, and one tab's change would overwrite the other's. The store holds a Web Lock named
   * after the database while open. Defaults to the platform's `navigator.locks` when the store
   * uses the platform's `indexedDB`; null: no lock.
   */
  locks?: LockManager | null;
  /** Called when another tab has the database open: this store waits until that tab closes it. */
  onWaitForOtherTab?: () => void;
}

interface MetaRow {
  key: string;
  value: unknown;
}

type OutpostDb = Dexie & {
  records: Table<LocalRecord, [string, string]>;
  outbox: Table<OutboxEntry, number>;
  conflicts: Table<LocalConflict, string>;
  meta: Table<MetaRow, string>;
};

/** Primary keys only: the client reads the whole snapshot once and serves queries from memory. */
const schemaV1 = {
  records: '[collection+id]',
  outbox: 'seq',
  conflicts: 'id',
  meta: 'key',
};

/**
 * The Web Lock an `indexedDbStore` holds while its database is open (decision 0019). Another
 * context of the same origin that opens the database with `locks: null`, a service worker syncing
 * while no tab is open, takes it itself first, so that it and a tab never hold the database at once.
 */
export function indexedDbStoreLock(name: string): string {
  return `outpost-store:${name}`;
}

function openDexie(options: IndexedDbStoreOptions): OutpostDb {
  // Dexie merges its options over its defaults, so an explicit `undefined` would replace the
  // platform's indexedDB: pass only what was given.
  // Strict: a commit resolves only once the browser has flushed it to disk. The browsers' default
  // (relaxed, Chromium's since 121) resolves once the OS has it, so a tablet that loses power
  // seconds after an edit was shown saved loses it, and can lose the mark that an op was sent.
  const dexieOptions: DexieOptions = { autoOpen: false, chromeTransactionDurability: 'strict' };
  if (options.indexedDB) dexieOptions.indexedDB = options.indexedDB;
  if (options.IDBKeyRange) dexieOptions.IDBKeyRange = options.IDBKeyRange;
  const db = new Dexie(options.name, dexieOptions);
  db.version(1).stores(schemaV1);
  return db as OutpostDb;
}

/**
 * The browser store: one IndexedDB database through Dexie 4, with a table per kind of value.
 * Every commit is one read-write transaction over all four tables, and nothing but Dexie
 * operations is awaited inside it (IndexedDB commits a transaction as soon as it waits on
 * anything else), so a batch is stored whole or not at all.
 */
export function indexedDbStore(options: IndexedDbStoreOptions): LocalStore {
  const { name } = options;
  const db = openDexie(options);
  const tables = [db.records, db.outbox, db.conflicts, db.meta];
  let opening: Promise<void> | null = null;
  // The platform's locks guard the platform's databases; a store on another factory (a test's
  // fake-indexeddb) has no tab to share it with unless it is given locks of its own.
  const locks =
    options.locks !== undefined ? options.locks : options.indexedDB ? null : globalThis.navigator?.locks;
  /** Lets the lock go; set while this store holds it. */
  let release: (() => void) | null = null;
  let acquiring: Promise<void> | null = null;
  /** Ends a wait for the lock that close() cut short. */
  let waiting: AbortController | null = null;
  /** Set by close(), cleared by the next load(): a session's writes end with its close. */
  let closed = false;

  /** Asks for the lock: true once held (until release), false if another tab has it and `ifAvailable`. */
  function take(manager: LockManager, ifAvailable: boolean, signal?: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((taken, failed) => {
      manager
        .request(indexedDbStoreLock(name), ifAvailable ? { ifAvailable } : { signal }, async (lock) => {
          if (lock === null) return taken(false);
          await new Promise<void>((letGo) => {
            release = letGo;
            taken(true);
          });
        })
        .catch((cause: unknown) => failed(new StoreOpenError(name, cause)));
    });
  }

  /** Takes the database's lock, waiting for another tab to close it if one has it open. */
  async function ensureLock(): Promise<void> {
    if (!locks || release !== null) return;
    acquiring ??= (async () => {
      if (await take(locks, true)) return;
      options.onWaitForOtherTab?.();
      waiting = new AbortController();
      try {
        await take(locks, false, waiting.signal);
      } finally {
        waiting = null;
      }
    })().finally(() => {
      acquiring = null;
    });
    await acquiring;
  }

  // Opens on first use, on the load() that starts a session after close(), and again after the
  // browser closed the connection because another tab deleted or upgraded the database.
  async function ensureOpen(): Promise<void> {
    await ensureLock();
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

  return {
    kind: 'indexeddb',

    async load(): Promise<StoreSnapshot> {
      // A load starts a session, as a client opening the store does.
      closed = false;
      await ensureOpen();
      // One read transaction, so the snapshot is consistent even if another tab writes meanwhile.
      return db.transaction('r', tables, async () => {
        const records = await db.records.toArray();
        const outbox = await db.outbox.toArray(); // in primary-key order: by seq
        const conflicts = await db.conflicts.toArray();
        const metaRows = await db.meta.toArray();
        const meta: Record<string, unknown> = {};
        for (const row of metaRows) meta[row.key] = row.value;
        return { records, outbox, conflicts, meta };
      });
    },

    async commit(batch: WriteBatch): Promise<void> {
      // Not opened again for a write: after close() it can only come from the session that
      // ended, e.g. a sync still finishing for the person who signed out.
      if (closed) throw new StoreClosedError(name);
      await ensureOpen();
      if (isEmptyBatch(batch)) return;
      const metaEntries = Object.entries(batch.meta ?? {});
      try {
        await db.transaction('rw', tables, async () => {
          // Deletes before puts, as every store does (see WriteBatch).
          if (batch.deleteRecords?.length) {
            await db.records.bulkDelete(
              batch.deleteRecords.map((k): [string, string] => [k.collection, k.id]),
            );
          }
          if (batch.deleteOps?.length) await db.outbox.bulkDelete(batch.deleteOps);
          if (batch.deleteConflicts?.length) await db.conflicts.bulkDelete(batch.deleteConflicts);
          if (batch.putRecords?.length) await db.records.bulkPut(batch.putRecords);
          if (batch.putOps?.length) await db.outbox.bulkPut(batch.putOps);
          if (batch.putConflicts?.length) await db.conflicts.bulkPut(batch.putConflicts);
          const removed = metaEntries.filter(([, value]) => value === undefined).map(([key]) => key);
          const set = metaEntries
            .filter(([, value]) => value !== undefined)
            .map(([key, value]) => ({ key, value }));
          if (removed.length) await db.meta.bulkDelete(removed);
          if (set.length) await db.meta.bulkPut(set);
        });
      } catch (cause) {
        // An error escaping the transaction callback aborts the whole transaction.
        throw new StoreWriteError(name, cause);
      }
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
      waiting?.abort();
      release?.();
      release = null;
    },
  };
}
