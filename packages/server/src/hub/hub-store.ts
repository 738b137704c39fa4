/**
 * The hub's own tables (migrations 0009 and 0013): its progress per tenant, each record as the
 * upstream last had it, and seed 004's queue items. Every write here runs in the transaction of a
 * SyncStore.write, under the tenant lock, beside the record writes it goes with.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { ConflictSummary, PushOp, RecordData, RestoreMark } from '@outpost/core';
import { recordKey } from '../storage/sync-store';
import type { Tables } from '../storage/tables';
import type { UpstreamSide } from './pending-change';

type Db = Kysely<Tables> | Transaction<Tables>;

/** Seed 004's SyncQueueItem states (Cancelled is the seed's "future feature", not made here). */
export type HubItemStatus = 'Pending' | 'Processing' | 'Completed' | 'Failed';

export interface HubState {
  fedThrough: number;
  upstreamCursor: string | null;
  lastPushAt: string | null;
  lastPullAt: string | null;
  lastSyncAt: string | null;
  /** A resync from scratch is under way (see beginResync). */
  resyncing: boolean;
  /**
   * The resync under way is of an upstream restored from a backup (410 with `reason: 'restored'`),
   * with the backup's time if it said: the hub gives back what the backup lacked. Null otherwise.
   */
  restored: RestoreMark | null;
  /** What the last exchange with the upstream ended with; null when it ended well. */
  lastError: HubStateError | null;
}

export interface HubStateError {
  code: string;
  message: string;
  at: string;
}

/** The upstream's record as the hub last knew it, and the local position the hub last wrote it at. */
export interface UpstreamView extends UpstreamSide {
  readonly syncedPosition: number;
  /**
   * When the upstream stamped this state (its clock, comparable with a backup's time): a pulled
   * change's `updatedAt`, or when the hub had the answer to its own push. Null when not known (a
   * state kept before migration 0023, or one the hub only inferred).
   */
  readonly updatedAt: string | null;
}

export interface HubItem {
  id: string;
  collection: string;
  recordId: string;
  status: HubItemStatus;
  operation: string | null;
  enqueuedAt: string;
  retryCount: number;
  maxRetries: number;
  /** The upstream version the change was made on (see Tables['hub_queue'].base_version). */
  baseVersion: number | null;
  op: PushOp | null;
  errorCode: string | null;
  errorMessage: string | null;
  conflict: ConflictSummary | null;
  updatedAt: string;
  completedAt: string | null;
}

export async function loadHubState(db: Db, tenant: string): Promise<HubState> {
  const row = await db.selectFrom('hub_state').selectAll().where('tenant', '=', tenant).executeTakeFirst();
  return {
    fedThrough: row?.fed_through ?? 0,
    upstreamCursor: row?.upstream_cursor ?? null,
    lastPushAt: row?.last_push_at ?? null,
    lastPullAt: row?.last_pull_at ?? null,
    lastSyncAt: row?.last_sync_at ?? null,
    resyncing: row?.resyncing === 1,
    restored:
      row?.resync_restored === 1
        ? row.resync_backup_taken_at === null
          ? {}
          : { backupTakenAt: row.resync_backup_taken_at }
        : null,
    lastError: lastErrorOf(row),
  };
}

function lastErrorOf(row: Selectable<Tables['hub_state']> | undefined): HubStateError | null {
  const code = row?.last_error_code ?? null;
  if (code === null) return null;
  return { code, message: row?.last_error_message ?? '', at: row?.last_error_at ?? '' };
}

export async function saveHubState(db: Db, tenant: string, patch: Partial<HubState>): Promise<void> {
  const current = await loadHubState(db, tenant);
  const next = { ...current, ...patch };
  const row = {
    fed_through: next.fedThrough,
    upstream_cursor: next.upstreamCursor,
    last_push_at: next.lastPushAt,
    last_pull_at: next.lastPullAt,
    last_sync_at: next.lastSyncAt,
    resyncing: next.resyncing ? 1 : 0,
    resync_restored: next.restored === null ? 0 : 1,
    resync_backup_taken_at: next.restored?.backupTakenAt ?? null,
    last_error_code: next.lastError?.code ?? null,
    last_error_message: next.lastError?.message ?? null,
    last_error_at: next.lastError?.at ?? null,
  };
  await db
    .insertInto('hub_state')
    .values({ tenant, ...row })
    .onConflict((oc) => oc.column('tenant').doUpdateSet(row))
    .execute();
}

/** The upstream views of these records, by recordKey; a record the upstream never had is absent. */
export async function loadUpstreamViews(
  db: Db,
  tenant: string,
  keys: ReadonlyArray<{ collection: string; id: string }>,
): Promise<Map<string, UpstreamView>> {
  const found = new Map<string, UpstreamView>();
  for (const { collection, ids } of idsByCollection(keys)) {
    const rows = await db
      .selectFrom('hub_records')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('collection', '=', collection)
      .where('id', 'in', ids)
      .execute();
    for (const row of rows) {
      found.set(recordKey(row.collection, row.id), {
        version: row.upstream_version,
        deleted: row.upstream_deleted === 1,
        data: JSON.parse(row.upstream_data) as RecordData,
        syncedPosition: row.synced_position,
        updatedAt: row.upstream_updated_at,
      });
    }
  }
  return found;
}

/** The keys' ids by collection, in parts small enough for one `in` list. */
function idsByCollection(
  keys: ReadonlyArray<{ collection: string; id: string }>,
): Array<{ collection: string; ids: string[] }> {
  const byCollection = new Map<string, string[]>();
  for (const k of keys) {
    const ids = byCollection.get(k.collection) ?? [];
    ids.push(k.id);
    byCollection.set(k.collection, ids);
  }
  const parts: Array<{ collection: string; ids: string[] }> = [];
  for (const [collection, ids] of byCollection) {
    for (let i = 0; i < ids.length; i += 500) parts.push({ collection, ids: ids.slice(i, i + 500) });
  }
  return parts;
}

export async function saveUpstreamView(
  db: Db,
  tenant: string,
  collection: string,
  id: string,
  view: UpstreamView,
): Promise<void> {
  const row = {
    upstream_version: view.version,
    upstream_deleted: view.deleted ? 1 : 0,
    upstream_data: JSON.stringify(view.deleted ? {} : view.data),
    synced_position: view.syncedPosition,
    upstream_updated_at: view.updatedAt,
  };
  await db
    .insertInto('hub_records')
    .values({ tenant, collection, id, ...row })
    .onConflict((oc) => oc.columns(['tenant', 'collection', 'id']).doUpdateSet(row))
    .execute();
}

/**
 * The hub forgets the upstream's record: the restored upstream has none, and the hub's record goes
 * up again as a create.
 */
export async function forgetUpstreamView(
  db: Db,
  tenant: string,
  collection: string,
  id: string,
): Promise<void> {
  await db
    .deleteFrom('hub_records')
    .where('tenant', '=', tenant)
    .where('collection', '=', collection)
    .where('id', '=', id)
    .execute();
}

/**
 * Starts a resync from scratch (the upstream said CURSOR_EXPIRED): the cursor goes back to the
 * start, and every record the hub knows of is marked as not brought yet. Kept in the database, so a
 * resync cut off by the link, or by a restart, goes on where it stopped and still knows at its end
 * which records the upstream no longer has. `restored`: the upstream said it was restored from a
 * backup; kept with the resync too, and kept when a resync already so marked starts over.
 */
export async function beginResync(db: Db, tenant: string, restored: RestoreMark | null): Promise<void> {
  const current = await loadHubState(db, tenant);
  const mark = restored ?? (current.resyncing ? current.restored : null);
  await saveHubState(db, tenant, { upstreamCursor: null, resyncing: true, restored: mark });
  await db.updateTable('hub_records').set({ resync_unseen: 1 }).where('tenant', '=', tenant).execute();
}

/** The records a page of the resync brought: the upstream has them (or their tombstones). */
export async function markSeen(
  db: Db,
  tenant: string,
  keys: ReadonlyArray<{ collection: string; id: string }>,
): Promise<void> {
  for (const { collection, ids } of idsByCollection(keys)) {
    await db
      .updateTable('hub_records')
      .set({ resync_unseen: 0 })
      .where('tenant', '=', tenant)
      .where('collection', '=', collection)
      .where('id', 'in', ids)
      .execute();
  }
}

/** A record the finished resync did not bring, as the upstream last had it as far as the hub knows. */
export interface Unseen {
  collection: string;
  id: string;
  deleted: boolean;
  /** When the upstream stamped that state (UpstreamView.updatedAt). */
  updatedAt: string | null;
}

/**
 * The records the finished resync did not bring: those live as far as the hub knows and, with
 * `tombstones` (an upstream restored from a backup, which may lack deletions the hub relayed), those
 * deleted too.
 */
export async function unseenKeys(db: Db, tenant: string, tombstones: boolean): Promise<Unseen[]> {
  let query = db
    .selectFrom('hub_records')
    .select(['collection', 'id', 'upstream_deleted', 'upstream_updated_at'])
    .where('tenant', '=', tenant)
    .where('resync_unseen', '=', 1);
  if (!tombstones) query = query.where('upstream_deleted', '=', 0);
  const rows = await query.execute();
  return rows.map((r) => ({
    collection: r.collection,
    id: r.id,
    deleted: r.upstream_deleted === 1,
    updatedAt: r.upstream_updated_at,
  }));
}

export async function endResync(db: Db, tenant: string): Promise<void> {
  await db
    .updateTable('hub_records')
    .set({ resync_unseen: 0 })
    .where('tenant', '=', tenant)
    .where('resync_unseen', '=', 1)
    .execute();
  await saveHubState(db, tenant, { resyncing: false, restored: null });
}

/** Changed local records after a position, in position order: what the hub's feed reads. */
export async function localChangesAfter(
  db: Db,
  tenant: string,
  after: number,
  limit: number,
): Promise<Array<{ collection: string; id: string; position: number }>> {
  return db
    .selectFrom('records')
    .select(['collection', 'id', 'position'])
    .where('tenant', '=', tenant)
    .where('position', '>', after)
    .orderBy('position')
    .limit(limit)
    .execute();
}

function toItem(row: Tables['hub_queue'] & { op: string | null }): HubItem {
  return {
    id: row.id,
    collection: row.collection,
    recordId: row.record_id,
    status: row.status as HubItemStatus,
    operation: row.operation,
    enqueuedAt: row.enqueued_at,
    retryCount: row.retry_count,
    maxRetries: row.max_retries,
    baseVersion: row.base_version,
    op: row.op === null ? null : (JSON.parse(row.op) as PushOp),
    errorCode: row.error_code,
    errorMessage: row.error_message,
    conflict: row.conflict === null ? null : (JSON.parse(row.conflict) as ConflictSummary),
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
  };
}

/**
 * The record's item still waiting to be sent (Pending, or Failed: not in flight), if any. A record
 * has at most one; an item in flight is left as it was sent, so a second may wait behind it.
 */
export async function waitingItemFor(
  db: Db,
  tenant: string,
  collection: string,
  recordId: string,
): Promise<HubItem | null> {
  const row = await db
    .selectFrom('hub_queue')
    .selectAll()
    .where('tenant', '=', tenant)
    .where('collection', '=', collection)
    .where('record_id', '=', recordId)
    .where('status', 'in', ['Pending', 'Failed'])
    .executeTakeFirst();
  // A waiting item has no op out.
  return row ? toItem({ ...row, op: null }) : null;
}

export async function insertItem(db: Db, tenant: string, item: HubItem): Promise<void> {
  await db
    .insertInto('hub_queue')
    .values({
      tenant,
      id: item.id,
      collection: item.collection,
      record_id: item.recordId,
      status: item.status,
      operation: item.operation,
      enqueued_at: item.enqueuedAt,
      retry_count: item.retryCount,
      max_retries: item.maxRetries,
      base_version: item.baseVersion,
      error_code: item.errorCode,
      error_message: item.errorMessage,
      conflict: item.conflict === null ? null : JSON.stringify(item.conflict),
      updated_at: item.updatedAt,
      completed_at: item.completedAt,
    })
    .execute();
}

export async function updateItem(
  db: Db,
  tenant: string,
  id: string,
  patch: Partial<Omit<HubItem, 'id' | 'collection' | 'recordId'>>,
): Promise<void> {
  const row: Partial<Tables['hub_queue']> = {};
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.operation !== undefined) row.operation = patch.operation;
  if (patch.enqueuedAt !== undefined) row.enqueued_at = patch.enqueuedAt;
  if (patch.retryCount !== undefined) row.retry_count = patch.retryCount;
  if (patch.maxRetries !== undefined) row.max_retries = patch.maxRetries;
  if (patch.baseVersion !== undefined) row.base_version = patch.baseVersion;
  if (patch.errorCode !== undefined) row.error_code = patch.errorCode;
  if (patch.errorMessage !== undefined) row.error_message = patch.errorMessage;
  if (patch.conflict !== undefined)
    row.conflict = patch.conflict === null ? null : JSON.stringify(patch.conflict);
  if (patch.updatedAt !== undefined) row.updated_at = patch.updatedAt;
  if (patch.completedAt !== undefined) row.completed_at = patch.completedAt;
  await db.updateTable('hub_queue').set(row).where('tenant', '=', tenant).where('id', '=', id).execute();
  if (patch.op === undefined) return;
  await db.deleteFrom('hub_sent_ops').where('tenant', '=', tenant).where('item_id', '=', id).execute();
  if (patch.op !== null)
    await db
      .insertInto('hub_sent_ops')
      .values({ tenant, item_id: id, op: JSON.stringify(patch.op) })
      .execute();
}

/** Items in these states, oldest first. */
export async function itemsIn(
  db: Db,
  tenant: string,
  statuses: readonly HubItemStatus[],
): Promise<HubItem[]> {
  const rows = await db
    .selectFrom('hub_queue as q')
    .leftJoin('hub_sent_ops as s', (join) =>
      join.onRef('s.tenant', '=', 'q.tenant').onRef('s.item_id', '=', 'q.id'),
    )
    .selectAll('q')
    .select('s.op')
    .where('q.tenant', '=', tenant)
    .where('q.status', 'in', [...statuses])
    .orderBy('q.enqueued_at')
    .orderBy('q.id')
    .execute();
  return rows.map(toItem);
}

export interface QueueCounts {
  pending: number;
  processing: number;
  failed: number;
  oldestPendingAt: string | null;
}

export async function countQueue(db: Db, tenant: string): Promise<QueueCounts> {
  const rows = await db
    .selectFrom('hub_queue')
    .select(['status'])
    .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.min('enqueued_at').as('oldest')])
    .where('tenant', '=', tenant)
    .where('status', 'in', ['Pending', 'Processing', 'Failed'])
    .groupBy('status')
    .execute();
  const counts: QueueCounts = { pending: 0, processing: 0, failed: 0, oldestPendingAt: null };
  for (const row of rows) {
    const n = Number(row.n);
    if (row.status === 'Pending') {
      counts.pending = n;
      counts.oldestPendingAt = row.oldest;
    } else if (row.status === 'Processing') counts.processing = n;
    else counts.failed = n;
  }
  return counts;
}
