import { backoffDelay, isOutpostError, liveChangesSchema, liveFilesSchema } from '@outpost/core';
import type { BackoffPolicy, LiveEvent } from '@outpost/core';
import type { Timers } from '../network/timers';
import type { SyncTransport } from './sync-transport';

export interface LiveUpdatesOptions {
  transport: SyncTransport;
  /** This installation's id: a notice of its own push needs no pull, its sync pulls after pushing. */
  clientId: string;
  timers: Timers;
  random: () => number;
  /** The server holds changes this device has not pulled yet. */
  onChanges(): void;
  /**
   * A file of the clinic became complete on the server, or was deleted there: the file lists this
   * device shows may be out of date. Not told of this installation's own uploads and deletions.
   */
  onFiles?(): void;
  /** How long to wait before opening a broken stream again. Default 1 s doubling to 1 min, jittered. */
  reconnect?: BackoffPolicy;
}

const defaultReconnect: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000 };
/** A stream open this long counts as working: the next reconnect waits as little as the first. */
const steadyMs = 30_000;

/**
 * Keeps the server's live stream open while started, so a colleague's change reaches this device
 * within a moment instead of at its next timed sync. The stream only says that something changed;
 * what changed still comes by pull, so a lost or late notice costs time, never data:
 *
 * - Every (re)opened stream starts with `ready`, and the device pulls then: what was announced
 *   while the stream was down is fetched.
 * - A stream that breaks is opened again after a jittered wait, growing while streams keep
 *   breaking within 30 s of opening; a server without a live stream (404) is not asked again.
 * - The owner stops it while the device is offline and starts it again when the server answers.
 */
export class LiveUpdates {
  private controller: AbortController | null = null;
  private retryTimer: unknown = null;
  private attempt = 0;
  /** When the open stream said `ready`; null before. */
  private readyAt: number | null = null;
  private wanted = false;
  private unsupported = false;

  constructor(private readonly o: LiveUpdatesOptions) {}

  /** Opens the stream unless it is open or about to be. */
  start(): void {
    if (!this.o.transport.listen || this.unsupported) return;
    this.wanted = true;
    if (this.controller !== null || this.retryTimer !== null) return;
    void this.open();
  }

  /**
   * Opens at once a stream that waits to be opened again: a person pressed "Sync now", so the
   * server may be back or the device signed in anew. The waits still grow should it fail again.
   */
  retryNow(): void {
    if (!this.wanted || this.retryTimer === null) return;
    this.o.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.open();
  }

  /** Closes the stream and opens no other until started again. */
  stop(): void {
    this.wanted = false;
    if (this.retryTimer !== null) this.o.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const controller = this.controller;
    this.controller = null;
    controller?.abort();
  }

  private async open(): Promise<void> {
    const listen = this.o.transport.listen;
    if (!listen) return;
    const controller = new AbortController();
    this.controller = controller;
    let failure: unknown = null;
    try {
      // Nothing more is heard once stopped (or replaced), even what arrived in the same read.
      await listen.call(this.o.transport, controller.signal, (event) => {
        if (this.controller === controller) this.receive(event);
      });
    } catch (err) {
      failure = err;
    }
    // Stopped (or replaced) meanwhile: whoever did so decides what comes next.
    if (this.controller !== controller) return;
    this.controller = null;
    if (!this.wanted) return;
    if (isOutpostError(failure) && failure.code === 'NOT_FOUND') {
      this.unsupported = true;
      return;
    }
    // A stream that stayed open a while starts the waits over; one that keeps ending at once (a
    // proxy that cuts long responses) is reopened ever more slowly, not in a loop.
    if (this.readyAt !== null && this.o.timers.now() - this.readyAt >= steadyMs) this.attempt = 0;
    this.readyAt = null;
    const wait = backoffDelay(this.attempt, this.o.reconnect ?? defaultReconnect, this.o.random);
    this.attempt += 1;
    this.retryTimer = this.o.timers.setTimeout(() => {
      this.retryTimer = null;
      if (this.wanted) void this.open();
    }, wait);
  }

  private receive(event: LiveEvent): void {
    if (event.event === 'ready') {
      this.readyAt = this.o.timers.now();
      this.o.onChanges();
      return;
    }
    // Any other name is skipped: a newer server may tell what this client has no use for.
    if (event.event === 'changes') {
      if (originOf(event, liveChangesSchema) !== this.o.clientId) this.o.onChanges();
    } else if (event.event === 'files') {
      if (originOf(event, liveFilesSchema) !== this.o.clientId) this.o.onFiles?.();
    }
  }
}

/** Whose push or upload a notice says it was, if it says. */
function originOf(
  event: LiveEvent,
  schema: typeof liveChangesSchema | typeof liveFilesSchema,
): string | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(event.data));
    return parsed.success ? parsed.data.origin : undefined;
  } catch {
    // Not JSON: still a notice that something changed.
    return undefined;
  }
}
