import {
  backoffDelay,
  formatHlc,
  makeTempId,
  outpostError,
  shouldRetry,
  stableStringify,
  uuidv7,
} from '@outpost/core';
import type { ConflictSummary, HlcClock, PushResult, RetryPolicy, Schema } from '@outpost/core';
import type { AuthContext } from '../../auth/tokens';
import type { ContentDigest, ContentIds } from '../content-ids';
import { ConflictDesk, visibilityFor } from '../../conflicts/conflict-desk';
import { applyPush } from '../../push/apply-push';
import type { SyncStore } from '../../storage/sync-store';
import { collectionFor } from './resource-types';
import { OpIdTaken, linkOf, ownLinkGuard } from './queue-op-ids';
import { QueueStore, effectiveStatus } from './queue-store';
import type { LoadedItem, QueueItem, QueueOutcome } from './queue-store';
import { queueRetryPolicy } from './queue-api-options';
import { resolutionOptions } from './queue-messages';
import type {
  QueueError,
  QueueItemView,
  QueueRequest,
  QueueStatus,
  ResolutionOption,
  ResourceResult,
} from './queue-messages';

export interface QueueContext {
  store: SyncStore;
  schemaFor(tenant: string): Schema;
  clock: HlcClock;
  now: () => Date;
  contentIds: ContentIds;
}

/**
 * How long a claim holds an item. An attempt is one engine push of one op, over in well under a
 * second; an item SYNCING for longer than this was claimed by a server that stopped (or whose
 * database failed) before it stored the outcome, and the sweep takes it up again. Taking up an
 * attempt that is in fact still running is harmless (the same op id, applied once), so the lease
 * only has to be long enough that this stays rare, and short enough that a crash costs minutes.
 */
export const claimLeaseMs = 5 * 60_000;

export type ProcessResponse =
  | { status: 'SYNCED'; message: string; result: ResourceResult }
  | {
      status: 'CONFLICT';
      message: string;
      error: string;
      resolutionOptions: typeof resolutionOptions;
      conflict: ConflictSummary | null;
    }
  | {
      status: 'FAILED';
      message: string;
      error: string;
      code: string;
      details?: unknown;
      retryCount: number;
      nextAttemptAt: string | null;
    }
  | { status: 'PENDING' | 'SYNCING'; message: string };

/** What a retry did with the FAILED items it looked at. */
export interface RetryTally {
  retried: number;
  synced: number;
  conflicts: number;
  failed: number;
  /** FAILED items whose next attempt is not due yet. */
  waiting: number;
  /** FAILED items that will not be tried again (every attempt used, or refused for good): they stay FAILED. */
  exhausted: number;
}

export interface RetryResponse extends RetryTally {
  items: QueueItemView[];
}

/** One pass of the server's own retry. */
export interface SweepReport extends RetryTally {
  /**
   * Items found due: FAILED items whose next attempt is due, and SYNCING items whose claim lapsed.
   * Those neither retried, resumed nor counted otherwise were taken by another server first.
   */
  due: number;
  /**
   * SYNCING items whose claim had lapsed (a server stopped mid-attempt), finished here with the
   * attempt's own op id; their outcomes count in synced, conflicts and failed, not in retried.
   */
  resumed: number;
  /** Due items that failed before the roles of their attempts were kept: left to their user's retry. */
  unattended: number;
  /** Items whose attempt threw (a database error): logged, and left as they were. */
  errors: number;
}

/** Plain code-unit order, the same on every machine (ISO times sort as text). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function emptyTally(): RetryTally {
  return { retried: 0, synced: 0, conflicts: 0, failed: 0, waiting: 0, exhausted: 0 };
}

export interface ResolveResponse {
  id: string;
  status: QueueStatus;
  resolution: ResolutionOption;
  message: string;
  conflictId: string;
  result?: ResourceResult;
}

/**
 * Refusals no later attempt can change: a signed note or a locked intake form refuses every change
 * for good (seed 004's RejectedImmutable and RejectedLocked). Such an item gets no next attempt and
 * retry leaves it alone: each attempt is a new op, and the engine would archive the same refusal
 * again, as one more conflict and one more rejection for an administrator to read.
 */
const finalRefusals: ReadonlySet<string> = new Set(['IMMUTABLE', 'LOCKED']);

function refusedForGood(code: string | undefined): boolean {
  return code !== undefined && finalRefusals.has(code);
}

/**
 * Refusals the server's own retry cannot change: every attempt sends the item's same data, under
 * the same roles, to the same schema. Retried all day, each would archive the same rejection 80
 * times. So the timer leaves them to a person: `nextAttemptAt` is null, and their user's `retry`
 * still tries them (an administrator may have changed a role or the schema since).
 */
const refusalsForAPerson: ReadonlySet<string> = new Set([
  'VALIDATION_FAILED',
  'FORBIDDEN',
  'UNKNOWN_COLLECTION',
]);

/** Whether the server plans another attempt of its own after a failure with `code`. */
function retriesByItself(code: string): boolean {
  return !refusedForGood(code) && !refusalsForAPerson.has(code);
}

/** The engine's answer as the seed names it: the status the first delivery of the op had. */
function engineStatus(r: PushResult): 'applied' | 'conflict' | 'rejected' {
  return r.status === 'duplicate' ? (r.originalStatus ?? 'applied') : r.status;
}

/**
 * The id of an item queued without one (seed 000's client sends none): made from the user and the
 * operation as queued, `createdAtClient` included, so the same body posted again after a lost answer
 * is the same item and is applied once, while any other operation, or another user's, is another.
 * Keyed (ContentIds), as the operation's data is patient data and the id is not.
 */
function itemIdOf(digest: ContentDigest, auth: AuthContext, body: QueueRequest): string {
  const operation = [
    auth.userId,
    body.deviceId,
    body.operation,
    body.resourceType,
    body.resourceId ?? null,
    body.data ?? null,
    body.createdAtClient,
    body.version ?? null,
  ];
  return `q-${digest(stableStringify(operation), 40)}`;
}

/** One op id per attempt: processing twice applies once, and only a retry tries the op afresh. */
function opIdFor(item: QueueItem, attempt: number): string {
  return attempt === 0 ? `queue-api:${item.id}` : `queue-api:${item.id}:${attempt}`;
}

export function toView(item: LoadedItem): QueueItemView {
  return {
    id: item.id,
    operation: item.operation,
    resourceType: item.resourceType,
    resourceId: item.resourceId,
    data: item.data,
    status: effectiveStatus(item.status, item.conflictResolvedBy),
    retryCount: item.retryCount,
    createdAtClient: item.createdAtClient,
    deviceId: item.deviceId,
    version: item.version,
    nextAttemptAt: item.nextAttemptAt,
    error: item.error?.message ?? null,
    errorCode: item.error?.code ?? null,
    conflictId: item.conflictId,
    resolution: item.resolution,
  };
}

/**
 * Seed 000's server-side queue over the engine: an item is stored as queued, and processing it is
 * one push of one op through applyPush, so every rule of the engine (checks, conflicts, archive,
 * idempotency, audit) applies unchanged. Resolutions go to the conflict desk.
 */
export class QueueProcessor {
  readonly queue: QueueStore;
  private readonly desk: ConflictDesk;

  constructor(
    private readonly ctx: QueueContext,
    private readonly policy: Readonly<RetryPolicy> = queueRetryPolicy,
  ) {
    this.queue = new QueueStore(ctx.store);
    this.desk = new ConflictDesk(ctx);
  }

  /** Stores one operation as PENDING. Returns the item and whether this request created it. */
  async enqueue(auth: AuthContext, body: QueueRequest): Promise<{ item: LoadedItem; created: boolean }> {
    const schema = this.ctx.schemaFor(auth.tenant);
    const collection = collectionFor(schema, body.resourceType);
    const def = collection === null ? undefined : schema.collection(collection);
    if (collection === null || !def) {
      throw outpostError('VALIDATION_FAILED', `no resource type "${body.resourceType}" here`, {
        resourceType: body.resourceType,
        known: schema.collectionNames,
      });
    }
    // Refused at the door: an item the caller's role could never apply would only sit in the queue
    // holding its data, failing every retry.
    const action = body.operation === 'CREATE' ? 'create' : body.operation === 'UPDATE' ? 'update' : 'delete';
    if (!schema.can(auth.roles, collection, action)) {
      throw outpostError('FORBIDDEN', `your role may not ${action} ${collection}`);
    }
    const now = this.ctx.now();
    const nowIso = now.toISOString();
    const id = body.id ?? itemIdOf(await this.ctx.contentIds.digester(), auth, body);
    // A device clock running ahead must not make an offline edit look newer than it can be.
    const madeAt = Math.max(0, Math.min(Date.parse(body.createdAtClient), now.getTime()));
    const item: QueueItem = {
      tenant: auth.tenant,
      id,
      userId: auth.userId,
      deviceId: body.deviceId,
      operation: body.operation,
      resourceType: body.resourceType,
      collection,
      resourceId: body.resourceId ?? null,
      recordId:
        body.resourceId ??
        (def.idStrategy === 'server' ? makeTempId(collection, now.getTime()) : uuidv7(now.getTime())),
      data: body.operation === 'DELETE' ? null : (body.data ?? {}),
      version: body.version ?? null,
      createdAtClient: body.createdAtClient,
      hlc: formatHlc({ ms: madeAt, counter: 0, node: id }),
      status: 'PENDING',
      retryCount: 0,
      nextAttemptAt: null,
      error: null,
      attemptRoles: null,
      conflictId: null,
      resolution: null,
      queuedAt: nowIso,
      updatedAt: nowIso,
      syncedAt: null,
    };
    const created = await this.queue.insert(item);
    const stored = await this.queue.get(auth.tenant, id);
    // The first item with an id stands; the same client queueing it again is told what became of it.
    if (!stored || stored.userId !== auth.userId) {
      throw outpostError('CONFLICT', `queue item id ${id} is already in use`);
    }
    return { item: stored, created };
  }

  /** The caller's items that have not synced yet, oldest first. */
  async pending(auth: AuthContext, deviceId: string | undefined): Promise<QueueItemView[]> {
    const items = await this.queue.list(auth.tenant, {
      userId: auth.userId,
      ...(deviceId !== undefined ? { deviceId } : {}),
      statuses: ['PENDING', 'SYNCING', 'FAILED', 'CONFLICT'],
    });
    return items.map(toView).filter((v) => v.status !== 'SYNCED');
  }

  /** An item only its owner processes; anyone else, in this tenant or another, finds nothing. */
  private async own(auth: AuthContext, id: string): Promise<LoadedItem> {
    const item = await this.queue.get(auth.tenant, id);
    if (!item || item.userId !== auth.userId) throw outpostError('NOT_FOUND', `queue item ${id} not found`);
    return item;
  }

  async process(auth: AuthContext, id: string): Promise<ProcessResponse> {
    const item = await this.own(auth, id);
    const at = this.ctx.now().toISOString();
    // SYNCING is what a crash between the engine's commit and ours leaves: the same op id is sent
    // again, and the engine answers with its first outcome.
    if (
      (item.status === 'PENDING' || item.status === 'SYNCING') &&
      (await this.queue.claim(auth.tenant, id, ['PENDING', 'SYNCING'], at, { roles: auth.roles }))
    ) {
      return this.attempt(auth, item, item.retryCount);
    }
    // Processed already: the engine replays the first outcome of this attempt and applies nothing.
    const current = await this.own(auth, id);
    const result = await this.send(auth, current, current.retryCount);
    return this.answer(auth, current, result);
  }

  /** FAILED items of the caller that are due, tried again one by one in the order they were queued. */
  async retry(auth: AuthContext, deviceId: string | undefined): Promise<RetryResponse> {
    const failed = await this.queue.list(auth.tenant, {
      userId: auth.userId,
      ...(deviceId !== undefined ? { deviceId } : {}),
      statuses: ['FAILED'],
    });
    const tally = emptyTally();
    const items: QueueItemView[] = [];
    for (const item of failed) {
      await this.retryOne(auth, item, tally);
      const after = await this.queue.get(auth.tenant, item.id);
      if (after) items.push(toView(after));
    }
    return { ...tally, items };
  }

  /**
   * The server's own retry, over every tenant: the SYNCING items whose claim lapsed, finished with
   * their attempt's op id (resume), and the FAILED items whose next attempt is due, each tried again
   * exactly as its user's `retry` would try it (retryOne). Either runs as the item's user, under
   * the roles its last attempt ran under. Several servers on one database may sweep at once: each
   * item's claim is a conditional update, so one of them takes it and the others pass it by. `stop`
   * is asked before each item, so a closing server waits for one item at most. An item that throws
   * is reported and left as it is (SYNCING if it was claimed: a later sweep finishes it once).
   */
  async sweep(options: {
    limit: number;
    stop: () => boolean;
    onError: (err: unknown, item: { tenant: string; id: string }) => void;
  }): Promise<SweepReport> {
    const now = this.ctx.now();
    const stalled = await this.queue.stalled(new Date(now.getTime() - claimLeaseMs).toISOString(), {
      limit: options.limit,
    });
    const failed =
      stalled.length < options.limit
        ? await this.queue.due(now.toISOString(), {
            maxAttempts: this.policy.maxAttempts,
            limit: options.limit - stalled.length,
          })
        : [];
    // Both lists come in the order their items fell due; within the batch they go in the order they
    // were queued, so a patient's item is tried before the item of an encounter that refers to it.
    const due = [...stalled, ...failed].sort(
      (a, b) => compareText(a.queuedAt, b.queuedAt) || compareText(a.id, b.id),
    );
    const report: SweepReport = { ...emptyTally(), due: due.length, resumed: 0, unattended: 0, errors: 0 };
    for (const item of due) {
      if (options.stop()) break;
      const roles = item.attemptRoles;
      // Tried before roles were kept: only its user, with a token, can say what they may do.
      if (roles === null) {
        report.unattended += 1;
        continue;
      }
      const auth = { tenant: item.tenant, userId: item.userId, roles: [...roles] };
      try {
        if (item.status === 'SYNCING') await this.resume(auth, item, report);
        else await this.retryOne(auth, item, report);
      } catch (err) {
        report.errors += 1;
        options.onError(err, { tenant: item.tenant, id: item.id });
      }
    }
    return report;
  }

  /**
   * A SYNCING item whose claim lapsed: its server stopped between claiming it and storing the
   * outcome, so its user would otherwise wait until they process it again. The same attempt is
   * sent again, with the same op id, so the engine applies it once whether or not the first
   * delivery reached it. Taken over only if still claimed as seen, so of two servers one takes it.
   */
  private async resume(auth: AuthContext, item: LoadedItem, report: SweepReport): Promise<void> {
    const taken = await this.queue.claim(auth.tenant, item.id, ['SYNCING'], this.ctx.now().toISOString(), {
      roles: auth.roles,
      lapsed: { retryCount: item.retryCount, claimedAt: item.updatedAt },
    });
    if (!taken) return;
    report.resumed += 1;
    const answer = await this.attempt(auth, item, item.retryCount);
    if (answer.status === 'SYNCED') report.synced += 1;
    else if (answer.status === 'CONFLICT') report.conflicts += 1;
    else report.failed += 1;
  }

  /**
   * One FAILED item looked at for a retry, by its user's `retry` or the server's sweep alike: tried
   * again if it is due and has an attempt left, and counted in `tally` either way.
   */
  private async retryOne(auth: AuthContext, item: LoadedItem, tally: RetryTally): Promise<void> {
    const now = this.ctx.now();
    if (refusedForGood(item.error?.code) || !shouldRetry(item.retryCount + 1, this.policy)) {
      tally.exhausted += 1;
    } else if (item.nextAttemptAt !== null && Date.parse(item.nextAttemptAt) > now.getTime()) {
      tally.waiting += 1;
    } else if (
      await this.queue.claim(auth.tenant, item.id, ['FAILED'], now.toISOString(), {
        roles: auth.roles,
        seen: item.retryCount,
      })
    ) {
      tally.retried += 1;
      const answer = await this.attempt(auth, item, item.retryCount + 1);
      if (answer.status === 'SYNCED') tally.synced += 1;
      else if (answer.status === 'CONFLICT') tally.conflicts += 1;
      else tally.failed += 1;
    }
  }

  /**
   * CLIENT_WINS and SERVER_WINS settle the item's archived conflict at the conflict desk, with its
   * permissions (in the examples only admins resolve). MANUAL changes neither record nor conflict:
   * it marks the item for an administrator, and it stays CONFLICT until someone settles it.
   */
  async resolve(auth: AuthContext, id: string, resolution: ResolutionOption): Promise<ResolveResponse> {
    const item = await this.queue.get(auth.tenant, id);
    const schema = this.ctx.schemaFor(auth.tenant);
    const mayResolve = visibilityFor(schema, auth).resolvable.includes(item?.collection ?? '');
    if (!item || (item.userId !== auth.userId && !mayResolve)) {
      throw outpostError('NOT_FOUND', `queue item ${id} not found`);
    }
    const status = effectiveStatus(item.status, item.conflictResolvedBy);
    if (status !== 'CONFLICT' || item.conflictId === null) {
      throw outpostError('CONFLICT', `queue item ${id} is ${status}: only a CONFLICT item is resolved`, {
        status,
      });
    }
    const at = this.ctx.now().toISOString();
    if (resolution === 'MANUAL') {
      await this.queue.record(auth.tenant, id, { status: 'CONFLICT', resolution }, at);
      return {
        id,
        status: 'CONFLICT',
        resolution,
        conflictId: item.conflictId,
        message: 'Flagged for manual review by an administrator',
      };
    }
    const strategy = resolution === 'CLIENT_WINS' ? 'client-wins' : 'server-wins';
    const { record } = await this.desk.resolve(auth, item.conflictId, { strategy });
    await this.queue.record(auth.tenant, id, { status: 'CONFLICT', resolution, syncedAt: at }, at);
    return {
      id,
      status: 'SYNCED',
      resolution,
      conflictId: item.conflictId,
      message:
        resolution === 'CLIENT_WINS'
          ? 'Conflict resolved: offline data applied'
          : 'Conflict resolved: server version kept',
      result: {
        id: record.id,
        resourceType: item.resourceType,
        version: record.version,
        deleted: record.deleted,
        data: record.data,
      },
    };
  }

  /** Sends the item's op for one attempt and stores what the engine decided. */
  private async attempt(auth: AuthContext, item: LoadedItem, attempt: number): Promise<ProcessResponse> {
    const result = await this.send(auth, item, attempt);
    const now = this.ctx.now();
    const at = now.toISOString();
    const status = engineStatus(result);
    let outcome: QueueOutcome;
    if (status === 'applied') {
      outcome = {
        status: 'SYNCED',
        retryCount: attempt,
        nextAttemptAt: null,
        error: null,
        conflictId: result.conflict?.id ?? null,
        syncedAt: at,
      };
    } else if (status === 'conflict') {
      outcome = {
        status: 'CONFLICT',
        retryCount: attempt,
        nextAttemptAt: null,
        error: null,
        conflictId: result.conflict?.id ?? null,
      };
    } else {
      const attempts = attempt + 1;
      const error: QueueError = {
        code: result.error?.code ?? 'VALIDATION_FAILED',
        message: result.error?.message ?? 'the operation was refused',
        ...(result.error?.details !== undefined ? { details: result.error.details } : {}),
      };
      outcome = {
        status: 'FAILED',
        retryCount: attempt,
        nextAttemptAt:
          retriesByItself(error.code) && shouldRetry(attempts, this.policy)
            ? new Date(now.getTime() + backoffDelay(attempts, this.policy)).toISOString()
            : null,
        error,
        // The server's own retry runs under these (sweep): they are the user's, from their token.
        attemptRoles: [...auth.roles],
        conflictId: result.conflict?.id ?? null,
      };
    }
    // Over this attempt's claim only: if another delivery of it stored the outcome first (it is the
    // same, the engine answered both alike), the item as stored is the answer.
    await this.queue.record(auth.tenant, item.id, outcome, at, { retryCount: attempt });
    const stored = await this.own(auth, item.id);
    return this.answer(auth, stored, result);
  }

  private async send(auth: AuthContext, item: QueueItem, attempt: number): Promise<PushResult> {
    const type = item.operation === 'CREATE' ? 'create' : item.operation === 'UPDATE' ? 'update' : 'delete';
    // Temp ids of server-id collections are mapped per client installation: one per device here.
    const sender = { userId: item.userId, clientId: `queue-api:${item.deviceId}` };
    const base = opIdFor(item, attempt);
    for (let link = 0; ;) {
      const op = {
        opId: linkOf(base, link),
        collection: item.collection,
        type,
        id: item.recordId,
        hlc: item.hlc,
        ...(type !== 'create' && item.version !== null ? { baseVersion: item.version } : {}),
        ...(type !== 'delete' ? { data: item.data ?? {} } : {}),
      };
      try {
        const response = await applyPush(
          this.ctx.store,
          this.ctx.schemaFor(auth.tenant),
          {
            tenant: auth.tenant,
            ...sender,
            roles: auth.roles,
            deviceId: item.deviceId,
            clock: this.ctx.clock,
            now: this.ctx.now,
          },
          [op],
          ownLinkGuard(base, link, sender),
        );
        const result = response.results[0];
        if (!result) throw new Error('the engine answered no result for one op');
        return result;
      } catch (err) {
        if (!(err instanceof OpIdTaken)) throw err;
        link = err.next;
      }
    }
  }

  /** The seed's answer for an item as it now stands, with the engine's result of its op. */
  private async answer(auth: AuthContext, item: LoadedItem, result: PushResult): Promise<ProcessResponse> {
    const status = effectiveStatus(item.status, item.conflictResolvedBy);
    if (status === 'SYNCED') {
      const record = await this.ctx.store.getRecord(auth.tenant, item.collection, result.id);
      // A role that may create records it may not read (an intake kiosk) learns what became of its
      // change, as from a v1 push answer, never what the stored record holds besides.
      const readable = this.ctx.schemaFor(auth.tenant).can(auth.roles, item.collection, 'read');
      return {
        status,
        message: 'Operation synced successfully',
        result: {
          id: result.id,
          resourceType: item.resourceType,
          version: record?.version ?? result.version ?? 0,
          deleted: record?.deleted ?? item.operation === 'DELETE',
          data: readable && record && !record.deleted ? record.data : null,
        },
      };
    }
    if (status === 'CONFLICT') {
      return {
        status,
        message: 'Version conflict detected',
        error: 'Resource was modified on server',
        resolutionOptions,
        conflict: result.conflict ?? null,
      };
    }
    if (status === 'FAILED') {
      return {
        status,
        message: 'Operation failed',
        error: item.error?.message ?? 'the operation was refused',
        code: item.error?.code ?? 'VALIDATION_FAILED',
        ...(item.error?.details !== undefined ? { details: item.error.details } : {}),
        retryCount: item.retryCount,
        nextAttemptAt: item.nextAttemptAt,
      };
    }
    return { status, message: 'Operation is being synced' };
  }
}
