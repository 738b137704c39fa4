import { DependencyCycleError, isOutpostError, orderOps, outpostError } from '@outpost/core';
import type {
  Change,
  Conflict,
  HlcClock,
  IdMapping,
  PushOp,
  PushResult,
  Schema,
  OutpostError,
} from '@outpost/core';
import type { LocalDb } from '../local-db';
import type { RequestSizes } from './sync-options';
import { afterApplied, heldServerCopy, isRefused, keyOf, viewOf } from '../local-state';
import { ackedTimes, heldServerState, pulledTimes, withTimes } from '../field-times';
import type { LocalState, ServerState } from '../local-state';
import { coalesceOutbox } from '../outbox/coalesce';
import type { LocalConflict, LocalRecord, OutboxEntry, WriteBatch } from '../stores/local-store';
import { rewriteTempIds } from '../temp-ids/rewrite-temp-ids';
import { backoffDelay } from '../network/backoff';
import { CircuitOpenError } from '../network/circuit-breaker';
import type { CircuitBreaker } from '../network/circuit-breaker';
import { ClientClosedError } from '../client-closed';
import type { Timers } from '../network/timers';
import type { ConflictListRequest, SyncTransport } from './sync-transport';
import { fromArchive } from './archived-conflict';
import { missingReferences } from '../relationships';
import type { MissingReference } from '../relationships';
import { readAllPages } from './archive-pages';
import { assertWithdrawable, newRecordsOf, planWithdrawal, shownAgain } from '../outbox/withdraw';
import { withdrawnIn, withdrawnKey } from '../files/record-ids';
import { heldWhole, holdsWorkOn, keeps, prunable, pulledBy, readAgainKey, takenIn } from './record-filter';
import type { RecordFilters } from './record-filter';
import { covers, dependenciesIn, pulledOf, recordsToSend } from './collection-sync';
import {
  createAgain,
  deleteAgain,
  deletionsGivenBack,
  foldIntoCreate,
  foldIntoUpdate,
  raiseAgain,
  recoverable,
  recoverableRecord,
  renumberLost,
  resendNewer,
  restoreMarkOf,
} from './restore-recovery';
import type { Renamed, RestoreMark } from './restore-recovery';
import { lastSyncedKey, retentionBatch } from '../outbox/retention';
import { deletesUndone, keptDeletionsKey, keptDeletionsRevived } from '../outbox/kept-deletions';
import type { CollectionSyncScope } from './collection-sync';

export type SyncPhase = 'push' | 'pull' | 'done';

export interface SyncProgress {
  phase: SyncPhase;
  processed: number;
  /** Null while the total is not known yet (pull pages until the last one). */
  total: number | null;
  /** Of the current phase, 0 to 100 (seed 001's `percentage`); null while the total is not known. */
  percentage: number | null;
}

export interface SyncResult {
  /** The sync did all it set out to (seed 003's `success`); false with `error` saying why not. */
  success: boolean;
  pushed: { sent: number; applied: number; conflicts: number; rejected: number; held: number };
  pulled: number;
  /** True once the device holds everything the server had when the pull ended. */
  upToDate: boolean;
  /** Files attached on the device: uploaded by this sync, and still waiting or stopped after it. */
  files: { uploaded: number; waiting: number; failed: number };
  error?: { code: string; message: string };
  startedAt: string;
  finishedAt: string;
  /**
   * Milliseconds from `startedAt` to `finishedAt` (seed 003's `duration`), by the device's clock:
   * 0 if the clock was set back while the sync ran.
   */
  duration: number;
  /**
   * Set when the sync was asked for named collections only (`sync({ collections })`): which, what
   * went with them, what was not pulled. Absent for a whole sync, also one such a call joined.
   */
  scope?: CollectionSyncScope;
  /**
   * Set when this sync gave a server restored from a backup what it may have lost (decision
   * 0050), once the re-read the restore started ended (in this sync, or in one a stop cut short
   * after it): `resent` changes this device held that the restored server had lost (records
   * created or edited, deletions; server-id records numbered after the backup, as new records
   * under new numbers: decision 0051; the device's side of a conflict waiting for a person that
   * the restored server lacks, to be raised there again) went back to it as new ops; `files`, set
   * when any did, files this device holds whole and believed the server held go to it again (each
   * declared again: the server's answer says which chunks it lacks, none for a file the backup
   * kept).
   * `files.uploaded` counts those that reached the server in this sync.
   */
  restored?: {
    resent: number;
    files?: number;
    /**
     * The records this device gave back under a new number (decision 0051), once the restored
     * server has numbered them: a vet's appointment 2 of her notes is appointment `to` now. Told in
     * the sync whose push got the new number, which may be a later one than the re-read's.
     */
    renumbered?: Renumbered[];
  };
}

/**
 * What this device gave back to a server restored from a backup, kept until a person has read it
 * (`client.restoreReport`, `dismissRestoreReport`): the sums of every sync's `SyncResult.restored`
 * since, and when the last one ended. Kept in the store, so that an app opened after a sync it did
 * not run (its service worker's, with no tab open: decision 0026) can still say so.
 */
export interface RestoreReport {
  resent: number;
  files: number;
  renumbered: Renumbered[];
  /** When the last sync that gave something back ended (`SyncResult.finishedAt`). */
  at: string;
}

/** A record a restored server numbered anew: `collection` `from` is `to` now (SyncResult.restored). */
export interface Renumbered {
  collection: string;
  from: string;
  to: string;
}

/** The two halves of a sync. */
interface Phases {
  push: boolean;
  pull: boolean;
}

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** After this many failed attempts an op stays failed, visible, until retried by hand. */
  maxAttempts: number;
}

/** A request through the engine's circuit breaker, abandoned when the client closes. */
export type EngineSend = <T>(request: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/** The files attached on the device, uploaded by each sync after its push and pull (files/file-uploads.ts). */
export interface FileStage {
  /** Uploads what waits; throws what should end the sync and make the engine back off. */
  upload(send: EngineSend, onUploaded: () => void): Promise<void>;
  counts(): { waiting: number; failed: number };
  /** The most failed tries of a file waiting, for the retry timer's backoff. */
  attempts(): number;
  /**
   * The server was restored from a backup, and the device's re-read of it has ended: every file
   * the device holds whole and believes the server holds goes to it again with the next uploads,
   * in one write to the file store. Resolves to how many. Asked once per restore (`filesAgainKey`).
   */
  sendAgainAfterRestore(): Promise<number>;
}

export interface SyncEngineOptions {
  schema: Schema;
  db: LocalDb;
  transport: SyncTransport;
  clock: HlcClock;
  clientId: string;
  deviceId: string;
  /** Ops per push request and changes per pull page now: smaller on a poor link (sync-options.ts). */
  sizes: () => RequestSizes;
  collections?: readonly string[];
  /**
   * During a catch-up, pull the collections of higher priority (lower number) ahead of the rest
   * (pullPriorityTiers). False: pull in the server's change order only. Absent: true.
   */
  priorityPull?: boolean;
  /**
   * Per collection, which records of the server's the device keeps (seed 002's "only sync records
   * from last 6 months"). A pulled record it rejects is not stored, or goes if held, unless the
   * device holds work of its own on it; `prune` applies it again to what is held.
   */
  recordFilter?: RecordFilters;
  retry: RetryPolicy;
  breaker: CircuitBreaker;
  timers: Timers;
  random: () => number;
  files?: FileStage;
  /**
   * Asked by the retry timer each time it comes due: false skips that try. create-sync-client
   * answers false while the network monitor knows the device is offline and will itself sync once
   * the server answers again (decision 0024). Absent: the timer always tries.
   */
  mayTryNow?: () => boolean;
  /**
   * How long an op the server acknowledged stays in the outbox (`keepCompletedMs`): each sync's end
   * removes those older (outbox/retention.ts). Absent: kept until `queue.clearCompleted()`.
   */
  keepCompletedMs?: number;
  /**
   * How long a deletion the server acknowledged is remembered once its op has left the outbox
   * (`keepDeletionsMs`, outbox/kept-deletions.ts), pruned in the same write. Absent: kept for good.
   */
  keepDeletionsMs?: number;
  onProgress(progress: SyncProgress): void;
  onResult(result: SyncResult): void;
}

export const cursorKey = 'pull.cursor';
/** The hold reason of ops queued by `resolveOrphans('queue')`. */
export const waitingForParent = 'waiting for the record it references to exist';
const upToDateKey = 'pull.upToDate';
const mappingsKey = 'tempIds';
/**
 * The records given back under a new temp id when a restored server's re-read began (renumberLost,
 * decision 0051) whose new number the person has not been told yet: each goes from the list, into
 * `SyncResult.restored.renumbered`, in the write that ends the sync in which its temp id was mapped.
 */
const renumberedKey = 'restore.renumbered';
/** The RestoreReport not read yet, written in the write that ends a sync that gave something back. */
const restoreReportKey = 'restore.report';
/** Records whose server state the device must read again, kept until read: a lost read is retried. */
const refreshKey = 'sync.refresh';
/** Set while the device reads everything again after a 410: the next pull carries on with it. */
const resyncKey = 'pull.resync';
/** `pull.resync.seen.<n>`: the records the n-th write of a re-read showed exist on the server. */
const seenPrefix = 'pull.resync.seen.';
/**
 * `pull.resync.deleted.<n>`: the tombstones the n-th write of a re-read brought. The end of a
 * restored server's re-read gives back the deletions it brought no trace of (deletionsGivenBack):
 * a tombstone is one the server keeps already. Apart from `seen`, which says what is alive.
 */
const seenDeletedPrefix = 'pull.resync.deleted.';
/**
 * Set by the write that ends the re-read of a server restored from a backup, and taken off once
 * the files stage has marked its files to go again (`FileStage.sendAgainAfterRestore`). The files
 * are in a store of their own, which no transaction shares with the records: should the app stop
 * between the two writes, the next sync's pull or uploads mark them.
 */
const filesAgainKey = 'files.sendAgainAfterRestore';
/**
 * Set, to the restore's mark, by the write that ends the re-read of a server restored from a
 * backup while the device shows conflicts waiting for a person, and taken off by the write that
 * raises again those the restored server does not have (raiseLostConflicts). Finding them takes
 * reads, which cannot share the re-read's last write; the mark keeps the work for the next sync's
 * pull should they fail.
 */
const conflictsAgainKey = 'conflicts.raiseAgainAfterRestore';
interface Resync {
  /** How many writes noted records so far: the next one's key. */
  writes: number;
  /**
   * Set when the server said it was restored from a backup: the re-read gives it back what this
   * device holds and it lost (restore-recovery.ts), instead of dropping it.
   */
  restored?: RestoreMark;
  /** How many ops that re-read queued so far to give the restored server back what it lost. */
  resent?: number;
}
type RecordRef = { collection: string; id: string };

/** An error worth retrying: the network, the server being down or busy, a token to refresh. */
export function isTransient(err: unknown): boolean {
  if (err instanceof ClientClosedError) return false;
  if (!isOutpostError(err)) return true;
  return err.status >= 500 || err.code === 'RATE_LIMITED' || err.code === 'UNAUTHORIZED';
}

/**
 * The server no longer takes the device's saved cursor, so the device reads everything again:
 * 410 `CURSOR_EXPIRED` (it no longer holds every change since), or 400 naming the cursor, which it
 * signed with a key it no longer has (its JWT secret was changed, or it was restored from a backup
 * without it). Only the device's own saved cursor meets the 400 this way; failing every sync on it
 * would leave the tablet stuck until its data were cleared. `restored`: what the 410 said of the
 * server's restore from a backup since it issued the cursor, or null (decision 0050).
 */
function cursorRefused(err: unknown): { restored: RestoreMark | null } | null {
  if (!isOutpostError(err)) return null;
  if (err.code === 'CURSOR_EXPIRED') return { restored: restoreMarkOf(err.details) };
  const details = err.details as { field?: unknown } | undefined;
  return err.code === 'VALIDATION_FAILED' && details?.field === 'cursor' ? { restored: null } : null;
}

function describe(err: unknown): { code: string; message: string } {
  if (isOutpostError(err)) return { code: err.code, message: err.message };
  if (err instanceof CircuitOpenError) {
    return { code: err.code, message: 'the server is failing: waiting before trying again' };
  }
  if (err instanceof ClientClosedError) return { code: err.code, message: err.message };
  return { code: 'NETWORK', message: err instanceof Error ? err.message : String(err) };
}

function toServerState(
  change: Pick<Change, 'data' | 'deleted' | 'version' | 'hlc' | 'updatedAt'>,
): ServerState {
  return {
    data: change.data,
    deleted: change.deleted,
    version: change.version,
    hlc: change.hlc,
    updatedAt: change.updatedAt,
  };
}

/**
 * Seed 003's SyncEngine: pushes the outbox in dependency-ordered batches, then pulls pages after
 * the saved cursor, applying them beneath the device's pending changes. The local store is only
 * ever locked for the local transactions between network calls, never across one.
 */
export class SyncEngine {
  private running: Promise<SyncResult> | null = null;
  /** What the running sync has yet to do: a push that has not taken its outbox snapshot, a pull. */
  private stillDoes: Phases = { push: false, pull: false };
  /** The collections the running sync was asked for (`syncCollections`); null: every collection. */
  private runningOnly: readonly string[] | null = null;
  /** The last outbox seq the running push's snapshot could include. */
  private snapshotSeq = 0;
  /** Ops went back to pending after that snapshot (a retry by hand): they keep their old seqs. */
  private retriedSinceSnapshot = false;
  /** The sync queued behind the running one for callers it could not serve. */
  private followUp: Promise<SyncResult> | null = null;
  /** The server announced a change after the running pull asked for its current page. */
  private changedSincePageAsked = false;
  private retryTimer: unknown = null;
  /** Aborted by close(): every loop, request and local write of the engine checks it first. */
  private readonly stopping = new AbortController();

  constructor(private readonly o: SyncEngineOptions) {}

  /**
   * Push then pull. A sync already running is joined, never doubled, when it will still do what
   * this call asks; when it will not (a change was queued after it took its snapshot of the
   * outbox, and would otherwise wait for the next trigger; or it does not push or pull at all),
   * one more sync runs right after it, shared by every call that asked meanwhile.
   */
  sync(): Promise<SyncResult> {
    return this.join({ push: true, pull: true }, async (result) => {
      await this.pushAll(result);
      await this.pullAll(result);
      // Last: a record's create has reached the server (a temp id its real id), and a colleague's
      // changes are on screen before minutes of photo bytes go.
      await this.uploadFiles(result);
    });
  }

  syncToServer(): Promise<SyncResult> {
    return this.join({ push: true, pull: false }, async (result) => {
      await this.pushAll(result);
      await this.uploadFiles(result);
    });
  }

  syncFromServer(): Promise<SyncResult> {
    return this.join({ push: false, pull: true }, (result) => this.pullAll(result));
  }

  /**
   * Seed 003's `syncEntityType`, for named collections (checked by the caller: collection-sync.ts):
   * their ops still to go and those they need, then their server changes after the saved cursor,
   * through the priority pass's tier pull, never saving its cursor. No files go: their bytes are
   * what a slow link cannot afford, and the next whole sync sends them.
   */
  syncCollections(only: readonly string[]): Promise<SyncResult> {
    return this.join(
      { push: true, pull: true },
      async (result) => {
        result.scope = { collections: [...only], dependencies: [], notPulled: [] };
        await this.pushAll(result, only);
        await this.pullCollections(result, only);
      },
      only,
    );
  }

  /**
   * The server says it holds changes this device has not pulled (its live stream). A running
   * sync that will still pull reads one more page after the one it is reading, since that page
   * may have been read before the change committed; otherwise a pull starts.
   */
  serverChanged(): Promise<SyncResult> {
    // A sync of named collections reads no more of the stream: a whole pull follows it instead.
    if (this.running && this.stillDoes.pull && this.runningOnly === null) {
      this.changedSincePageAsked = true;
      return this.running;
    }
    return this.syncFromServer();
  }

  get isSyncing(): boolean {
    return this.running !== null;
  }

  /**
   * Stops the engine at once: the request under way is abandoned (its answer is never read), and
   * no further request, batch, page or local write follows. A closed client's outbox must not go
   * on with whatever token the app hands out next, the next person's. Resolves once the running
   * sync has ended, so the store can be closed under nothing. Ops caught in flight go again, under
   * the same opIds, when the store is next opened.
   */
  async close(): Promise<void> {
    this.stopping.abort(new ClientClosedError());
    if (this.retryTimer !== null) this.o.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await Promise.allSettled([this.running, this.followUp]);
  }

  private get closed(): boolean {
    return this.stopping.signal.aborted;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClientClosedError();
  }

  /** A local write of the engine: checked when its turn comes, as close() may have come first. */
  private write<T>(compute: () => { batch: WriteBatch | null; result: T }): Promise<T> {
    return this.o.db.write(() => {
      this.checkOpen();
      return compute();
    });
  }

  private join(
    wants: Phases,
    work: (result: SyncResult) => Promise<void>,
    only: readonly string[] | null = null,
  ): Promise<SyncResult> {
    if (this.closed) return Promise.resolve(this.closedResult());
    const running = this.running;
    if (running) {
      const pushCovered = !wants.push || this.stillDoes.push || !this.queuedSinceSnapshot();
      const pullCovered = !wants.pull || this.stillDoes.pull;
      if (covers(this.runningOnly, only) && pushCovered && pullCovered) return running;
      // Named collections wait for the running sync and ask again then, unless a whole sync is
      // already to follow it: that one covers them.
      if (only !== null && this.followUp === null) return running.then(() => this.syncCollections(only));
      this.followUp ??= running.then(() => {
        this.followUp = null;
        return this.sync();
      });
      return this.followUp;
    }
    this.stillDoes = { ...wants };
    this.runningOnly = only;
    const startMs = this.o.timers.now();
    const result: SyncResult = {
      success: true,
      pushed: { sent: 0, applied: 0, conflicts: 0, rejected: 0, held: 0 },
      pulled: 0,
      upToDate: this.o.db.state.meta[upToDateKey] === true,
      files: { uploaded: 0, ...this.fileCounts() },
      startedAt: new Date(startMs).toISOString(),
      finishedAt: '',
      duration: 0,
    };
    let run: Promise<SyncResult> | null = null;
    run = (async () => {
      await Promise.resolve(); // `run` is assigned before the work starts
      try {
        await work(result);
      } catch (err) {
        result.success = false;
        result.error = describe(err);
        if (isTransient(err)) this.scheduleRetry();
      } finally {
        const endMs = this.o.timers.now();
        result.finishedAt = new Date(endMs).toISOString();
        result.duration = Math.max(0, endMs - startMs);
        result.upToDate = this.o.db.state.meta[upToDateKey] === true;
        result.files = { uploaded: result.files.uploaded, ...this.fileCounts() };
      }
      await this.settleEnd(result, wants.pull && only === null);
      // Listeners hear of the end once isSyncing is already false, and may start the next sync.
      if (this.running === run) this.running = null;
      // The listeners of a closed client belong to a session that has ended.
      if (this.closed) return result;
      this.o.onProgress({ phase: 'done', processed: 0, total: 0, percentage: 100 });
      this.o.onResult(result);
      return result;
    })();
    this.running = run;
    // Told at once, before anything reaches the network: a sync the device starts by itself (on
    // reconnect, on its interval, after a write) shows as running from its first moment, not only
    // once it has something to count. The next report gives the total.
    this.o.onProgress({ phase: wants.push ? 'push' : 'pull', processed: 0, total: null, percentage: null });
    return run;
  }

  /**
   * The end of a sync, in one write before anyone hears of it: the done ops whose retention is
   * over leave the outbox (this sync's own too, with `keepCompletedMs: 0`), and a sync that ended
   * well for the whole device (`whole`: it pulled, every collection; not `sync({ collections })`,
   * which says nothing of the others) stores its `finishedAt` as the last good sync, which
   * `queue.stats().lastSyncAt` reads, after a reopen too. A failure here fails nothing: the ops go
   * at the next sync's end or the next opening, and the sync's result still tells the app.
   */
  private async settleEnd(result: SyncResult, whole: boolean): Promise<void> {
    if (this.closed) return;
    const keepMs = this.o.keepCompletedMs ?? Infinity;
    const good = whole && result.success;
    await this.write(() => {
      const state = this.o.db.state;
      const retained = retentionBatch(state, this.o.timers.now(), keepMs, this.o.keepDeletionsMs);
      const told = numbered(state);
      if (told !== null && told.renumbered.length > 0)
        result.restored = {
          resent: 0,
          ...result.restored,
          renumbered: [...(result.restored?.renumbered ?? []), ...told.renumbered],
        };
      const report = result.restored ? reportAfter(state.meta[restoreReportKey], result) : null;
      // Nothing to remove and nothing to record: no write (a failed sync on a device offline for days).
      if (retained === null && !good && told === null && report === null)
        return { batch: null, result: undefined };
      const batch: WriteBatch = retained ?? {};
      if (good) batch.meta = { ...batch.meta, [lastSyncedKey]: result.finishedAt };
      if (told !== null)
        batch.meta = { ...batch.meta, [renumberedKey]: told.waiting.length > 0 ? told.waiting : undefined };
      if (report !== null) batch.meta = { ...batch.meta, [restoreReportKey]: report };
      return { batch, result: undefined };
    }).catch(() => undefined);
  }

  /** What this device gave back to a restored server that no one has read yet (RestoreReport). */
  restoreReport(): RestoreReport | null {
    return (this.o.db.state.meta[restoreReportKey] as RestoreReport | undefined) ?? null;
  }

  /** A person has read the RestoreReport: it goes, until something is given back again. */
  async dismissRestoreReport(): Promise<void> {
    this.checkOpen();
    if (this.restoreReport() === null) return;
    await this.write(() => ({ batch: { meta: { [restoreReportKey]: undefined } }, result: undefined }));
  }

  /** What a sync asked of a closed engine answers: nothing was done. */
  private closedResult(): SyncResult {
    const now = new Date(this.o.timers.now()).toISOString();
    return {
      success: false,
      pushed: { sent: 0, applied: 0, conflicts: 0, rejected: 0, held: 0 },
      pulled: 0,
      upToDate: this.o.db.state.meta[upToDateKey] === true,
      files: { uploaded: 0, ...this.fileCounts() },
      error: describe(new ClientClosedError()),
      startedAt: now,
      finishedAt: now,
      duration: 0,
    };
  }

  /**
   * Ops a person sent back to pending (`queue.retry`). A sync asked for from now on must send
   * them, even while one runs whose push is already over: their seqs are old, so the snapshot's
   * high-water mark alone would read them as already taken (the simulation found them left
   * waiting for the next timer).
   */
  retried(): void {
    this.retriedSinceSnapshot = true;
  }

  /** True when an op was queued, or retried by hand, after the running push took its snapshot of the outbox. */
  private queuedSinceSnapshot(): boolean {
    return this.retriedSinceSnapshot || this.o.db.state.seqHighWater > this.snapshotSeq;
  }

  /**
   * The backoff timer: a failed push or pull is tried again on its own, with no new local write
   * needed. Not while `mayTryNow` says no: the device knows it is offline, and the sync on
   * reconnect will send what waits. A try then would not reach the server, yet it would mark the
   * waiting ops sent (a person could no longer withdraw them) and count an attempt for each, until
   * changes made offline stopped "after repeated failures" of a server nobody could call. The
   * timer is not armed again: the sync on reconnect arms it if it fails.
   */
  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== null) return;
    const attempts = Math.max(1, this.o.files?.attempts() ?? 0, ...this.waitingOps().map((o) => o.attempts));
    const cooldown = this.o.breaker.msUntilTrial();
    const delay = Math.max(backoffDelay(attempts, this.o.retry, this.o.random), cooldown);
    this.retryTimer = this.o.timers.setTimeout(() => {
      this.retryTimer = null;
      if (this.closed || this.o.mayTryNow?.() === false) return;
      void this.sync();
    }, delay);
  }

  private fileCounts(): { waiting: number; failed: number } {
    return this.o.files?.counts() ?? { waiting: 0, failed: 0 };
  }

  /** The files stage: each request through the breaker, as every request of the engine. */
  private async uploadFiles(result: SyncResult): Promise<void> {
    if (!this.o.files) return;
    // A restored server's re-read ended before the app stopped, its files not marked yet.
    noteRestored(result, 0, await this.sendFilesAgain());
    await this.o.files.upload(
      <T>(request: (signal: AbortSignal) => Promise<T>) => this.call(request),
      () => (result.files.uploaded += 1),
    );
  }

  private waitingOps(): OutboxEntry[] {
    return [...this.o.db.state.outbox.values()].filter((o) => o.status === 'pending');
  }

  /** Every network call goes through the circuit breaker, so a failing server is not hammered. */
  private call<T>(request: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.permit();
    return this.send(request);
  }

  /**
   * Asks the circuit breaker for one request. While it rests it throws CircuitOpenError: nothing
   * has left the device then, so nothing is marked sent and no attempt is counted.
   */
  private permit(): void {
    this.checkOpen();
    if (!this.o.breaker.canRequest()) {
      throw new CircuitOpenError(this.o.timers.now() + this.o.breaker.msUntilTrial());
    }
  }

  /** Sends a request `permit()` allowed and tells the breaker how it went; close() abandons it. */
  private async send<T>(request: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.checkOpen();
    const { signal } = this.stopping;
    try {
      const value = await untilAborted(request(signal), signal);
      this.o.breaker.recordSuccess();
      return value;
    } catch (err) {
      if (this.closed) throw new ClientClosedError();
      if (isTransient(err)) this.o.breaker.recordFailure();
      else this.o.breaker.recordSuccess();
      throw err;
    }
  }

  // ---- push ---------------------------------------------------------------------------------

  /**
   * Prepares the outbox for sending in one local transaction: folds unsent ops together, and
   * holds back ops that reference a record that exists nowhere (a temp id that is neither a
   * local record nor mapped), with the reason, instead of sending them to certain failure.
   * `within` (record keys): a sync of named collections, which neither folds, releases nor sends
   * anything of the other records (collection-sync.ts).
   */
  private async prepareOutbox(within: ReadonlySet<string> | null = null): Promise<OutboxEntry[]> {
    const { db } = this.o;
    const inScope = (o: OutboxEntry) => within === null || within.has(keyOf(o.collection, o.id));
    return this.write(() => {
      const state = db.state;
      // Only one push runs at a time, so an op still in flight now was stranded by the last one:
      // its answer came but could not be stored (a full disk), or never came. It goes again, sent
      // and under its opId, and the server answers a repeat with its first outcome. Left in
      // flight, it would never be sent or settled, and shown over every newer server state.
      const stranded = [...state.outbox.values()]
        .filter((o) => o.status === 'in-flight' && inScope(o))
        .map((o): OutboxEntry => ({ ...o, status: 'pending' }));
      // Every hold but a person's (resolveOrphans('queue')) is worked out again below. Lifted
      // first, an op held by a dependency cycle folds with the edit that broke the loop; kept, the
      // create would still name the other record of the loop, and the loop could never end.
      const released = [...state.outbox.values()]
        .filter(
          (o) =>
            o.status === 'pending' &&
            o.heldReason !== undefined &&
            !o.heldReason.startsWith(waitingForParent) &&
            inScope(o),
        )
        .map((o): OutboxEntry => {
          const next = { ...o };
          delete next.heldReason;
          return next;
        });
      const outbox = new Map(state.outbox);
      for (const o of [...stranded, ...released]) outbox.set(o.seq, o);
      const { put, remove } = coalesceOutbox(
        [...outbox.values()].filter(inScope),
        (collection, id) => state.record(collection, id)?.version ?? 0,
      );
      const removed = new Set(remove);
      const current = new Map<number, OutboxEntry>();
      for (const o of outbox.values()) if (!removed.has(o.seq)) current.set(o.seq, o);
      for (const o of put) current.set(o.seq, o);
      const pendingCreates = new Set(
        [...current.values()]
          .filter((o) => o.type === 'create' && o.status !== 'done')
          .map((o) => keyOf(o.collection, o.id)),
      );
      // A create that is not sent now (it gave up on the network, or is itself held back) keeps
      // back the record's later ops and everything that references it, down the chain: sent ahead
      // of it, they would reach the server first and be refused for good. They go once the create
      // goes. A create the server refused will never go: the ops behind it are sent, refused in
      // turn, and so kept in the server's rejection archive with their data.
      const unsentCreates = new Set(
        [...current.values()]
          .filter((o) => o.type === 'create' && o.status === 'failed' && o.rejected !== true)
          .map((o) => keyOf(o.collection, o.id)),
      );
      const reasons = new Map<number, string | undefined>();
      for (let grew = true; grew;) {
        grew = false;
        for (const op of current.values()) {
          if (op.status !== 'pending' || reasons.get(op.seq) !== undefined) continue;
          const reason = this.holdReason(op, pendingCreates, unsentCreates);
          reasons.set(op.seq, reason);
          if (reason !== undefined && op.type === 'create') {
            unsentCreates.add(keyOf(op.collection, op.id));
            grew = true;
          }
        }
      }
      const changed = new Map(put.map((o) => [o.seq, o]));
      for (const o of [...stranded, ...released])
        if (!removed.has(o.seq) && !changed.has(o.seq)) changed.set(o.seq, o);
      const sendable: OutboxEntry[] = [];
      for (const op of current.values()) {
        if (op.status !== 'pending' || !inScope(op)) continue;
        const heldReason = reasons.get(op.seq);
        if (heldReason !== op.heldReason) {
          const next: OutboxEntry = { ...op };
          if (heldReason === undefined) delete next.heldReason;
          else next.heldReason = heldReason;
          changed.set(op.seq, next);
        }
        // Backoff decides when the engine tries again by itself; a sync that runs sends everything.
        if (heldReason === undefined) sendable.push(changed.get(op.seq) ?? op);
      }
      // A record created and deleted before the server heard of it is gone once its ops fold to
      // nothing: its tombstone kept nothing but the patient data a clinician deleted. Unless a
      // record still names it (orphans are allowed: decision 0016), which then points at a record
      // the device knows was deleted, not at one that exists nowhere.
      const neverSent = new Map<string, RecordRef>();
      for (const o of outbox.values()) {
        if (!removed.has(o.seq)) continue;
        const rec = state.record(o.collection, o.id);
        if (rec?.deleted === true && rec.version === 0) neverSent.set(keyOf(o.collection, o.id), o);
      }
      for (const o of current.values()) neverSent.delete(keyOf(o.collection, o.id));
      if (neverSent.size > 0) {
        for (const rec of state.records.values()) {
          const refs = this.o.schema.collection(rec.collection)?.references ?? {};
          for (const [field, target] of Object.entries(refs)) {
            const value = rec.data[field];
            if (typeof value === 'string') neverSent.delete(keyOf(target, value));
          }
        }
      }
      const deleteRecords = [...neverSent.values()].map(({ collection, id }) => ({ collection, id }));
      return {
        batch: { putOps: [...changed.values()], deleteOps: remove, deleteRecords },
        result: sendable,
      };
    });
  }

  /** Why an op is held back now, or undefined when it can be sent. */
  private holdReason(
    op: OutboxEntry,
    pendingCreates: ReadonlySet<string>,
    unsentCreates: ReadonlySet<string>,
  ): string | undefined {
    // Ops a person queued behind an orphaned reference wait until the record they point to is here.
    if (op.heldReason?.startsWith(waitingForParent) === true) {
      const missing = this.missingReference(op, pendingCreates);
      if (missing) return `${waitingForParent}: ${missing.collection} ${missing.id}`;
    }
    if (unsentCreates.size === 0) return undefined;
    if (op.type !== 'create' && unsentCreates.has(keyOf(op.collection, op.id)))
      return `the create of ${op.collection} ${op.id} has not reached the server (failed or held back): this op waits for it`;
    if (op.type === 'delete') return undefined;
    for (const [field, target] of Object.entries(this.o.schema.collection(op.collection)?.references ?? {})) {
      const value = op.data?.[field];
      if (typeof value === 'string' && unsentCreates.has(keyOf(target, value)))
        return `${field} points to ${target} ${value}, whose create has not reached the server (failed or held back): it waits for it`;
    }
    return undefined;
  }

  /**
   * A reference of the op to a record this device does not hold (or holds deleted). An op that
   * names a record existing nowhere (never made here, or made and deleted before the server saw
   * it) is still sent unless a person queued it: the server refuses it and archives its data.
   */
  private missingReference(op: OutboxEntry, pendingCreates: ReadonlySet<string>): MissingReference | null {
    if (op.type === 'delete') return null;
    const missing = missingReferences(
      this.o.schema,
      this.o.db.state,
      op.collection,
      op.data,
      heldWhole(this.o.collections, this.o.recordFilter),
      (collection, id) => pendingCreates.has(keyOf(collection, id)),
    );
    return missing[0] ?? null;
  }

  /** `only`: named collections, their ops and those they need (collection-sync.ts); absent: all. */
  private async pushAll(result: SyncResult, only?: readonly string[]): Promise<void> {
    // Refused for its cursor by a server restored from a backup, the push waits for the re-read
    // the refusal started; the pull's end sends it (pullAll). A refusal for another reason (a
    // cursor the server can no longer read) starts a re-read that asks no wait: sent again now.
    if ((await this.pushOnce(result, only)) === 'read-again' && !this.readingRestored()) {
      await this.pushOnce(result, only);
    }
  }

  /** Whether the re-read of a server restored from a backup is under way (decision 0050). */
  private readingRestored(): boolean {
    return (this.o.db.state.meta[resyncKey] as Resync | undefined)?.restored !== undefined;
  }

  private async pushOnce(result: SyncResult, only?: readonly string[]): Promise<'pushed' | 'read-again'> {
    // From here on a change made on the device is not in this push: a sync asked for after one
    // runs again once this one ends.
    this.stillDoes.push = false;
    this.snapshotSeq = this.o.db.state.seqHighWater;
    this.retriedSinceSnapshot = false;
    // Nothing goes while a restored server is read again: the re-read decides what goes back, and
    // a change on a record the server lost would be refused for good (NOT_FOUND, or a reference to
    // nothing) before the record is given back. Its end sends everything (pullAll).
    if (this.readingRestored()) return 'pushed';
    // Taken with the snapshot: a record whose first op comes later is not promised to this push.
    const within = only ? recordsToSend(this.o.schema, this.o.db.state, only) : null;
    const sendable = await this.prepareOutbox(within);
    // Parents before children, then priority, then the order things were done; batches are
    // consecutive slices of that order, sent one after the other, so a child never travels in an
    // earlier batch than its parent.
    const order = await this.dependencyOrder(sendable);
    if (only && result.scope) {
      const bySeq = new Map(sendable.map((o) => [o.seq, o]));
      result.scope.dependencies = dependenciesIn(
        order.flatMap((seq) => bySeq.get(seq) ?? []),
        only,
      );
    }
    // Counted once the order is known: it holds back what a dependency cycle keeps from going.
    result.pushed.held = [...this.o.db.state.outbox.values()].filter(
      (o) => o.heldReason !== undefined && (within === null || within.has(keyOf(o.collection, o.id))),
    ).length;
    if (order.length === 0) return 'pushed';
    const total = order.length;
    this.o.onProgress({ phase: 'push', processed: 0, total, percentage: 0 });
    // Halved, down to one op, while the server refuses the requests as too large (413). Smaller
    // from the start on a poor link, read as the push begins.
    let size = this.o.sizes().batchSize;
    // Every op before `i` is sent or skipped, so `i` is also the progress made.
    let i = 0;
    while (i < order.length) {
      this.checkOpen();
      const start = i;
      const batch: OutboxEntry[] = [];
      const records = new Set<string>();
      while (i < order.length && batch.length < size) {
        // Read each op fresh: an earlier batch's id mappings may have rewritten it.
        const op = this.o.db.state.outbox.get(order[i] as number);
        if (!op || op.status !== 'pending' || op.heldReason !== undefined) {
          i += 1;
          continue;
        }
        // One op per record per batch: the next one's base version is known only once this one is answered.
        const key = keyOf(op.collection, op.id);
        if (records.has(key)) break;
        records.add(key);
        batch.push(op);
        i += 1;
      }
      if (batch.length === 0) continue;
      const sent = await this.sendBatch(batch, result);
      if (sent === 'read-again') return sent;
      if (sent === 'too-large') {
        size = Math.max(1, Math.floor(batch.length / 2));
        i = start;
        continue;
      }
      this.o.onProgress({ phase: 'push', processed: i, total, percentage: Math.round((i / total) * 100) });
    }
    return 'pushed';
  }

  /**
   * The send order. Ops whose data makes them depend on each other in a cycle (only odd data can)
   * are held back with the cycle named, and so are the ops waiting on them (a file in a folder of
   * the loop): sent ahead of what they need, the server would refuse them for good. The rest go.
   * Held ops are looked at again by every push, so they go once a person breaks the loop.
   */
  private async dependencyOrder(sendable: OutboxEntry[]): Promise<number[]> {
    let ops = sendable;
    for (;;) {
      try {
        return orderOps(ops, this.o.schema).map((o) => o.seq);
      } catch (err) {
        if (!(err instanceof DependencyCycleError) || err.seqs.length === 0) throw err;
        const reasons = new Map<number, string>();
        for (const seq of err.seqs) reasons.set(seq, err.message);
        const waits = `it waits on records held back: ${err.message}`;
        for (const seq of err.waiting) reasons.set(seq, waits);
        await this.write(() => ({
          batch: {
            // Not an op withdrawn meanwhile: it stays gone.
            putOps: ops.flatMap((o) => {
              const current = this.o.db.state.outbox.get(o.seq);
              const heldReason = reasons.get(o.seq);
              return current && heldReason !== undefined ? [{ ...current, heldReason }] : [];
            }),
          },
          result: undefined,
        }));
        ops = ops.filter((o) => !reasons.has(o.seq));
      }
    }
  }

  /**
   * Sends one batch and stores its outcome. 'too-large': the server refused the request's size
   * (413) and the ops are pending again, for smaller batches.
   */
  private async sendBatch(
    batch: readonly OutboxEntry[],
    result: SyncResult,
  ): Promise<'sent' | 'too-large' | 'read-again'> {
    // Before anything is marked: a breaker at rest sends nothing, so no attempt is counted.
    this.permit();
    const sending = await this.markInFlight(batch);
    // All withdrawn by a person meanwhile: nothing goes. (A half-open breaker's trial, handed out
    // above, is handed out again after its cool-down.)
    if (sending.length === 0) return 'sent';
    // The pull cursor tells the server which database this device last read: one restored from a
    // backup since refuses the push whole, before the device sends changes naming numbers it now
    // gives to other records (decision 0051). None while a re-read is under way.
    const cursor = this.o.db.state.meta[cursorKey] as string | undefined;
    let response;
    try {
      response = await this.send((signal) =>
        this.o.transport.push(
          {
            clientId: this.o.clientId,
            deviceId: this.o.deviceId,
            ...(cursor !== undefined ? { cursor } : {}),
            ops: sending.map(toPushOp),
          },
          { signal },
        ),
      );
    } catch (err) {
      // Closed: the ops stay in flight, and go again under the same opIds when the store reopens.
      if (this.closed) throw err;
      if (isOutpostError(err) && err.code === 'PAYLOAD_TOO_LARGE') return this.tooLarge(sending, err, result);
      const refused = cursorRefused(err);
      if (refused !== null && cursor !== undefined) return this.readAgainFirst(sending, refused.restored);
      await this.markFailedAttempt(sending, err);
      throw err;
    }
    result.pushed.sent += sending.length;
    // First the id mappings and every rewritten reference, in one transaction...
    await this.applyMappings(response.idMappings);
    // ...then each op's outcome. Both steps are safe to repeat: a resend gets the same answers.
    const refresh = await this.applyResults(sending, response.results, result);
    if (refresh.length > 0) await this.refreshRecords();
    return 'sent';
  }

  /**
   * Marks the batch in flight and returns the ops marked: those still waiting when this write's
   * turn comes. A person may have withdrawn one after the batch was put together
   * (`queue.withdraw`): it is neither brought back nor sent.
   */
  private async markInFlight(batch: readonly OutboxEntry[]): Promise<OutboxEntry[]> {
    const { db } = this.o;
    // Stored, not only shown: once an op may have reached the server its content is fixed under
    // its opId. After a crash or a retry by hand the device must still know it was sent, or a
    // later edit would be folded into it and lost behind the server's "duplicate".
    const cursor = (db.state.meta[cursorKey] as string | undefined) ?? '';
    return this.write(() => {
      const marked = batch.flatMap((o): OutboxEntry[] => {
        const current = db.state.outbox.get(o.seq);
        if (current?.status !== 'pending') return [];
        // The cursor of the first sending only: an op sent before the field existed keeps none,
        // and so is always read afresh after a duplicate answer.
        return [
          {
            ...current,
            status: 'in-flight',
            sent: true,
            ...(current.sent ? {} : { cursorWhenSent: cursor }),
          },
        ];
      });
      return { batch: { putOps: marked }, result: marked };
    });
  }

  /**
   * The server refused the push for the cursor it carried (restored from a backup since, or a
   * cursor it can no longer read): it applied nothing. The ops wait again, no attempt counted; the
   * re-read starts, with what a restore asks of it first (startResync), and the push starts over
   * without a cursor: the ops may have changed, and new ones give back what the server lost.
   */
  private async readAgainFirst(
    batch: readonly OutboxEntry[],
    restored: RestoreMark | null,
  ): Promise<'read-again'> {
    const { db } = this.o;
    await this.write(() => ({
      batch: {
        putOps: batch.flatMap((o): OutboxEntry[] => {
          const current = db.state.outbox.get(o.seq);
          return current?.status === 'in-flight' ? [{ ...current, status: 'pending' }] : [];
        }),
      },
      result: undefined,
    }));
    await this.startResync(restored);
    return 'read-again';
  }

  /**
   * A request the server refused as too large (413) applied nothing. Several ops go back to
   * pending with no attempt counted, to be sent in smaller batches. One op alone too large can
   * never go: it is refused, kept and shown like any op the server refused, and the ops behind it
   * go on.
   */
  private async tooLarge(
    batch: readonly OutboxEntry[],
    err: OutpostError,
    result: SyncResult,
  ): Promise<'sent' | 'too-large'> {
    const { db } = this.o;
    const single = batch.length === 1;
    await this.write(() => ({
      batch: {
        putOps: batch.map((o): OutboxEntry => {
          const current = db.state.outbox.get(o.seq) ?? o;
          if (!single) return { ...current, status: 'pending' };
          return {
            ...current,
            status: 'failed',
            rejected: true,
            attempts: current.attempts + 1,
            lastError: describe(err),
          };
        }),
      },
      result: undefined,
    }));
    if (!single) return 'too-large';
    result.pushed.sent += 1;
    result.pushed.rejected += 1;
    return 'sent';
  }

  /** A send that failed on the way: the ops wait for the backoff timer, or stay failed after too many tries. */
  private async markFailedAttempt(batch: readonly OutboxEntry[], err: unknown): Promise<void> {
    const { db, retry } = this.o;
    const now = this.o.timers.now();
    const error = describe(err);
    await this.write(() => ({
      batch: {
        putOps: batch.map((o) => {
          const current = db.state.outbox.get(o.seq) ?? o;
          const attempts = current.attempts + 1;
          const gaveUp = attempts >= retry.maxAttempts || !isTransient(err);
          return {
            ...current,
            status: gaveUp ? ('failed' as const) : ('pending' as const),
            attempts,
            lastError: error,
            nextAttemptAt: now + backoffDelay(attempts, retry, this.o.random),
          };
        }),
      },
      result: undefined,
    }));
  }

  private async applyMappings(mappings: readonly IdMapping[]): Promise<void> {
    if (mappings.length === 0) return;
    const { db, schema } = this.o;
    await this.write(() => {
      const state = db.state;
      const rewritten = rewriteTempIds(schema, mappings, {
        records: state.records.values(),
        outbox: state.outbox.values(),
        conflicts: state.conflicts.values(),
      });
      const known = { ...((state.meta[mappingsKey] ?? {}) as Record<string, string>) };
      for (const m of mappings) known[m.tempId] = m.id;
      return { batch: { ...rewritten, meta: { [mappingsKey]: known } }, result: undefined };
    });
  }

  private async applyResults(
    batch: readonly OutboxEntry[],
    results: readonly PushResult[],
    summary: SyncResult,
  ): Promise<Array<{ collection: string; id: string }>> {
    const { db } = this.o;
    const bySeq = new Map(batch.map((o) => [o.opId, o.seq]));
    return this.write(() => {
      const state = db.state;
      const ops = new Map<number, OutboxEntry>();
      const records = new Map<string, LocalRecord | null>();
      const conflicts: LocalConflict[] = [];
      const refresh: Array<{ collection: string; id: string }> = [];
      const nowIso = new Date(this.o.timers.now()).toISOString();
      const opOf = (seq: number) => ops.get(seq) ?? state.outbox.get(seq);
      const cursorNow = (state.meta[cursorKey] as string | undefined) ?? '';
      // The ops of a record as this transaction leaves them (ids are already the real ones).
      const pendingOf = (collection: string, id: string) =>
        state
          .opsFor(collection, id)
          .map((o) => ops.get(o.seq) ?? o)
          .filter((o) => o.status !== 'done' && o.status !== 'conflict');

      for (const r of results) {
        const seq = bySeq.get(r.opId);
        const op = seq === undefined ? undefined : opOf(seq);
        if (!op) continue;
        const status = r.status === 'duplicate' ? (r.originalStatus ?? 'applied') : r.status;
        const id = r.id; // the real id, after any temp-id mapping
        if (r.conflict?.id !== undefined) {
          conflicts.push({
            id: r.conflict.id,
            opId: op.opId,
            opType: op.type,
            collection: op.collection,
            recordId: id,
            summary: r.conflict,
            detectedAt: nowIso,
            ...(r.conflict.outcome !== 'open' ? { resolvedAt: nowIso } : {}),
          });
        }
        if (status === 'applied') {
          summary.pushed.applied += 1;
          // When the outbox may let it go (keepCompletedMs) counts from here.
          const done: OutboxEntry = { ...op, id, status: 'done', completedAt: nowIso };
          delete done.lastError;
          ops.set(op.seq, done);
          // Later ops on this record were made on top of this one: their base is its new version.
          // Not after an update sent with no base (given back to a restored server): those after
          // it with none are weighed by their own HLC, not made on it (restore-recovery.ts).
          const rebases = op.type === 'create' || op.baseVersion !== undefined;
          for (const later of pendingOf(op.collection, id)) {
            if (
              rebases &&
              later.seq > op.seq &&
              later.baseVersion === op.baseVersion &&
              r.version !== undefined
            ) {
              ops.set(later.seq, { ...later, baseVersion: r.version });
            }
          }
          const key = keyOf(op.collection, id);
          const rec = records.get(key) ?? state.record(op.collection, id);
          if (
            (r.status === 'duplicate' && op.cursorWhenSent !== cursorNow) ||
            (rec && r.version !== undefined && r.version < rec.version)
          ) {
            // Applied earlier (an answer lost, a resend) and the device has pulled since: the
            // answer's version is the server's of back then, and what the device pulled may be
            // newer, or gone (deleted by others or by this device's own later ops), or, after a
            // delete, alive again (a later edit elsewhere won over the delete). Read the record
            // afresh: a replayed create would hide fields set since, a deleted record show again,
            // a revived one stay hidden. With no pull since, any later change lies beyond the
            // cursor and the next pull brings it.
            refresh.push({ collection: op.collection, id });
            // The fields it set got their value at a time the answer does not say: the record read
            // again tells (field-times.ts); until then, not known.
            if (rec && op.type !== 'delete' && r.version !== undefined)
              records.set(key, withTimes(rec, ackedTimes(rec, op, r.version)));
          } else if (op.type === 'delete' && pendingOf(op.collection, id).length === 0) {
            // The delete is acknowledged: the local tombstone has done its job.
            if (rec) records.set(key, null);
          } else if (rec && r.version !== undefined && r.version > rec.version) {
            records.set(key, afterApplied(rec, op, r.version, pendingOf(op.collection, id)));
          }
        } else if (status === 'conflict') {
          summary.pushed.conflicts += 1;
          ops.set(op.seq, { ...op, id, status: 'conflict' });
          const server = r.conflict?.server;
          const shown = records.get(keyOf(op.collection, id)) ?? state.record(op.collection, id);
          // A late answer (a resend's duplicate) carries the server's version of back then: when
          // the device has since seen a newer one, it reads the record afresh instead.
          if (server && !(shown && shown.version > server.version)) {
            // The server's version stands (or waits for a person): show it, with any other
            // pending changes of this device on top. The losing change is in the conflict store.
            const view = viewOf(
              op.collection,
              id,
              {
                data: server.data,
                deleted: server.data === null,
                version: server.version,
                hlc: state.record(op.collection, id)?.hlc ?? op.hlc,
                updatedAt: nowIso,
              },
              pendingOf(op.collection, id),
            );
            // The server's side carries no time: the fields it changed get one at the next pull.
            const before = heldServerState(shown ?? undefined, true);
            const times = pulledTimes(before, {
              data: server.data,
              updatedAt: null,
              version: server.version,
            });
            records.set(keyOf(op.collection, id), view && withTimes(view, times));
          } else {
            refresh.push({ collection: op.collection, id });
          }
        } else {
          summary.pushed.rejected += 1;
          const kind = r.conflict?.kind;
          const refused = kind === 'immutable' || kind === 'locked';
          // Refused for good: set aside so it never blocks the ops behind it, kept and visible.
          ops.set(op.seq, {
            ...op,
            id,
            status: refused ? 'conflict' : 'failed',
            rejected: true,
            attempts: op.attempts + 1,
            ...(r.error ? { lastError: r.error } : {}),
          });
          // A signed note or locked form keeps the server's content: fetch it to show it again.
          if (refused) refresh.push({ collection: op.collection, id });
        }
      }
      const putRecords: LocalRecord[] = [];
      const deleteRecords: Array<{ collection: string; id: string }> = [];
      for (const [key, rec] of records) {
        if (rec) putRecords.push(rec);
        else {
          const [collection, id] = key.split('\u0000') as [string, string];
          deleteRecords.push({ collection, id });
        }
      }
      const write: WriteBatch = {
        putOps: [...ops.values()],
        putRecords,
        deleteRecords,
        putConflicts: conflicts,
      };
      if (refresh.length > 0) {
        const wanted = (state.meta[refreshKey] ?? []) as RecordRef[];
        const known = new Set(wanted.map((k) => keyOf(k.collection, k.id)));
        const added = refresh.filter((k) => !known.has(keyOf(k.collection, k.id)));
        write.meta = { [refreshKey]: [...wanted, ...added] };
      }
      return { batch: write, result: refresh };
    });
  }

  /**
   * Reads the records whose server state a push answer did not carry (a signed or locked record
   * that refused a change, a duplicate's record) and shows them beneath pending changes. The list
   * is stored with the answers that asked for it, so a read lost to the network is retried by the
   * next sync instead of leaving the device showing a change the server refused.
   */
  private async refreshRecords(): Promise<void> {
    const wanted = (this.o.db.state.meta[refreshKey] ?? []) as RecordRef[];
    if (wanted.length === 0) return;
    const { changes, read, failure } = await this.readServerStates(wanted);
    const left = ((this.o.db.state.meta[refreshKey] ?? []) as RecordRef[]).filter(
      (k) => !read.has(keyOf(k.collection, k.id)),
    );
    await this.applyChanges(changes, { meta: { [refreshKey]: left } });
    if (failure !== undefined) throw failure;
  }

  /**
   * The server's state of each record, one read each, in order, stopping at the first read the
   * network loses (`failure`). A record the server lacks, or the role may not read, counts as
   * read, with nothing to apply. `read`: the records done with.
   */
  private async readServerStates(
    refs: readonly RecordRef[],
  ): Promise<{ changes: Change[]; read: Set<string>; failure?: unknown }> {
    const changes: Change[] = [];
    const read = new Set<string>();
    for (const k of refs) {
      try {
        const found = await this.call((signal) => this.o.transport.getRecord(k.collection, k.id, { signal }));
        if (found) changes.push(found);
      } catch (err) {
        if (this.closed) throw err;
        if (isTransient(err)) return { changes, read, failure: err };
      }
      read.add(keyOf(k.collection, k.id));
    }
    return { changes, read };
  }

  /**
   * Takes ops the server refused for good off the device, once a person has read them: the
   * server's rejection archive keeps what was typed. Each record is shown again without the
   * refused change, in the same transaction that removes it: as the device's other ops alone
   * make it when the server never had the record, else over the server's copy, read first. So it
   * needs the server for those, and throws without changing anything when the read fails. Ops
   * not refused are never taken: the device may be the only place their change exists. Resolves
   * to how many ops were removed.
   */
  async discardRefused(seqs: readonly number[]): Promise<number> {
    const { db, transport } = this.o;
    const records = new Map<string, RecordRef>();
    for (const seq of seqs) {
      const op = db.state.outbox.get(seq);
      if (isRefused(op)) records.set(keyOf(op.collection, op.id), { collection: op.collection, id: op.id });
    }
    const serverCopies = new Map<string, Change | null>();
    for (const [key, ref] of records) {
      if ((db.state.record(ref.collection, ref.id)?.version ?? 0) === 0) continue;
      serverCopies.set(
        key,
        await this.call((signal) => transport.getRecord(ref.collection, ref.id, { signal })),
      );
    }
    return this.write(() => {
      const state = db.state;
      // A pull that landed during the reads may have brought a newer version than the copy read:
      // such a record keeps its refused ops this time rather than go back to an older state.
      const stale = new Set(
        [...serverCopies].flatMap(([key, copy]) => {
          const ref = records.get(key) as RecordRef;
          const shown = state.record(ref.collection, ref.id)?.version ?? 0;
          return copy !== null && shown > copy.version ? [key] : [];
        }),
      );
      for (const key of stale) records.delete(key);
      const gone = new Set(
        seqs.filter((seq) => {
          const op = state.outbox.get(seq);
          return isRefused(op) && !stale.has(keyOf(op.collection, op.id));
        }),
      );
      const putRecords: LocalRecord[] = [];
      const deleteRecords: RecordRef[] = [];
      for (const [key, ref] of records) {
        const rest = state.pendingFor(ref.collection, ref.id).filter((o) => !gone.has(o.seq));
        const server = serverCopies.get(key);
        const view = viewOf(ref.collection, ref.id, server ? toServerState(server) : null, rest);
        // As a pull does: a record deleted on the server, with nothing of this device on it, goes.
        if (view && !(view.deleted && rest.length === 0)) putRecords.push(view);
        else if (state.record(ref.collection, ref.id)) deleteRecords.push(ref);
      }
      return { batch: { deleteOps: [...gone], putRecords, deleteRecords }, result: gone.size };
    });
  }

  /**
   * Withdraws changes a person made that have not left the device (`queue.withdraw`): they are
   * never sent, and their records show again as the server has them with the device's other
   * changes on top, in the same transaction that removes them. Only ops never handed to the
   * network: one in flight, or sent once with no answer, may already be applied on the server, and
   * the device cannot take it back. Those that depend on the ones named go too, and must be named
   * as well (planWithdrawal lists them): nothing a person typed goes without being asked for.
   *
   * The server's copy of each record is the one the device keeps beneath its changes, so this
   * works offline. A record whose copy the device does not hold (stored before copies were kept,
   * or waiting to be read again after a push) needs the server: without it this throws and
   * changes nothing. A record the server never had needs none: it goes, and is listed in the same
   * write for its files on the device to go after it (`settleWithdrawn`, files/file-uploads.ts).
   * Resolves to how many ops were withdrawn.
   */
  async withdraw(seqs: readonly number[]): Promise<number> {
    const { db, schema, transport } = this.o;
    const first = planWithdrawal(schema, db.state, seqs);
    assertWithdrawable(first);
    if (first.ops.length === 0) return 0;
    const reads = new Map<string, Change | null>();
    for (const ref of recordsOf(first.ops)) {
      if (this.serverCopy(ref) !== undefined) continue;
      try {
        reads.set(
          keyOf(ref.collection, ref.id),
          await this.call((signal) => transport.getRecord(ref.collection, ref.id, { signal })),
        );
      } catch (err) {
        if (!isTransient(err)) throw err;
        throw outpostError(
          'CONFLICT',
          `withdrawing needs the server's copy of ${ref.collection} ${ref.id}, which this device does not hold: ` +
            `connect and try again (${describe(err).message}). Nothing was withdrawn`,
          { reason: 'NEEDS_SERVER', collection: ref.collection, id: ref.id, error: describe(err) },
        );
      }
    }
    return this.write(() => {
      const state = db.state;
      // Planned again at this write's turn: a push may have taken an op meanwhile, or a person
      // made another change on top of one. Then nothing is withdrawn, and the caller looks again.
      const plan = planWithdrawal(schema, state, seqs);
      assertWithdrawable(plan);
      const gone = new Set(plan.ops.map((o) => o.seq));
      if (gone.size !== first.ops.length || first.ops.some((o) => !gone.has(o.seq))) {
        throw outpostError(
          'CONFLICT',
          'the changes waiting changed while withdrawing: nothing was withdrawn, look again',
          { reason: 'CHANGED_MEANWHILE' },
        );
      }
      const putRecords: LocalRecord[] = [];
      const deleteRecords: RecordRef[] = [];
      const putOps: OutboxEntry[] = [];
      for (const ref of recordsOf(plan.ops)) {
        const rec = state.record(ref.collection, ref.id);
        // A refused change shows again the fields only a withdrawn change had set again.
        const reshown = new Map(
          shownAgain(state.opsFor(ref.collection, ref.id), gone).map((o) => [o.seq, o]),
        );
        putOps.push(...reshown.values());
        const rest = state
          .pendingFor(ref.collection, ref.id)
          .filter((o) => !gone.has(o.seq))
          .map((o) => reshown.get(o.seq) ?? o);
        const read = reads.get(keyOf(ref.collection, ref.id));
        let server = this.serverCopy(ref);
        if (
          server === undefined &&
          read !== undefined &&
          (read === null || read.version >= (rec?.version ?? 0))
        )
          server = read === null ? null : toServerState(read);
        if (server === undefined) {
          throw outpostError(
            'CONFLICT',
            `${ref.collection} ${ref.id} changed while withdrawing: nothing was withdrawn, try again`,
            { reason: 'CHANGED_MEANWHILE' },
          );
        }
        const view = viewOf(ref.collection, ref.id, server, rest);
        // As a pull does: a record gone on the server, with nothing of this device on it, goes.
        if (view && !(view.deleted && rest.length === 0)) putRecords.push(view);
        else if (rec) deleteRecords.push(ref);
      }
      // The records the server never had go, and their files with them. The files are in a store of
      // their own, written after this (files/record-ids.ts): listed here, in this write, they go
      // even if the app stops before that.
      const created = newRecordsOf(state, plan.ops);
      const meta =
        created.length > 0 ? { [withdrawnKey]: [...withdrawnIn(state.meta), ...created] } : undefined;
      return {
        batch: { deleteOps: [...gone], putOps, putRecords, deleteRecords, ...(meta ? { meta } : {}) },
        result: gone.size,
      };
    });
  }

  /**
   * The server's copy of a record as the device holds it (null: the server never had the record),
   * or undefined when it must be read: not kept, or a push asked to read the record again.
   */
  private serverCopy(ref: RecordRef): ServerState | null | undefined {
    const rereads = (this.o.db.state.meta[refreshKey] ?? []) as RecordRef[];
    if (rereads.some((k) => k.collection === ref.collection && k.id === ref.id)) return undefined;
    return heldServerCopy(this.o.db.state.record(ref.collection, ref.id));
  }

  // ---- pull ---------------------------------------------------------------------------------

  /**
   * One page of the server's changes after `cursor` (none: from the start) of `collections` (none:
   * every collection the role may read): the main pull's, a priority tier's, a collection read again.
   */
  private pullPage(cursor: string | undefined, collections: readonly string[] | undefined) {
    return this.call((signal) =>
      this.o.transport.pull(
        {
          ...(cursor !== undefined ? { cursor } : {}),
          // Read for each page: a link that turns poor mid-pull gets smaller pages from then on.
          limit: this.o.sizes().pullLimit,
          ...(collections ? { collections } : {}),
          // So the server counts a tablet that only reads as syncing (its statistics' last sync).
          deviceId: this.o.deviceId,
        },
        { signal },
      ),
    );
  }

  private async pullAll(result: SyncResult): Promise<void> {
    // Reads a push asked for and the network lost first, so they land beneath this pull.
    await this.refreshRecords();
    if (this.o.collections?.length === 0) {
      // Selective sync of no collection pulls nothing. Sent as it is, the empty filter would read
      // as none at all, and every record the role may read would land on the device.
      if (this.o.db.state.meta[upToDateKey] !== true) {
        await this.write(() => ({ batch: { meta: { [upToDateKey]: true } }, result: undefined }));
      }
      await this.readSettledConflicts();
      await this.prune();
      return;
    }
    // Before the main pull, so each of its pages is read after these: nothing older follows.
    if (this.o.db.state.meta[resyncKey] === undefined) await this.readAgain(result);
    let resynced = false;
    let firstPage = true;
    for (;;) {
      this.checkOpen();
      const cursor = this.o.db.state.meta[cursorKey] as string | undefined;
      this.changedSincePageAsked = false;
      let page;
      try {
        page = await this.pullPage(cursor, this.o.collections);
      } catch (err) {
        const refused = cursorRefused(err);
        if (refused !== null && !resynced) {
          resynced = true;
          await this.startResync(refused.restored);
          continue;
        }
        throw err;
      }
      // The page and the cursor after it commit together: a saved cursor never runs ahead of
      // the data applied, and an interrupted initial sync resumes from the last whole page.
      // Up to date only once a re-read has also removed what it did not bring.
      const resyncing = this.o.db.state.meta[resyncKey] !== undefined;
      await this.applyChanges(page.changes, {
        meta: { [cursorKey]: page.cursor, [upToDateKey]: !page.hasMore && !resyncing },
      });
      result.pulled += page.changes.length;
      this.o.onProgress({
        phase: 'pull',
        processed: result.pulled,
        total: page.hasMore ? null : result.pulled,
        percentage: page.hasMore ? null : 100,
      });
      // A first page that is not the last means a backlog (days offline, a new tablet): the
      // collections that sync first come before the rest of it. Not during a re-read after a 410:
      // the device already shows what it held, and the re-read's notes of what it saw stay its own.
      if (firstPage && page.hasMore && !resyncing && this.o.priorityPull !== false) {
        await this.pullPriorityTiers(result);
      }
      firstPage = false;
      if (!page.hasMore && !this.changedSincePageAsked) break;
    }
    const endingRestored = this.readingRestored();
    const resent = (await this.finishResync()) + (await this.raiseLostConflicts());
    // Before the push of what the records give back and the uploads: the files of those records
    // wait for their creates to go, as any file does.
    noteRestored(result, resent, await this.sendFilesAgain());
    // The changes that waited for the re-read go too.
    if (resent > 0 || endingRestored) {
      // What the restored server lost goes back in this sync, and its answers are read after.
      await this.pushAll(result);
      await this.pullAll(result);
      return;
    }
    await this.readSettledConflicts();
    await this.takeInConflictRecords();
    // Time has passed since the records held arrived: what the filter now rejects goes. After a
    // pull that is up to date only, so it judges the server's latest state of each record; and
    // after the settlements are read, so a conflict settled elsewhere no longer keeps its record.
    if (this.o.db.state.meta[upToDateKey] === true) await this.prune();
  }

  /**
   * The records of conflicts waiting for a person that the device does not hold: a conflict copied
   * from the server's archive (`conflicts.refresh`, an administrator's review) over a record the
   * filter let go before the conflict reached the device. A conflict waiting keeps its record
   * whatever the filter says (decisions/0027), or the record was missing where the person settles
   * it; so each is read and applied as a pulled change, which the conflict keeps. Pulls follow it
   * from there, and the prune after its settlement lets it go. Only in a collection the device
   * pulls: one it does not pull would bring no change of it. A read the network loses is tried at
   * the next sync; a record the server no longer has, or the role may not read, stays out.
   */
  private async takeInConflictRecords(): Promise<void> {
    if (this.o.recordFilter === undefined) return;
    const state = this.o.db.state;
    const pulls = pulledBy(this.o.collections);
    const wanted = new Map<string, RecordRef>();
    for (const c of state.waitingConflicts()) {
      if (!pulls(c.collection) || state.record(c.collection, c.recordId) !== undefined) continue;
      wanted.set(keyOf(c.collection, c.recordId), { collection: c.collection, id: c.recordId });
    }
    if (wanted.size === 0) return;
    const { changes, failure } = await this.readServerStates([...wanted.values()]);
    const live = changes.filter((c) => !c.deleted);
    if (live.length > 0) await this.applyChanges(live);
    if (failure !== undefined) throw failure;
  }

  /**
   * Removes the records held that `recordFilter` now rejects (six months passed since a visit
   * arrived), but for those the device holds work of its own on (a change not confirmed, a
   * refusal kept, a conflict waiting for review) and those the server never had; and the records
   * read from the server for a change (`update` of one not held) once that change is done, in a
   * collection this device does not pull. Never touches the outbox. Resolves to how many went.
   */
  async prune(): Promise<number> {
    if (this.o.recordFilter === undefined && takenIn(this.o.db.state.meta).length === 0) return 0;
    return this.write(() => {
      const { deleteRecords, meta } = prunable(
        this.o.db.state,
        this.o.recordFilter,
        pulledBy(this.o.collections),
      );
      const batch = deleteRecords.length > 0 || meta ? { deleteRecords, ...(meta ? { meta } : {}) } : null;
      return { batch, result: deleteRecords.length };
    });
  }

  /**
   * Reads again from the start the collections whose filter was widened or removed since the last
   * pull (record-filter.ts, filterMeta): the records the old filter rejected were never stored and
   * the cursor has moved past them. Each is pulled on its own, without a cursor, through the current
   * filter, page by page; a collection leaves the list with its last page, so a read cut short is
   * done again from the start by the next pull. Nothing is removed: a wider filter only adds. Run
   * before the main pull's first page, so every main page is read after these and brings nothing
   * older than what they applied (decisions/0027).
   */
  private async readAgain(result: SyncResult): Promise<void> {
    for (const collection of (this.o.db.state.meta[readAgainKey] ?? []) as string[]) {
      let cursor: string | undefined;
      for (;;) {
        this.checkOpen();
        let page;
        try {
          page = await this.pullPage(cursor, [collection]);
        } catch (err) {
          // The role may not read it (the device pulls what its role reads): nothing to read again.
          if (!(isOutpostError(err) && err.code === 'FORBIDDEN')) throw err;
          page = null;
        }
        const done = page === null || !page.hasMore;
        const left = ((this.o.db.state.meta[readAgainKey] ?? []) as string[]).filter((c) => c !== collection);
        await this.applyChanges(page?.changes ?? [], {
          ...(done ? { meta: { [readAgainKey]: left.length > 0 ? left : undefined } } : {}),
        });
        if (page === null) break;
        result.pulled += page.changes.length;
        this.o.onProgress({ phase: 'pull', processed: result.pulled, total: null, percentage: null });
        if (done) break;
        cursor = page.cursor;
      }
    }
  }

  /**
   * Seed 002's priority sync, for pull: the collections this device pulls, a tier per priority,
   * each tier but the last pulled on its own from the main pull's saved cursor, highest first,
   * before the main pull goes on. A tablet back after days away holds the clinic's prescriptions
   * after a page or two, not after thousands of visit notes. The server reads a cursor on for the
   * same collections or fewer, so each tier needs nothing new of it.
   *
   * Each tier's cursor lives here only: the saved one is the main pull's, which alone says what the
   * device holds of every collection, and moves only with its own pages. So the main pull brings a
   * tier's changes again, and applying them again changes nothing: a page holds each record at its
   * latest state, and every tier page was read after the main page before it, every later main
   * page after it, so nothing older than what a tier applied arrives after it. A tier page is
   * applied beneath pending changes as any page is. A failure fails the pull as a main page's
   * would, with the saved cursor where it was (decisions/0025).
   */
  private async pullPriorityTiers(result: SyncResult): Promise<void> {
    const from = this.o.db.state.meta[cursorKey] as string | undefined;
    for (const tier of this.priorityTiers()) {
      // The cursor expired since the main page (a purge just then): the main pull meets the
      // same answer on its next page, and reads everything again.
      if ((await this.pullTier(tier, from, result)) === 'expired') return;
    }
  }

  /**
   * One tier of the pass, or the collections a sync of named collections pulls: page by page from
   * `from` until the last, each page applied beneath pending changes with no cursor saved.
   * Resolves to the collections the role may not read, dropped on the way, or 'expired' (410).
   */
  private async pullTier(
    tier: readonly string[],
    from: string | undefined,
    result: SyncResult,
  ): Promise<string[] | 'expired'> {
    let collections = tier;
    let cursor = from;
    for (;;) {
      this.checkOpen();
      let page;
      try {
        page = await this.pullPage(cursor, collections);
      } catch (err) {
        if (!isOutpostError(err)) throw err;
        // Without selective sync the device pulls what its role may read, which it does not
        // know: a tier collection the role may not read holds nothing for this device.
        if (err.code === 'FORBIDDEN') {
          const denied = (err.details as { collections?: unknown } | undefined)?.collections;
          const left = Array.isArray(denied) ? collections.filter((c) => !denied.includes(c)) : [];
          if (left.length > 0 && left.length < collections.length) {
            collections = left;
            continue;
          }
          return [...tier];
        }
        if (cursorRefused(err) !== null) return 'expired';
        throw err;
      }
      await this.applyChanges(page.changes);
      result.pulled += page.changes.length;
      this.o.onProgress({ phase: 'pull', processed: result.pulled, total: null, percentage: null });
      if (!page.hasMore) return tier.filter((c) => !collections.includes(c));
      cursor = page.cursor;
    }
  }

  /**
   * The pull of a sync of named collections: those the device pulls, from the saved cursor, through
   * the priority pass's tier pull, whose cursor is never saved. The saved cursor still says what the
   * device holds of every collection, so the next whole pull brings these changes again, which
   * changes nothing, and skips nothing of the rest (decisions/0028).
   */
  private async pullCollections(result: SyncResult, only: readonly string[]): Promise<void> {
    const scope = result.scope as CollectionSyncScope;
    const { pull, notPulled } = pulledOf(only, this.o.collections);
    scope.notPulled = notPulled;
    if (pull.length === 0) return;
    // Reading everything again after a 410: the next whole sync carries the re-read on, and a tier
    // read meanwhile would mix with its notes of what it saw (decisions/0025).
    if (this.o.db.state.meta[resyncKey] !== undefined) {
      scope.notPulled.push(...pull.map((collection) => ({ collection, reason: 'reading-again' as const })));
      return;
    }
    const from = this.o.db.state.meta[cursorKey] as string | undefined;
    const denied = await this.pullTier(pull, from, result);
    if (denied === 'expired') {
      // Nothing is reset here: the next whole pull meets the same answer and reads everything again.
      throw outpostError(
        'CURSOR_EXPIRED',
        'the server no longer holds every change since this device last synced: a whole sync reads everything again',
      );
    }
    scope.notPulled.push(...denied.map((collection) => ({ collection, reason: 'forbidden' as const })));
    this.o.onProgress({ phase: 'pull', processed: result.pulled, total: result.pulled, percentage: 100 });
  }

  /**
   * The collections this device pulls grouped by priority, lowest number first, without the last
   * group: the main pull brings that one after all the others anyway. Empty when they share one.
   */
  private priorityTiers(): string[][] {
    const { schema } = this.o;
    const tiers = new Map<number, string[]>();
    for (const name of this.o.collections ?? schema.collectionNames) {
      const priority = schema.collection(name)?.priority ?? 10;
      tiers.set(priority, [...(tiers.get(priority) ?? []), name]);
    }
    return [...tiers]
      .sort(([a], [b]) => a - b)
      .slice(0, -1)
      .map(([, names]) => names);
  }

  /**
   * The conflicts this device shows as waiting for a person, checked against the server's archive
   * after each pull: someone may have settled one on another device, and a settlement that keeps
   * the server's version writes nothing a pull would bring. While the device holds any, one read of
   * the open conflicts, and one per record whose conflict is no longer among them. Best effort: a
   * failed read changes nothing, and the next pull asks again.
   */
  private async readSettledConflicts(): Promise<void> {
    const { db } = this.o;
    // After every pull: from the state's index of open conflicts, not a scan of every one held.
    const waiting = new Map(db.state.waitingConflicts().map((c) => [c.id, c]));
    if (waiting.size === 0) return;
    let settled: LocalConflict[];
    try {
      settled = (await this.onServer(waiting)).settled;
    } catch {
      return;
    }
    if (settled.length === 0) return;
    await this.write(() => {
      // One settled on this device while the reads were out keeps what it now says.
      const putConflicts = settled.filter((c) => db.state.conflicts.get(c.id) === waiting.get(c.id));
      return { batch: { putConflicts }, result: undefined };
    });
  }

  /**
   * What the server's archive says of the conflicts this device shows waiting: one read of the open
   * conflicts, and one per record whose conflict is no longer among them. `settled`: those it holds
   * settled, as it holds them; `missing`: those it does not hold at all (the archive keeps every
   * conflict, whatever its outcome, so only a server restored from a backup taken before the
   * conflict lacks one).
   */
  private async onServer(
    waiting: ReadonlyMap<string, LocalConflict>,
  ): Promise<{ settled: LocalConflict[]; missing: LocalConflict[] }> {
    const held = new Set((await this.readConflicts({ status: 'open' })).map((c) => c.id));
    const records = new Map<string, { collection: string; recordId: string }>();
    for (const c of waiting.values()) {
      if (!held.has(c.id)) records.set(keyOf(c.collection, c.recordId), c);
    }
    const settled: LocalConflict[] = [];
    for (const { collection, recordId } of records.values()) {
      for (const c of await this.readConflicts({ collection, recordId })) {
        held.add(c.id);
        if (waiting.has(c.id) && c.resolvedAt !== null) settled.push(fromArchive(c));
      }
    }
    return { settled, missing: [...waiting.values()].filter((c) => !held.has(c.id)) };
  }

  /**
   * After the re-read of a server restored from a backup (`conflictsAgainKey`): the conflicts this
   * device shows waiting that the restored server does not hold, open or settled, are raised there
   * again (restore-recovery.ts, raiseAgain), in one write that also takes the mark off and keeps
   * what the server says of those it settled. Asked of the server, not judged by the conflict's
   * time against the backup's: a device's time of a conflict is its own clock's, and a restore
   * marked without the backup's time has none to weigh it against. Throws when a read fails: the
   * mark stays, and the next sync's pull asks again. Resolves to how many ops it queued.
   */
  private async raiseLostConflicts(): Promise<number> {
    const { db } = this.o;
    const mark = db.state.meta[conflictsAgainKey] as RestoreMark | undefined;
    if (mark === undefined || db.state.meta[resyncKey] !== undefined) return 0;
    this.checkOpen();
    const waiting = new Map(db.state.waitingConflicts().map((c) => [c.id, c]));
    const { settled, missing } =
      waiting.size > 0 ? await this.onServer(waiting) : { settled: [], missing: [] };
    return this.write(() => {
      const state = db.state;
      // One settled on this device while the reads were out keeps what it now says.
      const unchanged = (c: LocalConflict) => state.conflicts.get(c.id) === waiting.get(c.id);
      const raised = raiseAgain(this.o.schema, state, this.o.timers.now(), mark, missing.filter(unchanged));
      return {
        batch: {
          ...raised.batch,
          putConflicts: settled.filter(unchanged),
          meta: {
            [conflictsAgainKey]: undefined,
            ...(raised.count > 0 ? { 'outbox.lastSeq': state.seqHighWater } : {}),
          },
        },
        result: raised.count,
      };
    });
  }

  /** Every conflict of the server's archive that `query` names and this user may see. */
  private readConflicts(query: ConflictListRequest): Promise<Conflict[]> {
    return readAllPages(
      (cursor) =>
        this.call((signal) =>
          this.o.transport.listConflicts({ ...query, limit: 500, ...(cursor ? { cursor } : {}) }, { signal }),
        ),
      (page) => page.conflicts,
    );
  }

  /**
   * Applies server changes beneath the device's pending ones, with `also` (a cursor, a settled
   * conflict) in the same transaction. Pull, record refreshes and conflict resolutions all land here.
   */
  async applyChanges(
    changes: readonly Change[],
    also: Pick<WriteBatch, 'meta' | 'putConflicts'> = {},
  ): Promise<void> {
    const { db, clock } = this.o;
    await this.write(() => {
      const state = db.state;
      const putRecords: LocalRecord[] = [];
      const deleteRecords: Array<{ collection: string; id: string }> = [];
      const putOps: OutboxEntry[] = [];
      const deleteOps: number[] = [];
      // The ops that give back what the restored server lost (SyncResult.restored).
      let resent = 0;
      const restored = (state.meta[resyncKey] as Resync | undefined)?.restored;
      for (const change of changes) {
        clock.receive(change.hlc);
        const local = state.record(change.collection, change.id);
        const pending = state.pendingFor(change.collection, change.id);
        // A record deleted here that the server brought back alive since: the delete op the outbox
        // still keeps is marked undone, as its kept deletion goes (below).
        putOps.push(...deletesUndone(state, change));
        // The times of the fields of the state this one replaces: the record with nothing
        // waiting, the server's copy beneath changes (field-times.ts). Read before the give-back
        // below, which weighs the state the device held by them.
        const timed = (rec: LocalRecord) =>
          withTimes(rec, pulledTimes(heldServerState(local, pending.length > 0), change));
        // Changes still to send, held back for the re-read, on a record the restored server has:
        // what the device held beneath them goes back first, then they do, weighed by their HLC
        // (foldIntoUpdate). Left as they were, what lay beneath them would be dropped.
        const folded =
          restored !== undefined &&
          local !== undefined &&
          pending.length > 0 &&
          recoverableRecord(this.o.schema, restored, change.collection, change.id)
            ? foldIntoUpdate(state, this.o.timers.now(), restored, local, change)
            : null;
        if (folded !== null) {
          deleteOps.push(...folded.ops);
          putOps.push(...folded.put);
          if (folded.gave) resent += 1;
          const view = viewOf(change.collection, change.id, toServerState(change), folded.put);
          if (view) putRecords.push(timed(view));
          continue;
        }
        // The restored server's state is the server's from now on, older or not: what the device
        // held beyond it goes back to it as an op shown on top.
        const recovering =
          restored !== undefined &&
          pending.length === 0 &&
          recoverableRecord(this.o.schema, restored, change.collection, change.id);
        const op = restored !== undefined && recovering ? this.recover(restored, local, change) : null;
        if (op !== null) {
          putOps.push(op);
          resent += 1;
          const view = viewOf(change.collection, change.id, toServerState(change), [op]);
          if (view) putRecords.push(timed(view));
          continue;
        }
        // An older server state than one already seen never replaces it.
        if (local && local.version > change.version && !recovering) continue;
        if (pending.length === 0) {
          if (change.deleted || !this.stores(change)) {
            // Left on the server (a visit from 2019 on a tablet that keeps six months): the cursor
            // moves on all the same, and the server's copy is there to fetch.
            if (local) deleteRecords.push({ collection: change.collection, id: change.id });
          } else {
            putRecords.push(
              timed({
                collection: change.collection,
                id: change.id,
                data: change.data ?? {},
                deleted: false,
                version: change.version,
                hlc: change.hlc,
                updatedAt: change.updatedAt,
              }),
            );
          }
        } else {
          const view = viewOf(change.collection, change.id, toServerState(change), pending);
          if (view) putRecords.push(timed(view));
        }
      }
      const meta = { ...also.meta, ...this.noteSeen(changes, resent) };
      if (putOps.length > 0) meta['outbox.lastSeq'] = state.seqHighWater;
      // A record deleted here that the server brought back alive since: its deletion is given back
      // to a restored server no more (kept-deletions.ts), whether or not the device keeps the record.
      const kept = keptDeletionsRevived(state.meta, changes);
      if (kept !== null) meta[keptDeletionsKey] = kept.length > 0 ? kept : undefined;
      return { batch: { putRecords, deleteRecords, putOps, deleteOps, ...also, meta }, result: undefined };
    });
  }

  /**
   * During the re-read of a server restored from a backup, what this device gives back of a record
   * it holds no unconfirmed change on (restore-recovery.ts): an op with its newer state, or again
   * its deletion; null when the server's state stands (a tombstone there is a deletion made on the
   * restored server, after anything the device holds).
   */
  private recover(mark: RestoreMark, local: LocalRecord | undefined, change: Change): OutboxEntry | null {
    const now = this.o.timers.now();
    const state = this.o.db.state;
    if (local === undefined) return deleteAgain(state, now, mark, change);
    return resendNewer(state, now, mark, local, change);
  }

  /**
   * Whether the device stores this server state of a record: the filter passes it, or the device
   * holds work of its own on the record (checked as the write's turn comes): a clinician's change,
   * a refusal a person has yet to read, a conflict to settle are never dropped by a filter.
   */
  private stores(change: Change): boolean {
    const { recordFilter } = this.o;
    if (recordFilter === undefined) return true;
    const record = {
      id: change.id,
      data: change.data ?? {},
      version: change.version,
      updatedAt: change.updatedAt,
    };
    return (
      keeps(recordFilter, change.collection, record) ||
      holdsWorkOn(this.o.db.state, change.collection, change.id)
    );
  }

  /**
   * The server no longer holds every change after the cursor (410 CURSOR_EXPIRED: deletions older
   * than it were purged), so the device reads everything again from the start. Nothing is removed
   * now: an interrupted re-read leaves the device showing what it showed, pending changes and all.
   * The marker, stored with the reset cursor, makes the next pull carry on, after a restart too;
   * what an earlier re-read noted is dropped, as the server may have deleted it since.
   */
  private async startResync(restored: RestoreMark | null): Promise<void> {
    await this.write(() => {
      // The server-id records numbered after the backup go back under new temp ids, before any
      // page of the re-read lands where they were (decision 0051).
      const renumbered =
        restored === null
          ? null
          : renumberLost(
              this.o.schema,
              this.o.db.state,
              this.o.timers.now(),
              restored,
              (this.o.db.state.meta[mappingsKey] ?? {}) as Record<string, string>,
            );
      const count = renumbered?.count ?? 0;
      const resync: Resync = restored
        ? { writes: 0, restored, ...(count > 0 ? { resent: count } : {}) }
        : { writes: 0 };
      return {
        batch: {
          ...renumbered?.batch,
          meta: {
            ...renumbered?.batch.meta,
            ...this.forgetSeen(),
            [cursorKey]: undefined,
            [upToDateKey]: false,
            [resyncKey]: resync,
            ...(renumbered?.tempIds ? { [mappingsKey]: renumbered.tempIds } : {}),
            ...(renumbered !== null && renumbered.renamed.length > 0
              ? {
                  [renumberedKey]: [
                    ...((this.o.db.state.meta[renumberedKey] ?? []) as Renamed[]),
                    ...renumbered.renamed,
                  ],
                }
              : {}),
            ...(count > 0 ? { 'outbox.lastSeq': this.o.db.state.seqHighWater } : {}),
          },
        },
        result: undefined,
      };
    });
  }

  /**
   * After the last page of a re-read, in one write: a record it did not bring is gone from the
   * server, and goes, unless this device still has a change on it (that change is the device's to
   * send, never shown over nothing) or it is of a collection this device does not pull.
   */
  private async finishResync(): Promise<number> {
    const resync = this.o.db.state.meta[resyncKey] as Resync | undefined;
    if (resync === undefined) return 0;
    return this.write(() => {
      const state = this.o.db.state;
      const seen = new Set<string>();
      const seenDeleted = new Set<string>();
      for (const [key, value] of Object.entries(state.meta)) {
        if (key.startsWith(seenPrefix)) for (const k of value as string[]) seen.add(k);
        if (key.startsWith(seenDeletedPrefix)) for (const k of value as string[]) seenDeleted.add(k);
      }
      const pulled = this.o.collections ? new Set(this.o.collections) : null;
      const gone = [...state.records.values()].filter(
        (r) =>
          (pulled === null || pulled.has(r.collection)) &&
          !seen.has(keyOf(r.collection, r.id)) &&
          state.pendingFor(r.collection, r.id).length === 0,
      );
      // A server restored from a backup has no trace of what was created after it (a deletion
      // since would have come as a tombstone and removed the record): the device creates it again.
      const now = this.o.timers.now();
      const putOps: OutboxEntry[] = [];
      const putRecords: LocalRecord[] = [];
      const deleteRecords: RecordRef[] = [];
      for (const r of gone) {
        const op =
          resync.restored !== undefined && recoverable(this.o.schema, r.collection)
            ? createAgain(state, now, resync.restored, r)
            : null;
        if (op !== null) {
          putOps.push(op);
          const { server: _server, ...held } = r;
          putRecords.push({ ...held, version: 0 });
        } else {
          deleteRecords.push({ collection: r.collection, id: r.id });
        }
      }
      // Changes still to send on a record the restored server has no trace of: folded into its
      // create, or they would be refused (NOT_FOUND) and the record lost from the server.
      const deleteOps: number[] = [];
      if (resync.restored !== undefined) {
        for (const r of state.records.values()) {
          if ((pulled !== null && !pulled.has(r.collection)) || seen.has(keyOf(r.collection, r.id))) continue;
          if (!recoverable(this.o.schema, r.collection)) continue;
          const folded = foldIntoCreate(state, now, resync.restored, r);
          if (folded === null) continue;
          deleteOps.push(...folded.ops);
          putOps.push(folded.put);
          if (r.deleted) {
            deleteRecords.push({ collection: r.collection, id: r.id });
            continue;
          }
          const { server: _server, ...held } = r;
          putRecords.push({ ...held, version: 0 });
        }
        // Deletions made here of records the re-read brought no trace of: given back, so that a
        // colleague's tablet giving back its copy of one meets the deletion (decision 0050).
        const read = (collection: string, id: string) =>
          (pulled !== null && !pulled.has(collection)) ||
          seen.has(keyOf(collection, id)) ||
          seenDeleted.has(keyOf(collection, id));
        putOps.push(...deletionsGivenBack(this.o.schema, state, now, resync.restored, read));
      }
      const resent = (resync.resent ?? 0) + putOps.length;
      return {
        batch: {
          deleteRecords,
          putRecords,
          putOps,
          deleteOps,
          // A re-read read every collection again through the current filter: none is left to read again.
          meta: {
            ...this.forgetSeen(),
            [resyncKey]: undefined,
            [upToDateKey]: true,
            [readAgainKey]: undefined,
            // The files the server lost go back too, should this device hold them.
            ...(resync.restored !== undefined && this.o.files ? { [filesAgainKey]: true } : {}),
            // And the conflicts waiting for a person that it lost (raiseLostConflicts).
            ...(resync.restored !== undefined && state.waitingConflicts().length > 0
              ? { [conflictsAgainKey]: resync.restored }
              : {}),
            ...(putOps.length > 0 ? { 'outbox.lastSeq': state.seqHighWater } : {}),
          },
        },
        result: resent,
      };
    });
  }

  /**
   * After the re-read of a server restored from a backup, in its own write once the records are
   * settled (those it drops are dropped, those it gives back are held): the files stage marks the
   * files the device holds to go to the server again (decision 0050, "Files"), then the mark that
   * asked it goes. Not while a re-read is under way: its end asks again. Resolves to how many.
   */
  private async sendFilesAgain(): Promise<number> {
    const { files } = this.o;
    const { meta } = this.o.db.state;
    if (!files || meta[filesAgainKey] !== true || meta[resyncKey] !== undefined) return 0;
    this.checkOpen();
    const count = await files.sendAgainAfterRestore();
    await this.write(() => ({ batch: { meta: { [filesAgainKey]: undefined } }, result: undefined }));
    return count;
  }

  /**
   * During a re-read, the meta to store with applied server changes: the keys of the records they
   * show exist, under a key of their own, so no write rewrites what the earlier ones noted.
   */
  private noteSeen(changes: readonly Change[], resent = 0): Record<string, unknown> {
    const resync = this.o.db.state.meta[resyncKey] as Resync | undefined;
    if (resync === undefined) return {};
    const keys = changes.filter((c) => !c.deleted).map((c) => keyOf(c.collection, c.id));
    // Tombstones matter only to the end of a restored server's re-read (deletionsGivenBack).
    const deleted =
      resync.restored !== undefined
        ? changes.filter((c) => c.deleted).map((c) => keyOf(c.collection, c.id))
        : [];
    if (keys.length === 0 && deleted.length === 0 && resent === 0) return {};
    const writes = resync.writes + 1;
    const next: Resync = {
      ...resync,
      writes,
      ...(resent > 0 ? { resent: (resync.resent ?? 0) + resent } : {}),
    };
    return {
      [resyncKey]: next,
      [`${seenPrefix}${writes}`]: keys,
      ...(deleted.length > 0 ? { [`${seenDeletedPrefix}${writes}`]: deleted } : {}),
    };
  }

  /** The meta that removes every key the current re-read noted. */
  private forgetSeen(): Record<string, undefined> {
    const keys = Object.keys(this.o.db.state.meta).filter(
      (k) => k.startsWith(seenPrefix) || k.startsWith(seenDeletedPrefix),
    );
    return Object.fromEntries(keys.map((k) => [k, undefined]));
  }
}

/** Adds what a sync gave back to a restored server to its result; nothing when it gave nothing. */
/**
 * The records given back under a new temp id that the restored server has numbered since (the
 * device holds the temp id's mapping), and those still waiting for it; one whose record is gone
 * from the device without a number (its create refused and discarded) is dropped, never to be
 * told. Null when none waits.
 */
function numbered(state: LocalState): { renumbered: Renumbered[]; waiting: Renamed[] } | null {
  const list = state.meta[renumberedKey] as Renamed[] | undefined;
  if (list === undefined || list.length === 0) return null;
  const mappings = (state.meta[mappingsKey] ?? {}) as Record<string, string>;
  const renumbered: Renumbered[] = [];
  const waiting: Renamed[] = [];
  for (const r of list) {
    const to = mappings[r.tempId];
    if (to !== undefined) renumbered.push({ collection: r.collection, from: r.from, to });
    else if (state.record(r.collection, r.tempId) !== undefined) waiting.push(r);
  }
  if (renumbered.length === 0 && waiting.length === list.length) return null;
  return { renumbered, waiting };
}

/** The report kept (`stored`, if any) with this sync's give-back added, as of its end. */
function reportAfter(stored: unknown, result: SyncResult): RestoreReport {
  const before = stored as RestoreReport | undefined;
  const restored = result.restored;
  return {
    resent: (before?.resent ?? 0) + (restored?.resent ?? 0),
    files: (before?.files ?? 0) + (restored?.files ?? 0),
    renumbered: [...(before?.renumbered ?? []), ...(restored?.renumbered ?? [])],
    at: result.finishedAt,
  };
}

function noteRestored(result: SyncResult, resent: number, files: number): void {
  if (resent === 0 && files === 0) return;
  const total = (result.restored?.files ?? 0) + files;
  result.restored = {
    ...result.restored,
    resent: (result.restored?.resent ?? 0) + resent,
    ...(total > 0 ? { files: total } : {}),
  };
}

/** The records of some ops, each once. */
function recordsOf(ops: readonly OutboxEntry[]): RecordRef[] {
  const out = new Map<string, RecordRef>();
  for (const o of ops) out.set(keyOf(o.collection, o.id), { collection: o.collection, id: o.id });
  return [...out.values()];
}

function toPushOp(o: OutboxEntry): PushOp {
  return {
    opId: o.opId,
    collection: o.collection,
    type: o.type,
    id: o.id,
    ...(o.data !== undefined ? { data: o.data } : {}),
    ...(o.baseVersion !== undefined ? { baseVersion: o.baseVersion } : {}),
    hlc: o.hlc,
    // The person's "my change wins": honoured by the server only for a role that may override.
    ...(o.strategy !== undefined ? { strategy: o.strategy } : {}),
    // A record given back to a restored server: the number its lost database gave it (decision 0051).
    ...(o.restoredFrom !== undefined ? { restoredFrom: o.restoredFrom } : {}),
    // A deletion given back to a restored server, kept there as a tombstone (decision 0050).
    ...(o.givenBack === true ? { givenBack: true } : {}),
  };
}

/**
 * `work`, or a rejection with the signal's reason as soon as it aborts: a closed client does not
 * wait for a transport that ignores the signal (a slow link can hold an answer for minutes).
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason as Error);
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}
