import { outpostError } from '@outpost/core';
import type { RecordData, Schema } from '@outpost/core';
import type { AuthContext } from '../../auth/tokens';
import type { ServerContext } from '../../create-sync-server';
import { recordKey } from '../../storage/sync-store';
import type { PulledRecord } from '../../storage/sync-store';
import { checkReached, collectionsToPull, isEveryCollection } from '../../pull/pull-scope';
import { toRaw } from './raw-records';
import type { RawRecord } from './raw-records';
import { lastPulledAtAhead, positionOf, scopeTagOf, timestampOf } from './watermelon-messages';
import type { MigrationRequest, PullQuery } from './watermelon-messages';

export interface PullTable {
  created: RawRecord[];
  updated: RawRecord[];
  deleted: string[];
}

export interface PullResult {
  changes: Record<string, PullTable>;
  timestamp: number;
}

const pageSize = 5000;

/**
 * WatermelonDB's pull over the store's position-ordered pull (the same one v1 reads): every change
 * after `lastPulledAt`, each record once at its latest state, in one answer.
 *
 * Every live record goes out as `updated`, none as `created`: WatermelonDB does not advance
 * lastPulledAt after its push, so a device's own pushed records come back on its next pull, and a
 * record it created, synced and then deleted offline would be recreated if sent as `created`
 * (as `updated`, WatermelonDB keeps its local deletion and pushes it). Devices therefore sync with
 * `sendCreatedAsUpdated: true`, as WatermelonDB's backend guide prescribes for this design.
 */
export async function pullForDevice(
  ctx: ServerContext,
  auth: AuthContext,
  query: PullQuery,
): Promise<PullResult> {
  const { store } = ctx;
  const schema = ctx.schemaFor(auth.tenant);
  const readable = collectionsToPull(schema, auth.roles, undefined);
  const { purgedThrough: horizon, position } = await store.positions(auth.tenant);
  const after = query.lastPulledAt === null ? 0 : positionOf(query.lastPulledAt);
  checkReached(after, position, auth.tenant, await store.epoch(), lastPulledAtAhead);
  // Tombstones above this device's position were purged: it may hold records deleted since, and
  // only a fresh start shows it which (as v1's CURSOR_EXPIRED).
  if (query.lastPulledAt !== null && after < horizon) {
    throw outpostError(
      'CURSOR_EXPIRED',
      'deletions since lastPulledAt were purged: reset the local database and sync from the start',
    );
  }

  const scopeTag = await store.readScopes.tagOf(auth.tenant, readable);

  const latest = new Map<string, PulledRecord>();
  // Tables or columns the device added since its last sync, and collections it may read only
  // since, need every record of those tables, not only the changed ones. Read first, so the
  // incremental read below overrides with newer states.
  if (query.lastPulledAt !== null) {
    const whole = new Set([
      ...migratedCollections(schema, readable, query.migration),
      ...(await gainedCollections(ctx, auth.tenant, readable, query.lastPulledAt)),
    ]);
    if (whole.size > 0) {
      await readAll(ctx, auth.tenant, 0, [...whole], (r) => {
        if (!r.deleted) latest.set(recordKey(r.collection, r.id), r);
      });
    }
  }
  const reached = await readAll(ctx, auth.tenant, after, readable, (r) => {
    latest.set(recordKey(r.collection, r.id), r);
  });

  const changes: Record<string, PullTable> = {};
  for (const r of latest.values()) {
    const def = schema.collection(r.collection);
    if (!def) continue;
    // A first sync holds nothing to delete.
    if (r.deleted && query.lastPulledAt === null) continue;
    const table = (changes[r.collection] ??= { created: [], updated: [], deleted: [] });
    if (r.deleted) table.deleted.push(r.id);
    else {
      const data = JSON.parse(r.dataJson) as RecordData;
      table.updated.push(
        toRaw(def, { id: r.id, version: r.version, data, hlc: r.hlc, updatedAt: r.updatedAt }),
      );
    }
  }
  // Everything at or below the horizon is settled too, so a device never starts below it.
  return { changes, timestamp: timestampOf(Math.max(reached, horizon), scopeTag) };
}

/**
 * The collections the device may read now and could not when it pulled `lastPulledAt`: a role
 * given read access to one, a person given another role. Their records changed before that pull
 * never reached the device. When what it could read then is not known (a timestamp from before
 * they carried it, or one this clinic never gave), every collection is sent whole, once.
 */
async function gainedCollections(
  ctx: ServerContext,
  tenant: string,
  readable: readonly string[],
  lastPulledAt: number,
): Promise<readonly string[]> {
  const tag = scopeTagOf(lastPulledAt);
  const then = tag === 0 ? null : await ctx.store.readScopes.setOf(tenant, tag);
  if (then === null) return readable;
  return readable.filter((c) => !then.includes(c));
}

/** Follows the store's pull from `after` to its end; returns the last position read (or `after`). */
async function readAll(
  ctx: ServerContext,
  tenant: string,
  after: number,
  collections: readonly string[],
  each: (r: PulledRecord) => void,
): Promise<number> {
  let position = after;
  for (;;) {
    const page = await ctx.store.pull(
      tenant,
      position,
      pageSize,
      collections,
      isEveryCollection(ctx.schemaFor(tenant), collections),
    );
    for (const r of page.records) each(r);
    position = page.records.at(-1)?.position ?? position;
    if (!page.hasMore) return position;
  }
}

/**
 * The collections a migration sync needs whole. Names come from the device, so only readable
 * collections of this tenant's schema count; anything else it names is not ours to send.
 */
function migratedCollections(
  schema: Schema,
  readable: readonly string[],
  migration: MigrationRequest,
): string[] {
  if (migration === null) return [];
  const named = new Set([...migration.tables, ...migration.columns.map((c) => c.table)]);
  return readable.filter((c) => named.has(c) && schema.collection(c) !== undefined);
}
