import {
  collectionOrder,
  HlcClock,
  isOutpostError,
  outpostError,
  retryPolicy,
  settledMeanwhile,
  uuidv7,
} from '@outpost/core';
import type {
  Action,
  Change,
  RandomBytes,
  RecordData,
  Rejection,
  ResolutionStrategy,
  ResolveResponse,
  Schema,
  OutpostError,
} from '@outpost/core';
import { Collection } from './collection';
import { checkRoles, sameKnownRoles } from './roles';
import { createHttpTransport } from './http-transport';
import { watchingUnauthorized } from './sync/unauthorized-watch';
import { fromArchive } from './sync/archived-conflict';
import { readAllPages } from './sync/archive-pages';
import { LocalDb } from './local-db';
import { ClientClosedError } from './client-closed';
import { keyOf } from './local-state';
import { CircuitBreaker } from './network/circuit-breaker';
import { LiveUpdates } from './sync/live-updates';
import { checkAutoSync, sameAutoSync, sendsByItself } from './sync/auto-sync';
import type { AutoSyncOption, AutoSyncSettings } from './sync/auto-sync';
import { NetworkMonitor } from './network/network-monitor';
import type { NetworkSnapshot, NetworkStatus } from './network/network-monitor';
import { systemTimers } from './network/timers';
import type { Timers } from './network/timers';
import type { LocalConflict, LocalStore, OutboxEntry } from './stores/local-store';
import { SyncEngine, cursorKey, waitingForParent } from './sync/sync-engine';
import { checkSyncOptions, requestSizes } from './sync/sync-options';
import type { PoorLinkSizes } from './sync/sync-options';
import { checkCollectionNames, recordsToSend } from './sync/collection-sync';
import { filterMeta, heldWhole, pulledBy } from './sync/record-filter';
import type { RecordFilters } from './sync/record-filter';
import { RecordUnavailableError } from './record-errors';
import type { RestoreReport, RetryPolicy, SyncProgress, SyncResult } from './sync/sync-engine';
import { SyncLog, describeNetwork, describePhase, describeSync, logSinkOf } from './debug/sync-log';
import type { SyncLogger } from './debug/sync-log';
import { outboxLine, resultLine } from './debug/debug-data';
import type { SyncDebugData } from './debug/debug-data';
import type { RejectionListRequest, SyncTransport } from './sync/sync-transport';
import { findOrphans } from './relationships';
import { queueStats } from './outbox/queue-stats';
import { checkKeepCompleted, lastSyncedAt, retentionBatch } from './outbox/retention';
import { checkKeepDeletions } from './outbox/kept-deletions';
import { planWithdrawal } from './outbox/withdraw';
import type { WithdrawalPlan } from './outbox/withdraw';
import { addOperation, removeOperation } from './outbox/seed-operations';
import type { QueueOperation } from './outbox/seed-operations';
import type { QueueStats } from './outbox/queue-stats';
import { createClientFiles } from './files/client-files';
import type { ClientFiles } from './files/client-files';
import { FileDb } from './files/file-db';
import { checkFileOptions } from './files/file-options';
import { createFileTransport } from './files/file-transport';
import { FileUploads, dropFilesOfRecordsLetGo, settleWithdrawn } from './files/file-uploads';
import type { LocalFileStore } from './files/local-file-store';
import { memoryFileStore } from './files/memory-file-store';
import { recordIdsOf } from './files/record-ids';

// Part of the client's public surface (index.ts exports it from here).
export type { QueueStats } from './outbox/queue-stats';
export type { AutoSyncOption, AutoSyncSettings } from './sync/auto-sync';
export type { WithdrawalPlan, WithdrawBlock } from './outbox/withdraw';
import type { Orphan, OrphanStrategy } from './relationships';

export interface SyncClientOptions {
  schema: Schema;
  /** The server's base URL. */
  url: string;
  getToken?: () => Promise<string | null>;
  /**
   * The signed-in person's roles, as the server gave them at sign-in (the login answer's
   * `user.roles`). With them the device applies the schema's permissions itself: `client.can`
   * answers, and a create, update or delete the roles do not grant is refused at once
   * (`ForbiddenError`, as the server would), instead of waiting in the outbox to be refused at the
   * next sync. Absent or null: nothing is checked on the device, and the server decides.
   * `client.setRoles` changes them (roles read again at a refresh).
   */
  roles?: readonly string[] | null;
  /**
   * A request refused 401, for records or files, is sent once more with the token this answers, when it is another one
   * (`HttpTransportOptions.renewToken`): a token session's `refreshNow`, for a device whose clock
   * is wrong. Only the final refusal reaches `unauthorized`.
   */
  renewToken?: (rejected: string | null) => Promise<string | null>;
  store: LocalStore;
  /**
   * Where files attached to records are kept (`client.files`): `indexedDbFileStore({ name })`
   * beside `indexedDbStore({ name })`, wrapped in `encryptedFileStore` when the records are
   * encrypted (refused otherwise). Default: in memory, gone when the app closes.
   */
  files?: LocalFileStore;
  /** Bytes per chunk of a file attached here, 1 KiB to 4 MiB. Default 256 KiB. */
  fileChunkBytes?: number;
  deviceId: string;
  /** Ops per push request. Default 50. */
  batchSize?: number;
  /** Changes per pull page. Default 1000. */
  pullLimit?: number;
  /**
   * Smaller pushes and pull pages while the network monitor finds the link poor: at most 10 ops
   * and 200 changes by default; `false` keeps `batchSize` and `pullLimit` whatever the link.
   */
  poorLink?: PoorLinkSizes | false;
  /** Selective sync: only these collections are pulled. */
  collections?: readonly string[];
  /**
   * Selective sync of records (seed 002: "only sync records from last 6 months"): per collection,
   * a predicate on the server's record (`{ id, data, version, updatedAt }`); the device keeps the
   * records it passes. Collections not named keep everything. A record it rejects is not stored
   * by a pull (removed if held), and `prune()` (run by each sync whose pull ends up to date)
   * removes those held that it rejects later, as time passes; never one the device holds a change,
   * a refusal or a conflict of its own on. `collection(name).fetch(id)` reads one from the server.
   * A predicate that reads a value from outside its text (the nurse's village) is given as
   * `{ keep, reach }`, `reach` a text of those values (`village=${village}`): the device compares
   * it at each open, and reads the collection again when it changed.
   */
  recordFilter?: RecordFilters;
  /**
   * During a catch-up (a first page that is not the last), pull the collections of higher priority
   * first, tier by tier, before the rest (decision 0025). False: in the server's change order only,
   * so no change travels twice. Default true.
   */
  priorityPull?: boolean;
  /**
   * Sync when the network comes back, and every `intervalMs` (default 5 minutes). `afterWrite`: also
   * after each write (default off). `live`: also keep the server's live stream open and pull as
   * soon as it says the clinic's data changed (default off). False: only by hand. Where it starts:
   * `client.setAutoSync` changes it while the client runs; the client keeps nothing of it, so an
   * app that lets a person choose passes their choice here at each opening.
   */
  autoSync?: AutoSyncOption;
  retry?: Partial<RetryPolicy>;
  circuitBreaker?: { failureThreshold?: number; cooldownMs?: number };
  /**
   * How long an op the server acknowledged (`done`) stays in the outbox, for the queue view to show
   * it, from when its answer was stored. Each sync's end and each opening remove those older: an
   * op carries the patient data it sent, which the server now holds. 0: gone at the end of the sync
   * that delivered it; Infinity: kept until `queue.clearCompleted()`. Ops not done (waiting,
   * stopped, refused, in conflict) are never removed by it. Default 24 hours.
   */
  keepCompletedMs?: number;
  /**
   * How long the device remembers a deletion the server acknowledged after its op has left the
   * outbox: the record's collection and id, the deletion's time and when it was acknowledged, never
   * the record's data. A server restored from a backup older than the deletion brings the record
   * back, and the device deletes it again (decision 0050, "Deletions"). Pruned with the outbox;
   * Infinity: kept for good. Default 30 days: a restore from an older backup, or days after the
   * failure, in a few dozen bytes a deletion.
   */
  keepDeletionsMs?: number;
  /**
   * Gzip JSON request bodies of 1 KiB or more (pushes, mostly) where the platform can; false sends
   * every body plain, for a server behind a proxy that refuses compressed requests (one that
   * answers 415 is handled without it: the request goes again plain). Default true.
   */
  compressRequests?: boolean;
  /** Injected for tests: the network, timers, randomness and the browser's online/offline events. */
  fetch?: typeof fetch;
  transport?: SyncTransport;
  timers?: Timers;
  random?: () => number;
  /** Where the ids the device makes (client id, op ids, record ids, temp ids) get their random bits. */
  randomBytes?: RandomBytes;
  events?: EventTarget;
  /**
   * Health probe period. 0 probes only when the client opens and on online/offline events; false
   * neither probes nor listens (tests that drive the network themselves). Default 30 s.
   */
  probeIntervalMs?: number | false;
  /**
   * Where the client's log lines go as they happen (`[SyncEngine] sync finished in 120 ms: ...`,
   * `[NetworkMonitor] offline`): `true` the console, a function to receive each, `false` nowhere.
   * Left out, the console when `localStorage.DEBUG_OFFLINE` is `'true'` (seed 001), else nowhere.
   * Either way the last 200 are kept for `exportDebugData()`. Never a record's contents.
   */
  debug?: boolean | SyncLogger;
}

/** An op that stopped after `retry.maxAttempts` failed sends, not refused by the server: it can still go. */
function gaveUp(op: OutboxEntry): boolean {
  return op.status === 'failed' && op.rejected !== true;
}

export interface SyncOptions {
  /**
   * A person asked (their "Sync now"). The ops that gave up on the network after
   * `retry.maxAttempts` go again (never those the server refused), and a circuit breaker resting a
   * failing server lets this sync try it at once. The retry limit and the breaker stop the device
   * from calling a failing server by itself, not a person who asks, e.g. once maintenance ends.
   */
  manual?: boolean;
  /**
   * Only these collections (seed 003's `syncEntityType`: a pharmacist's "sync prescriptions" on a
   * slow link): their changes waiting, with those they need first (a patient registered offline)
   * and nothing else of the outbox, then their server changes, without moving the device's saved
   * cursor, so the next whole sync skips nothing. No files. The result's `scope` says what went
   * with them and what was not pulled (not pulled by this device, or not readable by the role). A
   * name the schema lacks, or none, is refused before anything is sent. With `manual`, only their
   * changes that gave up go again (docs/client.md, "Syncing one collection").
   */
  collections?: readonly string[];
}

type EventMap = {
  progress: SyncProgress;
  sync: SyncResult;
  change: ReadonlySet<string>;
  /**
   * What `client.network` shows changed: `online` or `quality`, or `isTransitioning` flipped (an
   * online/offline event started a probe, or its answer came). A flip alone tells this with
   * `online` unchanged: to act when the server answers again, compare `online` with the last one.
   */
  network: NetworkSnapshot;
  /**
   * The live stream said a file of the clinic became complete on the server, or was deleted there
   * (not one this installation uploaded or deleted). It names none: a screen showing a record's
   * files asks again (`files.refresh`), as `useFiles` does.
   */
  files: void;
  /**
   * The server refused the device's sign-in (401) on a call this client made: a sync, the live
   * stream, a resolution or an archive read. Each refusal is told; the app asks for the password
   * again, and the changes waiting go with the next sync after the token is renewed.
   */
  unauthorized: OutpostError;
  /**
   * `client.setAutoSync` changed the automatic syncs: the settings now in effect, as
   * `client.autoSync` reads them (`false`: only by hand).
   */
  autoSync: AutoSyncSettings | false;
  /** `client.setRoles` changed the roles the device checks writes against (null: none checked). */
  roles: readonly string[] | null;
};

export interface SyncClient {
  readonly clientId: string;
  readonly deviceId: string;
  readonly schema: Schema;
  collection<D extends RecordData = RecordData>(name: string): Collection<D>;
  /**
   * Push then pull; joins a sync already running, or runs one more right after it when that one
   * would miss something. `{ collections }`: those collections only (SyncOptions).
   */
  sync(options?: SyncOptions): Promise<SyncResult>;
  syncToServer(): Promise<SyncResult>;
  syncFromServer(): Promise<SyncResult>;
  /**
   * The automatic syncs in effect, every field set (the option's defaults filled in), or `false`
   * when the device syncs only when asked. Frozen: `setAutoSync` changes it.
   */
  readonly autoSync: AutoSyncSettings | false;
  /**
   * Changes the automatic syncs at once, taking what the `autoSync` option takes, whole: fields
   * left out take the option's defaults, not the current values; `false` turns them all off (a
   * nurse on a costly data plan: "only when I press Sync now"). Checked as the option is: a
   * setting refused throws and leaves the current one in effect. Off stops the interval timer, the
   * sync after a write and on reconnect, and the live stream; a sync already running finishes, and
   * `sync()` always works. The engine's backoff timer still repeats a sync that failed, as with
   * `autoSync: false` from the start. Turning on starts what is asked; when it turns on sending by
   * itself (`onReconnect`, `intervalMs` or `afterWrite`, none of which was on) while the server
   * answers and changes or files wait, it syncs at once. Tells `autoSync` when the settings
   * changed. Nothing of it is stored: the app passes the person's choice at the next opening.
   */
  setAutoSync(settings: AutoSyncOption): void;
  /** The roles the device checks writes against (the `roles` option, or `setRoles`); null: none. */
  readonly roles: readonly string[] | null;
  /**
   * Changes the roles checked (the server read the person's roles again at a refresh); null stops
   * checking. Tells `roles` when they changed. Changes already waiting stay: the server judges them.
   */
  setRoles(roles: readonly string[] | null): void;
  /**
   * Whether the person may do `action` on the collection by the schema's permissions for their
   * roles: one rule with the server's (core's `schema.can`), read with no network, so a screen can
   * hide what the role may not do (seed 003's permission-aware UI). True when the roles are not
   * known (`roles` null): the server decides. False for a collection the schema lacks.
   */
  can(collection: string, action: Action): boolean;
  readonly isSyncing: boolean;
  readonly lastResult: SyncResult | null;
  /**
   * What this device gave back to a server restored from a backup (decision 0050) that no one has
   * read yet, summed over the syncs that gave something back: kept in the store, so an app opened
   * after its service worker's sync can still say so. Null when there is nothing to tell.
   */
  readonly restoreReport: RestoreReport | null;
  /** A person has read the restore report: it goes until something is given back again. */
  dismissRestoreReport(): Promise<void>;
  on<K extends keyof EventMap>(event: K, listener: (value: EventMap[K]) => void): () => void;
  /**
   * The device's sync state and its last log lines as plain JSON, for a support request (seed
   * 002): network, automatic syncs, queue and file counts, the last sync's outcome, each change
   * waiting or kept (ids, statuses, attempts, error codes), never what a record holds.
   */
  exportDebugData(): SyncDebugData;
  readonly queue: {
    /**
     * The outbox counted by status with its health (seed 004's `GET /sync/status`): also when the
     * oldest change still to reach the server was made (`oldestPendingAt`), and when the device
     * last synced well as a whole (`lastSyncAt`, kept in the store: it survives a restart).
     */
    stats(): QueueStats;
    list(): OutboxEntry[];
    /**
     * Ops that gave up on the network (or the given ones, whatever stopped them) go back to
     * pending with a fresh attempt count; resolves to how many did. The next sync sends them.
     */
    retry(seqs?: readonly number[]): Promise<number>;
    /**
     * Removes every op the server acknowledged now, without waiting for `keepCompletedMs`; resolves
     * to how many went. A delete among them is still remembered (`keepDeletionsMs`), without data.
     */
    clearCompleted(): Promise<number>;
    /**
     * Takes the given ops off the device if the server refused them for good (any other is left:
     * the device may be the only place its change exists), once a person has read them; the
     * server's rejection archive keeps what was typed. Their records are shown again without the
     * refused change, over the server's copy where it has one: that read needs the network, and
     * without it nothing changes and the call throws. Resolves to how many were removed.
     */
    discard(seqs: readonly number[]): Promise<number>;
    /**
     * What withdrawing the given ops would take, without changing anything: the ops that go (those
     * named and those that depend on them: later changes of the same record, and for a record the
     * server never had, the changes that name it), the files attached here to the records that
     * go (`files`), and the ops that cannot be withdrawn, with why (sent, in flight, answered). A UI
     * shows this before asking the person to confirm.
     */
    planWithdrawal(seqs: readonly number[]): WithdrawalPlan;
    /**
     * Takes changes a person made off the device before they are sent: they never reach the
     * server, and their records show again as the server has them with the device's other changes
     * on top (a record the server never had goes, with the files attached to it here: `files` of
     * the plan; what the server holds of one is deleted by the next sync), in one write. Only
     * changes that have never left the device: one in flight or sent without an answer may already
     * be on the server, and is refused (`CONFLICT`), as is a call that leaves out a change
     * depending on those named (`details.reason: 'DEPENDENTS'`, naming them): nothing goes
     * unasked. Works offline; only a record whose server copy this device does not keep (stored
     * by an older version) needs the network, and without it nothing changes and the call throws.
     * Resolves to how many went.
     */
    withdraw(seqs: readonly number[]): Promise<number>;
    /**
     * Seed 001's `addOperation({ operation, entityType, data, entityId?, tempId? })`: the change
     * made as the collection's `create`, `update` or `delete` makes it (same checks, same write);
     * resolves to the op it put in the outbox, or null for an update that changed nothing. A create
     * in a collection the server numbers names a temp id of `makeTempId`'s form, or none. Decision
     * 0052.
     */
    addOperation(op: QueueOperation): Promise<OutboxEntry | null>;
    /**
     * Seed 001's `removeOperation(seq)`, by what the op is: one not sent yet is withdrawn
     * (`withdraw`, refused as it refuses), one the server refused is discarded (`discard`), one
     * acknowledged goes now rather than after `keepCompletedMs`. Resolves to how many went.
     */
    removeOperation(seq: number): Promise<number>;
  };
  readonly conflicts: {
    list(options?: { status?: 'open' | 'resolved' }): LocalConflict[];
    /**
     * Settles a conflict through the server (`mergedData` goes with `merge`). With `onlyOpen`, only
     * while it is still open: one settled meanwhile (by another person, on another device) is
     * refused with 409 rather than overruled, and the device shows it as the server says it stands
     * (core's `settledMeanwhile(err)` reads the refusal). Without it, a settled conflict is settled
     * again: a person changing their mind.
     */
    resolve(
      id: string,
      strategy: ResolutionStrategy,
      mergedData?: RecordData,
      options?: { onlyOpen?: boolean },
    ): Promise<ResolveResponse>;
    undo(id: string): Promise<ResolveResponse>;
    /**
     * The conflicted record as the server holds it now (`deleted` once deleted; null when the
     * server has no such record; a role that may not read it is refused). A resolution the server
     * refuses with 409 because the record changed after the conflict names the fields edited
     * since: their values now let a person keep them in a merge. Needs the network, as resolving
     * does.
     */
    current(id: string): Promise<Change | null>;
    /**
     * Fetches the server's conflict archive, as far as this user may see it (an administrator
     * sees every device's), and keeps it with the device's own conflicts. Returns how many.
     */
    refresh(): Promise<number>;
  };
  readonly rejections: {
    /**
     * Fetches the server's rejection archive, as far as this user may see it: every op the server
     * refused for good, with the data it carried. A failed op shows the same on this device; the
     * archive still has it when this device is lost or reset.
     */
    fetch(filter?: Omit<RejectionListRequest, 'limit' | 'cursor'>): Promise<Rejection[]>;
  };
  readonly relationships: {
    findOrphans(): Orphan[];
    resolveOrphans(strategy: OrphanStrategy): Promise<number>;
  };
  /**
   * Removes the records held that `recordFilter` now rejects (time has passed since they
   * arrived), but for those the device holds a change, a refusal or a conflict of its own on.
   * The outbox is not touched. Each sync whose pull ends up to date runs it. Resolves to how many
   * records went; 0 without a filter.
   */
  prune(): Promise<number>;
  /** Files attached to records: kept on the device, uploaded in chunks by each sync, downloaded when asked. */
  readonly files: ClientFiles;
  readonly network: {
    readonly status: NetworkStatus;
    /** True between an online/offline event and the probe that answers it. */
    readonly isTransitioning: boolean;
    check(): Promise<NetworkStatus>;
  };
  close(): Promise<void>;
}

/**
 * Opens a device's local store and returns the client: collections to read and write at once,
 * an outbox that survives restarts, and a sync engine that pushes and pulls when it can.
 */
export async function createSyncClient(options: SyncClientOptions): Promise<SyncClient> {
  const { schema } = options;
  // A schema whose references form a cycle cannot be synced in any order: say so before any data moves.
  collectionOrder(schema);
  // Settings that cannot work are refused before the store opens (and, in a browser, locks its tab).
  checkSyncOptions(schema, options);
  const initialAutoSync = checkAutoSync(options.autoSync, true);
  let roles = checkRoles(options.roles);
  const fileChunkBytes = checkFileOptions(options);
  const keepCompletedMs = checkKeepCompleted(options.keepCompletedMs);
  const keepDeletionsMs = checkKeepDeletions(options.keepDeletionsMs);
  const retry = retryPolicy(options.retry);
  const timers = options.timers ?? systemTimers;
  const random = options.random ?? Math.random;
  // A store that opened (and, in a browser, took its tab's lock) but could not be read (a wrong
  // key, a damaged row) is let go: the app may open it again, with the right key, in the same tab.
  const db = await LocalDb.open(options.store).catch(async (err: unknown) => {
    await options.store.close().catch(() => undefined);
    throw err;
  });
  const whole = heldWhole(options.collections, options.recordFilter);
  // A filter widened or removed since the last pull: what it used to reject is read again.
  const filtersNow = filterMeta(
    db.state.meta,
    options.recordFilter,
    pulledBy(options.collections),
    db.state.meta[cursorKey] !== undefined,
  );
  if (filtersNow !== null) {
    await db
      .write(() => ({ batch: { meta: filtersNow }, result: undefined }))
      .catch(async (err: unknown) => {
        await options.store.close();
        throw err;
      });
  }
  // After the record store, whose lock keeps a second tab out of both.
  const fileStore = options.files ?? memoryFileStore();
  const fileDb = await FileDb.open(fileStore).catch(async (err: unknown) => {
    await options.store.close();
    throw err;
  });

  // One id per installation of the store, made on first open and kept.
  let clientId = db.state.meta['clientId'] as string | undefined;
  if (clientId === undefined) {
    const made = uuidv7(timers.now(), options.randomBytes);
    await db.write(() => ({ batch: { meta: { clientId: made } }, result: undefined }));
    clientId = made;
  }
  // Ops caught in flight by a crash or a closed tab go out again with the same opIds: the server
  // answers a repeat with its first outcome.
  const stranded = [...db.state.outbox.values()].filter((o) => o.status === 'in-flight');
  if (stranded.length > 0) {
    await db.write(() => ({
      batch: { putOps: stranded.map((o) => ({ ...o, status: 'pending' as const })) },
      result: undefined,
    }));
  }
  // Acknowledged ops past their retention, whatever the last session had no sync left to remove
  // (or an older version piled up). Housekeeping: should it fail, the next sync's end does it.
  await db
    .write(() => ({
      batch: retentionBatch(db.state, timers.now(), keepCompletedMs, keepDeletionsMs),
      result: undefined,
    }))
    .catch(() => undefined);

  const clock = new HlcClock({ node: clientId.replace(/-/g, '').slice(-12), now: () => timers.now() });
  for (const r of db.state.records.values()) clock.receive(r.hlc);
  const listeners = new Map<keyof EventMap, Set<(value: never) => void>>();
  const emit = <K extends keyof EventMap>(event: K, value: EventMap[K]) => {
    for (const l of listeners.get(event) ?? []) (l as (v: EventMap[K]) => void)(value);
  };
  const transport = watchingUnauthorized(
    options.transport ??
      createHttpTransport({
        url: options.url,
        ...(options.getToken ? { getToken: options.getToken } : {}),
        ...(options.renewToken ? { renewToken: options.renewToken } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.compressRequests !== undefined ? { compressRequests: options.compressRequests } : {}),
      }),
    (error) => emit('unauthorized', error),
  );
  let lastResult: SyncResult | null = null;
  /** Set by close(): what a person asks of the server after it is refused (checkOpen). */
  let closed = false;
  const fileTransport = createFileTransport({
    url: options.url,
    ...(options.getToken ? { getToken: options.getToken } : {}),
    ...(options.renewToken ? { renewToken: options.renewToken } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    onUnauthorized: (error) => emit('unauthorized', error),
    clientId,
  });
  const recordIds = recordIdsOf(db, whole);
  // Files of records withdrawn just before the app stopped, should their write not have followed.
  // A failure here is met again before the next sync's uploads, which run it first.
  await settleWithdrawn(fileDb, recordIds).catch(() => undefined);
  const fileUploads = new FileUploads({
    schema,
    db: fileDb,
    transport: fileTransport,
    deviceId: options.deviceId,
    retry,
    random,
    now: () => timers.now(),
    recordIds,
  });
  /**
   * The automatic syncs in effect. Every trigger reads it when it comes, never a copy made at
   * opening: `setAutoSync` replaces it while the client runs.
   */
  let auto: AutoSyncSettings | false = initialAutoSync;
  /** How often the monitor asks the server; 0 also when it never runs (`probeIntervalMs: false`). */
  const probeEveryMs = options.probeIntervalMs === false ? 0 : (options.probeIntervalMs ?? 30_000);
  const monitor = new NetworkMonitor({
    url: options.url,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    timers,
    ...(options.events ? { events: options.events } : {}),
    intervalMs: probeEveryMs,
  });
  /**
   * Whether the device will sync by itself once the server answers again: it syncs on reconnect,
   * and the monitor keeps asking the server every `probeIntervalMs`. With 0 it asks only when the
   * client opens and on the browser's online/offline events, so a probe that failed while the
   * interface stayed up (an uplink lost, a server down) is not asked again; with false nothing is.
   */
  const syncsOnReconnect = () => auto !== false && auto.onReconnect && probeEveryMs > 0;
  /**
   * The engine's retry timer asks this before each try (decision 0024). While the monitor knows the
   * device is offline (its probe failed, or the browser said offline), a try would not reach the
   * server, yet would mark the waiting ops sent (no longer withdrawable) and count attempts toward
   * "stopped after repeated failures": the sync on reconnect sends them instead, at once. Without
   * that sync to come, the timer keeps trying, as it always did, so nothing waits for ever. The
   * interval and after-write syncs below go only while `online`, way back or not: the retry timer
   * is what brings back a sync that failed when no reconnect sync will. Asked anew each time: a
   * reconnect sync turned off by `setAutoSync` is no way back any more.
   */
  const mayTryNow = () => monitor.status.online || !syncsOnReconnect();
  const breaker = new CircuitBreaker({
    failureThreshold: options.circuitBreaker?.failureThreshold ?? 5,
    cooldownMs: options.circuitBreaker?.cooldownMs ?? 30_000,
    timers,
  });
  const sizesFor = requestSizes(options);
  const engine = new SyncEngine({
    schema,
    db,
    transport,
    clock,
    clientId,
    deviceId: options.deviceId,
    sizes: () => sizesFor(monitor.status.quality),
    ...(options.collections ? { collections: options.collections } : {}),
    priorityPull: options.priorityPull ?? true,
    ...(options.recordFilter ? { recordFilter: options.recordFilter } : {}),
    retry,
    breaker,
    timers,
    random,
    files: fileUploads,
    mayTryNow,
    keepCompletedMs,
    keepDeletionsMs,
    onProgress: (p) => emit('progress', p),
    onResult: (r) => {
      lastResult = r;
      emit('sync', r);
    },
  });
  const unsubscribeDb = db.subscribe((collections) => emit('change', collections));

  /**
   * The live stream, made the first time `live` is on and kept after it is turned off, so a server
   * found to have none (404) is not asked again when it is turned back on.
   */
  let live: LiveUpdates | null = null;
  const liveStream = (): LiveUpdates =>
    (live ??= new LiveUpdates({
      transport,
      clientId,
      timers,
      random,
      onChanges: () => void engine.serverChanged(),
      onFiles: () => emit('files', undefined),
    }));
  let wasOnline = monitor.status.online;
  if (auto && auto.live && wasOnline) liveStream().start();
  // One 'network' event per change a UI shows, whichever of the monitor's two channels told it: a
  // flip that comes with a change of status reaches both, and is told once.
  let told: NetworkSnapshot = { ...monitor.status, isTransitioning: monitor.isTransitioning };
  const relayNetwork = () => {
    const next: NetworkSnapshot = { ...monitor.status, isTransitioning: monitor.isTransitioning };
    if (
      next.online === told.online &&
      next.quality === told.quality &&
      next.isTransitioning === told.isTransitioning
    )
      return;
    told = next;
    emit('network', next);
  };
  // A flip carries no news of the server: only the status channel below syncs on reconnect.
  const unsubscribeTransitions = monitor.subscribeTransitioning(relayNetwork);
  const unsubscribeNetwork = monitor.subscribe((status) => {
    relayNetwork();
    if (status.online && !wasOnline) {
      // Only an answer from the server makes the monitor online: whatever failed while the device
      // was offline says nothing of the server, so the breaker does not make it wait a cool-down.
      breaker.reset();
      if (auto && auto.onReconnect) void engine.sync();
      if (auto && auto.live) liveStream().start();
    }
    // Offline, a stream would only fail again and again; it opens when the server answers.
    if (!status.online) live?.stop();
    wasOnline = status.online;
  });
  if (options.probeIntervalMs !== false) monitor.start();
  let intervalTimer: unknown = null;
  const scheduleInterval = () => {
    intervalTimer = null;
    if (!auto || !auto.intervalMs) return;
    intervalTimer = timers.setTimeout(() => {
      if (monitor.status.online) void engine.sync();
      scheduleInterval();
    }, auto.intervalMs);
  };
  scheduleInterval();

  const realId = (id: string): string => {
    const mapped = (db.state.meta['tempIds'] as Record<string, string> | undefined)?.[id];
    return mapped ?? id;
  };
  const collections = new Map<string, Collection>();
  /** Reads on a miss under way (`collection.fetch`), so two screens asking for one record share it. */
  const fetching = new Map<string, Promise<Change | null>>();
  const fetchRecord = (collection: string, id: string): Promise<Change | null> => {
    checkOpen();
    const key = keyOf(collection, id);
    let read = fetching.get(key);
    if (!read) {
      // A person's screen waiting: not through the circuit breaker, as file downloads are not.
      read = transport
        .getRecord(collection, id)
        .catch((err: unknown) => {
          const unreachable = !isOutpostError(err) || err.status >= 500 || err.code === 'RATE_LIMITED';
          throw unreachable ? new RecordUnavailableError(collection, id, { cause: err }) : err;
        })
        .finally(() => fetching.delete(key));
      fetching.set(key, read);
    }
    return read;
  };
  const files = createClientFiles({
    schema,
    db: fileDb,
    uploads: fileUploads,
    transport: fileTransport,
    recordIds,
    chunkSize: fileChunkBytes,
    now: () => timers.now(),
    ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
    afterAttach: () => {
      if (auto && auto.afterWrite && monitor.status.online) void engine.sync();
    },
  });

  const log = new SyncLog(logSinkOf(options.debug), () => timers.now());

  const client: SyncClient = {
    clientId,
    deviceId: options.deviceId,
    schema,
    exportDebugData() {
      return {
        exportedAt: new Date(timers.now()).toISOString(),
        schema: schema.name,
        clientId,
        deviceId: options.deviceId,
        network: { ...monitor.status, isTransitioning: monitor.isTransitioning },
        autoSync: client.autoSync,
        queue: client.queue.stats(),
        files: client.files.stats(),
        lastResult: resultLine(lastResult),
        outbox: client.queue.list().map(outboxLine),
        log: log.entries(),
      };
    },
    collection<D extends RecordData = RecordData>(name: string): Collection<D> {
      let c = collections.get(name);
      if (!c) {
        const def = schema.collection(name);
        if (!def) throw outpostError('NOT_FOUND', `no collection named "${name}"`);
        c = new Collection(def, {
          db,
          clock,
          now: () => timers.now(),
          ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
          realId,
          can: (collection, action) => client.can(collection, action),
          fetchRecord,
          heldWhole: whole,
          afterWrite: () => {
            if (auto && auto.afterWrite && monitor.status.online) void engine.sync();
          },
        });
        collections.set(name, c);
      }
      return c as unknown as Collection<D>;
    },
    sync: (options = {}) => {
      if (options.collections !== undefined) return syncOnly(options.collections, options.manual === true);
      if (options.manual !== true) return engine.sync();
      breaker.reset();
      live?.retryNow();
      const opsGaveUp = [...db.state.outbox.values()].some(gaveUp);
      const filesGaveUp = fileUploads.gaveUp();
      if (!opsGaveUp && !filesGaveUp) return engine.sync();
      return Promise.all([opsGaveUp && client.queue.retry(), filesGaveUp && files.retry()]).then(() =>
        engine.sync(),
      );
    },
    syncToServer: () => engine.syncToServer(),
    syncFromServer: () => engine.syncFromServer(),
    get autoSync() {
      return auto;
    },
    setAutoSync(next) {
      // Checked first: a setting refused leaves the one in effect untouched.
      const settings = checkAutoSync(next, false);
      checkOpen();
      const before = auto;
      if (sameAutoSync(before, settings)) return;
      auto = settings;
      // The timer runs on with its phase unless its period changed; a new one counts from now.
      if (periodOf(before) !== periodOf(settings)) {
        if (intervalTimer !== null) timers.clearTimeout(intervalTimer);
        scheduleInterval();
      }
      if (settings && settings.live) {
        // Offline, it opens when the server answers again (the network listener above).
        if (monitor.status.online) liveStream().start();
      } else live?.stop();
      emit('autoSync', settings);
      // Sending by itself again: what the person held back goes now rather than at the next timer
      // or write. With nothing waiting, no request: the interval (or the stream's `ready`) pulls.
      if (!sendsByItself(before) && sendsByItself(settings) && monitor.status.online && somethingToSend())
        void engine.sync();
    },
    get roles() {
      return roles;
    },
    setRoles(next) {
      const checked = checkRoles(next);
      if (sameKnownRoles(roles, checked)) return;
      roles = checked;
      emit('roles', roles);
    },
    can(collection, action) {
      if (schema.collection(collection) === undefined) return false;
      return roles === null || schema.can(roles, collection, action);
    },
    get isSyncing() {
      return engine.isSyncing;
    },
    get lastResult() {
      return lastResult;
    },
    get restoreReport() {
      return engine.restoreReport();
    },
    dismissRestoreReport: () => engine.dismissRestoreReport(),
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (value: never) => void);
      return () => set.delete(listener as (value: never) => void);
    },
    queue: {
      stats: () => queueStats(db.state.outbox.values(), lastSyncedAt(db.state.meta)),
      list: () => [...db.state.outbox.values()].sort((a, b) => a.seq - b.seq),
      retry: async (seqs) => {
        const retried = await db.write(() => {
          const chosen = [...db.state.outbox.values()].filter((o) =>
            seqs ? seqs.includes(o.seq) && o.status !== 'done' : gaveUp(o),
          );
          const putOps = chosen.map((o) => {
            const next: OutboxEntry = { ...o, status: 'pending', attempts: 0 };
            delete next.nextAttemptAt;
            return next;
          });
          return { batch: { putOps }, result: putOps.length };
        });
        if (retried > 0) engine.retried();
        return retried;
      },
      discard: (seqs) => engine.discardRefused(seqs),
      planWithdrawal: (seqs) => planWithdrawal(schema, db.state, seqs, files.list()),
      withdraw: async (seqs) => {
        const count = await engine.withdraw(seqs);
        // The files of the records that went, from their own store. The withdrawal stands whatever
        // happens here: the records are listed with it, and what is left of their files goes when
        // the client next opens or before the next sync's uploads.
        await settleWithdrawn(fileDb, recordIds).catch(() => undefined);
        return count;
      },
      addOperation: (op) =>
        addOperation({ schema, state: db.state, collection: (name) => client.collection(name), realId }, op),
      removeOperation: (seq) =>
        removeOperation(
          db.state,
          {
            withdraw: (seqs) => client.queue.withdraw(seqs),
            discard: (seqs) => client.queue.discard(seqs),
            commit: (batchOf) =>
              db.write(() => {
                const batch = batchOf(db.state);
                return { batch, result: batch?.deleteOps?.length ?? 0 };
              }),
          },
          seq,
        ),
      // Every done op, as a retention of 0 removes them (outbox/retention.ts says which one stays).
      clearCompleted: () =>
        db.write(() => {
          const batch = retentionBatch(db.state, timers.now(), 0, keepDeletionsMs);
          return { batch, result: batch?.deleteOps?.length ?? 0 };
        }),
    },
    conflicts: {
      list(filter = {}) {
        const all = [...db.state.conflicts.values()].sort((a, b) => a.detectedAt.localeCompare(b.detectedAt));
        if (filter.status === 'open') return all.filter((c) => c.resolvedAt === undefined);
        if (filter.status === 'resolved') return all.filter((c) => c.resolvedAt !== undefined);
        return all;
      },
      resolve: async (id, strategy, mergedData, { onlyOpen } = {}) => {
        checkOpen();
        const response = await transport
          .resolveConflict(id, {
            strategy,
            ...(mergedData !== undefined ? { mergedData } : {}),
            ...(onlyOpen !== undefined ? { onlyOpen } : {}),
          })
          .catch(async (err: unknown) => {
            await noteSettledMeanwhile(id, err);
            throw err;
          });
        await applySettled(response);
        return response;
      },
      undo: async (id) => {
        checkOpen();
        const response = await transport.undoConflict(id);
        await applySettled(response);
        return response;
      },
      current: async (id) => {
        checkOpen();
        const conflict = db.state.conflicts.get(id);
        if (!conflict) throw outpostError('NOT_FOUND', `no conflict ${id} on this device`);
        return transport.getRecord(conflict.collection, conflict.recordId);
      },
      refresh: async () => {
        checkOpen();
        const fetched = await readAllPages(
          (cursor) => transport.listConflicts({ limit: 500, ...(cursor ? { cursor } : {}) }),
          (page) => page.conflicts.map(fromArchive),
        );
        await db.write(() => ({ batch: { putConflicts: fetched }, result: undefined }));
        return fetched.length;
      },
    },
    rejections: {
      fetch: async (filter = {}) => {
        checkOpen();
        return readAllPages(
          (cursor) => transport.listRejections({ ...filter, limit: 500, ...(cursor ? { cursor } : {}) }),
          (page) => page.rejections,
        );
      },
    },
    files,
    // The files of the records it let go leave with them (each sync does this before its uploads).
    prune: () => engine.prune().then((n) => dropFilesOfRecordsLetGo(fileDb, recordIds).then(() => n)),
    relationships: {
      findOrphans: () => findOrphans(schema, db.state, whole),
      resolveOrphans: async (strategy) => {
        const orphans = findOrphans(schema, db.state, whole);
        if (strategy === 'keep' || orphans.length === 0) return orphans.length;
        const orphanKeys = new Set(orphans.map((o) => keyOf(o.collection, o.id)));
        return db.write(() => {
          const putOps: OutboxEntry[] = [];
          const deleteOps: number[] = [];
          const deleteRecords: Array<{ collection: string; id: string }> = [];
          for (const op of db.state.outbox.values()) {
            if (!orphanKeys.has(keyOf(op.collection, op.id)) || op.status === 'done') continue;
            if (strategy === 'queue') {
              putOps.push({ ...op, heldReason: waitingForParent });
            } else deleteOps.push(op.seq);
          }
          if (strategy === 'delete')
            for (const o of orphans) deleteRecords.push({ collection: o.collection, id: o.id });
          return { batch: { putOps, deleteOps, deleteRecords }, result: orphans.length };
        });
      },
    },
    network: {
      get status() {
        return monitor.status;
      },
      get isTransitioning() {
        return monitor.isTransitioning;
      },
      check: () => monitor.check(),
    },
    async close() {
      closed = true;
      // The engine first: a sync still running would go on sending this person's outbox with
      // whatever token getToken returns next, the next person's after a sign-out.
      const stopped = engine.close();
      live?.stop();
      monitor.stop();
      breaker.dispose();
      if (intervalTimer !== null) timers.clearTimeout(intervalTimer);
      unsubscribeNetwork();
      unsubscribeTransitions();
      await stopped;
      await files.close();
      unsubscribeDb();
      await db.close();
      await options.store.close();
      await fileStore.close();
    },
  };

  /**
   * `sync({ collections })`: the names checked before anything is sent. A person's call also lets a
   * resting server be tried at once and sends again what of these collections gave up, never what
   * of the others did: the person asked for these only.
   */
  async function syncOnly(names: readonly string[], manual: boolean): Promise<SyncResult> {
    const only = checkCollectionNames(schema, names);
    if (manual) {
      breaker.reset();
      live?.retryNow();
      const within = recordsToSend(schema, db.state, only);
      const seqs = [...db.state.outbox.values()]
        .filter((o) => gaveUp(o) && within.has(keyOf(o.collection, o.id)))
        .map((o) => o.seq);
      if (seqs.length > 0) await client.queue.retry(seqs);
    }
    return engine.syncCollections(only);
  }

  /** How often the interval timer syncs; 0: never. */
  function periodOf(settings: AutoSyncSettings | false): number {
    return settings === false ? 0 : settings.intervalMs;
  }

  /** Changes or files waiting for a sync to send them (not held back: no push would take those). */
  function somethingToSend(): boolean {
    for (const op of db.state.outbox.values())
      if (op.status === 'pending' && op.heldReason === undefined) return true;
    return fileUploads.counts().waiting > 0;
  }

  /**
   * A person's call to the server (resolve, undo, refresh, fetch) on a closed client: refused
   * before it leaves, as the engine's own are. Its session is over, and the token the app hands
   * out now may be the next person's.
   */
  function checkOpen(): void {
    if (closed) throw new ClientClosedError();
  }

  /**
   * A resolution refused because the conflict was settled meanwhile (`onlyOpen`): the device shows
   * it settled as the server says at once, as a list would otherwise offer it again; the record
   * that settlement wrote comes with the next pull.
   */
  async function noteSettledMeanwhile(id: string, err: unknown): Promise<void> {
    const standing = settledMeanwhile(err);
    const local = db.state.conflicts.get(id);
    if (standing === null || standing.resolvedAt === null || !local) return;
    const settled: LocalConflict = {
      ...local,
      summary: { ...local.summary, outcome: standing.outcome, strategy: standing.strategy },
      resolvedAt: standing.resolvedAt,
    };
    await db.write(() => ({ batch: { putConflicts: [settled] }, result: undefined }));
  }

  /** A resolution or undo is a new server version: show it at once, beneath any pending change. */
  async function applySettled(response: ResolveResponse): Promise<void> {
    const { record, conflict } = response;
    const local = db.state.conflicts.get(conflict.id);
    let settled: LocalConflict[] = [];
    if (local) {
      const { resolvedAt: _previous, ...rest } = local;
      settled = [
        {
          ...rest,
          summary: { ...local.summary, outcome: conflict.outcome, strategy: conflict.strategy },
          ...(conflict.resolvedAt !== null ? { resolvedAt: conflict.resolvedAt } : {}),
        },
      ];
    }
    await engine.applyChanges([record], { putConflicts: settled });
  }

  watchForLog(client, log);
  return client;
}

/** Tells `log` what the client does, from its own events. */
function watchForLog(client: SyncClient, log: SyncLog): void {
  let network: NetworkSnapshot | null = null;
  let progress: SyncProgress | null = null;
  client.on('network', (next) => {
    const words = describeNetwork(network, next);
    network = next;
    if (words !== null) log.add('NetworkMonitor', 'debug', words);
  });
  client.on('progress', (next) => {
    const words = describePhase(progress, next);
    progress = next.phase === 'done' ? null : next;
    if (words !== null) log.add('SyncEngine', 'debug', words);
  });
  client.on('sync', (result) => {
    progress = null;
    log.add('SyncEngine', result.success ? 'debug' : 'warn', describeSync(result));
  });
  client.on('unauthorized', (error) =>
    log.add(
      'SyncEngine',
      'warn',
      `the server refused the sign-in (${error.code}): the token must be renewed`,
    ),
  );
}
