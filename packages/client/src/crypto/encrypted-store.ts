import type { ConflictSummary, RecordData } from '@outpost/core';
import type {
  FieldTimes,
  LocalConflict,
  LocalRecord,
  LocalStore,
  OutboxEntry,
  StoreSnapshot,
  WriteBatch,
} from '../stores/local-store';
import { StoreClosedError, StoreWriteError } from '../stores/store-errors';
import { CRYPTO_META_KEY, CURRENT_BINDING, createHeader, openHeader, readHeader } from './crypto-header';
import { EncryptedDataError } from './crypto-errors';
import { isSealed, sealValue, unsealValue } from './sealed-value';
import { DEFAULT_PBKDF2_ITERATIONS } from './web-crypto';
import { keptDeletionsKey } from '../outbox/kept-deletions';

export { WrongPassphraseError, EncryptedDataError } from './crypto-errors';

export interface EncryptedStoreOptions {
  passphrase: string;
  /**
   * PBKDF2 iterations when a store is encrypted for the first time (default 310,000). A store
   * already encrypted keeps the count in its header, so changing this later never locks it out.
   * Tests lower it.
   */
  iterations?: number;
}

// Where each value is kept; authenticated with it, so ciphertext moved elsewhere fails to open.
const recordPlace = (r: { collection: string; id: string }) => ({
  path: `record ${r.collection}/${r.id} data`,
  context: `record\u0000${r.collection}\u0000${r.id}`,
});
// An op's data is bound to the record and kind of change it is, not only to its seq: with the seq
// alone, ciphertext left in place under an edited id (or collection, or type) would open, and the
// change would be sent for another patient. A conflict's summary likewise to its record. `legacy`:
// how stores encrypted before (header without `binding`) sealed them, read once to seal them again.
const opPlace = (op: Pick<OutboxEntry, 'seq' | 'collection' | 'id' | 'type'>, legacy = false) => ({
  path: `outbox entry ${op.seq} data`,
  context: legacy
    ? `op\u0000${op.seq}`
    : `op\u0000${op.seq}\u0000${op.collection}\u0000${op.id}\u0000${op.type}`,
});
// The server's answer to a refused op: its message or details may repeat what was typed (a hook's
// "date 2031-02-30 is not a day"), so it is sealed like the op's data.
const opErrorPlace = (op: Pick<OutboxEntry, 'seq' | 'collection' | 'id' | 'type'>) => ({
  path: `outbox entry ${op.seq} last error`,
  context: `op-error\u0000${op.seq}\u0000${op.collection}\u0000${op.id}\u0000${op.type}`,
});
const conflictPlace = (c: Pick<LocalConflict, 'id' | 'collection' | 'recordId'>, legacy = false) => ({
  path: `conflict ${c.id} summary`,
  context: legacy ? `conflict\u0000${c.id}` : `conflict\u0000${c.id}\u0000${c.collection}\u0000${c.recordId}`,
});

// The server's copy kept beneath a record's pending changes is patient data too.
const serverCopyPlace = (r: { collection: string; id: string }) => ({
  path: `record ${r.collection}/${r.id} server copy`,
  context: `record-server\u0000${r.collection}\u0000${r.id}`,
});

// When each field got its value: sealed, not in clear like the record's own times. Keyed by field,
// it would tell which fields a patient's record holds and when each changed (a diagnosis set on a
// given day), which the sealed data hides; nothing indexes by it.
const fieldTimesPlace = (r: { collection: string; id: string }) => ({
  path: `record ${r.collection}/${r.id} field times`,
  context: `record-times\u0000${r.collection}\u0000${r.id}`,
});

// The deletions kept for a restored server (outbox/kept-deletions.ts): sealed whole, where the rest
// of meta stays in clear. In clear they would name, for weeks after the records went, which
// patients' records were deleted and when; sealed, the store says only that some are kept (their
// number, roughly, by the length), as a done delete op in the outbox says of its record for a day.
const keptDeletionsPlace = {
  path: `meta ${keptDeletionsKey}`,
  context: `meta\u0000${keptDeletionsKey}`,
};

async function sealMeta(key: CryptoKey, meta: Record<string, unknown>): Promise<Record<string, unknown>> {
  const kept = meta[keptDeletionsKey];
  if (kept === undefined) return meta;
  return { ...meta, [keptDeletionsKey]: await sealValue(key, kept, keptDeletionsPlace) };
}

async function openMeta(key: CryptoKey, meta: Record<string, unknown>): Promise<Record<string, unknown>> {
  const kept = meta[keptDeletionsKey];
  if (!isSealed(kept)) return meta;
  return { ...meta, [keptDeletionsKey]: await unsealValue(key, kept, keptDeletionsPlace) };
}

async function sealRecord(key: CryptoKey, record: LocalRecord): Promise<LocalRecord> {
  const sealed: LocalRecord = { ...record, data: await sealValue(key, record.data, recordPlace(record)) };
  if (record.server?.data != null) {
    const data = await sealValue(key, record.server.data, serverCopyPlace(record));
    sealed.server = { ...record.server, data };
  }
  if (record.fieldTimes !== undefined) {
    // The inner store keeps values opaque, as for a conflict's summary.
    const times = await sealValue(key, record.fieldTimes, fieldTimesPlace(record));
    sealed.fieldTimes = times as unknown as FieldTimes;
  }
  return sealed;
}

async function sealOp(key: CryptoKey, op: OutboxEntry): Promise<OutboxEntry> {
  const sealed = { ...op };
  if (op.data !== undefined) sealed.data = await sealValue(key, op.data, opPlace(op));
  if (op.lastError !== undefined) {
    // Opaque to the inner store, as a sealed conflict summary is (below).
    sealed.lastError = (await sealValue(
      key,
      op.lastError,
      opErrorPlace(op),
    )) as unknown as OutboxEntry['lastError'];
  }
  return sealed;
}

async function sealConflict(key: CryptoKey, conflict: LocalConflict): Promise<LocalConflict> {
  const sealed = await sealValue(key, conflict.summary, conflictPlace(conflict));
  // The inner store keeps values opaque (structured clone), so the sealed form may stand where
  // the type says ConflictSummary; only this module ever reads it back.
  return { ...conflict, summary: sealed as unknown as ConflictSummary };
}

/**
 * Puts sealed; deletes and meta pass through (meta holds cursors and ids, not patient data), but
 * for the kept deletions, sealed (keptDeletionsPlace).
 */
async function sealBatch(key: CryptoKey, batch: WriteBatch): Promise<WriteBatch> {
  const sealed: WriteBatch = { ...batch };
  if (batch.meta) sealed.meta = await sealMeta(key, batch.meta);
  if (batch.putRecords)
    sealed.putRecords = await Promise.all(batch.putRecords.map((r) => sealRecord(key, r)));
  if (batch.putOps) sealed.putOps = await Promise.all(batch.putOps.map((op) => sealOp(key, op)));
  if (batch.putConflicts) {
    sealed.putConflicts = await Promise.all(batch.putConflicts.map((c) => sealConflict(key, c)));
  }
  return sealed;
}

function asObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EncryptedDataError(`${path} decrypted to something that is not an object`);
  }
  return value as Record<string, unknown>;
}

async function openSnapshot(key: CryptoKey, snapshot: StoreSnapshot, legacy = false): Promise<StoreSnapshot> {
  const records = Promise.all(
    snapshot.records.map(async (r) => {
      const place = recordPlace(r);
      const data: RecordData = asObject(await unsealValue(key, r.data, place), place.path);
      const opened: LocalRecord = { ...r, data };
      if (r.fieldTimes !== undefined) {
        const timesPlace = fieldTimesPlace(r);
        const times = asObject(await unsealValue(key, r.fieldTimes, timesPlace), timesPlace.path);
        opened.fieldTimes = times as FieldTimes;
      }
      if (r.server?.data == null) return opened;
      const copyPlace = serverCopyPlace(r);
      const copy = asObject(await unsealValue(key, r.server.data, copyPlace), copyPlace.path);
      return { ...opened, server: { ...r.server, data: copy } };
    }),
  );
  const outbox = Promise.all(
    snapshot.outbox.map(async (op) => {
      const opened = { ...op };
      if (op.data !== undefined) {
        const place = opPlace(op, legacy);
        opened.data = asObject(await unsealValue(key, op.data, place), place.path);
      }
      // Stores sealed before errors were kept their errors in clear: sealed at the op's next write.
      if (isSealed(op.lastError)) {
        const place = opErrorPlace(op);
        opened.lastError = asObject(
          await unsealValue(key, op.lastError, place),
          place.path,
        ) as OutboxEntry['lastError'];
      }
      return opened;
    }),
  );
  const conflicts = Promise.all(
    snapshot.conflicts.map(async (c) => {
      const place = conflictPlace(c, legacy);
      const summary = asObject(await unsealValue(key, c.summary, place), place.path);
      // Authenticated: this is exactly the summary this module sealed.
      return { ...c, summary: summary as ConflictSummary };
    }),
  );
  // Awaited together: awaited one after another, an op that fails to open while the records are
  // still opening would be a rejection nobody handles yet (Node reports it, a browser fires
  // `unhandledrejection`), though the load rejects with it a moment later all the same.
  const meta = openMeta(key, withoutHeader(snapshot.meta));
  const [openedRecords, openedOutbox, openedConflicts, openedMeta] = await Promise.all([
    records,
    outbox,
    conflicts,
    meta,
  ]);
  return {
    records: openedRecords,
    outbox: openedOutbox,
    conflicts: openedConflicts,
    meta: openedMeta,
  };
}

/** An op with something to seal: its data, or the server's answer to it. */
function hasSealables(op: OutboxEntry): boolean {
  return op.data !== undefined || op.lastError !== undefined;
}

function withoutHeader(meta: Record<string, unknown>): Record<string, unknown> {
  const { [CRYPTO_META_KEY]: _header, ...rest } = meta;
  return rest;
}

function holdsSealedValues(snapshot: StoreSnapshot): boolean {
  return (
    snapshot.records.some((r) => isSealed(r.data) || isSealed(r.server?.data)) ||
    snapshot.outbox.some((op) => isSealed(op.data) || isSealed(op.lastError)) ||
    snapshot.conflicts.some((c) => isSealed(c.summary)) ||
    isSealed(snapshot.meta[keptDeletionsKey])
  );
}

/** Runs tasks one after another, in call order, whether or not the previous one failed. */
function serialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const result = tail.then(task);
    tail = result.catch(() => undefined);
    return result;
  };
}

/**
 * Wraps any store so that patient data is encrypted at rest: each record's data, each outbox op's
 * data (and the times of its fields) and each conflict's summary (both versions) is sealed with
 * AES-GCM 256 under a key derived
 * from the passphrase (PBKDF2-SHA-256). Keys, versions, timestamps and meta stay in clear so the
 * inner store can index them. Encryption happens before `inner.commit` and decryption after
 * `inner.load`, never inside the inner store's transaction.
 *
 * A wrong passphrase throws WrongPassphraseError from load() or commit() and writes nothing.
 */
export function encryptedStore(inner: LocalStore, options: EncryptedStoreOptions): LocalStore {
  const { passphrase } = options;
  const iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  if (passphrase.length === 0) throw new TypeError('encryptedStore needs a non-empty passphrase');
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new TypeError('encryptedStore iterations must be a positive integer');
  }
  const kind = `encrypted(${inner.kind})`;
  // Serialized so commits reach the inner store in call order even though sealing them takes
  // varying time, and so two first calls cannot each create a header with its own salt.
  const run = serialQueue();
  let unlocked: { key: CryptoKey; salt: string } | null = null;
  // As every store: set by close(), cleared by the next load(). Checked here too: a commit after
  // close would load the inner store to unlock it, and that load would open it again.
  let closed = false;

  /**
   * The key for the store as loaded; on first use creates the header and encrypts what is there.
   * `plain`: the snapshot decrypted, when unlocking had to read it all (just encrypted, or sealed
   * again with the current binding); the caller decrypts the snapshot itself otherwise.
   */
  async function unlock(snapshot: StoreSnapshot): Promise<{ key: CryptoKey; plain?: StoreSnapshot }> {
    const header = readHeader(snapshot.meta);
    if (header) {
      if (unlocked?.salt !== header.salt) {
        unlocked = { key: await openHeader(passphrase, header), salt: header.salt };
      }
      const { key } = unlocked;
      if (header.binding === CURRENT_BINDING) return { key };
      // Encrypted before ops and conflicts were bound to their record: seal them again, with the
      // header that says so, in one commit, before anything else is written under the new binding.
      const plain = await openSnapshot(key, snapshot, true);
      const resealed = await sealBatch(key, {
        putOps: plain.outbox.filter(hasSealables),
        putConflicts: plain.conflicts,
      });
      await inner.commit({
        ...resealed,
        meta: { [CRYPTO_META_KEY]: { ...header, binding: CURRENT_BINDING } },
      });
      return { key, plain };
    }
    if (holdsSealedValues(snapshot)) {
      // Making a new key now would bury the existing ciphertext for good.
      throw new EncryptedDataError(
        `the store holds encrypted data but its header ('${CRYPTO_META_KEY}') is missing`,
      );
    }
    const { header: created, key } = await createHeader(passphrase, iterations);
    // A device turning encryption on: its plaintext is sealed in the same commit as the header.
    const migration = await sealBatch(key, {
      putRecords: snapshot.records,
      putOps: snapshot.outbox.filter(hasSealables),
      putConflicts: snapshot.conflicts,
      ...(snapshot.meta[keptDeletionsKey] !== undefined
        ? { meta: { [keptDeletionsKey]: snapshot.meta[keptDeletionsKey] } }
        : {}),
    });
    await inner.commit({ ...migration, meta: { ...migration.meta, [CRYPTO_META_KEY]: created } });
    unlocked = { key, salt: created.salt };
    // The snapshot read was plaintext (or empty) and is the answer as it is.
    return { key, plain: snapshot };
  }

  return {
    kind,

    load: () =>
      run(async () => {
        closed = false;
        const snapshot = await inner.load();
        const { key, plain } = await unlock(snapshot);
        return plain ?? openSnapshot(key, snapshot);
      }),

    commit: (batch) =>
      run(async () => {
        if (closed) throw new StoreClosedError(kind);
        // Unlocking first means a wrong passphrase fails here, before anything is written.
        const key = unlocked?.key ?? (await unlock(await inner.load())).key;
        let sealed: WriteBatch;
        try {
          if (batch.meta && CRYPTO_META_KEY in batch.meta) {
            throw new Error(`the meta key '${CRYPTO_META_KEY}' is reserved for the encryption header`);
          }
          sealed = await sealBatch(key, batch);
        } catch (cause) {
          throw new StoreWriteError(kind, cause);
        }
        await inner.commit(sealed);
      }),

    clear: () =>
      run(async () => {
        if (closed) throw new StoreClosedError(kind);
        // The header goes too; the next use makes a new one, with a new salt.
        unlocked = null;
        await inner.clear();
      }),

    close: () =>
      run(async () => {
        // Forget the key: a closed store needs the passphrase again.
        closed = true;
        unlocked = null;
        await inner.close();
      }),
  };
}
