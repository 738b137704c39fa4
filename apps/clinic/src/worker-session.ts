/**
 * The service worker's copy of the sign-in. The worker cannot read localStorage, where the page
 * keeps the session, yet it syncs when Background Sync wakes it with no tab of the app open
 * (decision 0026). The page writes what the worker needs on every sign-in (signing in again
 * included) and removes it on sign-out; the worker forgets it once the server refuses it.
 * The same table keeps, per person, when the worker last synced their records, for the header's
 * "Last synced" (localStorage, where the page keeps its own syncs' time, is not the worker's).
 * Both sides import this module: only IndexedDB, nothing of the page's.
 */
export interface WorkerSession {
  token: string;
  expiresAt: string;
  tenant: string;
  userId: string;
  deviceId: string;
}

// A database of its own: the records' databases are named per person and opened by the client alone.
const databaseName = 'outpost-clinic-worker-session';
const tableName = 'session';
const key = 'current';
/**
 * The worker's last good sync of a person's records, under a key of its own in the same table:
 * a second table would take a new version of the database, which an older page or worker still
 * running during an update could then not open (a sign-out there could not remove the copy).
 */
const syncedKey = (person: string) => `synced:${person}`;

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(databaseName, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(tableName);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error(`${databaseName} could not be opened`));
    request.onblocked = () => reject(new Error(`${databaseName} is blocked by an older version`));
  });
}

/** Runs `work` in one transaction and resolves once it has committed, with what its request read. */
async function inTransaction<T>(
  mode: IDBTransactionMode,
  work: (table: IDBObjectStore) => IDBRequest<T> | void,
): Promise<T | undefined> {
  const db = await openDatabase();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      // Strict: a sign-out resolves only once the removal is on disk, so a tablet losing power
      // right after cannot wake up with the worker still able to send as that person.
      const transaction = db.transaction(tableName, mode, { durability: 'strict' });
      const request = work(transaction.objectStore(tableName));
      transaction.oncomplete = () => resolve(request?.result);
      transaction.onerror = () =>
        reject(transaction.error ?? new Error('the sign-in copy could not be written'));
      transaction.onabort = () =>
        reject(transaction.error ?? new Error('the sign-in copy could not be written'));
    });
  } finally {
    db.close();
  }
}

/** Keeps `session` for the worker, replacing whoever signed in before on this browser. */
export async function keepSessionForWorker(session: WorkerSession): Promise<void> {
  const copy: WorkerSession = {
    token: session.token,
    expiresAt: session.expiresAt,
    tenant: session.tenant,
    userId: session.userId,
    deviceId: session.deviceId,
  };
  await inTransaction('readwrite', (table) => table.put(copy, key));
}

/** The sign-in the worker may send, or null: none kept, or expired by `now` (the server would refuse it). */
export async function readSessionForWorker(now: number = Date.now()): Promise<WorkerSession | null> {
  const copy = await inTransaction<WorkerSession | undefined>('readonly', (table) => table.get(key));
  if (copy === undefined) return null;
  const expiresAt = Date.parse(copy.expiresAt);
  return Number.isFinite(expiresAt) && expiresAt > now ? copy : null;
}

/**
 * Removes the copy: on sign-out, or (with `token`) once the server refused that token, and then
 * only if no newer sign-in replaced it meanwhile.
 */
export async function forgetSessionForWorker(token?: string): Promise<void> {
  await inTransaction('readwrite', (table) => {
    if (token === undefined) return void table.delete(key);
    const read = table.get(key);
    read.onsuccess = () => {
      if ((read.result as WorkerSession | undefined)?.token === token) table.delete(key);
    };
  });
}

/**
 * Records that the worker brought `person`'s records (`personKey` of device-client.ts) up to date
 * with the server at `finishedAt` (ISO). Kept through sign-outs, as the page's own time is.
 */
export async function keepWorkerSyncTime(person: string, finishedAt: string): Promise<void> {
  await inTransaction('readwrite', (table) => table.put(finishedAt, syncedKey(person)));
}

/** When the worker last synced `person`'s records with no tab open (ISO), or null: never on this browser. */
export async function readWorkerSyncTime(person: string): Promise<string | null> {
  const time = await inTransaction<unknown>('readonly', (table) => table.get(syncedKey(person)));
  return typeof time === 'string' ? time : null;
}
