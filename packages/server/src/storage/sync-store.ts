import { sql } from 'kysely';
import type { Kysely, RawBuilder, SqlBool, Transaction } from 'kysely';
import { outOfUseSince, outpostError } from '@outpost/core';
import type {
  AuditAction,
  ConflictKind,
  ConflictOutcome,
  ConflictStrategy,
  FieldMeta,
  OpType,
  OpError,
  RecordState,
  PushResult,
  RecordData,
  Schema,
} from '@outpost/core';
import type { Database, DatabaseKind } from './database';
import { CachedInserts } from './cached-inserts';
import { readEpoch } from './database-epoch';
import type { DatabaseEpoch } from './database-epoch';
import { ReadScopes } from './read-scopes';
import { RefreshTokenStore } from './refresh-tokens';
import { TenantSettingsStore } from './tenant-settings';
import { PeopleStore } from './people';
import { DeviceNamesStore } from './device-names';
import { DeviceUseStore } from './device-use';
import { anyOfRecords, relatedRecords } from './related-records';
import type { RecordKey } from './related-records';
import { recentDeviceOps } from './device-health';
import type { RecentDeviceOps } from './device-health';
import { changesChannel, decodeNotice, encodeNotice } from './change-notices';
import type { ChangeListener, ChangeNotice } from './change-notices';
import type { Listening } from './pg-listener';
import {
  inPositionOrder,
  insertNewSharingSqlite,
  insertSharingPostgres,
  joined,
  rowsByKey,
} from './dialect-sql';
import { pushWritesPostgres, touchDeviceSql, upsertRecordsPostgres } from './push-writes';
import type { Tables } from './tables';

type Db = Kysely<Tables> | Transaction<Tables>;

export interface StoredRecord {
  collection: string;
  id: string;
  data: RecordData;
  version: number;
  deleted: boolean;
  fieldMeta: FieldMeta;
  hlc: string;
  updatedAt: string;
  updatedBy: string;
  position: number;
}

/** Who sent a push, and when it arrived: the same for every op the push journals. */
export interface OpSender {
  clientId: string;
  deviceId: string;
  userId: string;
  receivedAt: string;
}

/** One op of a push as the journal records it; see journalResult for what it keeps of the result. */
export interface JournalEntry {
  opId: string;
  collection: string;
  recordId: string;
  type: string;
  result: PushResult;
  /** The HLC the device sent the op with, when it sent a readable one (decision 0036). */
  hlc?: string | null;
}

export interface StoredOp extends OpSender, JournalEntry {
  tenant: string;
}

export interface StoredConflict {
  id: string;
  tenant: string;
  collection: string;
  recordId: string;
  opId: string;
  /** What the client sent: a create, an update (changed fields) or a delete (no data). */
  opType: OpType;
  kind: ConflictKind;
  strategy: ConflictStrategy;
  outcome: ConflictOutcome;
  fields: string[];
  serverData: RecordData | null;
  serverVersion: number;
  /** The HLC of the server's latest change at detection: last-write-wins compares against it. */
  serverHlc: string;
  clientData: RecordData | null;
  clientHlc: string;
  baseVersion: number | null;
  userId: string;
  deviceId: string;
  createdAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
}

/** An op refused for good, with the data it carried (the rejection archive). */
export interface StoredRejection {
  id: string;
  tenant: string;
  opId: string;
  collection: string;
  recordId: string;
  opType: string;
  data: RecordData | null;
  baseVersion: number | null;
  error: OpError;
  conflictId: string | null;
  userId: string;
  deviceId: string;
  clientId: string;
  rejectedAt: string;
}

export interface RejectionFilter {
  collection?: string;
  recordId?: string;
  opId?: string;
  deviceId?: string;
  ids?: readonly string[];
}

/** The conflict's settled state, as a resolution found it and an undo puts it back. */
export interface ConflictState {
  strategy: ConflictStrategy;
  outcome: ConflictOutcome;
  resolvedAt: string | null;
  resolvedBy: string | null;
}

/** One resolution a person made, kept so the last one can be undone. */
export interface StoredResolution {
  id: string;
  conflictId: string;
  strategy: string;
  previous: ConflictState;
  /** The record before the resolution, or null when it left the record as it was. */
  recordBefore: RecordState | null;
  /** The version the resolution wrote, or null when it wrote none. */
  recordVersion: number | null;
  resolvedBy: string;
  resolvedAt: string;
}

/**
 * Which archive rows a caller may see: all of those in the collections they resolve, and their own
 * elsewhere; of their own conflicts, only those in collections they may read, since a conflict
 * holds the server's version of the record.
 */
export interface ConflictVisibility {
  userId: string;
  resolvable: readonly string[];
  readable: readonly string[];
}

export interface ConflictFilter {
  status?: 'open' | 'resolved';
  collection?: string;
  kind?: string;
  recordId?: string;
  ids?: readonly string[];
}

export interface StoredUser {
  id: string;
  tenant: string;
  email: string;
  passwordHash: string;
  roles: string[];
  /** How many times every session of the user was ended (POST /v1/auth/end-sessions). */
  sessionGeneration: number;
  /** When an administrator disabled them (decision 0044): a disabled person cannot sign in. */
  disabledAt: string | null;
  /** Signing in with a password an administrator set: they must choose their own (decision 0047). */
  passwordChangeDue: boolean;
}

export interface AuditEvent {
  tenant: string;
  at: string;
  userId: string;
  deviceId: string | null;
  /** Never `push-op`: push ops are in the op journal (decision 0004), which `listAudit` reads beside. */
  action: Exclude<AuditAction, 'push-op'>;
  collection: string | null;
  recordId: string | null;
  /** For a refused request: the route as registered (`GET /v1/conflicts/:id`), never the URL. */
  route?: string | null;
  outcome: string;
}

/** What `listAudit` lists by; every part optional. */
export interface AuditFilter {
  userId?: string;
  deviceId?: string;
  /** Absent: every action. `push-op` reads the op journal, the others the audit events. */
  actions?: readonly AuditAction[];
  collection?: string;
  recordId?: string;
  /** Any of these records (a record and those related to it: related-records.ts). */
  records?: readonly RecordKey[];
  /** Inclusive: ISO text in UTC, as stored. */
  from?: string;
  /** Exclusive. */
  to?: string;
}

/**
 * The last entry a page of the audit listed: the next page starts after it. Entries run newest
 * first by time; within one millisecond, push ops before audit events, then by op id or event
 * number, descending: a total order, so a page boundary never repeats or skips an entry.
 */
export type AuditPosition =
  { at: string; source: 'op'; opId: string } | { at: string; source: 'event'; seq: number };

/** One entry of the audit as `listAudit` reads it: an audit event, or a push op from the journal. */
export interface AuditEntry {
  source: 'event' | 'op';
  /** The audit event's number (source `event`). */
  seq?: number;
  /** The op's id (source `op`). */
  opId?: string;
  at: string;
  /** Empty where nobody was named. */
  userId: string;
  deviceId: string | null;
  action: string;
  /** The op's type as sent (source `op`). */
  opType?: string;
  collection: string | null;
  recordId: string | null;
  route: string | null;
  outcome: string;
}

/**
 * A push op's outcome as the audit says it: its status, and after a colon the refusal's code or the
 * conflict's outcome (`rejected:IMMUTABLE`, `conflict:open`, `applied:merged`). From the journal's
 * result, which keeps codes and outcomes and never the op's data (decision 0004).
 */
function opOutcome(status: string, result: string): string {
  let parsed: Partial<PushResult> = {};
  try {
    parsed = JSON.parse(result) as Partial<PushResult>;
  } catch {
    // A row no server wrote in this form: its status alone.
  }
  const code = parsed.error?.code;
  if (status === 'rejected' && typeof code === 'string') return `rejected:${code}`;
  const outcome = parsed.conflict?.outcome;
  return typeof outcome === 'string' ? `${status}:${outcome}` : status;
}

/** Whether `a` lists before `b` in the audit's order (newest first; see AuditPosition). */
function listsBefore(a: AuditEntry, b: AuditEntry): boolean {
  if (a.at !== b.at) return a.at > b.at;
  return a.source === 'op' && b.source === 'event';
}

/** Keeps IN lists and multi-row inserts well inside both engines' bound-parameter limits. */
const chunkSize = 1000;

function chunks<T>(items: readonly T[], size = chunkSize): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * What the journal keeps of an op's result: everything its own columns (op_id, collection,
 * record_id, status) do not already hold; for an applied op, only its version. Half the bytes of
 * the whole result, on every op of every push.
 */
function journalResult(result: PushResult): string {
  const { opId: _opId, collection: _collection, id: _id, status: _status, ...rest } = result;
  return JSON.stringify(rest);
}

/** An op's result from its journal row. Rows written before journalResult hold the whole result, which the columns repeat. */
function journaledResult(row: {
  op_id: string;
  collection: string;
  record_id: string;
  status: string;
  result: string;
}): PushResult {
  const {
    opId: _opId,
    collection: _collection,
    id: _id,
    status: _status,
    ...rest
  } = JSON.parse(row.result) as Partial<PushResult>;
  return {
    opId: row.op_id,
    status: row.status as PushResult['status'],
    collection: row.collection,
    id: row.record_id,
    ...rest,
  };
}

/**
 * A journal insert's values: what every op of one push shares (sent once), and each op's own.
 */
function journalRows(tenant: string, sender: OpSender, ops: readonly JournalEntry[]) {
  const shared = {
    tenant,
    client_id: sender.clientId,
    device_id: sender.deviceId,
    user_id: sender.userId,
    received_at: sender.receivedAt,
    duplicates: 0,
  };
  const rows = ops.map((o) => ({
    op_id: o.opId,
    collection: o.collection,
    record_id: o.recordId,
    op_type: o.type,
    status: o.result.status,
    result: journalResult(o.result),
    hlc: o.hlc ?? null,
  }));
  return { shared, rows };
}

/** A tenant's purge horizon and last position handed out (SyncStore.positions). */
export interface TenantPositions {
  /** Tombstones at or below this position were purged. */
  purgedThrough: number;
  /** The last change position handed out: no cursor this database issued is above it. */
  position: number;
}

export function recordKey(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}

function toRecord(row: Tables['records']): StoredRecord {
  return {
    collection: row.collection,
    id: row.id,
    data: JSON.parse(row.data) as RecordData,
    version: row.version,
    deleted: row.deleted === 1,
    fieldMeta: JSON.parse(row.field_meta) as FieldMeta,
    hlc: row.hlc,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
    position: row.position,
  };
}

function toConflict(row: Tables['conflicts']): StoredConflict {
  return {
    id: row.id,
    tenant: row.tenant,
    collection: row.collection,
    recordId: row.record_id,
    opId: row.op_id,
    opType: row.op_type as OpType,
    kind: row.kind as ConflictKind,
    strategy: row.strategy as ConflictStrategy,
    outcome: row.outcome as ConflictOutcome,
    fields: JSON.parse(row.fields) as string[],
    serverData: row.server_data === null ? null : (JSON.parse(row.server_data) as RecordData),
    serverVersion: row.server_version,
    serverHlc: row.server_hlc,
    clientData: row.client_data === null ? null : (JSON.parse(row.client_data) as RecordData),
    clientHlc: row.client_hlc,
    baseVersion: row.base_version,
    userId: row.user_id,
    deviceId: row.device_id,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
    resolvedBy: row.resolved_by,
  };
}

function toRejection(row: Tables['rejections']): StoredRejection {
  return {
    id: row.id,
    tenant: row.tenant,
    opId: row.op_id,
    collection: row.collection,
    recordId: row.record_id,
    opType: row.op_type,
    data: row.data === null ? null : (JSON.parse(row.data) as RecordData),
    baseVersion: row.base_version,
    error: JSON.parse(row.error) as OpError,
    conflictId: row.conflict_id,
    userId: row.user_id,
    deviceId: row.device_id,
    clientId: row.client_id,
    rejectedAt: row.rejected_at,
  };
}

/** A character JSON text cannot hold unescaped: a quote, a backslash or a control character. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const needsJsonEscape = /["\\\u0000-\u001f]/;

/**
 * Pull writes a record's collection, id, hlc and updatedAt into its JSON between quotes, unescaped
 * (escaping them in SQL was ~15% of a PostgreSQL pull's query). Every write path validates them
 * long before (record ids, collection names and HLCs have patterns of plain characters; updatedAt is
 * the server's ISO time), so this check never fires on a valid op; it is here so that no path,
 * present or future, can store a record whose pull would be broken JSON for every device.
 */
function refuseJsonEscapes(r: StoredRecord): void {
  for (const value of [r.collection, r.id, r.hlc, r.updatedAt]) {
    if (needsJsonEscape.test(value)) {
      throw outpostError(
        'VALIDATION_FAILED',
        'a record id, collection or hlc may not contain quotes, backslashes or control characters',
        {
          collection: r.collection.slice(0, 64),
          id: r.id.slice(0, 128),
        },
      );
    }
  }
}

/**
 * The writes of one tenant inside one transaction. It is created holding the tenant's position
 * lock (see SyncStore.write), so nothing else writes this tenant's records until it commits.
 */
export class TenantWrite {
  private position: number;
  private wroteRecords = false;

  constructor(
    private readonly trx: Transaction<Tables>,
    private readonly kind: DatabaseKind,
    readonly tenant: string,
    startPosition: number,
    private readonly lastReserved: number,
    private readonly inserts: CachedInserts,
    /** PostgreSQL: the change notice this transaction sends when it changes records (SyncStore.write). */
    private readonly notice: string | null = null,
    /**
     * The tenant's greatest conflict or rejection id, read with the lock: ids made in this
     * transaction must sort after it, whatever this host's clock says, so that a listing's
     * cursor never passes an entry made after it (see recordArchiveIds).
     */
    readonly lastArchiveId = '',
  ) {
    this.position = startPosition;
  }

  /** True once writePush sent the change notice: SyncStore.write need not send it again. */
  noticeSent = false;

  /** The next change position; positions are only ever handed out under the tenant lock. */
  nextPosition(): number {
    if (this.position >= this.lastReserved) throw new Error('more changes than positions reserved');
    this.position += 1;
    return this.position;
  }

  async loadOps(opIds: readonly string[]): Promise<Map<string, StoredOp>> {
    const found = new Map<string, StoredOp>();
    for (const part of chunks([...new Set(opIds)])) {
      const rows = await rowsByKey(this.trx, this.kind, 'ops', { tenant: this.tenant }, 'op_id', part);
      for (const row of rows) {
        found.set(row.op_id, {
          tenant: row.tenant,
          opId: row.op_id,
          clientId: row.client_id,
          deviceId: row.device_id,
          userId: row.user_id,
          collection: row.collection,
          recordId: row.record_id,
          type: row.op_type,
          result: journaledResult(row),
          receivedAt: row.received_at,
        });
      }
    }
    return found;
  }

  async countDuplicates(opIds: readonly string[]): Promise<void> {
    const counts = new Map<string, number>();
    for (const id of opIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    // A resent push repeats each opId once: group by count so that is one statement, not one per op.
    const byCount = new Map<number, string[]>();
    for (const [opId, n] of counts) byCount.set(n, [...(byCount.get(n) ?? []), opId]);
    for (const [n, ids] of byCount) {
      for (const part of chunks(ids)) {
        await this.trx
          .updateTable('ops')
          .set((eb) => ({ duplicates: eb('duplicates', '+', n) }))
          .where('tenant', '=', this.tenant)
          .where('op_id', 'in', part)
          .execute();
      }
    }
  }

  async loadTempIds(clientId: string, tempIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const part of chunks([...new Set(tempIds)])) {
      const rows = await rowsByKey(
        this.trx,
        this.kind,
        'temp_ids',
        { tenant: this.tenant, client_id: clientId },
        'temp_id',
        part,
      );
      for (const row of rows) found.set(row.temp_id, row.real_id);
    }
    return found;
  }

  async loadRecords(
    keys: ReadonlyArray<{ collection: string; id: string }>,
  ): Promise<Map<string, StoredRecord>> {
    return loadRecords(this.trx, this.kind, this.tenant, keys);
  }

  /** Reserves `count` new server ids in a collection; returns the first. Unused ones leave harmless gaps. */
  async reserveIds(collection: string, count: number): Promise<number> {
    await this.trx
      .insertInto('id_counters')
      .values({ tenant: this.tenant, collection, last_id: 0 })
      .onConflict((oc) => oc.columns(['tenant', 'collection']).doNothing())
      .execute();
    const row = await this.trx
      .updateTable('id_counters')
      .set((eb) => ({ last_id: eb('last_id', '+', count) }))
      .where('tenant', '=', this.tenant)
      .where('collection', '=', collection)
      .returning('last_id')
      .executeTakeFirstOrThrow();
    return row.last_id - count + 1;
  }

  /**
   * The transaction itself, for a dialect's own tables that must change with the records (the
   * hub's queue and its view of the upstream): the same lock, the same commit. Records are still
   * written through writeRecords, whose check pull depends on.
   */
  get transaction(): Transaction<Tables> {
    return this.trx;
  }

  /** True once this transaction wrote a record: a pull would now find something new. */
  get changedRecords(): boolean {
    return this.wroteRecords;
  }

  /** Every record write passes here first: pull's JSON depends on the check (refuseJsonEscapes). */
  private admit(records: readonly StoredRecord[]): void {
    for (const r of records) refuseJsonEscapes(r);
    if (records.length > 0) this.wroteRecords = true;
  }

  async writeRecords(records: readonly StoredRecord[]): Promise<void> {
    this.admit(records);
    if (records.length === 0) return;
    if (this.kind === 'postgres') {
      await upsertRecordsPostgres(this.tenant, records).execute(this.trx);
      return;
    }
    for (const part of chunks(records)) {
      const rows = part.map((r) => ({
        tenant: this.tenant,
        collection: r.collection,
        id: r.id,
        data: JSON.stringify(r.data),
        version: r.version,
        field_meta: JSON.stringify(r.fieldMeta),
        deleted: r.deleted ? 1 : 0,
        hlc: r.hlc,
        updated_at: r.updatedAt,
        updated_by: r.updatedBy,
        position: r.position,
      }));
      await this.inserts.run(this.trx, 'records', rows, (values) =>
        this.trx
          .insertInto('records')
          .values([...values])
          .onConflict((oc) =>
            oc.columns(['tenant', 'collection', 'id']).doUpdateSet((eb) => ({
              data: eb.ref('excluded.data'),
              version: eb.ref('excluded.version'),
              field_meta: eb.ref('excluded.field_meta'),
              deleted: eb.ref('excluded.deleted'),
              hlc: eb.ref('excluded.hlc'),
              updated_at: eb.ref('excluded.updated_at'),
              updated_by: eb.ref('excluded.updated_by'),
              position: eb.ref('excluded.position'),
            })),
          ),
      );
    }
  }

  /**
   * A push's usual writes: its ops journaled, skipping any whose opId the journal already holds,
   * its records written, the device's last sync touched. Returns how many ops it journaled; a push
   * compares that with how many it sent (see applyPush): the journal's key is what makes an op
   * apply at most once. On PostgreSQL that is one statement, carrying the change notice too
   * (push-writes.ts); on SQLite, in process, one statement each. When the journal refused an op,
   * whether the records were written is left open: the caller rolls the transaction back.
   */
  async writePush(
    sender: OpSender,
    ops: readonly JournalEntry[],
    records: readonly StoredRecord[],
  ): Promise<number> {
    if (this.kind === 'sqlite') {
      let journaled = 0;
      for (const part of chunks(ops)) {
        const { shared, rows } = journalRows(this.tenant, sender, part);
        journaled += await insertNewSharingSqlite(this.trx, this.inserts, 'ops', shared, rows);
      }
      if (journaled === ops.length) await this.writeRecords(records);
      await this.touchDevice(sender.userId, sender.deviceId, sender.receivedAt);
      return journaled;
    }
    this.admit(records);
    const notice =
      records.length > 0 && this.notice !== null ? { channel: changesChannel, payload: this.notice } : null;
    const journal = ops.length > 0 ? journalRows(this.tenant, sender, ops) : null;
    const { rows } = await pushWritesPostgres({
      journal: journal && insertSharingPostgres('ops', journal.shared, journal.rows),
      records: records.length > 0 ? upsertRecordsPostgres(this.tenant, records) : null,
      device: touchDeviceSql(this.tenant, sender.userId, sender.deviceId, sender.receivedAt),
      notice,
    }).execute(this.trx);
    if (notice) this.noticeSent = true;
    return rows[0]?.journaled ?? 0;
  }

  /**
   * The records already given back for lost numbers (decision 0051), by `collection\u0000lostId`,
   * for the restored database whose epoch is `epoch`.
   */
  async loadRestoredNumbers(
    epoch: string,
    keys: ReadonlyArray<{ collection: string; lostId: string }>,
  ): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const collection of new Set(keys.map((k) => k.collection))) {
      const lost = [...new Set(keys.filter((k) => k.collection === collection).map((k) => k.lostId))];
      for (const part of chunks(lost)) {
        const rows = await this.trx
          .selectFrom('restored_numbers')
          .select(['lost_id', 'id'])
          .where('tenant', '=', this.tenant)
          .where('collection', '=', collection)
          .where('epoch', '=', epoch)
          .where('lost_id', 'in', part)
          .execute();
        for (const row of rows) found.set(`${collection}\u0000${row.lost_id}`, row.id);
      }
    }
    return found;
  }

  async writeRestoredNumbers(
    epoch: string,
    rows: ReadonlyArray<{ collection: string; lostId: string; id: string }>,
  ): Promise<void> {
    for (const part of chunks(rows)) {
      await this.trx
        .insertInto('restored_numbers')
        .values(
          part.map((r) => ({
            tenant: this.tenant,
            collection: r.collection,
            epoch,
            lost_id: r.lostId,
            id: r.id,
          })),
        )
        .execute();
    }
  }

  async writeTempIds(
    clientId: string,
    mappings: ReadonlyArray<{ collection: string; tempId: string; id: string }>,
  ) {
    for (const part of chunks(mappings)) {
      await this.trx
        .insertInto('temp_ids')
        .values(
          part.map((m) => ({
            tenant: this.tenant,
            client_id: clientId,
            temp_id: m.tempId,
            collection: m.collection,
            real_id: m.id,
          })),
        )
        .execute();
    }
  }

  async writeConflicts(conflicts: readonly StoredConflict[]): Promise<void> {
    for (const part of chunks(conflicts, 500)) {
      await this.trx
        .insertInto('conflicts')
        .values(
          part.map((c) => ({
            id: c.id,
            tenant: c.tenant,
            collection: c.collection,
            record_id: c.recordId,
            op_id: c.opId,
            op_type: c.opType,
            kind: c.kind,
            strategy: c.strategy,
            outcome: c.outcome,
            fields: JSON.stringify(c.fields),
            server_data: c.serverData === null ? null : JSON.stringify(c.serverData),
            server_version: c.serverVersion,
            server_hlc: c.serverHlc,
            client_data: c.clientData === null ? null : JSON.stringify(c.clientData),
            client_hlc: c.clientHlc,
            base_version: c.baseVersion,
            user_id: c.userId,
            device_id: c.deviceId,
            created_at: c.createdAt,
            resolved_at: c.resolvedAt,
            resolved_by: c.resolvedBy,
          })),
        )
        .execute();
    }
  }

  async writeRejections(rejections: readonly StoredRejection[]): Promise<void> {
    for (const part of chunks(rejections, 500)) {
      await this.trx
        .insertInto('rejections')
        .values(
          part.map((r) => ({
            id: r.id,
            tenant: r.tenant,
            op_id: r.opId,
            collection: r.collection,
            record_id: r.recordId,
            op_type: r.opType,
            data: r.data === null ? null : JSON.stringify(r.data),
            base_version: r.baseVersion,
            error: JSON.stringify(r.error),
            conflict_id: r.conflictId,
            user_id: r.userId,
            device_id: r.deviceId,
            client_id: r.clientId,
            rejected_at: r.rejectedAt,
          })),
        )
        .execute();
    }
  }

  /** Keeps `id`, the greatest archive id this transaction wrote, as the tenant's last. */
  async recordArchiveIds(id: string): Promise<void> {
    await this.trx
      .updateTable('tenant_state')
      .set({ last_archive_id: id })
      .where('tenant', '=', this.tenant)
      .execute();
  }

  /** The errors the rejection archive holds for these opIds, by opId. */
  async loadRefusals(opIds: readonly string[]): Promise<Map<string, OpError>> {
    const found = new Map<string, OpError>();
    for (const part of chunks([...new Set(opIds)])) {
      const rows = await this.trx
        .selectFrom('rejections')
        .select(['op_id', 'error'])
        .where('tenant', '=', this.tenant)
        .where('op_id', 'in', part)
        .execute();
      for (const row of rows) found.set(row.op_id, JSON.parse(row.error) as OpError);
    }
    return found;
  }

  /** Of these temp ids, those whose create this client sent and the server refused. */
  async rejectedCreates(clientId: string, tempIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const part of chunks(tempIds)) {
      const rows = await this.trx
        .selectFrom('rejections')
        .select('record_id')
        .where('tenant', '=', this.tenant)
        .where('client_id', '=', clientId)
        .where('op_type', '=', 'create')
        .where('record_id', 'in', part)
        .execute();
      for (const r of rows) out.add(r.record_id);
    }
    return out;
  }

  async touchDevice(userId: string, deviceId: string, at: string): Promise<void> {
    await touchDevice(this.trx, this.tenant, userId, deviceId, at);
  }

  async loadConflicts(ids: readonly string[]): Promise<Map<string, StoredConflict>> {
    const found = new Map<string, StoredConflict>();
    for (const part of chunks([...new Set(ids)])) {
      const rows = await this.trx
        .selectFrom('conflicts')
        .selectAll()
        .where('tenant', '=', this.tenant)
        .where('id', 'in', part)
        .execute();
      for (const row of rows) found.set(row.id, toConflict(row));
    }
    return found;
  }

  async setConflictState(id: string, state: ConflictState): Promise<void> {
    await this.trx
      .updateTable('conflicts')
      .set({
        strategy: state.strategy,
        outcome: state.outcome,
        resolved_at: state.resolvedAt,
        resolved_by: state.resolvedBy,
      })
      .where('tenant', '=', this.tenant)
      .where('id', '=', id)
      .execute();
  }

  /** The ids of conflicts matching a filter, oldest first. */
  async conflictIds(
    filter: ConflictFilter,
    visibility: ConflictVisibility,
    limit: number,
  ): Promise<string[]> {
    const rows = await conflictQuery(this.trx, this.tenant, filter, visibility)
      .select('id')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async insertResolution(r: StoredResolution): Promise<void> {
    await this.trx
      .insertInto('conflict_resolutions')
      .values({
        id: r.id,
        tenant: this.tenant,
        conflict_id: r.conflictId,
        strategy: r.strategy,
        previous: JSON.stringify(r.previous),
        record_before: r.recordBefore === null ? null : JSON.stringify(r.recordBefore),
        record_version: r.recordVersion,
        resolved_by: r.resolvedBy,
        resolved_at: r.resolvedAt,
        undone_at: null,
        undone_by: null,
      })
      .execute();
  }

  /** The conflict's latest resolution that has not been undone. */
  async lastResolution(conflictId: string): Promise<StoredResolution | null> {
    const row = await this.trx
      .selectFrom('conflict_resolutions')
      .selectAll()
      .where('tenant', '=', this.tenant)
      .where('conflict_id', '=', conflictId)
      .where('undone_at', 'is', null)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) return null;
    return {
      id: row.id,
      conflictId: row.conflict_id,
      strategy: row.strategy,
      previous: JSON.parse(row.previous) as ConflictState,
      recordBefore: row.record_before === null ? null : (JSON.parse(row.record_before) as RecordState),
      recordVersion: row.record_version,
      resolvedBy: row.resolved_by,
      resolvedAt: row.resolved_at,
    };
  }

  async markUndone(resolutionId: string, at: string, by: string): Promise<void> {
    await this.trx
      .updateTable('conflict_resolutions')
      .set({ undone_at: at, undone_by: by })
      .where('tenant', '=', this.tenant)
      .where('id', '=', resolutionId)
      .execute();
  }

  async audit(events: readonly AuditEvent[]): Promise<void> {
    await insertAudit(this.trx, events);
  }
}

/**
 * Who may read an archive row (a conflict or a rejection): both hold patient data, so only those
 * who resolve its collection, or whose own op it was, see it. A conflict also holds the record as
 * the server had it, so its own op's author sees it only where their role may read that record: a
 * role that may create patients but not read them (an intake kiosk) learns nothing of a stored
 * patient through a create that collided with it. A rejection holds only what its sender sent.
 */
function visibleTo(
  { userId, resolvable, readable }: ConflictVisibility,
  row: 'conflict' | 'rejection',
): RawBuilder<SqlBool> {
  const own =
    row === 'rejection'
      ? sql<SqlBool>`${sql.ref('user_id')} = ${userId}`
      : readable.length > 0
        ? sql<SqlBool>`(${sql.ref('user_id')} = ${userId} and ${sql.ref('collection')} in (${sql.join(readable)}))`
        : sql<SqlBool>`1 = 0`;
  return resolvable.length > 0
    ? sql<SqlBool>`(${sql.ref('collection')} in (${sql.join(resolvable)}) or ${own})`
    : own;
}

function conflictQuery(db: Db, tenant: string, filter: ConflictFilter, visibility: ConflictVisibility) {
  let query = db.selectFrom('conflicts').where('tenant', '=', tenant);
  if (filter.status === 'open') query = query.where('outcome', '=', 'open');
  if (filter.status === 'resolved') query = query.where('outcome', '!=', 'open');
  if (filter.collection !== undefined) query = query.where('collection', '=', filter.collection);
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
  if (filter.recordId !== undefined) query = query.where('record_id', '=', filter.recordId);
  if (filter.ids !== undefined) query = query.where('id', 'in', [...filter.ids]);
  return query.where(visibleTo(visibility, 'conflict'));
}

function rejectionQuery(db: Db, tenant: string, filter: RejectionFilter, visibility: ConflictVisibility) {
  let query = db.selectFrom('rejections').where('tenant', '=', tenant);
  if (filter.collection !== undefined) query = query.where('collection', '=', filter.collection);
  if (filter.recordId !== undefined) query = query.where('record_id', '=', filter.recordId);
  if (filter.opId !== undefined) query = query.where('op_id', '=', filter.opId);
  if (filter.deviceId !== undefined) query = query.where('device_id', '=', filter.deviceId);
  if (filter.ids !== undefined) query = query.where('id', 'in', [...filter.ids]);
  return query.where(visibleTo(visibility, 'rejection'));
}

async function loadRecords(
  db: Db,
  kind: DatabaseKind,
  tenant: string,
  keys: ReadonlyArray<{ collection: string; id: string }>,
): Promise<Map<string, StoredRecord>> {
  const byCollection = new Map<string, Set<string>>();
  for (const k of keys) {
    let ids = byCollection.get(k.collection);
    if (!ids) byCollection.set(k.collection, (ids = new Set()));
    ids.add(k.id);
  }
  const found = new Map<string, StoredRecord>();
  for (const [collection, ids] of byCollection) {
    for (const part of chunks([...ids])) {
      const rows = await rowsByKey(db, kind, 'records', { tenant, collection }, 'id', part);
      for (const row of rows) found.set(recordKey(row.collection, row.id), toRecord(row));
    }
  }
  return found;
}

async function touchDevice(
  db: Db,
  tenant: string,
  userId: string,
  deviceId: string,
  at: string,
): Promise<void> {
  await touchDeviceSql(tenant, userId, deviceId, at).execute(db);
}

/**
 * Within a purge's transaction, before its tombstones go: drops the files attached to the
 * tombstones at or below `horizon`, description rows first (which a chunk under way waits for, or
 * finds gone), then their chunks, and audits each. Read by the record the tombstone names, so a
 * file of a record that never existed stays. Returns how many files went.
 */
async function dropFilesOfPurged(db: Db, tenant: string, horizon: number, at: string): Promise<number> {
  const dropped = await db
    .deleteFrom('files')
    .where('files.tenant', '=', tenant)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('records')
          .select('records.id')
          .whereRef('records.tenant', '=', 'files.tenant')
          .whereRef('records.collection', '=', 'files.collection')
          .whereRef('records.id', '=', 'files.record_id')
          .where('records.deleted', '=', 1)
          .where('records.position', '<=', horizon),
      ),
    )
    .returning(['files.id', 'files.collection', 'files.record_id'])
    .execute();
  if (dropped.length === 0) return 0;
  for (const part of chunks(dropped.map((f) => f.id))) {
    await db.deleteFrom('file_chunks').where('tenant', '=', tenant).where('file_id', 'in', part).execute();
  }
  await insertAudit(
    db,
    dropped.map((f) => ({
      tenant,
      at,
      userId: '',
      deviceId: null,
      action: 'file-delete' as const,
      collection: f.collection,
      recordId: f.record_id,
      outcome: 'purged',
    })),
  );
  return dropped.length;
}

/** Writes audit events with `db`, a transaction's when they go with its writes. */
export async function insertAudit(db: Db, events: readonly AuditEvent[]): Promise<void> {
  for (const part of chunks(events, 500)) {
    await db
      .insertInto('audit_events')
      .values(
        part.map((e) => ({
          tenant: e.tenant,
          at: e.at,
          user_id: e.userId,
          device_id: e.deviceId,
          action: e.action,
          collection: e.collection,
          record_id: e.recordId,
          route: e.route ?? null,
          outcome: e.outcome,
        })),
      )
      .execute();
  }
}

/** A changed record as pull sends it. `dataJson` stays the stored text: pull never re-parses it. */
export interface PulledRecord {
  collection: string;
  id: string;
  version: number;
  deleted: boolean;
  dataJson: string;
  updatedAt: string;
  hlc: string;
  position: number;
}

export interface PullPage {
  records: PulledRecord[];
  hasMore: boolean;
}

export interface OpCounts {
  applied: number;
  conflict: number;
  rejected: number;
  pending: number;
  duplicate: number;
  total: number;
}

export interface DeviceActivity {
  userId: string;
  /** The user's sign-in email; null when the user is no longer stored. */
  email: string | null;
  deviceId: string;
  lastSyncAt: string | null;
  /** Since when the device is out of use (decision 0057): null when it is in use. */
  outOfUseSince: string | null;
  openConflicts: number;
  counts: OpCounts;
}

/** Adds one grouped row of the ops journal (a status, its count and its repeats) to the counts. */
function addCount(
  counts: OpCounts,
  row: { status: string; n: string | number | bigint; dups: string | number | bigint | null },
): void {
  const n = Number(row.n);
  counts.total += n;
  counts.duplicate += Number(row.dups ?? 0);
  if (
    row.status === 'applied' ||
    row.status === 'conflict' ||
    row.status === 'rejected' ||
    row.status === 'pending'
  ) {
    counts[row.status] += n;
  }
}

export interface SyncStoreOptions {
  /** Told of failures of the store's own background work (the LISTEN connection), which has no caller. */
  onBackgroundError?: (err: Error, message: string) => void;
}

/**
 * The one SQL store, written once over Kysely for SQLite and PostgreSQL. Every method is scoped
 * to a tenant passed in by the caller, which takes it from the verified token and nowhere else.
 */
export class SyncStore {
  private readonly inserts = new CachedInserts();
  private readonly changeListeners = new Set<ChangeListener>();
  private listening: Listening | null = null;
  /** Numbers for the sets of collections devices may read. */
  readonly readScopes: ReadScopes;
  /** The refresh tokens of this server's logins (decision 0032). */
  readonly refreshTokens: RefreshTokenStore;
  /** Each clinic's own settings: its alert thresholds (decision 0042). */
  readonly tenantSettings: TenantSettingsStore;
  /** Each clinic's people, as its administrators manage them (decision 0044). */
  readonly people: PeopleStore;
  /** The names each clinic gives its devices (decision 0056). */
  readonly deviceNames: DeviceNamesStore;
  /** The devices each clinic took out of use (decision 0057). */
  readonly deviceUse: DeviceUseStore;
  private epochRead: Promise<DatabaseEpoch> | null = null;

  constructor(
    private readonly database: Database,
    private readonly options: SyncStoreOptions = {},
  ) {
    this.readScopes = new ReadScopes(database.db);
    this.refreshTokens = new RefreshTokenStore(database.db);
    this.tenantSettings = new TenantSettingsStore(database.db);
    this.people = new PeopleStore(database.db, database.kind);
    this.deviceNames = new DeviceNamesStore(database.db);
    this.deviceUse = new DeviceUseStore(database.db);
  }

  /**
   * Whether change notices travel through the database (PostgreSQL's NOTIFY, heard by every server
   * instance on it) rather than within this process (SQLite, which one process owns).
   */
  private get noticesThroughDatabase(): boolean {
    return this.database.listen !== undefined;
  }

  /**
   * Calls `listener` after every committed write that changed records or files (`subject`), made
   * by this server or, on PostgreSQL, by any server instance on the same database. Returns the
   * unsubscribe.
   */
  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    void this.listenForChanges();
    return () => this.changeListeners.delete(listener);
  }

  /**
   * On PostgreSQL, starts hearing other instances' notices (once; later calls wait for the same
   * start). The server starts it before it takes connections, so the first stream misses nothing.
   */
  listenForChanges(): Promise<void> {
    if (!this.database.listen) return Promise.resolve();
    this.listening ??= this.database.listen(changesChannel, {
      notice: (payload) => {
        const notice = decodeNotice(payload);
        if (notice) this.announce(notice);
      },
      // Whatever was committed before LISTEN was in place was never heard.
      listening: () => this.announce({ tenant: null }),
      error: (err) =>
        this.options.onBackgroundError?.(err, 'change notices: the LISTEN connection failed; retrying'),
    });
    return this.listening.ready;
  }

  private announce(notice: ChangeNotice): void {
    for (const listener of [...this.changeListeners]) listener(notice);
  }

  /**
   * Runs `fn` in a transaction that may change `tenant`'s files. When `fn` calls `changed()` (a file
   * became complete, or went), the tenant's live streams hear a files notice once the transaction
   * commits, and never if it rolls back: on PostgreSQL through NOTIFY sent within it, so every
   * instance hears it; on SQLite after the commit, in this process. `origin` is the client
   * installation whose request it was, so it is not told of what it did itself.
   */
  async writeFiles<T>(
    tenant: string,
    origin: string | undefined,
    fn: (trx: Transaction<Tables>, changed: () => void) => Promise<T>,
  ): Promise<T> {
    const notice: ChangeNotice = { tenant, ...(origin !== undefined ? { origin } : {}), subject: 'files' };
    let changed = false;
    const result = await this.database.db.transaction().execute(async (trx) => {
      const out = await fn(trx, () => {
        changed = true;
      });
      if (changed) await this.notifyWithin(trx, notice);
      return out;
    });
    if (changed) this.announceCommitted(notice);
    return result;
  }

  /** On PostgreSQL, `notice` by NOTIFY within `trx`: delivered when, and only if, `trx` commits. */
  private async notifyWithin(trx: Transaction<Tables>, notice: ChangeNotice): Promise<void> {
    if (this.noticesThroughDatabase)
      await sql`select pg_notify(${changesChannel}, ${encodeNotice(notice)})`.execute(trx);
  }

  /** On SQLite, `notice` told to this process's streams, its transaction committed. */
  private announceCommitted(notice: ChangeNotice): void {
    if (!this.noticesThroughDatabase) this.announce(notice);
  }

  /**
   * The query builder over the store's own connection, for the dialects' tables that live beside
   * the engine's (seed 000's queue): one pool, one transaction discipline, no second connection.
   */
  get db(): Kysely<Tables> {
    return this.database.db;
  }

  get kind(): DatabaseKind {
    return this.database.kind;
  }

  /**
   * The database's epoch (decision 0050), which the pull cursors it issues carry. Read once, for
   * the server's life: it changes only while no server runs on the database (a restore, or
   * `npm run mark-restored`). A failed read is not remembered.
   */
  epoch(): Promise<DatabaseEpoch> {
    this.epochRead ??= readEpoch(this.database.db).catch((err: unknown) => {
      this.epochRead = null;
      throw err;
    });
    return this.epochRead;
  }

  /** A record and the records that name it, transitively, for its audit history (related-records.ts). */
  relatedRecords(
    tenant: string,
    schema: Schema,
    root: RecordKey,
  ): Promise<{ records: RecordKey[]; truncated: boolean }> {
    return relatedRecords(this.database.db, this.database.kind, tenant, schema, root);
  }

  /**
   * Runs `fn` in a transaction that holds the tenant's position lock.
   *
   * Why pull is gap-free: every change takes its position from tenant_state while this
   * transaction holds that row locked (the upsert below takes the row lock on PostgreSQL and the
   * write lock on SQLite), and the lock is held until commit. So within a tenant, positions are handed
   * out in commit order: a transaction that has not committed yet can only ever commit positions
   * above every position already visible. A pull reads one snapshot and returns positions in
   * order, so its cursor never passes a change that could still appear below it. The price is
   * that pushes of one tenant write one at a time; pushes of different tenants run in parallel.
   */
  async write<T>(
    tenant: string,
    changes: number,
    fn: (w: TenantWrite) => Promise<T>,
    /** The client installation whose push this is: told apart in the change notice. */
    origin?: string,
  ): Promise<T> {
    const notice: ChangeNotice = origin === undefined ? { tenant } : { tenant, origin };
    // PostgreSQL's NOTIFY payload: sent with a push's writes (writePush), or below.
    const payload = this.noticesThroughDatabase ? encodeNotice(notice) : null;
    let changed = false;
    const result = await this.database.db.transaction().execute(async (trx) => {
      // One statement takes the lock and reserves positions for at most `changes` records;
      // positions left unused are gaps, which pull does not mind (it never expects density).
      const reserved = await trx
        .insertInto('tenant_state')
        .values({ tenant, position: changes, purged_through: 0 })
        .onConflict((oc) =>
          oc.column('tenant').doUpdateSet((eb) => ({ position: eb('tenant_state.position', '+', changes) })),
        )
        .returning(['position', 'last_archive_id'])
        .executeTakeFirstOrThrow();
      const w = new TenantWrite(
        trx,
        this.kind,
        tenant,
        reserved.position - changes,
        reserved.position,
        this.inserts,
        payload,
        reserved.last_archive_id ?? '',
      );
      const out = await fn(w);
      changed = w.changedRecords;
      // PostgreSQL delivers a NOTIFY when, and only if, this transaction commits.
      if (changed && payload !== null && !w.noticeSent)
        await sql`select pg_notify(${changesChannel}, ${payload})`.execute(trx);
      return out;
    });
    if (changed && payload === null) this.announce(notice);
    return result;
  }

  /** Changed records after a position, in position order. Each record appears once, at its latest state. */
  async pull(
    tenant: string,
    after: number,
    limit: number,
    collections?: readonly string[],
    /** The collections are every one the tenant's schema has: the filter keeps (nearly) every row. */
    everyCollection = false,
  ): Promise<PullPage> {
    if (collections && collections.length === 0) return { records: [], hasMore: false };
    const read = (db: Db) => {
      let query = db
        .selectFrom('records')
        .select(['collection', 'id', 'version', 'deleted', 'data', 'updated_at', 'hlc', 'position'])
        .where('tenant', '=', tenant)
        .where('position', '>', after);
      if (collections) query = query.where('collection', 'in', [...collections]);
      return query
        .orderBy('position')
        .limit(limit + 1)
        .execute();
    };
    const rows = await this.readPage(read, collections, everyCollection);
    return {
      records: rows.slice(0, limit).map((r) => ({
        collection: r.collection,
        id: r.id,
        version: r.version,
        deleted: r.deleted === 1,
        dataJson: r.data,
        updatedAt: r.updated_at,
        hlc: r.hlc,
        position: r.position,
      })),
      hasMore: rows.length > limit,
    };
  }

  /**
   * The same page as `pull`, as the JSON text of v1's pull changes (pullResponseSchema's, joined by
   * commas), written by the database in one piece: each row's stored data goes in as it is, never
   * parsed, and the page comes back as one row rather than a row per change. Reading eight columns
   * into an object per change and serialising it again was most of a pull's own work; a row per
   * change, joined here, was still a third of what remained.
   *
   * The changes within a page come in the order the database read them (position order, in
   * practice), which nothing relies on: a page holds each record at most once, a client applies it
   * whole, and the cursor after it is its highest position, whatever the order.
   */
  async pullChanges(
    tenant: string,
    after: number,
    limit: number,
    collections?: readonly string[],
    /** The collections are every one the tenant's schema has: the filter keeps (nearly) every row. */
    everyCollection = false,
  ): Promise<{
    /** The page's changes as UTF-8 JSON text, joined by commas: what goes between `[` and `]`. */
    changes: Buffer;
    last: number | null;
    hasMore: boolean;
    horizon: number | null;
  }> {
    if (collections && collections.length === 0)
      return { changes: Buffer.alloc(0), last: null, hasMore: false, horizon: null };
    // Between quotes as they are: writeRecords refused any value that JSON would need escaped.
    const quoted = (column: 'collection' | 'id' | 'updated_at' | 'hlc') =>
      sql<string>`'"' || ${sql.ref(column)} || '"'`;
    const change = sql<string>`'{"collection":' || ${quoted('collection')} || ',"id":' || ${quoted('id')}
      || ',"version":' || ${sql.ref('version')}
      || ',"deleted":' || case when ${sql.ref('deleted')} = 1 then 'true,"data":null' else 'false,"data":' || ${sql.ref('data')} end
      || ',"updatedAt":' || ${quoted('updated_at')} || ',"hlc":' || ${quoted('hlc')} || '}'`;
    // A filter naming every collection keeps (nearly) every row, so it is applied to the page's
    // text, not to the rows read, where PostgreSQL tested it on every row and where it tempted the
    // planner to the primary key. A row it leaves out still moves the cursor: it was never the
    // caller's to see.
    const inSql = collections && !everyCollection ? [...collections] : null;
    const shown = everyCollection && collections ? [...collections] : null;
    const read = (db: Db) => {
      let rows = db
        .selectFrom('records')
        .select(['collection', 'id', 'version', 'deleted', 'data', 'updated_at', 'hlc', 'position'])
        .where('tenant', '=', tenant)
        .where('position', '>', after);
      if (inSql) rows = rows.where('collection', 'in', inSql);
      const text = shown
        ? sql<string>`case when ${sql.ref('collection')} in (${sql.join(shown)}) then ${change} end`
        : change;
      const page = db.selectFrom(rows.orderBy('position').limit(limit).as('page')).select([
        joined(this.kind, text).as('changes'),
        sql<number | null>`max(${sql.ref('position')})`.as('last'),
        // The tenant's purge horizon, read in the page's own snapshot.
        (eb) =>
          eb.selectFrom('tenant_state').select('purged_through').where('tenant', '=', tenant).as('horizon'),
      ]);
      // The first position past the page, if any: one probe of the index, in the same snapshot.
      // Ordered, so that PostgreSQL walks the index: unordered, it scanned the table from its start.
      return db
        .selectFrom(page.as('p'))
        .selectAll('p')
        .select((eb) => {
          let later = eb
            .selectFrom('records')
            .select('position')
            .where('tenant', '=', tenant)
            .whereRef('position', '>', 'p.last');
          if (inSql) later = later.where('collection', 'in', inSql);
          return later.orderBy('position').limit(1).as('next');
        })
        .executeTakeFirstOrThrow();
    };
    const page = await this.readPage(read, collections, everyCollection);
    return {
      changes:
        typeof page.changes === 'string' ? Buffer.from(page.changes) : (page.changes ?? Buffer.alloc(0)),
      last: page.last,
      hasMore: page.next !== null,
      // A record exists only after a push made the tenant's row: no row reads as nothing purged.
      horizon: page.last === null ? null : (page.horizon ?? 0),
    };
  }

  /**
   * Runs a page read of `pull` or `pullChanges`: in the index's position order when the page keeps
   * (nearly) every row (no filter, or one naming every collection), else as the planner chooses.
   */
  private readPage<T>(
    read: (db: Db) => Promise<T>,
    collections: readonly string[] | undefined,
    everyCollection: boolean,
  ): Promise<T> {
    return !collections || everyCollection ? inPositionOrder(this.database, read) : read(this.database.db);
  }

  /**
   * Which of `collections` hold a record or tombstone at or below `position`: what a cursor at
   * `position` that did not read them has passed by for good. One probe per collection, read only
   * when a pull reads collections its cursor did not, which is rare.
   */
  async collectionsHeldThrough(
    tenant: string,
    collections: readonly string[],
    position: number,
  ): Promise<string[]> {
    const held: string[] = [];
    for (const collection of collections) {
      const row = await this.database.db
        .selectFrom('records')
        .select('position')
        .where('tenant', '=', tenant)
        .where('collection', '=', collection)
        .where('position', '<=', position)
        .limit(1)
        .executeTakeFirst();
      if (row) held.push(collection);
    }
    return held;
  }

  /**
   * Where a tenant's changes stand: the purge horizon, and the last position handed out. No row
   * (nothing ever written) reads as nothing purged and nothing handed out.
   */
  async positions(tenant: string): Promise<TenantPositions> {
    const row = await this.database.db
      .selectFrom('tenant_state')
      .select(['purged_through', 'position'])
      .where('tenant', '=', tenant)
      .executeTakeFirst();
    return { purgedThrough: row?.purged_through ?? 0, position: row?.position ?? 0 };
  }

  /**
   * Removes tombstones last changed before `before` and raises each tenant's purge horizon, so a
   * cursor that could have missed one of them is told to resync instead of silently keeping a
   * record that was deleted. The files attached to those records go in the same transaction,
   * descriptions and chunks (decision 0022), each audited as `file-delete`, outcome `purged`, by
   * no user (`at` is when), and told to the tenant's live streams as a files notice. A file whose
   * record never existed here is left alone: its record's create may still be on its way
   * (decision 0016).
   */
  async purgeTombstones(before: string, at: string = new Date().toISOString()): Promise<number> {
    const horizons = await this.database.db
      .selectFrom('records')
      .select(['tenant'])
      .select((eb) => eb.fn.max('position').as('max_position'))
      .where('deleted', '=', 1)
      .where('updated_at', '<', before)
      .groupBy('tenant')
      .execute();
    let purged = 0;
    for (const { tenant, max_position } of horizons) {
      const horizon = Number(max_position);
      // Files went with the tombstones: a device showing one of their lists asks again.
      const filesGone: ChangeNotice = { tenant, subject: 'files' };
      let droppedFiles = 0;
      // One tenant per transaction, its lock taken first, as a push takes it: a push and a purge
      // of one tenant then wait for each other instead of each holding a row the other needs (a
      // deadlock on PostgreSQL), and instances purging at once take their turns per tenant.
      purged += await this.database.db.transaction().execute(async (trx) => {
        const state = await trx
          .updateTable('tenant_state')
          .set((eb) => ({ purged_through: eb.ref('purged_through') }))
          .where('tenant', '=', tenant)
          .returning('purged_through')
          .executeTakeFirst();
        if (state === undefined || state.purged_through >= horizon) return 0;
        droppedFiles = await dropFilesOfPurged(trx, tenant, horizon, at);
        if (droppedFiles > 0) await this.notifyWithin(trx, filesGone);
        const res = await trx
          .deleteFrom('records')
          .where('tenant', '=', tenant)
          .where('deleted', '=', 1)
          .where('position', '<=', horizon)
          .executeTakeFirst();
        await trx
          .updateTable('tenant_state')
          .set({ purged_through: horizon })
          .where('tenant', '=', tenant)
          .execute();
        return Number(res.numDeletedRows);
      });
      if (droppedFiles > 0) this.announceCommitted(filesGone);
    }
    return purged;
  }

  async getRecord(tenant: string, collection: string, id: string): Promise<StoredRecord | null> {
    const found = await loadRecords(this.database.db, this.kind, tenant, [{ collection, id }]);
    return found.get(recordKey(collection, id)) ?? null;
  }

  /**
   * Counts one request of `key` in its window of `windowMs`, starting a new window once the last
   * one is over, and resolves the count and when its window began. One statement on the shared
   * table, so every server instance on the database counts the same requests.
   */
  async countRequest(
    key: string,
    nowMs: number,
    windowMs: number,
  ): Promise<{ hits: number; windowStartMs: number }> {
    const over = sql<SqlBool>`rate_limits.window_start_ms + ${windowMs} <= ${nowMs}`;
    const row = await this.database.db
      .insertInto('rate_limits')
      .values({ key, window_start_ms: nowMs, hits: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          hits: sql<number>`case when ${over} then 1 else rate_limits.hits + 1 end`,
          window_start_ms: sql<number>`case when ${over} then ${nowMs} else rate_limits.window_start_ms end`,
        }),
      )
      .returning(['hits', 'window_start_ms'])
      .executeTakeFirstOrThrow();
    return { hits: Number(row.hits), windowStartMs: Number(row.window_start_ms) };
  }

  /** Forgets request counts whose window began before `beforeMs`. */
  async forgetRequestCounts(beforeMs: number): Promise<void> {
    await this.database.db.deleteFrom('rate_limits').where('window_start_ms', '<', beforeMs).execute();
  }

  async findUserByEmail(email: string): Promise<StoredUser | null> {
    const row = await this.database.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', email.trim().toLowerCase())
      .executeTakeFirst();
    if (!row) return null;
    return {
      id: row.id,
      tenant: row.tenant,
      email: row.email,
      passwordHash: row.password_hash,
      roles: JSON.parse(row.roles) as string[],
      sessionGeneration: Number(row.session_generation),
      disabledAt: row.disabled_at ?? null,
      passwordChangeDue: Number(row.password_change_due) === 1,
    };
  }

  /** Creates the user, or leaves an existing one with that email untouched. Returns whether it was new. */
  async createUser(
    user: Omit<StoredUser, 'sessionGeneration' | 'disabledAt' | 'passwordChangeDue'>,
    at: string,
  ): Promise<boolean> {
    const res = await this.database.db
      .insertInto('users')
      .values({
        id: user.id,
        tenant: user.tenant,
        email: user.email.trim().toLowerCase(),
        password_hash: user.passwordHash,
        roles: JSON.stringify(user.roles),
        created_at: at,
      })
      .onConflict((oc) => oc.column('email').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async audit(events: readonly AuditEvent[]): Promise<void> {
    await insertAudit(this.database.db, events);
  }

  async auditEvents(tenant: string, limit = 1000): Promise<AuditEvent[]> {
    const rows = await this.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('tenant', '=', tenant)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      tenant: r.tenant,
      at: r.at,
      userId: r.user_id,
      deviceId: r.device_id,
      action: r.action as AuditEvent['action'],
      collection: r.collection,
      recordId: r.record_id,
      route: r.route,
      outcome: r.outcome,
    }));
  }

  /**
   * A page of a tenant's audit, newest first: its audit events and the push ops its op journal
   * holds, merged in AuditPosition's order, up to `limit` entries after `before`. Each source is
   * read by an index in that order (migration 0016) and stops at `limit`, so a page costs the same
   * however long the trail. Keyed by position, not by offset: entries written while someone pages
   * through are newer than the first page and never shift the pages after it.
   */
  async listAudit(
    tenant: string,
    filter: AuditFilter,
    page: { before?: AuditPosition; limit: number },
  ): Promise<AuditEntry[]> {
    const db = this.database.db;
    const { before, limit } = page;
    const wantsOps = filter.actions === undefined || filter.actions.includes('push-op');
    const eventActions = filter.actions?.filter((a) => a !== 'push-op');
    const wantsEvents = eventActions === undefined || eventActions.length > 0;

    const readEvents = async (): Promise<AuditEntry[]> => {
      if (!wantsEvents) return [];
      let query = db
        .selectFrom('audit_events')
        .select([
          'seq',
          'at',
          'user_id',
          'device_id',
          'action',
          'collection',
          'record_id',
          'route',
          'outcome',
        ])
        .where('tenant', '=', tenant);
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
      if (filter.deviceId !== undefined) query = query.where('device_id', '=', filter.deviceId);
      if (eventActions !== undefined) query = query.where('action', 'in', [...eventActions]);
      if (filter.collection !== undefined) query = query.where('collection', '=', filter.collection);
      if (filter.recordId !== undefined) query = query.where('record_id', '=', filter.recordId);
      if (filter.records !== undefined) query = query.where(anyOfRecords(filter.records));
      if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
      if (filter.to !== undefined) query = query.where('at', '<', filter.to);
      if (before?.source === 'event')
        query = query.where((eb) => eb(eb.refTuple('at', 'seq'), '<', eb.tuple(before.at, before.seq)));
      // After an op of a millisecond come that millisecond's events, all of them.
      else if (before) query = query.where('at', '<=', before.at);
      const rows = await query.orderBy('at', 'desc').orderBy('seq', 'desc').limit(limit).execute();
      return rows.map((r) => ({
        source: 'event' as const,
        seq: Number(r.seq),
        at: r.at,
        userId: r.user_id,
        deviceId: r.device_id,
        action: r.action,
        collection: r.collection,
        recordId: r.record_id,
        route: r.route,
        outcome: r.outcome,
      }));
    };

    const readOps = async (): Promise<AuditEntry[]> => {
      if (!wantsOps) return [];
      let query = db
        .selectFrom('ops')
        .select(['op_id', 'received_at', 'user_id', 'device_id', 'collection', 'record_id', 'op_type'])
        .select(['status', 'result'])
        .where('tenant', '=', tenant);
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
      if (filter.deviceId !== undefined) query = query.where('device_id', '=', filter.deviceId);
      if (filter.collection !== undefined) query = query.where('collection', '=', filter.collection);
      if (filter.recordId !== undefined) query = query.where('record_id', '=', filter.recordId);
      if (filter.records !== undefined) query = query.where(anyOfRecords(filter.records));
      if (filter.from !== undefined) query = query.where('received_at', '>=', filter.from);
      if (filter.to !== undefined) query = query.where('received_at', '<', filter.to);
      if (before?.source === 'op')
        query = query.where((eb) =>
          eb(eb.refTuple('received_at', 'op_id'), '<', eb.tuple(before.at, before.opId)),
        );
      // After an event of a millisecond, that millisecond's ops were listed already.
      else if (before) query = query.where('received_at', '<', before.at);
      const rows = await query.orderBy('received_at', 'desc').orderBy('op_id', 'desc').limit(limit).execute();
      return rows.map((r) => ({
        source: 'op' as const,
        opId: r.op_id,
        at: r.received_at,
        userId: r.user_id,
        deviceId: r.device_id,
        action: 'push-op',
        opType: r.op_type,
        collection: r.collection,
        recordId: r.record_id,
        route: null,
        outcome: opOutcome(r.status, r.result),
      }));
    };

    const [events, ops] = await Promise.all([readEvents(), readOps()]);
    // Both are in the listing's order already: merged, the first `limit` of the two are the page.
    const merged: AuditEntry[] = [];
    let e = 0;
    let o = 0;
    while (merged.length < limit && (e < events.length || o < ops.length)) {
      const event = events[e];
      const op = ops[o];
      if (op !== undefined && (event === undefined || listsBefore(op, event))) {
        merged.push(op);
        o += 1;
      } else if (event !== undefined) {
        merged.push(event);
        e += 1;
      }
    }
    return merged;
  }

  /** The sign-in emails of a tenant's users, by id; users no longer stored are left out. */
  async emailsOf(tenant: string, userIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const part of chunks([...new Set(userIds)])) {
      if (part.length === 0) continue;
      const rows = await this.database.db
        .selectFrom('users')
        .select(['id', 'email'])
        .where('tenant', '=', tenant)
        .where('id', 'in', part)
        .execute();
      for (const row of rows) found.set(row.id, row.email);
    }
    return found;
  }

  /** Push ops as the audit trail shows them: who, device, when, which record, outcome. */
  async opLog(tenant: string, limit = 1000): Promise<Array<StoredOp & { status: string }>> {
    const rows = await this.database.db
      .selectFrom('ops')
      .select([
        'result',
        'tenant',
        'op_id',
        'client_id',
        'device_id',
        'user_id',
        'collection',
        'record_id',
        'op_type',
        'status',
        'received_at',
      ])
      .where('tenant', '=', tenant)
      .orderBy('received_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      tenant: r.tenant,
      opId: r.op_id,
      clientId: r.client_id,
      deviceId: r.device_id,
      userId: r.user_id,
      collection: r.collection,
      recordId: r.record_id,
      type: r.op_type,
      receivedAt: r.received_at,
      status: r.status,
      result: journaledResult(r),
    }));
  }

  async touchDevice(tenant: string, userId: string, deviceId: string, at: string): Promise<void> {
    await touchDevice(this.database.db, tenant, userId, deviceId, at);
  }

  async lastSyncAt(tenant: string, userId: string, deviceId?: string): Promise<string | null> {
    let query = this.database.db
      .selectFrom('devices')
      .select((eb) => eb.fn.max('last_sync_at').as('last'))
      .where('tenant', '=', tenant)
      .where('user_id', '=', userId);
    if (deviceId !== undefined) query = query.where('device_id', '=', deviceId);
    const row = await query.executeTakeFirst();
    return row?.last ?? null;
  }

  async countOps(tenant: string, filter: { userId?: string; deviceId?: string }): Promise<OpCounts> {
    let query = this.database.db
      .selectFrom('ops')
      .select(['status'])
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('duplicates').as('dups')])
      .where('tenant', '=', tenant)
      .groupBy('status');
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.deviceId !== undefined) query = query.where('device_id', '=', filter.deviceId);
    const rows = await query.execute();
    const counts: OpCounts = { applied: 0, conflict: 0, rejected: 0, pending: 0, duplicate: 0, total: 0 };
    for (const row of rows) addCount(counts, row);
    return counts;
  }

  /**
   * Op counts, open conflicts and last sync for every device of a tenant that ever pushed or
   * pulled, with its user's email: the administrator's view of which tablet needs attention.
   */
  async deviceActivity(tenant: string): Promise<DeviceActivity[]> {
    const db = this.database.db;
    const [ops, open, devices, users, outOfUse] = await Promise.all([
      db
        .selectFrom('ops')
        .select(['user_id', 'device_id', 'status'])
        .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('duplicates').as('dups')])
        .where('tenant', '=', tenant)
        .groupBy(['user_id', 'device_id', 'status'])
        .execute(),
      db
        .selectFrom('conflicts')
        .select(['user_id', 'device_id'])
        .select((eb) => eb.fn.countAll().as('n'))
        .where('tenant', '=', tenant)
        .where('outcome', '=', 'open')
        .groupBy(['user_id', 'device_id'])
        .execute(),
      db.selectFrom('devices').selectAll().where('tenant', '=', tenant).execute(),
      db.selectFrom('users').select(['id', 'email']).where('tenant', '=', tenant).execute(),
      this.deviceUse.marks(tenant),
    ]);
    const byDevice = new Map<string, DeviceActivity>();
    const entry = (userId: string, deviceId: string): DeviceActivity => {
      const key = `${userId}\u0000${deviceId}`;
      let found = byDevice.get(key);
      if (!found) {
        found = {
          userId,
          email: null,
          deviceId,
          lastSyncAt: null,
          outOfUseSince: null,
          openConflicts: 0,
          counts: { applied: 0, conflict: 0, rejected: 0, pending: 0, duplicate: 0, total: 0 },
        };
        byDevice.set(key, found);
      }
      return found;
    };
    for (const d of devices) entry(d.user_id, d.device_id).lastSyncAt = d.last_sync_at;
    for (const row of ops) addCount(entry(row.user_id, row.device_id).counts, row);
    for (const row of open) entry(row.user_id, row.device_id).openConflicts = Number(row.n);
    const emails = new Map(users.map((u) => [u.id, u.email]));
    for (const d of byDevice.values()) {
      d.email = emails.get(d.userId) ?? null;
      d.outOfUseSince = outOfUseSince(outOfUse.get(d.deviceId), d.lastSyncAt);
    }
    return [...byDevice.values()].sort((a, b) => (b.lastSyncAt ?? '').localeCompare(a.lastSyncAt ?? ''));
  }

  /** Each device's ops received at or after `since`: counts and delays (storage/device-health.ts). */
  recentDeviceOps(tenant: string, since: string): Promise<RecentDeviceOps[]> {
    return recentDeviceOps(this.database.db, this.database.kind, tenant, since);
  }

  async countOpenConflicts(tenant: string, filter: { userId?: string; deviceId?: string }): Promise<number> {
    let query = this.database.db
      .selectFrom('conflicts')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant', '=', tenant)
      .where('outcome', '=', 'open');
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.deviceId !== undefined) query = query.where('device_id', '=', filter.deviceId);
    const row = await query.executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async getConflict(
    tenant: string,
    id: string,
    visibility: ConflictVisibility,
  ): Promise<StoredConflict | null> {
    const row = await conflictQuery(this.database.db, tenant, { ids: [id] }, visibility)
      .selectAll()
      .executeTakeFirst();
    return row ? toConflict(row) : null;
  }

  /** Conflicts in the order they were detected, `limit` at a time after the id `after`. */
  async listConflicts(
    tenant: string,
    filter: ConflictFilter,
    visibility: ConflictVisibility,
    page: { after?: string; limit: number },
  ): Promise<StoredConflict[]> {
    let query = conflictQuery(this.database.db, tenant, filter, visibility).selectAll();
    if (page.after !== undefined) query = query.where('id', '>', page.after);
    const rows = await query.orderBy('id').limit(page.limit).execute();
    return rows.map(toConflict);
  }

  async getRejection(
    tenant: string,
    id: string,
    visibility: ConflictVisibility,
  ): Promise<StoredRejection | null> {
    const row = await rejectionQuery(this.database.db, tenant, { ids: [id] }, visibility)
      .selectAll()
      .executeTakeFirst();
    return row ? toRejection(row) : null;
  }

  /** Rejections in the order they were refused, `limit` at a time after the id `after`. */
  async listRejections(
    tenant: string,
    filter: RejectionFilter,
    visibility: ConflictVisibility,
    page: { after?: string; limit: number },
  ): Promise<StoredRejection[]> {
    let query = rejectionQuery(this.database.db, tenant, filter, visibility).selectAll();
    if (page.after !== undefined) query = query.where('id', '>', page.after);
    const rows = await query.orderBy('id').limit(page.limit).execute();
    return rows.map(toRejection);
  }

  async conflictsForRecord(tenant: string, collection: string, recordId: string): Promise<StoredConflict[]> {
    const rows = await this.database.db
      .selectFrom('conflicts')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('collection', '=', collection)
      .where('record_id', '=', recordId)
      .orderBy('created_at')
      .execute();
    return rows.map(toConflict);
  }

  async close(): Promise<void> {
    this.changeListeners.clear();
    await this.listening?.stop();
    this.listening = null;
    await this.database.close();
  }
}
