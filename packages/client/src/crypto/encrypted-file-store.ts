import type { FileStoreSnapshot, FileWrite, LocalFileStore, StoredFile } from '../files/local-file-store';
import { ownBytes } from '../files/local-file-store';
import { StoreClosedError, StoreWriteError } from '../stores/store-errors';
import { CRYPTO_META_KEY, createHeader, openHeader, readHeader } from './crypto-header';
import { EncryptedDataError } from './crypto-errors';
import { isSealed, sealValue, unsealValue } from './sealed-value';
import type { SealedValue } from './sealed-value';
import { DEFAULT_PBKDF2_ITERATIONS, sealBytes, unsealBytes } from './web-crypto';

export interface EncryptedFileStoreOptions {
  /** The passphrase the record store (`encryptedStore`) is opened with. */
  passphrase: string;
  /** PBKDF2 iterations for a store encrypted for the first time (default 310,000); tests lower it. */
  iterations?: number;
}

/**
 * How a description sits in the inner store: only the id in clear (the store's key), the rest
 * sealed. The file's name may name the patient, its record id says whose file it is, and the
 * hashes would confirm a guess of its contents.
 */
interface SealedFile {
  id: string;
  sealed: SealedValue;
}

const filePlace = (id: string) => ({ path: `file ${id} description`, context: `file\u0000${id}` });
// A chunk is bound to its file and index: swapped with another, or moved to another file, it does not open.
const chunkContext = (id: string, index: number) => `file-chunk\u0000${id}\u0000${index}`;

function isSealedFile(value: unknown): value is SealedFile {
  return typeof value === 'object' && value !== null && isSealed((value as { sealed?: unknown }).sealed);
}

async function sealFile(key: CryptoKey, file: StoredFile): Promise<StoredFile> {
  const { id, ...rest } = file;
  const sealed: SealedFile = { id, sealed: await sealValue(key, rest, filePlace(id)) };
  // The inner store keeps values opaque (structured clone); only this module reads them back.
  return sealed as unknown as StoredFile;
}

async function openFile(key: CryptoKey, stored: StoredFile): Promise<StoredFile> {
  if (!isSealedFile(stored))
    throw new EncryptedDataError(`file ${stored.id} is not encrypted, yet the store is`);
  const place = filePlace(stored.id);
  const rest = await unsealValue(key, stored.sealed, place);
  if (typeof rest !== 'object' || rest === null) {
    throw new EncryptedDataError(`${place.path} decrypted to something that is not an object`);
  }
  return { ...(rest as Omit<StoredFile, 'id'>), id: stored.id };
}

async function sealWrite(key: CryptoKey, write: FileWrite): Promise<FileWrite> {
  if (write.meta && CRYPTO_META_KEY in write.meta) {
    throw new Error(`the meta key '${CRYPTO_META_KEY}' is reserved for the encryption header`);
  }
  const sealed: FileWrite = { ...write };
  if (write.putFiles) sealed.putFiles = await Promise.all(write.putFiles.map((f) => sealFile(key, f)));
  if (write.putChunks) {
    sealed.putChunks = await Promise.all(
      write.putChunks.map(async ({ id, chunks }) => ({
        id,
        chunks: await Promise.all(chunks.map((c, i) => sealBytes(key, ownBytes(c), chunkContext(id, i)))),
      })),
    );
  }
  return sealed;
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
 * Wraps a file store so that files are encrypted at rest as the records are (`encryptedStore`):
 * each chunk with AES-GCM 256, bound to its file and index, and each description whole but its
 * id, under a key derived from the same passphrase (PBKDF2-SHA-256). The store keeps a header of
 * its own (its own salt) in its meta, so it opens with the passphrase alone, whichever store
 * opened first. Chunks stay bytes (IV, ciphertext and tag: 28 bytes more each), not base64.
 *
 * Files stored in the clear before (a device turning encryption on) are sealed file by file the
 * first time the store is loaded, each in one write; one cut short is finished at the next load.
 * A wrong passphrase throws WrongPassphraseError from load() or commit() and writes nothing.
 */
export function encryptedFileStore(
  inner: LocalFileStore,
  options: EncryptedFileStoreOptions,
): LocalFileStore {
  const { passphrase } = options;
  const iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  if (passphrase.length === 0) throw new TypeError('encryptedFileStore needs a non-empty passphrase');
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new TypeError('encryptedFileStore iterations must be a positive integer');
  }
  const kind = `encrypted(${inner.kind})`;
  const run = serialQueue();
  let unlocked: { key: CryptoKey; salt: string } | null = null;
  let closed = false;

  /** The key, making the header on first use, and the snapshot's files sealed where still in clear. */
  async function unlock(snapshot: FileStoreSnapshot): Promise<CryptoKey> {
    const header = readHeader(snapshot.meta);
    let key: CryptoKey;
    if (header) {
      if (unlocked?.salt !== header.salt) {
        unlocked = { key: await openHeader(passphrase, header), salt: header.salt };
      }
      key = unlocked.key;
    } else {
      if (snapshot.files.some(isSealedFile)) {
        // A new key now would bury the existing ciphertext for good.
        throw new EncryptedDataError(
          `the file store holds encrypted files but its header ('${CRYPTO_META_KEY}') is missing`,
        );
      }
      const made = await createHeader(passphrase, iterations);
      await inner.commit({ meta: { [CRYPTO_META_KEY]: made.header } });
      unlocked = { key: made.key, salt: made.header.salt };
      key = made.key;
    }
    for (const plain of snapshot.files.filter((f) => !isSealedFile(f))) {
      const chunks: Array<Uint8Array<ArrayBuffer>> = [];
      for (let i = 0; plain.held && i < plain.chunkCount; i++) {
        const chunk = await inner.readChunk(plain.id, i);
        if (chunk === undefined) break;
        chunks.push(chunk);
      }
      const sealed = await sealWrite(key, {
        putFiles: [{ ...plain, held: plain.held && chunks.length === plain.chunkCount }],
        putChunks: [{ id: plain.id, chunks }],
      });
      await inner.commit(sealed);
    }
    return key;
  }

  async function keyForWrite(): Promise<CryptoKey> {
    return unlocked?.key ?? unlock(await inner.load());
  }

  return {
    kind,

    load: () =>
      run(async () => {
        closed = false;
        const snapshot = await inner.load();
        const key = await unlock(snapshot);
        const migrated = snapshot.files.some((f) => !isSealedFile(f)) ? await inner.load() : snapshot;
        const { [CRYPTO_META_KEY]: _header, ...meta } = migrated.meta;
        return { files: await Promise.all(migrated.files.map((f) => openFile(key, f))), meta };
      }),

    commit: (write) =>
      run(async () => {
        if (closed) throw new StoreClosedError(kind);
        // Unlocking first means a wrong passphrase fails here, before anything is written.
        const key = await keyForWrite();
        let sealed: FileWrite;
        try {
          sealed = await sealWrite(key, write);
        } catch (cause) {
          throw new StoreWriteError(kind, cause);
        }
        await inner.commit(sealed);
      }),

    async readChunk(id, index) {
      if (closed) throw new StoreClosedError(kind);
      const sealed = await inner.readChunk(id, index);
      if (sealed === undefined) return undefined;
      const key = await run(keyForWrite);
      try {
        return await unsealBytes(key, sealed, chunkContext(id, index));
      } catch (cause) {
        throw new EncryptedDataError(
          `chunk ${index} of file ${id} cannot be decrypted: it is damaged or was moved`,
          {
            cause,
          },
        );
      }
    },

    clear: () =>
      run(async () => {
        if (closed) throw new StoreClosedError(kind);
        unlocked = null;
        await inner.clear();
      }),

    close: () =>
      run(async () => {
        closed = true;
        unlocked = null;
        await inner.close();
      }),
  };
}
