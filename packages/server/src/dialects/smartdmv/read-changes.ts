import { outpostError } from '@outpost/core';
import type { AuthContext } from '../../auth/tokens';
import type { ServerContext } from '../../create-sync-server';
import { isCursorText } from '../../http/cursor';
import type { PullCursor } from '../../http/cursor';
import type { PulledRecord } from '../../storage/sync-store';
import { checkCoverage, collectionsToPull, isEveryCollection, pullStart } from '../../pull/pull-scope';
import { checkPushCursor } from '../../push/push-cursor';
import { collectionOf } from './entity-types';

/** A page of changes and the sync point to send for the next one. */
export interface ChangePage {
  records: PulledRecord[];
  hasMore: boolean;
  /** A v1 pull cursor: opaque, bound to the tenant, carrying the last position this page returned. */
  next: string;
}

/** A time as a device may send one: epoch milliseconds (number or digits) or a date string. */
function isTime(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0;
  if (typeof value !== 'string' || value.length > 64) return false;
  return /^\d{1,16}$/.test(value) || !Number.isNaN(Date.parse(value));
}

/**
 * Where a SmartDMV pull starts. The seed's `lastSyncTimestamp` / `lastSync` look like times, but the
 * values this server hands out are pull cursors, so a change that commits late is never placed
 * behind one. A real time cannot be turned into a position without that risk (updatedAt order is
 * not commit order), so it means "from the start", like an empty value: a first sync, after which
 * the device holds a cursor.
 */
export async function syncPointOf(
  ctx: Pick<ServerContext, 'cursors' | 'store'>,
  tenant: string,
  value: unknown,
  field: string,
): Promise<PullCursor | null> {
  if (value === undefined || value === null || value === '') return null;
  // A v1 cursor, checked as v1's pull checks it: one issued by a database a restore replaced is 410.
  if (typeof value === 'string' && isCursorText(value))
    return ctx.cursors.decode(tenant, value, await ctx.store.epoch());
  if (isTime(value)) return null;
  throw outpostError(
    'VALIDATION_FAILED',
    `${field} must be a value this server returned, a time, or empty for a first sync`,
    { field },
  );
}

/**
 * The sync point a SmartDMV device may send with its push or upload (an addition to seeds 001 and
 * 003, as `cursor` is to v1's push: decision 0050, "The push's cursor"). One this server issued is
 * checked as v1's push checks its cursor, before anything is applied: one of the database a restore
 * replaced is 410 restored with the backup's last ids, so the device reads everything again before
 * its changes reach records the restored server numbered anew; a forged one is 400. A time or an
 * empty value carries no database to compare and is taken as before, as is a push without one.
 */
export async function checkSyncPointAtPush(
  ctx: Pick<ServerContext, 'cursors' | 'store'>,
  tenant: string,
  value: unknown,
  field: string,
): Promise<void> {
  if (value === undefined || value === null || value === '' || isTime(value)) return;
  if (typeof value === 'string' && isCursorText(value)) {
    await checkPushCursor(ctx.store, ctx.cursors, tenant, value);
    return;
  }
  throw outpostError(
    'VALIDATION_FAILED',
    `${field} must be a value this server returned, a time, or absent`,
    { field },
  );
}

/**
 * One page of the caller's changes after a sync point, read from the same position-ordered store
 * pull as v1, with v1's rules: only collections the caller's role may read, and a cursor that
 * predates a tombstone purge, or passed by records of entity types it did not read, must resync (410).
 */
export async function readChanges(
  ctx: ServerContext,
  auth: AuthContext,
  request: { since: PullCursor | null; limit: number; entityTypes: readonly string[] | undefined },
): Promise<ChangePage> {
  const { store, cursors } = ctx;
  const schema = ctx.schemaFor(auth.tenant);
  const collections = collectionsToPull(schema, auth.roles, request.entityTypes, {
    resolve: (name) => collectionOf(schema, name),
    field: 'entityTypes',
    noun: 'entity types',
  });
  const { after, horizon } = await pullStart(
    store,
    auth.tenant,
    request.since,
    'deletions since this sync were purged: sync again from the start',
  );
  await checkCoverage(store, auth.tenant, request.since, collections, {
    message: 'this sync point did not cover all of these entity types: sync again from the start',
    field: 'entityTypes',
  });
  const page = await store.pull(
    auth.tenant,
    after,
    request.limit,
    collections,
    isEveryCollection(schema, collections),
  );
  const last = page.records.at(-1)?.position ?? after;
  return {
    records: page.records,
    hasMore: page.hasMore,
    next: cursors.encode(auth.tenant, { position: last, horizon, collections }, (await store.epoch()).id),
  };
}
