/**
 * Where a device keeps the files attached to records: each file's description, and its bytes by
 * chunk. Apart from the record store (`LocalStore`), which is read whole into memory when the
 * client opens: descriptions are small and are read that way too, bytes never are. A chunk is
 * read when it is uploaded or shown.
 */

/** What happens to a file attached on this device. */
export type FileState =
  /** Goes with the next sync (or waits for its record's create to go, or its id from the server: `waitingFor`). */
  | 'waiting'
  /** A sync is sending it now. Never stored: a file caught uploading is waiting when read again. */
  | 'uploading'
  /** The server holds it whole: uploaded from here, or attached on another device and listed or downloaded. */
  | 'synced'
  /**
   * Attached on another device that is still uploading it (`origin: 'server'` only): the server
   * held `chunksUploaded` of `chunkCount` when this device last asked (`files.refresh`). Its bytes
   * cannot be had yet; a later refresh, or a `get` once it is whole, makes it 'synced'.
   */
  | 'incomplete'
  /** Stopped: refused by the server, or gave up on the network after `retry.maxAttempts`. */
  | 'failed';

export interface FileError {
  code: string;
  message: string;
  details?: unknown;
}

/**
 * A delete from the clinic's server asked on this device (`files.delete`), until the server has
 * answered it: the file stays listed meanwhile, and after a refusal, so the person sees where it is.
 */
export interface FileDeletion {
  /** 'waiting': the next sync sends it; 'refused': the server said no (`error`), and it is not sent again by itself. */
  readonly state: 'waiting' | 'refused';
  /** When the person asked (ISO time). */
  readonly requestedAt: string;
  /** Why the server refused it (FORBIDDEN: the role may not delete this file). */
  readonly error?: FileError;
}

/** A file as the application sees it (`client.files.list()`, `status(id)`). */
export interface LocalFile {
  /** Made on the device that attached it (a UUIDv7). */
  readonly id: string;
  readonly collection: string;
  /** The record it belongs to; a temp id until the server gives the record its real one. */
  readonly recordId: string;
  readonly name: string;
  readonly contentType: string;
  readonly size: number;
  /** The whole file's SHA-256, lowercase hex. */
  readonly sha256: string;
  readonly chunkSize: number;
  readonly chunkCount: number;
  readonly createdAt: string;
  /** 'device': attached here; 'server': attached on another device, listed by `files.refresh` or downloaded. */
  readonly origin: 'device' | 'server';
  readonly state: FileState;
  /** Chunks the server is known to hold, of `chunkCount`: a file's progress. */
  readonly chunksUploaded: number;
  /** True while the device holds the bytes: `get` answers without the network. */
  readonly held: boolean;
  /** Why a waiting file does not go yet: its record still has a temp id, or its create has not been sent. */
  readonly waitingFor?: string;
  /** Failed sends in a row that brought no chunk to the server. */
  readonly attempts: number;
  /** When the device tries again by itself (ms since the epoch); any sync sends it sooner. */
  readonly nextAttemptAt?: number;
  /** The last failure; for a failed file, why it stopped. */
  readonly error?: FileError;
  /** A failed file the server refused (403, 409, 413, a checksum twice): `retry()` alone leaves it. */
  readonly refused?: boolean;
  readonly uploadedAt?: string;
  /**
   * Set once a person asked to delete the file from the server (`files.delete`): it is not uploaded
   * any more, and goes from the device once the server has deleted it. A refused delete stays here,
   * 'refused' with the server's error, until `retry([id])` asks again or `keep(id)` takes it back.
   */
  readonly deletion?: FileDeletion;
}

/** What a store keeps of a file besides its bytes. */
export interface StoredFile extends Omit<LocalFile, 'waitingFor' | 'state'> {
  /** Never 'uploading': that is only shown. */
  state: Exclude<FileState, 'uploading'>;
  /** Each chunk's SHA-256 in order: sent with it, and checked when it is read back. */
  chunkSha256: string[];
}

export interface FileStoreSnapshot {
  /** Every file's description, in id order; never bytes. */
  files: StoredFile[];
  meta: Record<string, unknown>;
}

/**
 * One atomic write. Deletes and drops before puts. `putChunks` replaces every chunk a file held
 * with the ones given (index 0 first), so a file's bytes are whole or absent, never mixed.
 */
export interface FileWrite {
  putFiles?: StoredFile[];
  putChunks?: Array<{ id: string; chunks: ReadonlyArray<Uint8Array<ArrayBuffer>> }>;
  /** Files whose bytes go; their descriptions stay. */
  dropChunks?: string[];
  /** Files that go with their bytes. */
  deleteFiles?: string[];
  /** Undefined removes a key. */
  meta?: Record<string, unknown>;
}

export interface LocalFileStore {
  /** 'memory', 'indexeddb', 'encrypted(indexeddb)'... */
  readonly kind: string;
  /** Starts a session (after close too): every description and the meta, never bytes. */
  load(): Promise<FileStoreSnapshot>;
  /** Stores the write whole or not at all (StoreWriteError); after close(), StoreClosedError. */
  commit(write: FileWrite): Promise<void>;
  /** One chunk's bytes, or undefined when the store does not hold them. */
  readChunk(id: string, index: number): Promise<Uint8Array<ArrayBuffer> | undefined>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

export function isEmptyFileWrite(write: FileWrite): boolean {
  return (
    !write.putFiles?.length &&
    !write.putChunks?.length &&
    !write.dropChunks?.length &&
    !write.deleteFiles?.length &&
    Object.keys(write.meta ?? {}).length === 0
  );
}

/**
 * The bytes of a view alone. Stores clone what they keep, and a clone of a view carries its whole
 * buffer: a chunk cut out of a photo without this would store the whole photo again.
 */
export function ownBytes(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}
