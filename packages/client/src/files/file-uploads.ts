import { backoffDelay, isOutpostError, isTempId, outpostError } from '@outpost/core';
import type { ChunkReceipt, FileDeclaration, RetryPolicy, Schema } from '@outpost/core';
import { ClientClosedError } from '../client-closed';
import { CircuitOpenError } from '../network/circuit-breaker';
import { StoreClosedError } from '../stores/store-errors';
import { keyOf } from '../local-state';
import { recoverable } from '../sync/restore-recovery';
import { isTransient } from '../sync/sync-engine';
import type { EngineSend, FileStage } from '../sync/sync-engine';
import type { FileDb } from './file-db';
import { sha256Hex } from './file-bytes';
import type { FileTransport } from './file-transport';
import type { FileError, StoredFile } from './local-file-store';

type Send = EngineSend;

/**
 * A chunk the server refuses for its bytes (they no longer match its hash: damaged on the way)
 * goes again at once, this many times. Past that something else is wrong, and the file stops
 * rather than be sent for ever.
 */
const MAX_CHUNK_RESENDS = 3;
/**
 * A file the server dropped for its whole hash (`details.reason: 'file-checksum'`), or whose
 * declaration it no longer has (404), is declared and sent again from its first chunk, once per
 * sync. Every chunk was checked against its own hash on the way, so a second refusal means the
 * description itself is wrong: the file stops, refused.
 */
const MAX_RESTARTS = 1;

/**
 * The file meta key listing uploads this device abandoned (`files.discard` of a file the server did
 * not hold whole): the next sync deletes what the server holds of each, then forgets it.
 */
const abandonedKey = 'files.abandoned';

/** The uploads abandoned on this device whose partial copy the server may still hold. */
export function abandonedFiles(db: FileDb): string[] {
  const ids = db.meta[abandonedKey];
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

/** The meta write that sets the abandoned list to `ids` (none: the key goes). */
export function abandonedWrite(ids: readonly string[]): Record<string, unknown> {
  return { [abandonedKey]: ids.length > 0 ? [...ids] : undefined };
}

/**
 * The file meta key remembering the records whose create was withdrawn on this device (the last
 * `MAX_REMEMBERED_WITHDRAWN`): such a record will never exist on the server, so a file attached to
 * it afterwards (a screen that still showed it) is refused, and one that slipped in is never sent.
 * Kept in the file store, where the files are: the record meta's list (`withdrawnKey`) is cleared
 * once the files present at the withdrawal have gone.
 */
const withdrawnMemoryKey = 'files.withdrawn';
/** Withdrawals of creates are a person's rare act: the last 500 cover any screen left open. */
const MAX_REMEMBERED_WITHDRAWN = 500;

function rememberedWithdrawn(db: FileDb): RecordRef[] {
  const list = db.meta[withdrawnMemoryKey];
  return Array.isArray(list) ? (list as RecordRef[]) : [];
}

/**
 * Whether `collection` `id` is a record whose create was withdrawn on this device and that the
 * device does not hold again: no file may be attached to it, none of its files sent.
 */
export function withdrawnHere(db: FileDb, recordIds: RecordIds, collection: string, id: string): boolean {
  const key = keyOf(collection, id);
  const listed = [...recordIds.withdrawn(), ...rememberedWithdrawn(db)].some(
    (r) => keyOf(r.collection, r.id) === key,
  );
  return listed && !recordIds.held(collection, id);
}

/**
 * The server's answer to deleting an abandoned upload that ends the matter: it holds no such file
 * (never declared, or deleted already: a repeat after a lost answer), or it may not be deleted by
 * this user (the upload completed meanwhile and only a role with delete may remove a complete
 * file: it stays on the server, where such a person can).
 */
function abandonSettled(err: unknown): boolean {
  return isOutpostError(err) && (err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN');
}

export type RecordRef = { collection: string; id: string };

export interface RecordIds {
  /** The record's real id once the server replaced its temp id; the id itself otherwise. */
  real(id: string): string;
  /** Why a record still under a temp id will never get a real one (its create was refused...), or null. */
  lost(collection: string, id: string): string | null;
  /**
   * What a file of the record waits for while the record's create has not left the device, or
   * null. Such a create may still be withdrawn, and the record never exist on the server.
   */
  unsent(collection: string, id: string): string | null;
  /** Records whose create was withdrawn, their files on this device still to go (record-ids.ts). */
  withdrawn(): readonly RecordRef[];
  /** Whether the device holds the record (live or deleted). */
  held(collection: string, id: string): boolean;
  /**
   * Whether the device holds every record of the collection it may read: it pulls it and keeps all
   * of it (no `recordFilter`). In a collection it holds in part, a record it does not hold is one
   * it let go (pruned, filtered out) or never kept (read with `fetch`).
   */
  keptWhole(collection: string): boolean;
  /** Forgets those of `withdrawn()` whose files have gone. */
  forgetWithdrawn(records: readonly RecordRef[]): Promise<void>;
}

/**
 * Removes from the device the files attached here to records whose create was withdrawn, then
 * forgets those records. One the server may hold part of (declared under its record's real id, by
 * a device that attached it before the record's create was made) goes on the abandoned list as
 * `files.discard` puts it, and the next sync deletes it there: the record it belongs to will never
 * exist. One the server holds whole is marked for deletion as `files.delete` marks it: the next
 * sync deletes it there (its uploader may, decision 0022), and should the server refuse, it stays
 * listed, refused, for a person to see, rather than be left on the server unsaid. A file under a
 * temp id was never declared. The records are remembered in the file store (`withdrawnHere`). Run
 * after the withdrawal's record write, when the client opens and before each sync's uploads: a stop
 * between the two writes leaves the records listed, and this finishes it. Running it twice does
 * nothing more.
 */
export async function settleWithdrawn(
  db: FileDb,
  recordIds: RecordIds,
  now: () => number = Date.now,
): Promise<void> {
  const records = [...recordIds.withdrawn()];
  if (records.length === 0) return;
  const gone = new Set(records.map((r) => keyOf(r.collection, r.id)));
  await db.write(() => {
    // Marked for deletion already by a person: that delete goes as asked.
    const files = [...db.files.values()].filter(
      (f) =>
        f.origin === 'device' &&
        f.deletion === undefined &&
        gone.has(keyOf(f.collection, recordIds.real(f.recordId))),
    );
    const whole = files.filter((f) => f.state === 'synced');
    const partial = files.filter((f) => f.state !== 'synced');
    const declared = partial.filter((f) => !isTempId(recordIds.real(f.recordId))).map((f) => f.id);
    const abandoned = abandonedFiles(db);
    const added = declared.filter((id) => !abandoned.includes(id));
    const remembered = rememberedWithdrawn(db).filter((r) => !gone.has(keyOf(r.collection, r.id)));
    const requestedAt = new Date(now()).toISOString();
    return {
      write: {
        deleteFiles: partial.map((f) => f.id),
        putFiles: whole.map((f) => ({ ...f, deletion: { state: 'waiting' as const, requestedAt } })),
        meta: {
          ...(added.length > 0 ? abandonedWrite([...abandoned, ...added]) : {}),
          [withdrawnMemoryKey]: [...remembered, ...records].slice(-MAX_REMEMBERED_WITHDRAWN),
        },
      },
      result: undefined,
    };
  });
  await recordIds.forgetWithdrawn(records);
}

/**
 * Removes from the device the files of records it let go (decision 0027: `prune` removed them, or
 * a pull's `recordFilter` did) or never kept (read once with `fetch`): in a collection the device
 * holds in part, a file whose record it does not hold. Only what the server holds whole: a file
 * attached here and not uploaded yet stays whatever its record, as the device may hold its only
 * copy, and so does one marked for deletion (its delete must still reach the server, or its
 * refusal be seen). Bytes and description both go: no screen of the device shows the record, and
 * one that reads it from the server (`fetch`) lists its files again (`files.refresh`). Judged by
 * what the device holds, not by a list of what prune removed: a photo taken first and uploaded
 * whole before its record was saved goes too, should a sync come between, and is listed from the
 * server once the record is. Run by each sync before its uploads (after its pull, which prunes)
 * and by `client.prune()`.
 */
export async function dropFilesOfRecordsLetGo(db: FileDb, recordIds: RecordIds): Promise<number> {
  return db.write(() => {
    const gone = [...db.files.values()]
      .filter(
        (f) =>
          f.deletion === undefined &&
          (f.origin === 'server' || f.state === 'synced') &&
          !recordIds.keptWhole(f.collection) &&
          !recordIds.held(f.collection, recordIds.real(f.recordId)),
      )
      .map((f) => f.id);
    return { write: gone.length > 0 ? { deleteFiles: gone } : null, result: gone.length };
  });
}

export interface FileUploadsOptions {
  schema: Schema;
  db: FileDb;
  transport: FileTransport;
  deviceId: string;
  retry: RetryPolicy;
  random: () => number;
  now: () => number;
  recordIds: RecordIds;
}

/** The device's own bytes cannot be sent: gone, or no longer matching the hashes made at attach. */
class LocalBytesError extends Error {
  readonly code = 'FILE_DAMAGED';
}

function describe(err: unknown): FileError {
  if (isOutpostError(err)) {
    return {
      code: err.code,
      message: err.message,
      ...(err.details !== undefined ? { details: err.details } : {}),
    };
  }
  if (err instanceof LocalBytesError) return { code: err.code, message: err.message };
  return { code: 'NETWORK', message: err instanceof Error ? err.message : String(err) };
}

function reasonOf(err: unknown): unknown {
  const details = isOutpostError(err) ? err.details : undefined;
  return typeof details === 'object' && details !== null
    ? (details as { reason?: unknown }).reason
    : undefined;
}

/** The server dropped the file's chunks (its whole hash), or has no declaration of it: send it all again. */
function startsOver(err: unknown): boolean {
  return isOutpostError(err) && (reasonOf(err) === 'file-checksum' || err.code === 'NOT_FOUND');
}

/**
 * The file stopped being one to send while it was sent: discarded, or marked for deletion (a photo
 * of the wrong patient, deleted as it uploads). Not a failure: the upload just ends, so an upload
 * not complete stays one the delete may abandon.
 */
class NoLongerSent extends Error {}

/** A chunk refused for its own bytes (not the whole file's hash): damaged on the wire, worth sending again. */
function chunkRefused(err: unknown): boolean {
  return isOutpostError(err) && err.code === 'VALIDATION_FAILED' && reasonOf(err) !== 'file-checksum';
}

function declarationOf(file: StoredFile, deviceId: string): FileDeclaration {
  return {
    collection: file.collection,
    recordId: file.recordId,
    name: file.name,
    contentType: file.contentType,
    size: file.size,
    sha256: file.sha256,
    chunkSize: file.chunkSize,
    deviceId,
  };
}

/** The description without what only a file still to send carries. */
function settled(file: StoredFile): StoredFile {
  const { error: _error, nextAttemptAt: _next, refused: _refused, ...rest } = file;
  return rest;
}

/**
 * The files stage of a sync (decision 0022 for the wire): each file attached on the device and
 * waiting is declared (which, for a file declared before, tells which chunks the server still
 * misses), then its missing chunks go one at a time with their SHA-256. What the server holds is
 * never sent again, whether the last try was cut by the network, a 5xx or the app closing.
 */
export class FileUploads implements FileStage {
  /** The file a sync sends now and how many chunks the server holds of it: shown, never stored. */
  private current: { id: string; chunksUploaded: number } | null = null;

  constructor(private readonly o: FileUploadsOptions) {}

  /** The chunks the server holds of `id` while a sync sends it; null when it is not being sent. */
  uploading(id: string): number | null {
    return this.current?.id === id ? this.current.chunksUploaded : null;
  }

  /** Files attached here still to go, and those stopped. */
  counts(): { waiting: number; failed: number } {
    let waiting = 0;
    let failed = 0;
    for (const f of this.o.db.files.values()) {
      if (f.deletion !== undefined) continue;
      if (f.state === 'waiting') waiting += 1;
      else if (f.state === 'failed') failed += 1;
    }
    return { waiting, failed };
  }

  /** Whether a file stopped after giving up on the network (not refused): a person's "Sync now" sends it again. */
  gaveUp(): boolean {
    for (const f of this.o.db.files.values())
      if (f.state === 'failed' && f.refused !== true && f.deletion === undefined) return true;
    return false;
  }

  /** The most failed tries of a file still waiting: how long the engine waits before it tries again. */
  attempts(): number {
    let most = 0;
    for (const f of this.o.db.files.values())
      if (f.state === 'waiting' && f.deletion === undefined) most = Math.max(most, f.attempts);
    return most;
  }

  /**
   * Sends every waiting file, oldest first, files attached meanwhile included. A file the server
   * refuses stops with the error kept and the next one goes; a failure of the network or the
   * server (5xx) is stored as a failed try and thrown, so the sync ends and the engine backs off.
   */
  async upload(send: Send, onUploaded: () => void): Promise<void> {
    // Files of records withdrawn, should the app have stopped before they went: gone, and what the
    // server holds of them on the abandoned list, before any upload.
    await settleWithdrawn(this.o.db, this.o.recordIds, this.o.now);
    // After the pull, and its prune: the files of records the device let go leave with them.
    await dropFilesOfRecordsLetGo(this.o.db, this.o.recordIds);
    await this.abandon(send);
    await this.sendDeletes(send);
    const tried = new Set<string>();
    for (;;) {
      const file = await this.next(tried);
      if (!file) return;
      tried.add(file.id);
      if (await this.sendFile(file, send)) onUploaded();
    }
  }

  /**
   * Deletes from the server what it holds of each upload abandoned on this device (a photo of the
   * wrong patient, discarded half sent), so no orphaned chunks stay there. A failure of the network
   * or the server is thrown, as for a chunk: the list stays, and the next sync tries again.
   */
  private async abandon(send: Send): Promise<void> {
    for (const id of abandonedFiles(this.o.db)) {
      try {
        await send((signal) => this.o.transport.remove(id, this.o.deviceId, { signal }));
      } catch (err) {
        if (!abandonSettled(err)) throw err;
      }
      await this.o.db.write(() => ({
        write: { meta: abandonedWrite(abandonedFiles(this.o.db).filter((other) => other !== id)) },
        result: undefined,
      }));
    }
  }

  /**
   * Deletes from the server each file a person asked to delete (`files.delete`), oldest first, and
   * each complete file of a record withdrawn here. Deleted (200), or not there (404: deleted before,
   * a repeat whose first answer was lost, or never declared), it goes from the device: a repeated
   * delete is harmless, so the delete takes effect once. Refused (403: the role may not delete it),
   * it stays, `deletion.state` 'refused' with the server's error, not sent again until a person asks.
   * The network or the server failing is thrown, as for a chunk: it stays waiting for the next sync.
   */
  private async sendDeletes(send: Send): Promise<void> {
    const asked = [...this.o.db.files.values()]
      .filter((f) => f.deletion?.state === 'waiting')
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || (a.id < b.id ? -1 : 1));
    for (const file of asked) {
      let refusal: unknown = null;
      try {
        await send((signal) => this.o.transport.remove(file.id, this.o.deviceId, { signal }));
      } catch (err) {
        const gone = isOutpostError(err) && err.code === 'NOT_FOUND';
        if (!gone && (!isOutpostError(err) || isTransient(err))) throw err;
        if (!gone) refusal = err;
      }
      await this.o.db.write(() => {
        const now = this.o.db.files.get(file.id);
        if (!now) return { write: null, result: undefined };
        if (refusal !== null) {
          // Taken back (`keep`) while the request was out: nothing was deleted, nothing to show.
          if (now.deletion?.state !== 'waiting') return { write: null, result: undefined };
          const deletion = { ...now.deletion, state: 'refused' as const, error: describe(refusal) };
          return { write: { putFiles: [{ ...now, deletion }] }, result: undefined };
        }
        if (now.deletion === undefined && now.origin === 'device' && now.held) {
          // Taken back while the delete was on its way, and the server deleted it all the same:
          // this device holds the bytes, so it uploads them again, as the person asked to keep it.
          const { uploadedAt: _at, ...rest } = settled(now);
          return {
            write: { putFiles: [{ ...rest, state: 'waiting', chunksUploaded: 0, attempts: 0 }] },
            result: undefined,
          };
        }
        const abandoned = abandonedFiles(this.o.db);
        return {
          write: {
            deleteFiles: [file.id],
            ...(abandoned.includes(file.id)
              ? { meta: abandonedWrite(abandoned.filter((id) => id !== file.id)) }
              : {}),
          },
          result: undefined,
        };
      });
    }
  }

  /**
   * The server was restored from a backup (decision 0050), and the re-read of it has settled the
   * records: the files the backup may lack go to it again. Those this device holds whole and
   * believes the server holds ('synced', bytes held), whichever device attached them: the
   * clinic's only copy of a photo uploaded after the backup may be on this tablet, downloaded
   * there or taken there. Each is declared again with the next uploads: the server's declaration
   * of the same file answers which chunks it lacks, so a file the backup kept costs one request and
   * no bytes. Not told apart by time: `uploadedAt` of a file attached here is the device's clock,
   * which cannot be weighed against the backup's, and a restore is rare.
   *
   * Left: a file whose bytes the device does not hold (nothing to send), one waiting, failed or
   * incomplete already (its state stands), one marked for deletion (its delete goes as asked), one
   * of a record the device does not hold (dropped by the re-read, let go: it would be a file of no
   * record), and one of a collection whose ids the server gives (its record's number may name
   * another record on the restored server, as restore-recovery.ts keeps those records back).
   *
   * In one write, states and all, so a stop before the uploads leaves them waiting. `uploadedAt` is
   * kept: a file waiting with it is one the server held whole before (`sendFile`).
   */
  sendAgainAfterRestore(): Promise<number> {
    const { db, recordIds, schema } = this.o;
    return db.write(() => {
      const again = [...db.files.values()]
        .filter(
          (f) =>
            f.state === 'synced' &&
            f.held &&
            f.deletion === undefined &&
            f.chunkSha256.length === f.chunkCount &&
            recoverable(schema, f.collection) &&
            recordIds.held(f.collection, recordIds.real(f.recordId)),
        )
        .map((f): StoredFile => ({ ...settled(f), state: 'waiting', chunksUploaded: 0, attempts: 0 }));
      return { write: again.length > 0 ? { putFiles: again } : null, result: again.length };
    });
  }

  /** The next file to send, with its record's real id stored first. A file whose record cannot get one stops here. */
  private async next(tried: ReadonlySet<string>): Promise<StoredFile | null> {
    const waiting = [...this.o.db.files.values()]
      .filter((f) => f.state === 'waiting' && f.deletion === undefined && !tried.has(f.id))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || (a.id < b.id ? -1 : 1));
    const withdrawn = new Set(this.o.recordIds.withdrawn().map((r) => keyOf(r.collection, r.id)));
    for (const file of waiting) {
      const recordId = this.o.recordIds.real(file.recordId);
      // Its record's create was withdrawn while this sync ran: the file goes from the device next.
      if (withdrawn.has(keyOf(file.collection, recordId))) continue;
      if (withdrawnHere(this.o.db, this.o.recordIds, file.collection, recordId)) {
        // Attached after its record's create was withdrawn (a screen still showing the record, as
        // attach checked): the record will never exist on the server. Not sent, and shown.
        await this.o.db.update(file.id, (f) => ({
          ...settled(f),
          state: 'failed',
          refused: true,
          error: {
            code: 'DEPENDENCY_FAILED',
            message: `the create of ${file.collection} ${recordId}, the record this file belongs to, was withdrawn on this device`,
          },
        }));
        continue;
      }
      if (isTempId(recordId)) {
        // Its record has no id on the server yet: the file goes once a push brings it one.
        const lost = this.o.recordIds.lost(file.collection, recordId);
        if (lost !== null) {
          await this.o.db.update(file.id, (f) => ({
            ...settled(f),
            state: 'failed',
            refused: true,
            error: { code: 'DEPENDENCY_FAILED', message: lost },
          }));
        }
        continue;
      }
      // Its record's create has not left the device, and may still be withdrawn: uploaded now, the
      // file could be left on the server for a record that will never exist. A sync pushes before
      // it uploads, so this only holds back a file whose record's create is held back, or was made
      // after the push put its batches together.
      if (this.o.recordIds.unsent(file.collection, recordId) !== null) continue;
      if (recordId === file.recordId) return file;
      // Stored before it is declared: the server knows the file by its record's real id only.
      const rewritten = await this.o.db.update(file.id, (f) => ({ ...f, recordId }));
      if (rewritten) return rewritten;
    }
    return null;
  }

  private show(id: string, chunksUploaded: number): void {
    this.current = { id, chunksUploaded };
    this.o.db.notify();
  }

  /** One file's try: true once the server holds it whole. */
  private async sendFile(file: StoredFile, send: Send): Promise<boolean> {
    let progressed = false;
    this.show(file.id, file.chunksUploaded);
    try {
      for (let restarts = 0; ; restarts++) {
        try {
          await this.sendMissing(file, send, () => (progressed = true));
          break;
        } catch (err) {
          if (restarts < MAX_RESTARTS && startsOver(err)) continue;
          throw err;
        }
      }
      await this.uploaded(file.id);
      return true;
    } catch (err) {
      // Discarded or marked for deletion while it went: it ends here, as it stands.
      if (err instanceof NoLongerSent) return false;
      // Closing, or a breaker at rest: nothing more was tried, and no try is counted.
      if (
        err instanceof ClientClosedError ||
        err instanceof CircuitOpenError ||
        err instanceof StoreClosedError
      )
        throw err;
      const chunksUploaded = this.current?.chunksUploaded ?? file.chunksUploaded;
      if (err instanceof LocalBytesError || !isTransient(err)) {
        // Sent again after a restore, by a role that may no longer upload to the collection (a
        // doctor's tablet with a photo it downloaded), or with its bytes damaged here: the file
        // the server still holds (the backup had it) is as uploaded as it was.
        if (file.uploadedAt !== undefined && (await this.heldWhole(file, send))) {
          await this.uploaded(file.id);
          return true;
        }
        // Refused by the server (403, 409, 413, a checksum twice...), or bytes that cannot be sent:
        // sending again would get the same answer. Kept and shown until a person retries or discards it.
        await this.o.db.update(file.id, (f) => ({
          ...settled(f),
          state: 'failed',
          chunksUploaded,
          ...(err instanceof LocalBytesError ? {} : { refused: true }),
          error: describe(err),
        }));
        return false;
      }
      await this.failedTry(file.id, err, progressed, chunksUploaded);
      throw err;
    } finally {
      this.current = null;
      this.o.db.notify();
    }
  }

  /** The server holds the file whole. */
  private async uploaded(id: string): Promise<void> {
    const now = this.o.now();
    await this.o.db.update(id, (f) => ({
      ...settled(f),
      state: 'synced',
      chunksUploaded: f.chunkCount,
      attempts: 0,
      uploadedAt: new Date(now).toISOString(),
    }));
  }

  /**
   * Whether the server holds `file` whole, as this device describes it: one status request. False
   * when it cannot be known (not there, another file, incomplete, not reachable, not readable).
   */
  private async heldWhole(file: StoredFile, send: Send): Promise<boolean> {
    try {
      const status = await send((signal) => this.o.transport.status(file.id, { signal }));
      return (
        status.complete &&
        status.sha256 === file.sha256 &&
        status.size === file.size &&
        status.collection === file.collection &&
        status.recordId === file.recordId
      );
    } catch (err) {
      if (err instanceof ClientClosedError || err instanceof StoreClosedError) throw err;
      return false;
    }
  }

  /**
   * The network or the server failed: the file waits for the backoff, as an op does, and after
   * `retry.maxAttempts` tries in a row that brought no chunk to the server it stops until a person
   * retries it. A try that brought chunks counts as the first: a link that drops every few minutes
   * still moves a large file along.
   */
  private async failedTry(
    id: string,
    err: unknown,
    progressed: boolean,
    chunksUploaded: number,
  ): Promise<void> {
    const { retry, random } = this.o;
    const now = this.o.now();
    await this.o.db.update(id, (f) => {
      const attempts = progressed ? 1 : f.attempts + 1;
      return {
        ...settled(f),
        state: attempts >= retry.maxAttempts ? 'failed' : 'waiting',
        chunksUploaded,
        attempts,
        nextAttemptAt: now + backoffDelay(attempts, retry, random),
        error: describe(err),
      };
    });
  }

  /** Declares the file and sends what the server misses, until it holds the file whole. */
  private async sendMissing(file: StoredFile, send: Send, progressed: () => void): Promise<void> {
    const declaration = declarationOf(file, this.o.deviceId);
    // A second pass only if the server still misses chunks after all were sent and received.
    for (let pass = 0; pass < 2; pass++) {
      const status = await send((signal) => this.o.transport.declare(file.id, declaration, { signal }));
      this.show(file.id, status.chunkCount - status.missingChunks.length);
      if (status.complete) return;
      for (const index of status.missingChunks) {
        if (!Number.isInteger(index) || index < 0 || index >= file.chunkCount) {
          throw outpostError(
            'INTERNAL',
            `the server asks for chunk ${index} of file ${file.id}, which has ${file.chunkCount}`,
          );
        }
        const current = this.o.db.files.get(file.id);
        if (current === undefined || current.deletion !== undefined) throw new NoLongerSent();
        const bytes = await this.chunk(file, index);
        const receipt = await this.sendChunk(file, index, bytes, send);
        progressed();
        this.show(file.id, receipt.received);
        if (receipt.complete) return;
      }
    }
    throw outpostError(
      'INTERNAL',
      `the server still misses chunks of file ${file.id} after receiving them all`,
    );
  }

  private async sendChunk(
    file: StoredFile,
    index: number,
    bytes: Uint8Array<ArrayBuffer>,
    send: Send,
  ): Promise<ChunkReceipt> {
    const sha256 = file.chunkSha256[index] as string;
    for (let resend = 0; ; resend++) {
      try {
        return await send((signal) => this.o.transport.putChunk(file.id, index, bytes, sha256, { signal }));
      } catch (err) {
        if (resend < MAX_CHUNK_RESENDS && chunkRefused(err)) continue;
        throw err;
      }
    }
  }

  /** One chunk as stored, checked against the hash made when it was attached. */
  private async chunk(file: StoredFile, index: number): Promise<Uint8Array<ArrayBuffer>> {
    let bytes: Uint8Array<ArrayBuffer> | undefined;
    try {
      bytes = await this.o.db.readChunk(file.id, index);
    } catch (cause) {
      if (cause instanceof ClientClosedError || cause instanceof StoreClosedError) throw cause;
      throw new LocalBytesError(`chunk ${index} of file ${file.id} cannot be read on this device`, { cause });
    }
    if (!bytes) throw new LocalBytesError(`chunk ${index} of file ${file.id} is no longer on this device`);
    if ((await sha256Hex(bytes)) !== file.chunkSha256[index]) {
      throw new LocalBytesError(
        `chunk ${index} of file ${file.id} no longer matches its hash on this device`,
      );
    }
    return bytes;
  }
}
