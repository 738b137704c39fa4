import { outpostError } from '@outpost/core';
import type { Schema } from '@outpost/core';
import { restoredDetails } from '../http/cursor';
import type { PullCursor } from '../http/cursor';
import type { SyncStore } from '../storage/sync-store';
import type { DatabaseEpoch } from '../storage/database-epoch';

export interface Naming {
  /** Maps a name the caller sent to a collection of the schema (dialects have names of their own). */
  resolve?: (name: string) => string | undefined;
  /** The request field the names came in, for the error details: `collections`, `entityTypes`... */
  field?: string;
  /** How the error messages call them: "collections", "entity types"... */
  noun?: string;
}

/**
 * The collections a pull reads for this caller, for v1 and every dialect alike: each collection
 * its role may read, or, when it names some, exactly those, every one known (else 400) and
 * readable (else 403).
 */
export function collectionsToPull(
  schema: Schema,
  roles: readonly string[],
  requested: readonly string[] | undefined,
  naming: Naming = {},
): string[] {
  const readable = schema.collectionNames.filter((c) => schema.can(roles, c, 'read'));
  if (requested === undefined || requested.length === 0) return readable;
  const resolve = naming.resolve ?? ((name: string) => (schema.collection(name) ? name : undefined));
  const field = naming.field ?? 'collections';
  const noun = naming.noun ?? 'collections';
  const unknown = requested.filter((name) => resolve(name) === undefined);
  if (unknown.length > 0) throw outpostError('VALIDATION_FAILED', `unknown ${noun}`, { [field]: unknown });
  const wanted = [...new Set(requested.map((name) => resolve(name) ?? name))];
  const denied = wanted.filter((c) => !readable.includes(c));
  if (denied.length > 0)
    throw outpostError('FORBIDDEN', `your role may not read these ${noun}`, { [field]: denied });
  return wanted;
}

/**
 * Whether `collections` (as collectionsToPull chose them) are every collection of the schema. The
 * store then reads a page in position order, as rows come (nearly all of them match); a few
 * collections are read through the primary key instead.
 */
export function isEveryCollection(schema: Schema, collections: readonly string[]): boolean {
  return collections.length === schema.collectionNames.length;
}

/**
 * Where a pull starts: after the cursor's position, or at the start for a first sync. A device
 * missed a deletion only if a tombstone above its position was purged after its cursor was
 * issued; a fresh sync that began after the purge carries the current horizon. Such a cursor must
 * resync from the start: CURSOR_EXPIRED (410). So must one this database never reached
 * (checkReached).
 */
export async function pullStart(
  store: SyncStore,
  tenant: string,
  cursor: PullCursor | null,
  message = 'deletions since this cursor were purged: resync from the start',
): Promise<{ after: number; horizon: number }> {
  const { purgedThrough: horizon, position } = await store.positions(tenant);
  checkReached(cursor?.position ?? 0, position, tenant, await store.epoch());
  checkCursor(cursor, horizon, message);
  return { after: cursor?.position ?? 0, horizon };
}

/**
 * Refuses (410 CURSOR_EXPIRED, `details.reason: 'restored'`) a position above the last one the
 * tenant handed out: no pull of this database issued it. It was issued before the database was
 * restored from an older backup, or (for WatermelonDB's bare numbers) by another clinic. Read on,
 * the device would skip every change made until the tenant's positions passed its own, and never
 * know. `reached` is read after the cursor was issued, and positions only grow, so a cursor issued
 * here is never refused.
 *
 * The cursors issued now carry the database's epoch, which CursorCodec checks whatever the
 * position (decision 0050). This check is what is left for positions that carry none: v1 cursors
 * issued before they did, and WatermelonDB's `lastPulledAt`, a bare number the WatermelonDB client
 * keeps and sends back as it is, with no room for an epoch. Those are caught only while they are
 * ahead of the restored clinic.
 */
export function checkReached(
  after: number,
  reached: number,
  tenant: string,
  epoch: DatabaseEpoch,
  message = cursorAhead,
): void {
  if (after > reached) throw outpostError('CURSOR_EXPIRED', message, restoredDetails(epoch, tenant));
}

const cursorAhead =
  'this cursor is ahead of the server’s data (the server was restored from a backup): resync from the start';

/** Refuses a cursor that may have missed purged deletions (pullStart's rule), given the purge horizon. */
export function checkCursor(
  cursor: PullCursor | null,
  horizon: number,
  message = 'deletions since this cursor were purged: resync from the start',
): void {
  const from = cursor ?? { position: 0, horizon };
  if (from.position < horizon && from.horizon !== horizon) throw outpostError('CURSOR_EXPIRED', message);
}

/**
 * Refuses (410 CURSOR_EXPIRED, `details.collections` naming them) a cursor that did not read some
 * of the collections this pull reads, when any of those holds a record at or below the cursor's
 * position: continued, the pull would never deliver those records, since it reads only what changed
 * after the cursor. That happens when a selective pull adds a collection to its filter, and when a
 * role is given read access to a collection. A collection with nothing there (one added to the
 * schema since, say) is read on from the cursor. Cursors issued before they named their
 * collections are taken as having read every collection.
 */
export async function checkCoverage(
  store: SyncStore,
  tenant: string,
  cursor: PullCursor | null,
  collections: readonly string[],
  wording: { message?: string; field?: string } = {},
): Promise<void> {
  const read = cursor?.collections;
  if (!cursor || !read) return;
  const added = collections.filter((c) => !read.includes(c));
  if (added.length === 0) return;
  const missed = await store.collectionsHeldThrough(tenant, added, cursor.position);
  if (missed.length === 0) return;
  throw outpostError(
    'CURSOR_EXPIRED',
    wording.message ?? 'this cursor did not read all of these collections: pull from the start to get them',
    { [wording.field ?? 'collections']: missed },
  );
}
