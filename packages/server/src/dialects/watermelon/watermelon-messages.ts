import { z } from 'zod';
import { dataShapeProblem, describeIssues, outpostError } from '@outpost/core';
import { parseOrThrow } from '../../http/errors';

/**
 * WatermelonDB's sync messages (its "Implementing your Sync backend" page): change sets by table,
 * raw records with `id`, deletions as ids.
 */
const rawRecordSchema = z.looseObject({ id: z.string() });

/**
 * A table's changes: the protocol's three lists, which WatermelonDB's synchronize() always sends. A
 * list it does not name (`updatd`, `Created`, `deleted_ids`) is refused: dropped, its changes would
 * be lost while the device marks its records synced.
 */
export const tableChangesSchema = z.strictObject(
  {
    created: z.array(rawRecordSchema).default([]),
    updated: z.array(rawRecordSchema).default([]),
    deleted: z.array(z.string()).default([]),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown list ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: a table's changes are created, updated and deleted`
        : undefined,
  },
);
export type TableChanges = z.infer<typeof tableChangesSchema>;

export const changeSetSchema = z.record(z.string(), tableChangesSchema);
export type ChangeSet = z.infer<typeof changeSetSchema>;

/** Room in a timestamp for the tag of what the device may read: its low 12 bits. */
const scopeTagRoom = 4096;

/**
 * What `timestamp` and `lastPulledAt` carry: the tenant's change position a pull reached, plus one,
 * times 4096, plus the tag of the collections the device could read then (ReadScopes; 0 for none
 * known). Pull reads by position (decisions/0002), so a change that commits after a pull always
 * lands above the timestamp it returned: no gap, however pushes interleave. The tag lets the next
 * pull send the older records of a collection the device may read only since (decisions/0011).
 * WatermelonDB only stores the number and sends it back; it refuses 0, hence the one.
 *
 * A number from before tags (the position plus one) reads as a smaller position with no tag
 * known: the device gets its changes again from further back, and every collection whole, once.
 */
export function positionOf(lastPulledAt: number): number {
  return Math.max(0, Math.floor(lastPulledAt / scopeTagRoom) - 1);
}

/** The tag of what the device could read at `lastPulledAt`; 0: not known. */
export function scopeTagOf(lastPulledAt: number): number {
  return lastPulledAt % scopeTagRoom;
}

export function timestampOf(position: number, scopeTag: number): number {
  return (position + 1) * scopeTagRoom + (scopeTag < scopeTagRoom ? scopeTag : 0);
}

/**
 * Why a lastPulledAt above the clinic's last position is refused (pull-scope's checkReached): this
 * server never answered it. A bare number cannot say whose it is: one from another clinic passes
 * once this clinic's positions are past it. One from before a restore of the database is caught
 * until the clinic's positions pass it again, which the device's next pull nearly always comes
 * before. v1 cursors carry the database's epoch, which catches a restore however far the clinic has
 * got (decision 0050); a lastPulledAt cannot: it is a number the WatermelonDB client keeps and sends
 * back as it is (its position and read-scope tag fill it), so only this check applies to it.
 */
export const lastPulledAtAhead =
  'lastPulledAt is ahead of this server’s data (another server’s, or from before a restore): reset the local database and sync from the start';

/** `last_pulled_at` as WatermelonDB's documented pullChanges sends it: `null` (text) before the first sync. */
export function parseLastPulledAt(value: unknown): number | null {
  if (value === undefined || value === null || value === '' || value === 'null' || value === 'undefined')
    return null;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d{1,16}$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw outpostError('VALIDATION_FAILED', 'last_pulled_at must be a timestamp this server returned', {
      field: 'last_pulled_at',
    });
  }
  return n === 0 ? null : n;
}

const migrationSchema = z
  .object({
    from: z.number().int().min(0),
    tables: z.array(z.string().max(128)).max(1000),
    columns: z
      .array(z.object({ table: z.string().max(128), columns: z.array(z.string().max(128)).max(1000) }))
      .max(1000),
  })
  .nullable();
export type MigrationRequest = z.infer<typeof migrationSchema>;

export interface PullQuery {
  lastPulledAt: number | null;
  schemaVersion: number | null;
  migration: MigrationRequest;
}

const pullQuerySchema = z.object({
  last_pulled_at: z.string().max(32).optional(),
  schema_version: z
    .string()
    .regex(/^(\d{1,9}|null|undefined)$/)
    .optional(),
  migration: z.string().max(100_000).optional(),
});

export function parsePullQuery(query: unknown): PullQuery {
  const q = parseOrThrow(pullQuerySchema, query, 'pull query');
  let migration: unknown = null;
  if (q.migration !== undefined && q.migration !== '' && q.migration !== 'null') {
    try {
      migration = JSON.parse(q.migration);
    } catch {
      throw outpostError('VALIDATION_FAILED', 'migration must be JSON', { field: 'migration' });
    }
  }
  const version = q.schema_version !== undefined ? Number(q.schema_version) : NaN;
  return {
    lastPulledAt: parseLastPulledAt(q.last_pulled_at),
    schemaVersion: Number.isSafeInteger(version) ? version : null,
    migration: parseOrThrow(migrationSchema, migration, 'migration'),
  };
}

export interface PushRequest {
  changes: ChangeSet;
  lastPulledAt: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A push: `{ changes, lastPulledAt }` or the bare change set (what the documented pushChanges
 * posts, as text/plain, with lastPulledAt in the query). When both places give lastPulledAt they
 * must agree.
 */
export function parsePushRequest(query: unknown, body: unknown): PushRequest {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      throw outpostError('VALIDATION_FAILED', 'body is not valid JSON');
    }
  }
  if (!isObject(parsed)) throw outpostError('VALIDATION_FAILED', 'body must be a change set');
  // A table named "changes" would hold created/updated/deleted; the envelope's `changes` holds tables.
  const wrapped =
    Object.hasOwn(parsed, 'lastPulledAt') ||
    (Object.keys(parsed).length === 1 && isObject(parsed['changes']) && !('created' in parsed['changes']));
  // Before zod reads it, which drops a key named __proto__ without a word (so a table or a column
  // under that name would be lost while the push succeeds), and before anything walks it: nested
  // thousands of levels deep it would overflow the stack. JSON sent as text (what pushChanges
  // sends) reaches here unguarded. A record's data sits three levels below the change set (table,
  // list, record), one more inside the envelope. The push is all or nothing: it is refused whole.
  const shapeProblem = dataShapeProblem(parsed, wrapped ? 4 : 3);
  if (shapeProblem !== null) {
    const what = shapeProblem
      .replace(/^data may nest/, "a record's data may nest")
      .replace(/^data\b/, 'a push');
    throw outpostError('VALIDATION_FAILED', `${what}: nothing was stored`);
  }
  const changeSet = changeSetSchema.safeParse(wrapped ? parsed['changes'] : parsed);
  if (!changeSet.success) {
    const issues = describeIssues(changeSet.error);
    const first = issues[0];
    throw outpostError(
      'VALIDATION_FAILED',
      first
        ? `changes are invalid: ${first.path ? `${first.path}: ` : ''}${first.message}`
        : 'changes are invalid',
      issues,
    );
  }
  const changes = changeSet.data;

  const fromQuery = isObject(query) ? parseLastPulledAt(query['last_pulled_at']) : null;
  const fromBody = wrapped ? parseLastPulledAt(parsed['lastPulledAt']) : null;
  if (fromQuery !== null && fromBody !== null && fromQuery !== fromBody) {
    throw outpostError('VALIDATION_FAILED', 'lastPulledAt in the body and the query differ', {
      field: 'lastPulledAt',
    });
  }
  const lastPulledAt = fromBody ?? fromQuery;
  if (lastPulledAt === null) {
    throw outpostError('VALIDATION_FAILED', 'lastPulledAt is required: pull before pushing', {
      field: 'lastPulledAt',
    });
  }
  return { changes, lastPulledAt };
}
