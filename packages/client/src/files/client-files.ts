import {
  chunkCountOf,
  describeIssues,
  fileDeclarationSchema,
  isTempId,
  isValidRecordId,
  outpostError,
  uuidv7,
} from '@outpost/core';
import type { FileStatus, RandomBytes, Schema } from '@outpost/core';
import { ClientClosedError } from '../client-closed';
import { bytesOf, sha256Hex, splitChunks } from './file-bytes';
import type { FileDb } from './file-db';
import { downloadFile } from './file-download';
import { FileUnavailableError } from './file-errors';
import type { FileTransport } from './file-transport';
import { abandonedFiles, abandonedWrite, withdrawnHere } from './file-uploads';
import type { FileUploads, RecordIds } from './file-uploads';
import type { FileDeletion, LocalFile, StoredFile } from './local-file-store';
import { listedWrite, unreached } from './server-files';

export interface AttachOptions {
  collection: string;
  /** The record the file belongs to: its id, or its temp id in a collection whose ids the server gives. */
  recordId: string;
  /** Shown to people (it may name the patient: it never reaches the server's logs). */
  name: string;
  /** The media type; a Blob's own type, else application/octet-stream. */
  contentType?: string;
}

/** Files attached on this device, counted for a UI ("2 of 5 photos uploaded"). */
export interface FilesStats {
  attached: number;
  waiting: number;
  uploading: number;
  /** The server holds them whole. */
  uploaded: number;
  failed: number;
  /**
   * Of `failed`, those the server refused (or whose record it never got): no sync sends them
   * again. The others gave up on the network and are still to reach the server, as are the
   * waiting and uploading ones: `attached - uploaded - refused` are the files only this device holds.
   */
  refused: number;
  /** Bytes still to go, of the files waiting or uploading. */
  bytesWaiting: number;
  /**
   * Files (attached here or elsewhere) a person asked to delete from the server, the next sync to
   * send it. Not counted above: they are not to be uploaded any more.
   */
  deleting: number;
  /** Deletes the server refused (a role that may not delete the file): listed until retried or kept. */
  deleteRefused: number;
}

export type FilesListener = (files: LocalFile[]) => void;

/** One record, whose files to list or refresh. */
export interface RecordOfFiles {
  collection: string;
  /** Its id, or its temp id: a temp id the server has replaced since is read as the real one. */
  recordId: string;
}

/** `client.files`: photos, scans and documents attached to records, kept on the device and synced in chunks. */
export interface ClientFiles {
  /**
   * Keeps the file on the device (bytes, each chunk's SHA-256 and the whole file's, in one write)
   * and returns at once, online or not: put `file.id` in the record's field. The next syncs upload it.
   */
  attach(file: Blob | Uint8Array, options: AttachOptions): Promise<LocalFile>;
  /**
   * The file's bytes: from the device when it holds them, else downloaded (resumed where the link
   * broke, checked against the file's SHA-256, then kept on the device). FileUnavailableError when
   * neither can be had now (`reason`: offline, not-found, incomplete, checksum, damaged).
   */
  get(id: string): Promise<Blob>;
  /**
   * The files this device knows, oldest first; those of one record with `{ collection, recordId }`:
   * attached here, and attached elsewhere once `refresh` listed them or `get` downloaded them.
   */
  list(filter?: { collection?: string; recordId?: string }): LocalFile[];
  /**
   * Asks the server which files one record has, whichever device attached them, so a doctor sees
   * the wound photo a nurse attached on her tablet (`GET /v1/files?collection=&recordId=`). Files
   * this device did not know are kept as descriptions (`origin: 'server'`, `held: false`),
   * 'synced', or 'incomplete' while their device still uploads them; no bytes move until someone
   * opens one (`get`): every photo of the clinic on every tablet would fill them. A file attached
   * on this device keeps its own state whatever the list says. A description the server no longer
   * lists goes, unless this device holds its bytes.
   *
   * Resolves to how many files the server holds for the record, complete or not; 0 at once for a
   * record still under its temp id (the server cannot have its files yet); null when the server
   * cannot be reached now (offline, the link, a 5xx, the rate limit): the device's list stays as it
   * was. That is a field tablet's everyday state, so a screen may ask on every opening without a
   * catch for it. A refusal is thrown: FORBIDDEN for a role that may not read the collection,
   * UNAUTHORIZED, NOT_FOUND for a collection the schema lacks. Two calls for one record share one
   * request.
   */
  refresh(record: RecordOfFiles): Promise<number | null>;
  status(id: string): LocalFile | null;
  stats(): FilesStats;
  /** Calls `listener` with every file now and after each change, an upload's progress included. */
  subscribe(listener: FilesListener): () => void;
  /**
   * Failed files go back to waiting with a fresh count of tries: those that gave up on the network,
   * or the given ones, whatever stopped them. The next sync sends them. Resolves to how many did.
   */
  retry(ids?: readonly string[]): Promise<number>;
  /**
   * Frees the space of a file the server holds whole: its bytes leave the device, its description
   * stays, and `get` downloads it again when asked. Refused for a file not uploaded yet (CONFLICT):
   * the device may hold the only copy.
   */
  evict(id: string): Promise<void>;
  /**
   * Removes the file from the device, bytes and description (a photo of the wrong patient). One not
   * uploaded yet is then gone for good: ask the person first. What the server holds of an upload
   * not finished is deleted by the next sync (`DELETE /v1/files/:id`), offline too; a file the
   * server holds whole stays there, the clinic's copy (`delete` removes it there). A delete asked
   * and not sent yet is dropped with it.
   */
  discard(id: string): Promise<void>;
  /**
   * Deletes the file from the clinic's server, then from the device: a photo of the wrong patient,
   * uploaded already. Kept on the device at once, offline too, and sent by the next sync, before
   * its uploads; meanwhile the file is listed with `deletion: { state: 'waiting' }` and is not
   * uploaded any more (an upload under way stops at its next chunk). Once the server has deleted
   * it (or answers that it holds no such file: a repeat, or never declared) it goes from the
   * device. A role that may not delete it (a complete file needs `delete` on its collection, but
   * for its uploader while its record never existed on the server) is answered FORBIDDEN, and the
   * file stays, `deletion: { state: 'refused', error }`, until `retry([id])` or `delete(id)` asks
   * again or `keep(id)` takes it back. A file of a record under a temp id was never declared: it
   * goes at once. Refused for a file the device does not know (NOT_FOUND) and for one another
   * device is still uploading (CONFLICT: its device would send it again).
   */
  delete(id: string): Promise<void>;
  /**
   * Takes back a delete not sent yet, or one the server refused: the file is as it was (one of this
   * device's not uploaded yet goes on uploading). Should the server have deleted it while this ran,
   * the next sync uploads again what this device holds of it.
   */
  keep(id: string): Promise<void>;
}

export interface ClientFilesOptions {
  schema: Schema;
  db: FileDb;
  uploads: FileUploads;
  transport: FileTransport;
  recordIds: RecordIds;
  chunkSize: number;
  now(): number;
  randomBytes?: RandomBytes;
  /** Called after a file is attached or asked deleted: auto-sync hooks in here, as after a record write. */
  afterAttach(): void;
}

/** A delete asked (again) now: waiting for the next sync, the refusal of an earlier ask dropped. */
function deletionAsked(now: number): FileDeletion {
  return { state: 'waiting', requestedAt: new Date(now).toISOString() };
}

function byAge(a: LocalFile, b: LocalFile): number {
  return a.createdAt.localeCompare(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function createClientFiles(o: ClientFilesOptions): ClientFiles & { close(): Promise<void> } {
  const { db } = o;
  /** Aborted by close(): a download under way is abandoned and nothing of it is kept. */
  const closing = new AbortController();
  /** Downloads under way, so two screens asking for one photo fetch it once. */
  const downloads = new Map<string, Promise<Blob>>();
  /** Lists asked of the server, by record, so two screens showing one record ask once. */
  const refreshes = new Map<string, Promise<number | null>>();

  function view(stored: StoredFile): LocalFile {
    const { chunkSha256: _hashes, ...file } = stored;
    const live = o.uploads.uploading(stored.id);
    const recordId = o.recordIds.real(stored.recordId);
    const waitingFor =
      stored.state !== 'waiting' || stored.deletion !== undefined
        ? null
        : isTempId(recordId)
          ? `the id the server gives ${stored.collection} ${recordId}`
          : o.recordIds.unsent(stored.collection, recordId);
    return {
      ...file,
      recordId,
      state: live !== null ? 'uploading' : stored.state,
      chunksUploaded: live ?? stored.chunksUploaded,
      ...(waitingFor !== null ? { waitingFor } : {}),
    };
  }

  function list(filter: { collection?: string; recordId?: string } = {}): LocalFile[] {
    const recordId = filter.recordId === undefined ? undefined : o.recordIds.real(filter.recordId);
    return [...db.files.values()]
      .map(view)
      .filter(
        (f) =>
          (filter.collection === undefined || f.collection === filter.collection) &&
          (recordId === undefined || f.recordId === recordId),
      )
      .sort(byAge);
  }

  function checkOpen(): void {
    if (closing.signal.aborted) throw new ClientClosedError();
  }

  /** The bytes held on the device, or null when they are not all there or no longer match their hashes. */
  async function readHeld(file: StoredFile): Promise<Blob | null> {
    const chunks: Array<Uint8Array<ArrayBuffer>> = [];
    for (let i = 0; i < file.chunkCount; i++) {
      const chunk = await db.readChunk(file.id, i);
      if (!chunk || (await sha256Hex(chunk)) !== file.chunkSha256[i]) return null;
      chunks.push(chunk);
    }
    return new Blob(chunks, { type: file.contentType });
  }

  async function download(id: string): Promise<Blob> {
    const { status, bytes } = await downloadFile(o.transport, id, closing.signal);
    checkOpen();
    const known = db.files.get(id);
    const chunkSize = known?.chunkSize ?? status.chunkSize;
    const chunks = splitChunks(bytes, chunkSize);
    const chunkSha256 = await Promise.all(chunks.map(sha256Hex));
    await db.write(() => {
      const current = db.files.get(id);
      const file: StoredFile = current
        ? {
            ...current,
            chunkSha256,
            held: true,
            // A description listed while its device still uploaded it: whole now, as its bytes are.
            ...(current.origin === 'server'
              ? {
                  state: 'synced',
                  chunksUploaded: current.chunkCount,
                  ...(status.completedAt !== null ? { uploadedAt: status.completedAt } : {}),
                }
              : {}),
          }
        : {
            id,
            collection: status.collection,
            recordId: status.recordId,
            name: status.name,
            contentType: status.contentType,
            size: status.size,
            sha256: status.sha256,
            chunkSize,
            chunkCount: chunks.length,
            chunkSha256,
            createdAt: status.createdAt,
            origin: 'server',
            state: 'synced',
            chunksUploaded: chunks.length,
            held: true,
            attempts: 0,
            ...(status.completedAt !== null ? { uploadedAt: status.completedAt } : {}),
          };
      return { write: { putFiles: [file], putChunks: [{ id, chunks }] }, result: undefined };
    });
    return new Blob(chunks, { type: known?.contentType ?? status.contentType });
  }

  async function refreshOnce(collection: string, recordId: string): Promise<number | null> {
    let listed: FileStatus[];
    try {
      listed = await o.transport.list(collection, recordId, { signal: closing.signal });
    } catch (err) {
      checkOpen();
      if (unreached(err)) return null;
      throw err;
    }
    checkOpen();
    await db.write(() => ({
      write: listedWrite(db.files, { collection, recordId }, listed),
      result: undefined,
    }));
    return listed.length;
  }

  return {
    async attach(input, options) {
      checkOpen();
      const def = o.schema.collection(options.collection);
      if (!def) throw outpostError('NOT_FOUND', `no collection named "${options.collection}"`);
      // A temp id the server has replaced meanwhile (a screen rendered before the sync) is its record's real id.
      const recordId = o.recordIds.real(options.recordId);
      // A temp id fits the shape of an id too: only a collection whose ids the server gives has them.
      const validId = isTempId(recordId) ? def.idStrategy === 'server' : isValidRecordId(recordId);
      if (!validId) {
        throw outpostError('VALIDATION_FAILED', `"${options.recordId}" is not a record id of ${def.name}`);
      }
      // A screen still showing a record whose create was withdrawn: the record will never exist
      // on the server, and a file of it would be uploaded for nothing, an orphan (decision 0023).
      if (withdrawnHere(db, o.recordIds, def.name, recordId)) {
        throw outpostError(
          'NOT_FOUND',
          `${def.name} ${recordId} was withdrawn on this device before the server had it: a file cannot be attached to it`,
          { reason: 'WITHDRAWN' },
        );
      }
      const bytes = await bytesOf(input);
      const contentType =
        options.contentType ??
        (input instanceof Blob && input.type !== '' ? input.type : 'application/octet-stream');
      const chunks = splitChunks(bytes, o.chunkSize);
      const [sha256, chunkSha256] = await Promise.all([sha256Hex(bytes), Promise.all(chunks.map(sha256Hex))]);
      // What the server would refuse in the declaration is refused now, not after the person has left.
      const declared = fileDeclarationSchema.safeParse({
        collection: def.name,
        recordId: isTempId(recordId) ? 'temp' : recordId,
        name: options.name,
        contentType,
        size: bytes.byteLength,
        sha256,
        chunkSize: o.chunkSize,
      });
      if (!declared.success) {
        throw outpostError('VALIDATION_FAILED', 'invalid file', describeIssues(declared.error));
      }
      const now = o.now();
      const file: StoredFile = {
        id: uuidv7(now, o.randomBytes),
        collection: def.name,
        recordId,
        name: options.name,
        contentType,
        size: bytes.byteLength,
        sha256,
        chunkSize: o.chunkSize,
        chunkCount: chunkCountOf(bytes.byteLength, o.chunkSize),
        chunkSha256,
        createdAt: new Date(now).toISOString(),
        origin: 'device',
        state: 'waiting',
        chunksUploaded: 0,
        held: true,
        attempts: 0,
      };
      await db.write(() => ({
        write: { putFiles: [file], putChunks: [{ id: file.id, chunks }] },
        result: undefined,
      }));
      o.afterAttach();
      return view(file);
    },

    get(id) {
      try {
        checkOpen();
      } catch (err) {
        return Promise.reject(err);
      }
      let pending = downloads.get(id);
      if (pending) return pending;
      pending = (async () => {
        const file = db.files.get(id);
        if (file?.held) {
          const held = await readHeld(file);
          if (held) return held;
          // Damaged on the device: the server's copy, if it has one, replaces it.
          if (file.state !== 'synced') {
            throw new FileUnavailableError(
              id,
              'damaged',
              `the bytes of file ${id} on this device no longer match it`,
            );
          }
        }
        return download(id);
      })().finally(() => downloads.delete(id));
      downloads.set(id, pending);
      return pending;
    },

    list,

    refresh(record) {
      try {
        checkOpen();
      } catch (err) {
        return Promise.reject(err);
      }
      const def = o.schema.collection(record.collection);
      if (!def) {
        return Promise.reject(outpostError('NOT_FOUND', `no collection named "${record.collection}"`));
      }
      const recordId = o.recordIds.real(record.recordId);
      // The server knows records by their real ids only: it cannot hold a file of this one yet.
      if (isTempId(recordId)) return Promise.resolve(0);
      const key = `${def.name}\u0000${recordId}`;
      let pending = refreshes.get(key);
      if (pending) return pending;
      pending = refreshOnce(def.name, recordId).finally(() => refreshes.delete(key));
      refreshes.set(key, pending);
      return pending;
    },

    status(id) {
      const file = db.files.get(id);
      return file ? view(file) : null;
    },

    stats() {
      const stats: FilesStats = {
        attached: 0,
        waiting: 0,
        uploading: 0,
        uploaded: 0,
        failed: 0,
        refused: 0,
        bytesWaiting: 0,
        deleting: 0,
        deleteRefused: 0,
      };
      for (const file of list()) {
        if (file.deletion !== undefined) {
          if (file.deletion.state === 'waiting') stats.deleting += 1;
          else stats.deleteRefused += 1;
          continue;
        }
        if (file.origin !== 'device') continue;
        stats.attached += 1;
        if (file.state === 'synced') stats.uploaded += 1;
        else if (file.state === 'failed') {
          stats.failed += 1;
          if (file.refused === true) stats.refused += 1;
        } else if (file.state === 'waiting' || file.state === 'uploading') {
          stats[file.state] += 1;
          stats.bytesWaiting += Math.max(0, file.size - file.chunksUploaded * file.chunkSize);
        }
      }
      return stats;
    },

    subscribe(listener) {
      listener(list());
      return db.subscribe(() => listener(list()));
    },

    retry(ids) {
      return db.write(() => {
        // A refused delete goes again only when named, as a refused upload does.
        const deletes = [...db.files.values()]
          .filter((f) => f.deletion?.state === 'refused' && ids?.includes(f.id) === true)
          .map((f): StoredFile => ({ ...f, deletion: deletionAsked(o.now()) }));
        const putFiles = [...db.files.values()]
          .filter(
            (f) =>
              f.deletion === undefined &&
              f.state === 'failed' &&
              (ids ? ids.includes(f.id) : f.refused !== true),
          )
          .map((f): StoredFile => {
            const { error: _error, nextAttemptAt: _next, refused: _refused, ...rest } = f;
            return { ...rest, state: 'waiting', attempts: 0 };
          });
        return { write: { putFiles: [...deletes, ...putFiles] }, result: deletes.length + putFiles.length };
      });
    },

    async evict(id) {
      await db.write(() => {
        const file = db.files.get(id);
        if (!file) throw outpostError('NOT_FOUND', `no file ${id} on this device`);
        // Only a description (listed from the server, or evicted before): nothing to free.
        if (!file.held) return { write: null, result: undefined };
        if (file.state !== 'synced') {
          throw outpostError(
            'CONFLICT',
            `file ${id} is not on the server yet: this device may hold the only copy`,
          );
        }
        return { write: { putFiles: [{ ...file, held: false }], dropChunks: [id] }, result: undefined };
      });
    },

    async discard(id) {
      await db.write(() => {
        const file = db.files.get(id);
        if (!file) return { write: null, result: undefined };
        // An upload of this device the server does not hold whole may hold part of it: the next sync
        // deletes that. Not under a temp id: nothing of it can have been declared yet.
        const abandoned =
          file.origin === 'device' && file.state !== 'synced' && !isTempId(o.recordIds.real(file.recordId));
        return {
          write: {
            deleteFiles: [id],
            ...(abandoned ? { meta: abandonedWrite([...abandonedFiles(db), id]) } : {}),
          },
          result: undefined,
        };
      });
    },

    async delete(id) {
      await db.write(() => {
        const file = db.files.get(id);
        if (!file) throw outpostError('NOT_FOUND', `no file ${id} on this device`);
        if (file.deletion?.state === 'waiting') return { write: null, result: undefined };
        if (file.origin === 'server' && file.state === 'incomplete') {
          throw outpostError(
            'CONFLICT',
            `file ${id} is still being uploaded from another device, which would send it again: delete it once it is whole`,
          );
        }
        // Under a temp id it was never declared: the server has nothing of it.
        if (isTempId(o.recordIds.real(file.recordId)))
          return { write: { deleteFiles: [id] }, result: undefined };
        return { write: { putFiles: [{ ...file, deletion: deletionAsked(o.now()) }] }, result: undefined };
      });
      o.afterAttach();
    },

    async keep(id) {
      await db.write(() => {
        const file = db.files.get(id);
        if (!file) throw outpostError('NOT_FOUND', `no file ${id} on this device`);
        if (file.deletion === undefined) return { write: null, result: undefined };
        const { deletion: _deletion, ...kept } = file;
        return { write: { putFiles: [kept] }, result: undefined };
      });
    },

    async close() {
      closing.abort(new ClientClosedError());
      await Promise.allSettled([...downloads.values(), ...refreshes.values()]);
      await db.close();
    },
  };
}
