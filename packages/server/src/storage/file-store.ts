/**
 * Files attached to records, kept in chunks beside the records (decision 0022). Every question is
 * asked within one tenant: another clinic's file is simply not found.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { chunkCountOf } from '@outpost/core';
import type { FileDeclaration, FileStatus } from '@outpost/core';
import { insertAudit } from './sync-store';
import type { AuditEvent, SyncStore } from './sync-store';
import type { Tables } from './tables';

type Db = Kysely<Tables> | Transaction<Tables>;
type FileRow = Selectable<Tables['files']>;

/** A file as stored, without the chunk list, with the device that declared it (for the audit). */
export type StoredFile = Omit<FileStatus, 'missingChunks'> & { deviceId: string | null };

/** What a device is told of a file: the contract's FileStatus, nothing more. */
function statusOf({ deviceId: _device, ...file }: StoredFile, missingChunks: number[]): FileStatus {
  return { ...file, missingChunks };
}

/** What became of a chunk sent. */
export type ChunkOutcome =
  | { kind: 'stored' | 'held'; received: number; chunkCount: number; complete: boolean }
  /** The index already holds other bytes: a device never sends two contents for one chunk. */
  | { kind: 'differs' }
  /** The last chunk came and the whole file did not hash as declared: the file was dropped whole. */
  | { kind: 'file-checksum' }
  /** The file was dropped between the caller finding it and this chunk's turn. */
  | { kind: 'gone' };

/** What declaring a file found. */
export type DeclareOutcome = { kind: 'declared' | 'found'; file: FileStatus } | { kind: 'differs' };

/**
 * Why a caller may delete a file as it stands, which the audit records as the outcome, or null when
 * it may not: `abandoned` an upload not yet complete; `deleted` a complete file, by a role with
 * `delete` on its collection; `orphan-deleted` a complete file of a record that never existed here,
 * by the user who uploaded it (its record's create withdrawn or refused on the device).
 */
export type RemoveGrant = 'abandoned' | 'deleted' | 'orphan-deleted';

/** What deleting a file found. */
export type RemoveOutcome =
  /** Gone, description and chunks; `complete` says whether it was a whole file or an upload abandoned. */
  | { kind: 'removed'; complete: boolean; grant: RemoveGrant }
  /** The caller may not delete the file as it stands (a complete file needs `delete` on its collection). */
  | { kind: 'forbidden'; file: StoredFile }
  /** Not there (any more): dropped or deleted since the caller found it. */
  | { kind: 'gone' };

/** SHA-256 of nothing: the only hash an empty file may declare. */
const emptySha256 = createHash('sha256').digest('hex');

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function storedFile(row: FileRow): StoredFile {
  return {
    id: row.id,
    collection: row.collection,
    recordId: row.record_id,
    name: row.name,
    contentType: row.content_type,
    size: Number(row.size),
    sha256: row.sha256,
    chunkSize: row.chunk_size,
    chunkCount: row.chunk_count,
    complete: row.completed_at !== null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    deviceId: row.device_id,
  };
}

/** The fields that make a declaration the same file: who sends it again and from where may differ. */
function sameFile(row: FileRow, d: FileDeclaration): boolean {
  return (
    row.collection === d.collection &&
    row.record_id === d.recordId &&
    row.name === d.name &&
    row.content_type === d.contentType &&
    Number(row.size) === d.size &&
    row.sha256 === d.sha256 &&
    row.chunk_size === d.chunkSize
  );
}

export class FileStore {
  constructor(private readonly store: SyncStore) {}

  private get db(): Kysely<Tables> {
    return this.store.db;
  }

  /** An empty file's declared hash must be the hash of nothing; anything else can never complete. */
  static emptyHashMismatch(d: FileDeclaration): boolean {
    return d.size === 0 && d.sha256 !== emptySha256;
  }

  async find(tenant: string, id: string): Promise<StoredFile | null> {
    const row = await this.db
      .selectFrom('files')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? storedFile(row) : null;
  }

  /** The files attached to one record, oldest first: each device sees the photos any other attached. */
  async ofRecord(tenant: string, collection: string, recordId: string): Promise<FileStatus[]> {
    const rows = await this.db
      .selectFrom('files')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('collection', '=', collection)
      .where('record_id', '=', recordId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const out: FileStatus[] = [];
    for (const row of rows) {
      const file = storedFile(row);
      out.push(statusOf(file, await this.missingChunks(this.db, tenant, file)));
    }
    return out;
  }

  async status(tenant: string, file: StoredFile): Promise<FileStatus> {
    return statusOf(file, await this.missingChunks(this.db, tenant, file));
  }

  private async missingChunks(db: Db, tenant: string, file: StoredFile): Promise<number[]> {
    if (file.complete) return [];
    const held = await db
      .selectFrom('file_chunks')
      .select('idx')
      .where('tenant', '=', tenant)
      .where('file_id', '=', file.id)
      .execute();
    const have = new Set(held.map((r) => r.idx));
    const missing: number[] = [];
    for (let i = 0; i < file.chunkCount; i++) if (!have.has(i)) missing.push(i);
    return missing;
  }

  /**
   * Declares a file, or finds the same declaration again (a device resuming). An id already naming
   * another file is `differs`: the device must not believe its bytes went somewhere they did not.
   * An empty file is complete once declared, and the clinic's live streams hear of it as of any
   * file completed (`origin`: the client installation declaring it).
   */
  async declare(
    tenant: string,
    id: string,
    d: FileDeclaration,
    by: { userId: string; at: string },
    origin?: string,
  ): Promise<DeclareOutcome> {
    const chunkCount = chunkCountOf(d.size, d.chunkSize);
    return this.store.writeFiles(tenant, origin, async (trx, changed) => {
      const inserted = await trx
        .insertInto('files')
        .values({
          tenant,
          id,
          collection: d.collection,
          record_id: d.recordId,
          name: d.name,
          content_type: d.contentType,
          size: d.size,
          sha256: d.sha256,
          chunk_size: d.chunkSize,
          chunk_count: chunkCount,
          received: 0,
          created_by: by.userId,
          device_id: d.deviceId ?? null,
          created_at: by.at,
          // Nothing to send: an empty file is whole the moment it is described.
          completed_at: chunkCount === 0 ? by.at : null,
        })
        .onConflict((oc) => oc.columns(['tenant', 'id']).doNothing())
        .executeTakeFirst();
      const row = await trx
        .selectFrom('files')
        .selectAll()
        .where('tenant', '=', tenant)
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      if (!sameFile(row, d)) return { kind: 'differs' };
      const file = storedFile(row);
      const kind = Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0 ? 'declared' : 'found';
      if (kind === 'declared' && file.complete) changed();
      return { kind, file: statusOf(file, await this.missingChunks(trx, tenant, file)) };
    });
  }

  /**
   * Stores chunk `index` (already checked against its own hash and length by the caller). The
   * chunk that completes the file has the whole file hashed, in the same transaction, so a file
   * is marked complete only with exactly the bytes the device declared, and two chunks arriving
   * at once cannot both believe they were the last (the file's row is locked first). A file made
   * complete is told to the clinic's live streams once committed (`origin`: the client
   * installation uploading it); a chunk that leaves the file incomplete is not.
   */
  async putChunk(
    tenant: string,
    file: StoredFile,
    index: number,
    bytes: Uint8Array,
    sha256: string,
    audit: Omit<AuditEvent, 'tenant' | 'at' | 'action' | 'collection' | 'recordId' | 'outcome'>,
    at: string,
    origin?: string,
  ): Promise<ChunkOutcome> {
    return this.store.writeFiles(tenant, origin, async (trx, changed) => {
      const row = await trx
        .selectFrom('files')
        .selectAll()
        .where('tenant', '=', tenant)
        .where('id', '=', file.id)
        .$if(this.store.kind === 'postgres', (q) => q.forUpdate())
        .executeTakeFirst();
      // Dropped since the caller found it (its whole did not hash as declared): as if never declared.
      if (!row) return { kind: 'gone' };
      const held = await trx
        .selectFrom('file_chunks')
        .select('sha256')
        .where('tenant', '=', tenant)
        .where('file_id', '=', file.id)
        .where('idx', '=', index)
        .executeTakeFirst();
      const receipt = (kind: 'stored' | 'held', received: number, complete: boolean): ChunkOutcome => ({
        kind,
        received,
        chunkCount: row.chunk_count,
        complete,
      });
      if (held) {
        // Sent before, its answer lost: answered again, stored once. Other bytes under the same
        // index would mean two contents for one file, which the device must hear about.
        if (held.sha256 !== sha256) return { kind: 'differs' };
        return receipt('held', row.received, row.completed_at !== null);
      }
      await trx
        .insertInto('file_chunks')
        .values({ tenant, file_id: file.id, idx: index, sha256, bytes })
        .execute();
      const received = row.received + 1;
      const whole = received === row.chunk_count;
      const event = (outcome: string): AuditEvent => ({
        ...audit,
        tenant,
        at,
        action: 'file-upload',
        collection: row.collection,
        recordId: row.record_id,
        outcome,
      });
      if (whole && (await this.wholeFileHash(trx, tenant, file.id)) !== row.sha256) {
        // Each chunk matched its own hash, so the device hashed the whole differently from what it
        // sent: keep nothing of it, its description included, so the device may describe the file
        // again under the same id (the id a record already names) and send it from the start.
        await trx
          .deleteFrom('file_chunks')
          .where('tenant', '=', tenant)
          .where('file_id', '=', file.id)
          .execute();
        await trx.deleteFrom('files').where('tenant', '=', tenant).where('id', '=', file.id).execute();
        await insertAudit(trx, [event('checksum-mismatch')]);
        return { kind: 'file-checksum' };
      }
      await trx
        .updateTable('files')
        .set({ received, completed_at: whole ? at : null })
        .where('tenant', '=', tenant)
        .where('id', '=', file.id)
        .execute();
      if (whole) {
        await insertAudit(trx, [event('complete')]);
        changed();
      }
      return receipt('stored', received, whole);
    });
  }

  /**
   * Deletes a file, description and chunks, in one transaction, if `allowed` grants it as the file
   * stands when its row is locked: a chunk that completes the file at the same moment cannot turn
   * an upload abandoned into a complete file deleted by someone who may not delete those. `allowed`
   * is told whether the file's record exists here (live or deleted), read in the same transaction:
   * a complete file of a record that never existed may be deleted by its uploader. The row goes
   * first, so a chunk under way either finds no file (and stores nothing) or commits before, and its
   * chunk goes with the others. Audited as `file-delete` with the grant as its outcome (`abandoned`,
   * `deleted` or `orphan-deleted`), never the name or the bytes. Told to the clinic's live streams
   * once committed, complete or not: a device may list an upload under way (`origin`: the client
   * installation deleting it).
   */
  async remove(
    tenant: string,
    id: string,
    allowed: (file: StoredFile, record: { exists: boolean }) => RemoveGrant | null,
    audit: { userId: string; deviceId: string | null },
    at: string,
    origin?: string,
  ): Promise<RemoveOutcome> {
    return this.store.writeFiles(tenant, origin, async (trx, changed) => {
      const row = await trx
        .selectFrom('files')
        .selectAll()
        .where('tenant', '=', tenant)
        .where('id', '=', id)
        .$if(this.store.kind === 'postgres', (q) => q.forUpdate())
        .executeTakeFirst();
      if (!row) return { kind: 'gone' };
      const file = storedFile(row);
      const record = await trx
        .selectFrom('records')
        .select('id')
        .where('tenant', '=', tenant)
        .where('collection', '=', file.collection)
        .where('id', '=', file.recordId)
        .executeTakeFirst();
      const grant = allowed(file, { exists: record !== undefined });
      if (grant === null) return { kind: 'forbidden', file };
      await trx.deleteFrom('files').where('tenant', '=', tenant).where('id', '=', id).execute();
      await trx.deleteFrom('file_chunks').where('tenant', '=', tenant).where('file_id', '=', id).execute();
      await insertAudit(trx, [
        {
          tenant,
          at,
          userId: audit.userId,
          deviceId: audit.deviceId,
          action: 'file-delete',
          collection: file.collection,
          recordId: file.recordId,
          outcome: grant,
        },
      ]);
      changed();
      return { kind: 'removed', complete: file.complete, grant };
    });
  }

  /** Hashes a file's chunks in order, one at a time, so a large file never sits in memory whole. */
  private async wholeFileHash(db: Db, tenant: string, fileId: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const bytes of this.chunkBytes(db, tenant, fileId, 0, Number.MAX_SAFE_INTEGER))
      hash.update(bytes);
    return hash.digest('hex');
  }

  /** The bytes of chunks `first` to `last` in order, read one chunk at a time. */
  async *chunkBytes(
    db: Db,
    tenant: string,
    fileId: string,
    first: number,
    last: number,
  ): AsyncGenerator<Uint8Array> {
    for (let idx = first; idx <= last; idx++) {
      const row = await db
        .selectFrom('file_chunks')
        .select('bytes')
        .where('tenant', '=', tenant)
        .where('file_id', '=', fileId)
        .where('idx', '=', idx)
        .executeTakeFirst();
      if (!row) return;
      yield row.bytes;
    }
  }

  /** The bytes `start` to `end` (inclusive) of a complete file, chunk by chunk. */
  async *content(tenant: string, file: StoredFile, start: number, end: number): AsyncGenerator<Uint8Array> {
    const first = Math.floor(start / file.chunkSize);
    const last = Math.floor(end / file.chunkSize);
    let offset = first * file.chunkSize;
    for await (const bytes of this.chunkBytes(this.db, tenant, file.id, first, last)) {
      const from = Math.max(0, start - offset);
      const to = Math.min(bytes.length, end - offset + 1);
      yield from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to);
      offset += bytes.length;
    }
  }
}
