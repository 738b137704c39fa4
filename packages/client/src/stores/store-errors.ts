/** Codes of the errors a local store throws; stable, so callers can match them without instanceof. */
export type StoreErrorCode = 'STORE_OPEN_FAILED' | 'STORE_WRITE_FAILED' | 'STORE_CLOSED';

function causeText(cause: unknown): string {
  if (cause instanceof Error)
    return cause.name && cause.name !== 'Error' ? `${cause.name}: ${cause.message}` : cause.message;
  return String(cause);
}

/** The store's database could not be opened (no IndexedDB, a newer schema version, storage blocked...). */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
  readonly code = 'STORE_OPEN_FAILED' satisfies StoreErrorCode;
  /** The store's name, e.g. the IndexedDB database name. */
  readonly store: string;

  constructor(store: string, cause: unknown) {
    super(`the local store '${store}' could not be opened: ${causeText(cause)}`, { cause });
    this.store = store;
  }
}

/**
 * A batch was refused and nothing of it was stored: a value that cannot be stored (a function, a
 * symbol...), a missing key, a full disk. The original error is kept as `cause`.
 */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
  readonly code = 'STORE_WRITE_FAILED' satisfies StoreErrorCode;
  readonly store: string;

  constructor(store: string, cause: unknown) {
    super(
      `the local store '${store}' did not save the batch (nothing of it was stored): ${causeText(cause)}`,
      {
        cause,
      },
    );
    this.store = store;
  }
}

/**
 * A write reached a store after close() and before the next load(): it comes from a session that
 * has ended (a client closed at sign-out), and storing it could show one person's data to the
 * next. Nothing of it was stored.
 */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
  readonly code = 'STORE_CLOSED' satisfies StoreErrorCode;
  readonly store: string;

  constructor(store: string) {
    super(`the local store '${store}' is closed: load it again to start a new session`);
    this.store = store;
  }
}
