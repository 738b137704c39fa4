import type { Kysely, Selectable } from 'kysely';
import type { RecordData } from '@outpost/core';
import type { SyncStore } from '../../storage/sync-store';
import type { Tables } from '../../storage/tables';
import type { QueueError, QueueOperation, QueueStatus, ResolutionOption } from './queue-messages';

/** A queue item as stored. `status` is the stored one; `effectiveStatus` says what a client is shown. */
export interface QueueItem {
  tenant: string;
  id: string;
  userId: string;
  deviceId: string;
  operation: QueueOperation;
  resourceType: string;
  collection: string;
  resourceId: string | null;
  recordId: string;
  data: RecordData | null;
  version: number | null;
  createdAtClient: string;
  hlc: string;
  status: QueueStatus;
  retryCount: number;
  nextAttemptAt: string | null;
  error: QueueError | null;
  /** The roles the last failed attempt ran under (its user's); null before any kept them. */
  attemptRoles: readonly string[] | null;
  conflictId: string | null;
  resolution: ResolutionOption | null;
  queuedAt: string;
  updatedAt: string;
  syncedAt: string | null;
}

/** The item with who settled its archived conflict, read in the same query. */
export interface LoadedItem extends QueueItem {
  conflictResolvedBy: string | null;
}

export interface QueueOutcome {
  status: QueueStatus;
  retryCount?: number;
  nextAttemptAt?: string | null;
  error?: QueueError | null;
  attemptRoles?: readonly string[];
  conflictId?: string | null;
  resolution?: ResolutionOption | null;
  syncedAt?: string | null;
}

/**
 * The engine settles at detection with `resolvedBy: 'server'`; anyone else is a person who settled
 * the conflict since (through this dialect or /v1/conflicts). Then the queued change has had its
 * answer and the item reads as SYNCED; an undo reopens the conflict and the item reads CONFLICT again.
 */
export function effectiveStatus(status: QueueStatus, conflictResolvedBy: string | null): QueueStatus {
  return status === 'CONFLICT' && conflictResolvedBy !== null && conflictResolvedBy !== 'server'
    ? 'SYNCED'
    : status;
}

type Row = Selectable<Tables['sync_queue']> & { conflict_resolved_by: string | null };

function toItem(row: Row): LoadedItem {
  return {
    tenant: row.tenant,
    id: row.id,
    userId: row.user_id,
    deviceId: row.device_id,
    operation: row.operation as QueueOperation,
    resourceType: row.resource_type,
    collection: row.collection,
    resourceId: row.resource_id,
    recordId: row.record_id,
    data: row.data === null ? null : (JSON.parse(row.data) as RecordData),
    version: row.version,
    createdAtClient: row.created_at_client,
    hlc: row.hlc,
    status: row.status as QueueStatus,
    retryCount: row.retry_count,
    nextAttemptAt: row.next_attempt_at,
    error: row.error === null ? null : (JSON.parse(row.error) as QueueError),
    attemptRoles: row.attempt_roles === null ? null : (JSON.parse(row.attempt_roles) as string[]),
    conflictId: row.conflict_id,
    resolution: row.resolution as ResolutionOption | null,
    queuedAt: row.queued_at,
    updatedAt: row.updated_at,
    syncedAt: row.synced_at,
    conflictResolvedBy: row.conflict_resolved_by,
  };
}

export interface ItemFilter {
  userId?: string;
  deviceId?: string;
  /** Stored statuses to include. */
  statuses?: readonly QueueStatus[];
}

export interface QueueCounts {
  total: number;
  pending: number;
  synced: number;
  failed: number;
  conflicts: number;
}

/**
 * The queue's SQL, written once over Kysely for SQLite and PostgreSQL. Every query is scoped to the
 * tenant the caller passes in, which takes it from the verified token only.
 */
export class QueueStore {
  private readonly db: Kysely<Tables>;

  constructor(store: SyncStore) {
    // The dialect keeps its table beside the engine's, in the same database and connection pool.
    this.db = store.db;
  }

  /** Stores a new item; false when the tenant already has an item with this id (nothing changes). */
  async insert(item: QueueItem): Promise<boolean> {
    const res = await this.db
      .insertInto('sync_queue')
      .values({
        tenant: item.tenant,
        id: item.id,
        user_id: item.userId,
        device_id: item.deviceId,
        operation: item.operation,
        resource_type: item.resourceType,
        collection: item.collection,
        resource_id: item.resourceId,
        record_id: item.recordId,
        data: item.data === null ? null : JSON.stringify(item.data),
        version: item.version,
        created_at_client: item.createdAtClient,
        hlc: item.hlc,
        status: item.status,
        retry_count: item.retryCount,
        next_attempt_at: item.nextAttemptAt,
        error: item.error === null ? null : JSON.stringify(item.error),
        conflict_id: item.conflictId,
        resolution: item.resolution,
        queued_at: item.queuedAt,
        updated_at: item.updatedAt,
        synced_at: item.syncedAt,
      })
      .onConflict((oc) => oc.columns(['tenant', 'id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  private items() {
    return this.db
      .selectFrom('sync_queue as q')
      .leftJoin('conflicts as c', (join) =>
        join.onRef('c.id', '=', 'q.conflict_id').onRef('c.tenant', '=', 'q.tenant'),
      )
      .selectAll('q')
      .select('c.resolved_by as conflict_resolved_by');
  }

  private select(tenant: string) {
    return this.items().where('q.tenant', '=', tenant);
  }

  async get(tenant: string, id: string): Promise<LoadedItem | null> {
    const row = await this.select(tenant).where('q.id', '=', id).executeTakeFirst();
    return row ? toItem(row) : null;
  }

  /** Items in the order they were queued. */
  async list(tenant: string, filter: ItemFilter): Promise<LoadedItem[]> {
    let query = this.select(tenant);
    if (filter.userId !== undefined) query = query.where('q.user_id', '=', filter.userId);
    if (filter.deviceId !== undefined) query = query.where('q.device_id', '=', filter.deviceId);
    if (filter.statuses !== undefined) query = query.where('q.status', 'in', [...filter.statuses]);
    const rows = await query.orderBy('q.queued_at').orderBy('q.id').execute();
    return rows.map(toItem);
  }

  /**
   * FAILED items of every tenant whose next attempt is due at `now` and that have an attempt left
   * under `maxAttempts`, those due longest first, at most `limit`. The server's own retry reads
   * them, with `stalled`; they are the queries that cross tenants, and each item is then tried as
   * its own user in its own tenant. A null next_attempt_at means no attempt is planned (refused for
   * good, or out of attempts). The index sync_queue_due (migration 0011) is (status,
   * next_attempt_at): the sweep reads the due items in its order and stops at `limit`, however
   * many items the queue holds or have fallen due (queue-api-sweep-plan.test.ts reads the plans).
   */
  dueQuery(now: string, options: { maxAttempts: number; limit: number }) {
    return (
      this.items()
        .where('q.status', '=', 'FAILED')
        .where('q.next_attempt_at', 'is not', null)
        .where('q.next_attempt_at', '<=', now)
        .where('q.retry_count', '<', options.maxAttempts - 1)
        // Only failures that kept their roles: one from before could never be tried here, and left
        // in, enough of them (the longest due, listed first) would fill every batch.
        .where('q.attempt_roles', 'is not', null)
        .orderBy('q.next_attempt_at')
        .limit(options.limit)
    );
  }

  async due(now: string, options: { maxAttempts: number; limit: number }): Promise<LoadedItem[]> {
    return (await this.dueQuery(now, options).execute()).map(toItem);
  }

  /**
   * SYNCING items of every tenant claimed at `claimedBefore` or earlier: their attempt should long
   * be over, so the server that claimed them stopped before storing its outcome. Oldest claim
   * first, at most `limit`; only those whose claim kept the attempt's roles, as for `due`. Found
   * through sync_queue_due by status alone: only items under way are SYNCING, a handful at most.
   */
  stalledQuery(claimedBefore: string, options: { limit: number }) {
    return this.items()
      .where('q.status', '=', 'SYNCING')
      .where('q.updated_at', '<=', claimedBefore)
      .where('q.attempt_roles', 'is not', null)
      .orderBy('q.updated_at')
      .limit(options.limit);
  }

  async stalled(claimedBefore: string, options: { limit: number }): Promise<LoadedItem[]> {
    return (await this.stalledQuery(claimedBefore, options).execute()).map(toItem);
  }

  /**
   * Moves an item to SYNCING if it still has one of the `from` statuses (and, for a retry, the
   * retry count the caller saw; for a lapsed claim, the claim the caller saw): of two requests
   * racing for one item, only one claims it. The claim's time (updated_at, which only the outcome
   * changes next) starts its lease, and `roles`, the attempt's, are kept with it: a server that
   * stops mid-attempt leaves what the sweep needs to finish the attempt as the same user.
   */
  async claim(
    tenant: string,
    id: string,
    from: readonly QueueStatus[],
    at: string,
    attempt: {
      roles: readonly string[];
      seen?: number;
      lapsed?: { retryCount: number; claimedAt: string };
    },
  ): Promise<boolean> {
    let query = this.db
      .updateTable('sync_queue')
      .set({
        status: 'SYNCING',
        updated_at: at,
        attempt_roles: JSON.stringify(attempt.roles),
        ...(attempt.seen !== undefined ? { retry_count: attempt.seen + 1 } : {}),
      })
      .where('tenant', '=', tenant)
      .where('id', '=', id)
      .where('status', 'in', [...from]);
    if (attempt.seen !== undefined) query = query.where('retry_count', '=', attempt.seen);
    if (attempt.lapsed !== undefined) {
      query = query
        .where('retry_count', '=', attempt.lapsed.retryCount)
        .where('updated_at', '=', attempt.lapsed.claimedAt);
    }
    const res = await query.executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /**
   * Stores an outcome. With `attempt`, only over that attempt's claim (SYNCING at that retry count),
   * and false when it is gone: an attempt delivered twice (a crashed item processed again while
   * another request still finishes it) stores its outcome once, and a late answer never overwrites
   * a newer attempt's.
   */
  async record(
    tenant: string,
    id: string,
    outcome: QueueOutcome,
    at: string,
    attempt?: { retryCount: number },
  ): Promise<boolean> {
    let query = this.db
      .updateTable('sync_queue')
      .set({
        status: outcome.status,
        updated_at: at,
        ...(outcome.retryCount !== undefined ? { retry_count: outcome.retryCount } : {}),
        ...(outcome.nextAttemptAt !== undefined ? { next_attempt_at: outcome.nextAttemptAt } : {}),
        ...(outcome.error !== undefined
          ? { error: outcome.error === null ? null : JSON.stringify(outcome.error) }
          : {}),
        ...(outcome.attemptRoles !== undefined
          ? { attempt_roles: JSON.stringify(outcome.attemptRoles) }
          : {}),
        ...(outcome.conflictId !== undefined ? { conflict_id: outcome.conflictId } : {}),
        ...(outcome.resolution !== undefined ? { resolution: outcome.resolution } : {}),
        ...(outcome.syncedAt !== undefined ? { synced_at: outcome.syncedAt } : {}),
      })
      .where('tenant', '=', tenant)
      .where('id', '=', id);
    if (attempt) {
      query = query.where('status', '=', 'SYNCING').where('retry_count', '=', attempt.retryCount);
    }
    const res = await query.executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Seed 000's figures: SYNCING counts as pending, a conflict a person settled as synced. */
  async counts(tenant: string, filter: { userId?: string; deviceId?: string }): Promise<QueueCounts> {
    let query = this.db
      .selectFrom('sync_queue as q')
      .leftJoin('conflicts as c', (join) =>
        join.onRef('c.id', '=', 'q.conflict_id').onRef('c.tenant', '=', 'q.tenant'),
      )
      .select(['q.status', 'c.resolved_by'])
      .select((eb) => eb.fn.countAll().as('n'))
      .where('q.tenant', '=', tenant)
      .groupBy(['q.status', 'c.resolved_by']);
    if (filter.userId !== undefined) query = query.where('q.user_id', '=', filter.userId);
    if (filter.deviceId !== undefined) query = query.where('q.device_id', '=', filter.deviceId);
    const counts: QueueCounts = { total: 0, pending: 0, synced: 0, failed: 0, conflicts: 0 };
    for (const row of await query.execute()) {
      const n = Number(row.n);
      counts.total += n;
      const status = effectiveStatus(row.status as QueueStatus, row.resolved_by);
      if (status === 'PENDING' || status === 'SYNCING') counts.pending += n;
      else if (status === 'SYNCED') counts.synced += n;
      else if (status === 'FAILED') counts.failed += n;
      else counts.conflicts += n;
    }
    return counts;
  }
}
