import {
  DependencyCycleError,
  formatHlc,
  isTempId,
  isValidRecordId,
  orderOps,
  outpostError,
  uuidv7,
} from '@outpost/core';
import type {
  Action,
  CollectionDefinition,
  PushResponse,
  PushResult,
  RecordData,
  Schema,
  OutpostError,
} from '@outpost/core';
import type { AuthContext } from '../../auth/tokens';
import type { ServerContext } from '../../create-sync-server';
import { applyPush } from '../../push/apply-push';
import { checkReached } from '../../pull/pull-scope';
import { recordKey } from '../../storage/sync-store';
import type { StoredRecord, TenantWrite } from '../../storage/sync-store';
import { fromRaw, sentUpdatedAt } from './raw-records';
import { lastPulledAtAhead, positionOf } from './watermelon-messages';
import type { ChangeSet, PushRequest } from './watermelon-messages';

/** One record of the change set, as sent. */
interface Entry {
  collection: string;
  def: CollectionDefinition;
  list: 'created' | 'updated' | 'deleted';
  id: string;
  raw: Readonly<Record<string, unknown>> | null;
}

/** An engine op built from an entry, with its place in the change set for orderOps. */
interface SeqOp {
  seq: number;
  opId: string;
  collection: string;
  type: 'create' | 'update' | 'delete';
  id: string;
  data?: RecordData;
  hlc?: string;
}

/** A change that met a conflict, archived, and how it was settled (open, server-won, merged...). */
export interface PushConflict {
  table: string;
  id: string;
  conflictId: string | undefined;
  kind: string;
  outcome: string;
}

/**
 * Not part of WatermelonDB's protocol (its synchronize() reads only `experimentalRejectedIds`,
 * which this server never sends): which changes met a conflict, for an app that wants to say so.
 */
export interface PushAnswer {
  conflicts: PushConflict[];
}

/** WatermelonDB devices carry no device id: their ops are journaled under one name per user. */
const deviceId = 'watermelondb';

/** Refusals the record itself makes (a signed note, a locked form): the device gets the record back. */
const keptOnServer = new Set(['IMMUTABLE', 'LOCKED']);

/** An HLC node naming the user, within the characters an HLC allows. */
function nodeOf(userId: string): string {
  return `wm.${userId.replace(/[^A-Za-z0-9_.:-]/g, '_')}`.slice(0, 64);
}

function entriesOf(schema: Schema, roles: readonly string[], changes: ChangeSet): Entry[] {
  const entries: Entry[] = [];
  for (const [table, set] of Object.entries(changes)) {
    const def = schema.collection(table);
    const count = set.created.length + set.updated.length + set.deleted.length;
    // WatermelonDB sends every local table, synced or not: an empty one of the app's own is no error.
    if (!def) {
      if (count === 0) continue;
      throw outpostError('VALIDATION_FAILED', `no table named "${table}" is synced`, { table });
    }
    // Whether a change becomes a create, an update or nothing depends on what the server holds, so
    // permissions are checked per table first: a refusal must not tell a role that may not read
    // whether a record exists.
    const needs: Action[] = [
      ...(set.created.length + set.updated.length > 0 ? (['create', 'update'] as const) : []),
      ...(set.deleted.length > 0 ? (['delete'] as const) : []),
    ];
    const lacking = needs.filter((action) => !schema.can(roles, table, action));
    if (lacking.length > 0) {
      throw outpostError('FORBIDDEN', `your role may not ${lacking.join(' or ')} ${table}`, {
        table,
        actions: lacking,
      });
    }
    if (def.idStrategy === 'server' && set.created.length > 0) {
      throw outpostError(
        'VALIDATION_FAILED',
        `${table} ids are assigned by the server, so a WatermelonDB device cannot create ${table} records: create them through /v1/sync/push with a temp id`,
        { table, ids: set.created.map((r) => r.id) },
      );
    }
    const seen = new Set<string>();
    const add = (list: Entry['list'], id: string, raw: Entry['raw']) => {
      if (!isValidRecordId(id) || isTempId(id)) {
        throw outpostError('VALIDATION_FAILED', `${table}: "${id.slice(0, 80)}" is not a valid record id`, {
          table,
          id: id.slice(0, 80),
        });
      }
      if (seen.has(id)) {
        throw outpostError('VALIDATION_FAILED', `${table} ${id} appears more than once in the change set`, {
          table,
          id,
        });
      }
      seen.add(id);
      entries.push({ collection: table, def, list, id, raw });
    };
    for (const raw of set.created) add('created', raw.id, raw);
    for (const raw of set.updated) add('updated', raw.id, raw);
    for (const id of set.deleted) add('deleted', id, null);
  }
  return entries;
}

/** Whether a record changed after the device's last pull: WatermelonDB's cue to refuse the whole push. */
function changedAfter(record: StoredRecord | null, seenUpTo: number): boolean {
  return record !== null && record.position > seenUpTo;
}

interface OpEnv {
  nowMs: number;
  node: string;
  randomBytes: ServerContext['randomBytes'];
}

/**
 * The engine op for one record of the change set, decided on what the server holds. WatermelonDB's
 * rules: a created record that exists is updated; an updated one that does not is created; a
 * deletion of a record that does not exist is nothing to do. A device sends no version, only
 * `updated_at`: it becomes the op's HLC, so the engine's rule for clients that send times applies
 * (decisions/0006): a change made before the stored record's latest change is a conflict, settled
 * by the collection's strategy. An `updated_at` equal to what the server sent for the stored
 * version is one the device's model did not touch, and says nothing.
 */
function opFor(entry: Entry, current: StoredRecord | null, seq: number, env: OpEnv): SeqOp | null {
  const base = { seq, opId: uuidv7(env.nowMs, env.randomBytes), collection: entry.collection, id: entry.id };
  if (entry.raw === null) return current !== null && !current.deleted ? { ...base, type: 'delete' } : null;
  const { data, changedAtMs } = fromRaw(entry.def, entry.raw);
  const exists = current !== null && !current.deleted;
  const type =
    entry.list === 'created' ? (exists ? 'update' : 'create') : current === null ? 'create' : 'update';
  const untouched = current !== null && changedAtMs === sentUpdatedAt(current);
  const hlc =
    changedAtMs !== undefined && !untouched
      ? // A device clock running ahead would otherwise win every later comparison.
        formatHlc({ ms: Math.min(changedAtMs, env.nowMs), counter: 0, node: env.node })
      : undefined;
  return { ...base, type, data, ...(hlc !== undefined ? { hlc } : {}) };
}

function refusal(refused: readonly PushResult[]): OutpostError {
  const describe = (r: PushResult) => {
    const fields = (r.error?.details as { fields?: unknown } | undefined)?.fields;
    const named = Array.isArray(fields) ? `: ${fields.join(', ')}` : '';
    return `${r.collection} ${r.id}: ${r.error?.message ?? 'refused'}${named}`;
  };
  const first = refused[0] as PushResult;
  const more = refused.length > 1 ? ` (and ${refused.length - 1} more)` : '';
  const forbidden = refused.every((r) => r.error?.code === 'FORBIDDEN');
  return outpostError(
    forbidden ? 'FORBIDDEN' : 'VALIDATION_FAILED',
    `push refused, nothing stored: ${describe(first)}${more}`,
    {
      rejected: refused.map((r) => ({
        table: r.collection,
        id: r.id,
        code: r.error?.code,
        message: r.error?.message,
        ...(r.error?.details !== undefined ? { details: r.error.details } : {}),
      })),
    },
  );
}

function conflictError(changed: readonly Entry[]): OutpostError {
  return outpostError('CONFLICT', 'records changed on the server after lastPulledAt: pull, then push again', {
    changed: changed.map((e) => ({ table: e.collection, id: e.id })),
  });
}

/**
 * WatermelonDB's push as one engine push: the change set becomes v1 ops (in dependency order) and
 * goes through applyPush, so every collection's conflict rule, hooks, permissions and immutability
 * apply. WatermelonDB's push is all or nothing, so inside that one transaction:
 * - before any op: a record of the change set that changed after lastPulledAt refuses the push
 *   (409 CONFLICT; the device pulls, merges and pushes again);
 * - after the ops: any op the engine refused (invalid data, an unknown column, a forbidden change)
 *   rolls the whole push back (400, or 403 when all were forbidden);
 * - a change the server did not take (its version won, a person must decide, a signed note or
 *   locked form) is written again at a new position with its data unchanged, so the device's next
 *   pull brings the server's state back and it converges; the change itself is in the archive.
 */
export async function pushFromDevice(
  ctx: ServerContext,
  auth: AuthContext,
  request: PushRequest,
): Promise<PushAnswer> {
  const schema = ctx.schemaFor(auth.tenant);
  const seenUpTo = positionOf(request.lastPulledAt);
  const entries = entriesOf(schema, auth.roles, request.changes);
  if (entries.length === 0) return { conflicts: [] };
  // Above the clinic's last position, lastPulledAt would let every change pass the check below.
  const { position } = await ctx.store.positions(auth.tenant);
  checkReached(seenUpTo, position, auth.tenant, await ctx.store.epoch(), lastPulledAtAhead);

  // What the server holds now decides each op's type. Read before the transaction; the guard below
  // re-reads inside it and refuses the push if anything moved in between.
  const held = await readCurrent(ctx, auth.tenant, entries);
  const stale = entries.filter((e) => changedAfter(held.get(keyOf(e)) ?? null, seenUpTo));
  if (stale.length > 0) throw conflictError(stale);

  const env: OpEnv = { nowMs: ctx.now().getTime(), node: nodeOf(auth.userId), randomBytes: ctx.randomBytes };
  const ops = entries.flatMap((e, seq) => opFor(e, held.get(keyOf(e)) ?? null, seq, env) ?? []);
  let ordered: SeqOp[];
  try {
    ordered = orderOps(ops, schema);
  } catch (err) {
    if (!(err instanceof DependencyCycleError)) throw err;
    throw outpostError('VALIDATION_FAILED', 'records of the change set reference each other in a loop', {
      cycle: err.cycle,
    });
  }
  if (ordered.length === 0) return { conflicts: [] };

  const response = await applyPush(
    ctx.store,
    schema,
    {
      tenant: auth.tenant,
      userId: auth.userId,
      roles: auth.roles,
      clientId: `watermelondb:${auth.userId}`,
      deviceId,
      clock: ctx.clock,
      now: ctx.now,
      randomBytes: ctx.randomBytes,
    },
    ordered.map(({ seq: _seq, ...op }) => op),
    {
      before: async (w) => {
        const now = await w.loadRecords(entries.map((e) => ({ collection: e.collection, id: e.id })));
        const moved = entries.filter((e) => {
          const then = held.get(keyOf(e)) ?? null;
          const current = now.get(keyOf(e)) ?? null;
          return (then?.position ?? -1) !== (current?.position ?? -1) || changedAfter(current, seenUpTo);
        });
        if (moved.length > 0) throw conflictError(moved);
      },
      after: (w, res) => settle(w, res),
    },
  );
  return {
    conflicts: response.results.flatMap((r) =>
      r.conflict
        ? [
            {
              table: r.collection,
              id: r.id,
              conflictId: r.conflict.id,
              kind: r.conflict.kind,
              outcome: r.conflict.outcome,
            },
          ]
        : [],
    ),
  };
}

async function settle(w: TenantWrite, response: PushResponse): Promise<void> {
  const refused = response.results.filter(
    (r) => r.status === 'rejected' && !keptOnServer.has(r.error?.code ?? ''),
  );
  if (refused.length > 0) throw refusal(refused);
  const notTaken = response.results.filter((r) => r.status === 'conflict' || r.status === 'rejected');
  if (notTaken.length === 0) return;
  const records = await w.loadRecords(notTaken.map((r) => ({ collection: r.collection, id: r.id })));
  // Each op that took no effect left its reserved position unused; these spend them.
  await w.writeRecords([...records.values()].map((r) => ({ ...r, position: w.nextPosition() })));
}

function keyOf(e: Pick<Entry, 'collection' | 'id'>): string {
  return recordKey(e.collection, e.id);
}

/** The stored records a change set names, looked up a few at a time. */
async function readCurrent(
  ctx: ServerContext,
  tenant: string,
  entries: readonly Entry[],
): Promise<Map<string, StoredRecord | null>> {
  const found = new Map<string, StoredRecord | null>();
  const parallel = 16;
  for (let i = 0; i < entries.length; i += parallel) {
    const part = entries.slice(i, i + parallel);
    const records = await Promise.all(part.map((e) => ctx.store.getRecord(tenant, e.collection, e.id)));
    part.forEach((e, k) => found.set(keyOf(e), records[k] ?? null));
  }
  return found;
}
