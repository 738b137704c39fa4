/**
 * An Outpost hub: a server in the clinic that its tablets sync with over the local network, and
 * that syncs with the central Outpost server (its upstream) as one more device whenever the link
 * is up. Seed 004's device API (run, push, pull, status) is this class.
 *
 * - **The queue is fed from the hub's own changes.** Every local write, whichever route made it
 *   (v1 push, a dialect, a conflict resolution), takes a change position; the feed reads positions
 *   past the last it read, gap-free as any pull (decision 0002), and keeps one queue item per record
 *   with changes to send (seed 004's deduplication). It runs under the tenant lock before each push
 *   and pull, so no local write can slip between it and what follows.
 * - **What goes up is the difference** between the record here and the record as the upstream last
 *   had it (hub_records), built when the item is sent: a create, the changed fields, or a delete,
 *   with the upstream's version as its base and the HLC of when the fields changed here. The
 *   upstream's own conflict rules settle it, as for any device.
 * - **Exactly once:** an item's op is stored, with its opId, before it is sent, and sent again as it
 *   is until the upstream answers (its journal answers a repeat with the first outcome).
 * - **Nothing typed here is lost to news from upstream:** a pulled change is written under any local
 *   change still to be sent (pending-change.ts), and goes up with the next push.
 *
 * Only collections whose ids are made on the device can be relayed: an id the upstream assigns
 * would need a second mapping on the hub, so a schema with server ids is refused (hubOptions).
 */
import {
  applyPatch,
  changedFields,
  compareHlc,
  deleteAgainBase,
  giveBackNewer,
  givesDeletionBack,
  orderOps,
  queueHealth,
  restoreMarkOf,
  stampFields,
  stampedAfterBackup,
  uuidv7,
} from '@outpost/core';
import type {
  Change,
  ConflictSummary,
  PushOp,
  PushResult,
  QueueHealth,
  RecordData,
  RestoreMark,
} from '@outpost/core';
import type { ServerContext } from '../create-sync-server';
import type { StoredRecord, TenantWrite } from '../storage/sync-store';
import { recordKey } from '../storage/sync-store';
import {
  beginResync,
  countQueue,
  endResync,
  forgetUpstreamView,
  insertItem,
  itemsIn,
  loadHubState,
  loadUpstreamViews,
  localChangesAfter,
  markSeen,
  saveHubState,
  saveUpstreamView,
  unseenKeys,
  updateItem,
  waitingItemFor,
} from './hub-store';
import type { HubItem, HubStateError, UpstreamView } from './hub-store';
import { changeHlc, pendingChange, rebase, sameSide } from './pending-change';
import type { RecordSide, UpstreamSide } from './pending-change';
import { refusalOf } from './refusal-message';
import { UpstreamClient, UpstreamError } from './upstream-client';
import type { UpstreamAccount, UpstreamFailureCode } from './upstream-client';

export interface HubOptions {
  /** The upstream Outpost server's base URL. */
  url: string;
  /** One service account per local tenant the hub relays; each must belong to that tenant upstream. */
  accounts: readonly UpstreamAccount[];
  /** Names the hub upstream (push clientId and deviceId). Default 'outpost-hub'. */
  deviceId?: string;
  /** Seed 004's MaxRetries: attempts of a refused change before it stays Failed. Default 3. */
  maxRetries?: number;
  /** Ops per push sent upstream. Default 500. */
  batchSize?: number;
  /** How long one upstream request may take. Default 30 s. */
  timeoutMs?: number;
  /**
   * How often the hub runs a full sync of every tenant by itself (seed 004's automatic sync loop),
   * so a clinic's changes go up whenever the link is up without anyone pressing a button. Default
   * 30 s; false: only when asked (POST /api/v1/sync/run).
   */
  intervalMs?: number | false;
  /** Injected by tests that cut the link on purpose. Defaults to the platform's fetch. */
  fetch?: typeof fetch;
}

export interface PushSummary {
  total: number;
  success: number;
  failed: number;
  conflicts: number;
}

export interface PullSummary {
  total: number;
  applied: number;
  skipped: number;
  conflicts: number;
}

/** One conflict in seed 004's words. */
export interface HubConflict {
  entityType: string;
  entityId: string;
  collection: string;
  resolution: string;
  reason: string;
  /** The conflict's id in the upstream's archive, where a person may settle it. */
  upstreamConflictId?: string;
}

export interface HubFailure {
  code: UpstreamFailureCode;
  message: string;
}

export interface PushOutcome {
  push: PushSummary;
  conflicts: HubConflict[];
  error: HubFailure | null;
}

export interface PullOutcome {
  pull: PullSummary;
  conflicts: HubConflict[];
  error: HubFailure | null;
  /**
   * Records whose state the upstream lost to a restore from a backup, queued to go up again
   * (decision 0050): a run pushes them in the same exchange.
   */
  givenBack: number;
}

export interface QueueStatus {
  pending: number;
  processing: number;
  failed: number;
  oldestPendingAt: string | null;
  lastSyncAt: string | null;
  /** Seed 004's queue size levels over the items waiting (pending and failed). */
  health: QueueHealth;
  /** What the last exchange with the upstream ended with, and when; null when it ended well. */
  lastError: HubStateError | null;
}

const pullPageSize = 1000;
/** Refusals no retry can change: the upstream's record refuses every change for good. */
const finalCodes = new Set(['IMMUTABLE', 'LOCKED']);
/** Who the hub's copies of upstream changes are written by, in the hub's records. */
const upstreamWriter = 'upstream';

export class Hub {
  private readonly upstreams = new Map<string, UpstreamClient>();
  /** One exchange per tenant at a time in this process; the tenant lock keeps instances apart. */
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly maxRetries: number;
  private readonly batchSize: number;
  private readonly intervalMs: number | false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly ctx: ServerContext,
    options: HubOptions,
  ) {
    this.maxRetries = options.maxRetries ?? 3;
    this.batchSize = options.batchSize ?? 500;
    this.intervalMs = options.intervalMs ?? 30_000;
    for (const account of options.accounts) {
      this.upstreams.set(
        account.tenant,
        new UpstreamClient({
          url: options.url,
          account,
          deviceId: options.deviceId ?? 'outpost-hub',
          timeoutMs: options.timeoutMs ?? 30_000,
          fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
        }),
      );
    }
  }

  /** Starts the automatic sync loop, if there is one; `log` hears what a run that nobody asked for met. */
  start(log: { warn(obj: object, message: string): void; error(obj: object, message: string): void }): void {
    if (this.intervalMs === false || this.timer !== null || this.closed) return;
    const every = this.intervalMs;
    const tick = async () => {
      for (const tenant of this.upstreams.keys()) {
        if (this.closed) return;
        try {
          const { pushed, pulled } = await this.run(tenant);
          const error = pushed.error ?? pulled?.error;
          // An unreachable upstream is a clinic's normal day: said once per run, not as a failure.
          // A refused account is not: nothing goes up until someone changes the hub's settings.
          if (error?.code === 'UPSTREAM_REFUSED') log.error({ tenant, error }, 'hub: the upstream refused');
          else if (error) log.warn({ tenant, error }, 'hub: the upstream sync did not finish');
        } catch (err) {
          log.error({ err, tenant }, 'hub: the upstream sync failed');
        }
      }
      if (!this.closed) this.timer = setTimeout(() => void tick(), every).unref();
    };
    this.timer = setTimeout(() => void tick(), every).unref();
  }

  /** Stops the loop and waits for an exchange under way, so the store is not closed beneath it. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.busy.values()]);
  }

  relays(tenant: string): boolean {
    return this.upstreams.has(tenant);
  }

  push(tenant: string): Promise<PushOutcome> {
    return this.exclusive(tenant, async () => {
      const pushed = await this.pushNow(tenant);
      await this.ended(tenant, pushed.error);
      return pushed;
    });
  }

  pull(tenant: string): Promise<PullOutcome> {
    return this.exclusive(tenant, async () => {
      const pulled = await this.pullNow(tenant);
      await this.ended(tenant, pulled.error);
      return pulled;
    });
  }

  /** Seed 004's full sync: push, then pull, as one exchange. */
  run(tenant: string): Promise<{ pushed: PushOutcome; pulled: PullOutcome | null }> {
    return this.exclusive(tenant, async () => {
      const pushed = await this.pushNow(tenant);
      // Without a link, or with an account the upstream refuses, there is nothing to pull either;
      // a refused change does not stop the pull, nor does an upstream that erred on the push.
      const stopped =
        pushed.error?.code === 'UPSTREAM_UNREACHABLE' || pushed.error?.code === 'UPSTREAM_REFUSED';
      const pulled = stopped ? null : await this.pullNow(tenant);
      // What the hub gave back to an upstream restored from a backup goes up in this exchange, as
      // a device's re-read sends its given-back ops in the same sync.
      if (pulled !== null && pulled.error === null && pulled.givenBack > 0) {
        const again = await this.pushNow(tenant);
        for (const k of ['total', 'success', 'failed', 'conflicts'] as const) pushed.push[k] += again.push[k];
        pushed.conflicts.push(...again.conflicts);
        pushed.error ??= again.error;
      }
      const error = pushed.error ?? pulled?.error ?? null;
      await this.ended(tenant, error, error === null ? { lastSyncAt: this.ctx.now().toISOString() } : {});
      return { pushed, pulled };
    });
  }

  async status(tenant: string): Promise<QueueStatus> {
    // Fed first, so a change made a moment ago counts as pending.
    await this.ctx.store.write(tenant, 0, (w) => this.feed(w));
    const counts = await countQueue(this.ctx.store.db, tenant);
    const state = await loadHubState(this.ctx.store.db, tenant);
    return {
      ...counts,
      lastSyncAt: state.lastSyncAt,
      health: queueHealth(counts.pending + counts.failed),
      lastError: state.lastError,
    };
  }

  /** Keeps what an exchange ended with, for the status route: an operator's first question. */
  private async ended(
    tenant: string,
    error: HubFailure | null,
    also: { lastSyncAt?: string } = {},
  ): Promise<void> {
    const lastError = error === null ? null : { ...error, at: this.ctx.now().toISOString() };
    await this.ctx.store.db.transaction().execute((trx) => saveHubState(trx, tenant, { ...also, lastError }));
  }

  private async exclusive<T>(tenant: string, work: () => Promise<T>): Promise<T> {
    const before = this.busy.get(tenant) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(work);
    this.busy.set(tenant, mine);
    try {
      return await mine;
    } finally {
      if (this.busy.get(tenant) === mine) this.busy.delete(tenant);
    }
  }

  private upstream(tenant: string): UpstreamClient {
    const upstream = this.upstreams.get(tenant);
    if (!upstream) throw new Error(`the hub relays no tenant ${tenant}`);
    return upstream;
  }

  // ---- the feed ----

  /** Reads the local changes past the last it read and queues each record they changed. */
  private async feed(w: TenantWrite): Promise<void> {
    const trx = w.transaction;
    const state = await loadHubState(trx, w.tenant);
    let through = state.fedThrough;
    for (;;) {
      const changes = await localChangesAfter(trx, w.tenant, through, 1000);
      if (changes.length === 0) break;
      const views = await loadUpstreamViews(trx, w.tenant, changes);
      for (const change of changes) {
        // The hub's own write of an upstream change (takeUpstream), with any local change still to
        // go rebased on top: nothing new to send. That local change was queued when it was made,
        // as every transaction that writes for the hub feeds first; taken for a new one, a pull
        // would give a refused change new attempts for ever, past MaxRetries.
        if (views.get(recordKey(change.collection, change.id))?.syncedPosition === change.position) continue;
        await this.enqueue(
          w,
          change.collection,
          change.id,
          views.get(recordKey(change.collection, change.id)) ?? null,
        );
      }
      through = changes[changes.length - 1]?.position ?? through;
      if (changes.length < 1000) break;
    }
    if (through !== state.fedThrough) await saveHubState(trx, w.tenant, { fedThrough: through });
  }

  /**
   * Seed 004's deduplication: the record's waiting item is refreshed, or one is made. Called for a
   * local edit only (see feed), which deserves attempts of its own.
   */
  private async enqueue(
    w: TenantWrite,
    collection: string,
    recordId: string,
    /** The upstream's record as the hub knows it now: the new item's base. */
    view: UpstreamView | null,
    /**
     * The base chosen for a state given back to a restored upstream (decision 0050), for the
     * waiting item too; null: none, a create.
     */
    givenBase?: number | null,
  ): Promise<void> {
    const at = this.ctx.now().toISOString();
    const waiting = await waitingItemFor(w.transaction, w.tenant, collection, recordId);
    if (waiting) {
      // A new change deserves its own attempts: a refusal of the old one says little of it.
      await updateItem(w.transaction, w.tenant, waiting.id, {
        status: 'Pending',
        enqueuedAt: at,
        retryCount: 0,
        errorCode: null,
        errorMessage: null,
        updatedAt: at,
        ...(givenBase === undefined ? {} : { baseVersion: givenBase }),
      });
      return;
    }
    await insertItem(w.transaction, w.tenant, {
      id: uuidv7(this.ctx.now().getTime(), this.ctx.randomBytes),
      collection,
      recordId,
      status: 'Pending',
      operation: null,
      enqueuedAt: at,
      retryCount: 0,
      maxRetries: this.maxRetries,
      // What the upstream had when the change was made here: a waiting item refreshed later keeps
      // it, so a pull in between does not hide the upstream's own change from its rules.
      baseVersion: givenBase === undefined ? (view?.version ?? null) : givenBase,
      op: null,
      errorCode: null,
      errorMessage: null,
      conflict: null,
      updatedAt: at,
      completedAt: null,
    });
  }

  // ---- push ----

  private async pushNow(tenant: string): Promise<PushOutcome> {
    const outcome: PushOutcome = {
      push: { total: 0, success: 0, failed: 0, conflicts: 0 },
      conflicts: [],
      error: null,
    };
    const first = await this.ctx.store.write(tenant, 0, async (w) => {
      await this.feed(w);
      return this.claim(w, null);
    });
    await this.send(tenant, first.sending, outcome);
    // Changes made behind an op whose answer was lost go once that op has been answered: built
    // before, they would have been made against what the hub knew before it.
    if (outcome.error === null && first.behind.size > 0) {
      const second = await this.ctx.store.write(tenant, 0, (w) => this.claim(w, first.behind));
      await this.send(tenant, second.sending, outcome);
    }
    const at = this.ctx.now().toISOString();
    await this.ctx.store.db.transaction().execute((trx) => saveHubState(trx, tenant, { lastPushAt: at }));
    return outcome;
  }

  /** Sends claimed items in batches and takes in each answer; stops at the first batch without one. */
  private async send(
    tenant: string,
    sending: ReadonlyArray<{ item: HubItem; op: PushOp }>,
    outcome: PushOutcome,
  ): Promise<void> {
    const summary = outcome.push;
    summary.total += sending.length;
    let size = this.batchSize;
    for (let i = 0; i < sending.length;) {
      const batch = sending.slice(i, i + size);
      let results: PushResult[];
      try {
        results = (await this.upstream(tenant).push(batch.map((s) => s.op))).results;
      } catch (err) {
        // Too large for the upstream (its body limit, or its ops per push): refused whole, so none of
        // it applied. Sent again as it was, it would be refused again on every push for good, and the
        // queue would never drain: smaller batches, in the same order, until one op is alone.
        if (err instanceof UpstreamError && err.status === 413) {
          if (batch.length > 1) {
            size = Math.ceil(batch.length / 2);
            continue;
          }
          const [only] = batch;
          if (only) {
            const refusal = {
              code: 'PAYLOAD_TOO_LARGE',
              message: 'the upstream refused the change as too large',
            };
            await this.ctx.store.write(tenant, 0, (w) => this.fail(w, only.item, refusal));
          }
          summary.failed += 1;
          i += 1;
          continue;
        }
        // The batch and those after it stay Processing, their ops kept: the next push resends them.
        outcome.error = failure(err);
        summary.failed += sending.length - i;
        return;
      }
      await this.ctx.store.write(tenant, batch.length, async (w) => {
        // Edits made while the batch was out are queued before the answers are written over them.
        await this.feed(w);
        for (const settled of await this.settle(w, batch, results)) {
          if (settled.kind === 'applied') {
            summary.success += 1;
            // Applied, merged with a change made upstream meanwhile: a success, told all the same.
            if (settled.merged) outcome.conflicts.push(settled.merged);
          } else if (settled.kind === 'failed') summary.failed += 1;
          else {
            summary.conflicts += 1;
            outcome.conflicts.push(settled.conflict);
          }
        }
      });
      i += batch.length;
    }
  }

  /**
   * An item whose op the upstream refused unapplied, perhaps applicable later (a parent that had not
   * arrived): the change stays here, and the item waits for its next attempt with a new op.
   */
  private async fail(
    w: TenantWrite,
    item: HubItem,
    refusal: { code: string; message: string },
  ): Promise<void> {
    const at = this.ctx.now().toISOString();
    await updateItem(w.transaction, w.tenant, item.id, {
      status: 'Failed',
      op: null,
      retryCount: item.retryCount + 1,
      errorCode: refusal.code,
      errorMessage: refusal.message,
      updatedAt: at,
    });
  }

  /**
   * The items to send, in the order the upstream must apply them: those already in flight as they
   * were sent, then each waiting item's op built from the record now, stored before it leaves.
   */
  private async claim(
    w: TenantWrite,
    /** Only these records' waiting items (recordKey), and none in flight; null: every item. */
    only: ReadonlySet<string> | null,
  ): Promise<{ sending: Array<{ item: HubItem; op: PushOp }>; behind: Set<string> }> {
    const trx = w.transaction;
    const at = this.ctx.now().toISOString();
    const inFlight = only === null ? await itemsIn(trx, w.tenant, ['Processing']) : [];
    const flying = new Set(inFlight.map((item) => recordKey(item.collection, item.recordId)));
    const behind = new Set<string>();
    const waiting = (await itemsIn(trx, w.tenant, ['Pending', 'Failed'])).filter((item) => {
      const key = recordKey(item.collection, item.recordId);
      if (only !== null && !only.has(key)) return false;
      if (flying.has(key)) {
        behind.add(key);
        return false;
      }
      return item.status === 'Pending' || item.retryCount < item.maxRetries;
    });
    const keys = waiting.map((item) => ({ collection: item.collection, id: item.recordId }));
    const records = await w.loadRecords(keys);
    const views = await loadUpstreamViews(trx, w.tenant, keys);
    const sending: Array<{ item: HubItem; op: PushOp }> = [];
    for (const item of inFlight) if (item.op) sending.push({ item, op: item.op });
    for (const item of waiting) {
      const key = recordKey(item.collection, item.recordId);
      const record = records.get(key);
      // A record no longer here at all was a tombstone, since purged: it is deleted.
      const local: RecordSide = record
        ? { deleted: record.deleted, data: record.data }
        : { deleted: true, data: {} };
      const view = views.get(key) ?? null;
      const change = pendingChange(view, local);
      // A deletion given back to a restored upstream with no trace of the record (noTrace): marked
      // so, the upstream keeps it as a tombstone for a colleague's give-back of the record to meet.
      const givenBack = change?.type === 'delete' && view?.version === 0;
      if (change === null) {
        // The record is back as the upstream has it (or was made and deleted here): nothing to send.
        await updateItem(trx, w.tenant, item.id, { status: 'Completed', completedAt: at, updatedAt: at });
        continue;
      }
      const op: PushOp = {
        opId: uuidv7(this.ctx.now().getTime(), this.ctx.randomBytes),
        collection: item.collection,
        type: change.type,
        id: item.recordId,
        // The version the change was made on, not the latest the hub pulled: a change pulled
        // meanwhile stays a concurrent change for the upstream's conflict rules.
        // Version 0 names no state the upstream ever had (a deletion given back to a restored
        // upstream whose record is at its first version, or that has no trace of it: noTrace,
        // decision 0050): none is sent, and the upstream weighs the op by its HLC, as a device's.
        ...(view === null || (item.baseVersion ?? view.version) === 0
          ? {}
          : { baseVersion: item.baseVersion ?? view.version }),
        ...(change.type === 'delete' ? {} : { data: change.data }),
        ...(givenBack ? { givenBack: true as const } : {}),
        hlc: changeHlc(change, record?.fieldMeta ?? {}, record?.hlc ?? this.ctx.clock.tick()),
      };
      const operation = { create: 'Create', update: 'Update', delete: 'Delete' }[change.type];
      await updateItem(trx, w.tenant, item.id, { status: 'Processing', op, operation, updatedAt: at });
      sending.push({ item: { ...item, op, status: 'Processing', operation }, op });
    }
    const schema = this.ctx.schemaFor(w.tenant);
    try {
      const ordered = orderOps(
        sending.map((s, seq) => ({
          ...s,
          seq,
          collection: s.op.collection,
          type: s.op.type,
          id: s.op.id,
          data: s.op.data,
        })),
        schema,
      );
      return { sending: ordered.map(({ item, op }) => ({ item, op })), behind };
    } catch {
      // Records that point at each other in a loop: the queue's own order; the upstream says what fails.
      return { sending, behind };
    }
  }

  /** Takes in the upstream's answers to one batch: items, the upstream's view, the hub's records. */
  private async settle(
    w: TenantWrite,
    batch: ReadonlyArray<{ item: HubItem; op: PushOp }>,
    results: readonly PushResult[],
  ): Promise<Settled[]> {
    const trx = w.transaction;
    const at = this.ctx.now().toISOString();
    const byOpId = new Map(results.map((r) => [r.opId, r]));
    const keys = batch.map((s) => ({ collection: s.op.collection, id: s.op.id }));
    const records = await w.loadRecords(keys);
    const views = await loadUpstreamViews(trx, w.tenant, keys);
    const settled: Settled[] = [];
    for (const { item, op } of batch) {
      const result = byOpId.get(op.opId);
      // No answer for it (an upstream that left it out): it stays in flight and goes again.
      if (!result) continue;
      const status = result.status === 'duplicate' ? (result.originalStatus ?? 'applied') : result.status;
      const key = recordKey(op.collection, op.id);
      const view = views.get(key) ?? null;
      const record = records.get(key) ?? null;

      // The item keeps a message of the hub's own, never the upstream's words (refusal-message.ts).
      const refusal = status === 'rejected' ? refusalOf(op, result.error) : null;
      if (refusal !== null && !finalCodes.has(refusal.code)) {
        await this.fail(w, item, refusal);
        settled.push({ kind: 'failed' });
        continue;
      }

      // Local changes made after the op was built are still to go; the op's own the upstream answered.
      const baseline = expectedAfter(op, view);
      let next: UpstreamSide = result.conflict?.server
        ? status === 'applied'
          ? // Merged or won over a concurrent change: the answer's server side is the record as it
            // was before this op, not after; taken as it stands, it would undo the tablet's edit
            // on the hub until the next pull.
            appliedOver(op, fromServer(result.conflict.server), result.version)
          : fromServer(result.conflict.server)
        : status === 'applied'
          ? { ...baseline, version: result.version ?? baseline.version }
          : // Refused for good with no record in the answer: the upstream kept what the hub knew.
            (view ?? { version: 0, deleted: true, data: {} });
      // An answer older than what a pull has told the hub since (a resent op, answered as a
      // duplicate with its first outcome): the view already holds the op's effect and whatever
      // came after it. Taken back to the older version, the next change would go up on a stale
      // base and meet its own op as a concurrent edit.
      if (view !== null && next.version < view.version) next = view;
      // The upstream stamped the op's state before it answered: the answer's time is the nearest
      // the hub knows (the next pull brings the upstream's own), kept for a restore (decision 0050).
      const updatedAt = next === view ? view.updatedAt : at;
      await this.takeUpstream(
        w,
        op.collection,
        op.id,
        baseline,
        view,
        next,
        record,
        op.hlc ?? null,
        updatedAt,
      );
      // A change made here while this op was out was made on top of it: its base is now the
      // upstream's version after the op, or the upstream would meet the hub's own op as a rival.
      const behind = await waitingItemFor(trx, w.tenant, op.collection, op.id);
      if (behind) await updateItem(trx, w.tenant, behind.id, { baseVersion: next.version });
      const conflict = status === 'applied' && !result.conflict ? null : hubConflict(op, result);
      await updateItem(trx, w.tenant, item.id, {
        status: 'Completed',
        // Seed 004: a queue item holds the entity's type and id, never patient data.
        op: null,
        conflict: conflict === null ? null : withoutData(result.conflict, result),
        errorCode: refusal?.code ?? null,
        errorMessage: refusal?.message ?? null,
        completedAt: at,
        updatedAt: at,
      });
      if (conflict === null) settled.push({ kind: 'applied' });
      else if (status === 'applied') settled.push({ kind: 'applied', merged: conflict });
      else settled.push({ kind: 'conflict', conflict });
    }
    return settled;
  }

  /**
   * Records the upstream's state of a record and brings the hub's copy to it, under whatever local
   * change is still to be sent; `decided` names the local changes the upstream has answered for.
   */
  private async takeUpstream(
    w: TenantWrite,
    collection: string,
    id: string,
    baseline: UpstreamSide | null,
    previous: UpstreamView | null,
    next: UpstreamSide,
    record: StoredRecord | null,
    hlc: string | null,
    /** When the upstream stamped `next` (its clock); null when not known. */
    updatedAt: string | null,
    /** The hub's record as it must be, instead of the local change rebased on `next`. */
    keep?: RecordSide,
  ): Promise<boolean> {
    const local: RecordSide | null = record ? { deleted: record.deleted, data: record.data } : null;
    const wanted = keep ?? rebase(baseline, next, local);
    let syncedPosition = previous?.syncedPosition ?? 0;
    let wrote = false;
    const missing = record === null && wanted.deleted;
    const stamp = hlc ?? this.ctx.clock.tick();
    // The upstream's record, already here, but newer than the hub's copy says (a change that lost
    // upstream is stamped with its own, older time when answered): its time is taken, so the hub's
    // own last-write-wins does not let a tablet's edit made before it win here and go up as news.
    const older = record !== null && sameSide(wanted, next) && compareHlc(stamp, record.hlc) > 0;
    if (!missing && (local === null || !sameSide(local, wanted) || older)) {
      const version = (record?.version ?? 0) + 1;
      const data = wanted.deleted ? (record?.data ?? {}) : wanted.data;
      const written: StoredRecord = {
        collection,
        id,
        data,
        version,
        deleted: wanted.deleted,
        fieldMeta: stampFields(
          record?.fieldMeta ?? {},
          changedFields(local?.data ?? null, data),
          version,
          stamp,
        ),
        // As applyEffect: a record's own HLC never goes back, so it always names its latest change.
        hlc: record !== null && compareHlc(record.hlc, stamp) > 0 ? record.hlc : stamp,
        updatedAt: this.ctx.now().toISOString(),
        updatedBy: upstreamWriter,
        position: w.nextPosition(),
      };
      await w.writeRecords([written]);
      wrote = true;
      // The feed's mark of the hub's own write, whether or not a local change stays on top of it.
      syncedPosition = written.position;
    }
    await saveUpstreamView(w.transaction, w.tenant, collection, id, { ...next, syncedPosition, updatedAt });
    return wrote;
  }

  // ---- pull ----

  private async pullNow(tenant: string): Promise<PullOutcome> {
    const upstream = this.upstream(tenant);
    const summary: PullSummary = { total: 0, applied: 0, skipped: 0, conflicts: 0 };
    const conflicts: HubConflict[] = [];
    let error: HubFailure | null = null;
    let restarted = false;
    /** A resync from scratch is under way, begun now or by an earlier pull that was cut off. */
    let resyncing = false;
    /** That resync is of an upstream restored from a backup (kept with it, across a restart). */
    let restored: RestoreMark | null = null;
    const given = { count: 0 };
    for (;;) {
      const state = await loadHubState(this.ctx.store.db, tenant);
      resyncing = state.resyncing;
      restored = state.resyncing ? state.restored : null;
      let page;
      try {
        page = await upstream.pull(state.upstreamCursor, pullPageSize);
      } catch (err) {
        // A cursor past the upstream's tombstone retention: read everything again, once per pull.
        if (err instanceof UpstreamError && err.code === 'CURSOR_EXPIRED' && !restarted) {
          restarted = true;
          // Restored from a backup (decision 0050): the resync gives back what the backup lacked.
          const mark = restoreMarkOf(err.details);
          await this.ctx.store.db.transaction().execute((trx) => beginResync(trx, tenant, mark));
          continue;
        }
        error = failure(err);
        break;
      }
      const changes = page.changes;
      await this.ctx.store.write(tenant, changes.length, async (w) => {
        await this.feed(w);
        for (const outcome of await this.applyPage(w, changes, restored, given)) {
          summary.total += 1;
          if (outcome.kind === 'applied') summary.applied += 1;
          else if (outcome.kind === 'skipped') summary.skipped += 1;
          else {
            summary.applied += outcome.wrote ? 1 : 0;
            summary.skipped += outcome.wrote ? 0 : 1;
            summary.conflicts += 1;
            conflicts.push(outcome.conflict);
          }
        }
        // The cursor moves in the same transaction as the records it brought: a crash between the
        // two would otherwise skip a page or apply one twice. So does a resync's progress, so one
        // cut off goes on where it stopped and still knows what it has seen (dropVanished).
        if (resyncing) await markSeen(w.transaction, tenant, changes);
        await saveHubState(w.transaction, tenant, { upstreamCursor: page.cursor });
      });
      if (!page.hasMore) break;
      // More to come from where it already was: an upstream (or a proxy before it) that never moves
      // on would hold this tenant's exchange, and every tablet's run behind it, for ever.
      if (page.cursor === state.upstreamCursor) {
        error = {
          code: 'UPSTREAM_ERROR',
          message: 'the upstream said there was more, from where it already was',
        };
        break;
      }
    }
    if (error === null && resyncing) await this.dropVanished(tenant, summary, restored, given);
    if (error === null) {
      const at = this.ctx.now().toISOString();
      await this.ctx.store.db.transaction().execute((trx) => saveHubState(trx, tenant, { lastPullAt: at }));
    }
    return { pull: summary, conflicts, error, givenBack: given.count };
  }

  /**
   * At the end of a resync from scratch (CURSOR_EXPIRED), perhaps over several pulls: a record the
   * upstream had and that the resync did not bring was deleted there, and its tombstone purged
   * before this hub could pull it. It is deleted here too, or the hub's tablets would keep it for
   * ever; a change made here and still to go stays, as under any pulled deletion.
   *
   * An upstream restored from a backup may instead never have had the record: what the hub holds
   * of it goes up again (decision 0050). A live record as a create; a deletion made here as a
   * delete marked `givenBack`, whether the upstream had it (its tombstone, lost with the database)
   * or it was still to go, so that a device that still holds the record and gives it back to the
   * upstream meets the deletion, settled by the collection's rule, rather than making the record
   * again. A record the resync brought, alive or deleted, was marked seen as it came, and is
   * giveBack's: the two never both act on one record.
   */
  private async dropVanished(
    tenant: string,
    summary: PullSummary,
    restored: RestoreMark | null,
    given: { count: number },
  ): Promise<void> {
    // Only this exchange, under way, changes what the resync has seen: read once, outside the lock.
    // Of the upstream's tombstones, only the deletions core's rule gives back, before any record is
    // loaded: a hub keeps the upstream's tombstones of years.
    const gone = (await unseenKeys(this.ctx.store.db, tenant, restored !== null)).filter(
      (u) =>
        !u.deleted ||
        (restored !== null && givesDeletionBack(restored, { read: false, updatedAt: u.updatedAt })),
    );
    await this.ctx.store.write(tenant, gone.length, async (w) => {
      await this.feed(w);
      const records = await w.loadRecords(gone);
      const views = await loadUpstreamViews(w.transaction, tenant, gone);
      for (const { collection, id } of gone) {
        const key = recordKey(collection, id);
        const view = views.get(key);
        if (!view) continue;
        const record = records.get(key) ?? null;
        // A deletion the hub holds (its tombstone: a hub refuses collections whose ids the server
        // makes, decision 0021), of a record the upstream stamped after the backup: given back at
        // the deletion's HLC, the tombstone's, with no base version, as a device's.
        if (
          restored !== null &&
          record !== null &&
          record.deleted &&
          givesDeletionBack(restored, { read: false, updatedAt: view.updatedAt })
        ) {
          await saveUpstreamView(w.transaction, tenant, collection, id, noTrace(view));
          await this.enqueue(w, collection, id, null, 0);
          given.count += 1;
          continue;
        }
        if (view.deleted) continue;
        // An upstream restored from a backup that lacked the record: the hub's state was written
        // upstream after the backup, so it goes up again as a create (decision 0050's createAgain),
        // and stays here and on the tablets.
        if (restored !== null && record !== null && !record.deleted && afterBackup(restored, view)) {
          await forgetUpstreamView(w.transaction, tenant, collection, id);
          await this.enqueue(w, collection, id, null, null);
          given.count += 1;
          continue;
        }
        const next: UpstreamSide = { version: view.version, deleted: true, data: {} };
        const wrote = await this.takeUpstream(w, collection, id, view, view, next, record, null, null);
        summary.total += 1;
        if (wrote) summary.applied += 1;
        else summary.skipped += 1;
      }
      await endResync(w.transaction, tenant);
    });
  }

  /**
   * During the resync of an upstream restored from a backup, what the hub gives back of a record
   * the restored upstream sent (decision 0050, by core's rules, as a device does): the hub's state,
   * written upstream after the backup and differing from the restored one, goes up again as an
   * update of the fields that differ; a deletion the hub made there after the backup, whose
   * tombstone it keeps, goes up again. The hub's record keeps its state (with the restored
   * upstream's other fields, where the upstream's state came after it), the upstream's view becomes
   * the restored state, and the record's queue item takes the base the rule chose. False: the
   * restored state is taken as any pulled change.
   */
  private async giveBack(
    w: TenantWrite,
    mark: RestoreMark,
    change: Change,
    next: UpstreamSide,
    view: UpstreamView | null,
    record: StoredRecord | null,
  ): Promise<boolean> {
    // A tombstone on the restored upstream is a deletion made there, after anything the hub holds.
    if (view === null || record === null || change.deleted || !afterBackup(mark, view)) return false;
    if (record.deleted) {
      // Only a deletion the upstream had (and stamped after the backup): one still to go is queued.
      if (!view.deleted) return false;
      await saveUpstreamView(w.transaction, w.tenant, change.collection, change.id, {
        ...next,
        syncedPosition: view.syncedPosition,
        updatedAt: change.updatedAt,
      });
      await this.enqueue(w, change.collection, change.id, null, deleteAgainBase(mark, change));
      return true;
    }
    if (view.deleted || view.updatedAt === null) return false;
    const newer = giveBackNewer(
      mark,
      { data: record.data, updatedAt: view.updatedAt },
      { data: next.data, version: change.version, updatedAt: change.updatedAt },
    );
    if (newer === null) return false;
    // The hub's record: the restored state with the fields given back, which the queue item's op
    // is built from (pendingChange against the restored view) when it is sent.
    const keep: RecordSide = { deleted: false, data: applyPatch(next.data, newer.data) };
    await this.takeUpstream(
      w,
      change.collection,
      change.id,
      view,
      view,
      next,
      record,
      change.hlc,
      change.updatedAt,
      keep,
    );
    await this.enqueue(w, change.collection, change.id, null, newer.baseVersion);
    return true;
  }

  private async applyPage(
    w: TenantWrite,
    changes: readonly Change[],
    restored: RestoreMark | null,
    given: { count: number },
  ): Promise<Pulled[]> {
    const schema = this.ctx.schemaFor(w.tenant);
    const keys = changes.map((c) => ({ collection: c.collection, id: c.id }));
    const records = await w.loadRecords(keys);
    const views = await loadUpstreamViews(w.transaction, w.tenant, keys);
    const pulled: Pulled[] = [];
    for (const change of changes) {
      const key = recordKey(change.collection, change.id);
      const view = views.get(key) ?? null;
      // A collection this hub's schema lacks, or news older than what the hub already has. An
      // upstream restored from a backup is the upstream from now on, older or not.
      const older = view !== null && change.version < view.version && restored === null;
      if (!schema.collection(change.collection) || older) {
        pulled.push({ kind: 'skipped' });
        continue;
      }
      const next: UpstreamSide = {
        version: change.version,
        deleted: change.deleted,
        data: (change.data ?? {}) as RecordData,
      };
      const record = records.get(key) ?? null;
      if (restored !== null && (await this.giveBack(w, restored, change, next, view, record))) {
        given.count += 1;
        pulled.push({ kind: 'applied' });
        continue;
      }
      const local: RecordSide | null = record ? { deleted: record.deleted, data: record.data } : null;
      const pending = local === null ? null : pendingChange(view, local);
      const wrote = await this.takeUpstream(
        w,
        change.collection,
        change.id,
        view,
        view,
        next,
        record,
        change.hlc,
        change.updatedAt,
      );
      const upstreamChanged = view === null || !sameSide(view, next);
      if (pending !== null && upstreamChanged) {
        pulled.push({
          kind: 'conflict',
          wrote,
          conflict: {
            entityType: entityType(change.collection),
            entityId: change.id,
            collection: change.collection,
            resolution: 'PendingLocalChange',
            reason:
              'changed here and upstream: the change made here is kept and goes up with the next push, where the central rules settle it',
          },
        });
      } else pulled.push({ kind: wrote ? 'applied' : 'skipped' });
    }
    return pulled;
  }
}

type Settled =
  | { kind: 'applied'; merged?: HubConflict }
  | { kind: 'failed' }
  | { kind: 'conflict'; conflict: HubConflict };
type Pulled =
  { kind: 'applied' } | { kind: 'skipped' } | { kind: 'conflict'; wrote: boolean; conflict: HubConflict };

/**
 * Whether the upstream stamped the hub's view of a record after the backup it was restored from
 * (core's rule; a view with no time was kept before migration 0023).
 */
function afterBackup(mark: RestoreMark, view: UpstreamView): boolean {
  return stampedAfterBackup(mark, view.updatedAt);
}

/**
 * The hub's view of a record it deleted, once a restored upstream showed no trace of it (decision
 * 0050, "Deletions given back"): at version 0, which names no state the upstream ever had, and
 * alive, as far as the hub knows, since a device that still holds the record may give it back to
 * the upstream at any time. So the hub's tombstone is a deletion still to go, like any other: a
 * pull that brings a device's give-back first is written under it (rebase), and claim sends it as a
 * delete with no base version, at the tombstone's HLC, marked `givenBack` while the view is this
 * one (a record the upstream has, pulled since, meets a plain delete, weighed by the HLCs). Until
 * the upstream answers, and its answer becomes the view. The time stays the last the upstream
 * stamped, so a resync again before then gives the deletion back again.
 */
function noTrace(view: UpstreamView): UpstreamView {
  return {
    version: 0,
    deleted: false,
    data: {},
    syncedPosition: view.syncedPosition,
    updatedAt: view.updatedAt,
  };
}

/** The upstream's record as the hub expects it after `op`, applied as sent on what the hub knew. */
function expectedAfter(op: PushOp, view: UpstreamView | null): UpstreamSide {
  const version = (view?.version ?? 0) + 1;
  if (op.type === 'delete') return { version, deleted: true, data: {} };
  const data = (op.data ?? {}) as RecordData;
  if (op.type === 'create') return { version, deleted: false, data };
  // An update merged with the upstream's other fields: those come with the next pull.
  return { version, deleted: false, data: applyPatch(view && !view.deleted ? view.data : {}, data) };
}

/**
 * The upstream's record after `op` was applied over a concurrent change (outcome merged or
 * client-won): `before` is the record the upstream held when it came. An approximation of the
 * upstream's rule (a merge keeps the upstream's other fields); the next pull brings the record as
 * it is, and corrects it.
 */
function appliedOver(op: PushOp, before: UpstreamSide, version: number | undefined): UpstreamSide {
  const at = version ?? before.version + 1;
  if (op.type === 'delete') return { version: at, deleted: true, data: {} };
  const data = (op.data ?? {}) as RecordData;
  return { version: at, deleted: false, data: applyPatch(before.deleted ? {} : before.data, data) };
}

function fromServer(server: { data: Record<string, unknown> | null; version: number }): UpstreamSide {
  return { version: server.version, deleted: server.data === null, data: (server.data ?? {}) as RecordData };
}

/** Seed 004's entity type: the collection's singular, capitalised (clinicalNotes -> ClinicalNote). */
export function entityType(collection: string): string {
  const singular = collection.endsWith('s') ? collection.slice(0, -1) : collection;
  return singular.charAt(0).toUpperCase() + singular.slice(1);
}

function hubConflict(op: PushOp, result: PushResult): HubConflict {
  const conflict = result.conflict;
  const code = result.error?.code;
  const [resolution, reason] =
    code === 'IMMUTABLE' || conflict?.kind === 'immutable'
      ? ['RejectedImmutable', 'Entity is signed and immutable']
      : code === 'LOCKED' || conflict?.kind === 'locked'
        ? ['RejectedLocked', 'Entity is locked']
        : resolutionOf(conflict);
  return {
    entityType: entityType(op.collection),
    entityId: op.id,
    collection: op.collection,
    resolution,
    reason,
    ...(conflict?.id === undefined ? {} : { upstreamConflictId: conflict.id }),
  };
}

function resolutionOf(conflict: ConflictSummary | undefined): [string, string] {
  switch (conflict?.outcome) {
    case 'merged':
      return ['Merged', 'changed here and upstream; the changes were merged field by field'];
    case 'client-won':
      return ['ClientWins', "this hub's change won; the upstream's version is archived"];
    case 'open':
      return [
        'Manual',
        'changed here and upstream; the upstream keeps its version until a person settles it there',
      ];
    default:
      return ['ServerWins', "the upstream's version wins; this hub's change is archived upstream"];
  }
}

/** The answer's conflict without record contents: a queue item keeps no patient data (seed 004). */
function withoutData(conflict: ConflictSummary | undefined, result: PushResult): ConflictSummary {
  if (!conflict)
    return { kind: result.error?.code === 'LOCKED' ? 'locked' : 'immutable', outcome: 'rejected' };
  const { kind, outcome, id, fields, strategy } = conflict;
  return {
    kind,
    outcome,
    ...(id === undefined ? {} : { id }),
    ...(fields ? { fields } : {}),
    ...(strategy ? { strategy } : {}),
  };
}

function failure(err: unknown): HubFailure {
  if (err instanceof UpstreamError) return { code: err.failure, message: err.message };
  throw err;
}
