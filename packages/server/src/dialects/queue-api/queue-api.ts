import type { FastifyBaseLogger } from 'fastify';
import { QueueProcessor } from './queue-processor';
import type { QueueContext, SweepReport } from './queue-processor';
import type { QueueApiSettings } from './queue-api-options';

/** Items one sweep tries at most; the rest wait for the next, so a sweep stays short and a close quick. */
const sweepBatch = 100;

declare module 'fastify' {
  interface FastifyInstance {
    /** Seed 000's queue: its processor, and `sweep()` to run the server's own retry once (tests, operators). */
    queueApi: QueueApi;
  }
}

/**
 * Seed 000's queue on one server instance: the processor its routes use, and the timer that retries
 * due FAILED items without a client asking (seed 000: "Automatic retry with exponential backoff")
 * and finishes items a stopped server left SYNCING.
 * The timer only starts the sweep; what a sweep does is QueueProcessor.sweep, the same per-item code
 * as `POST /api/v1/sync/retry`. Sweeps never overlap here, and on several instances the items'
 * conditional claims keep them apart.
 */
export class QueueApi {
  readonly processor: QueueProcessor;
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<SweepReport> | null = null;
  private closed = false;

  constructor(
    ctx: QueueContext,
    private readonly settings: QueueApiSettings,
    private readonly log: FastifyBaseLogger,
  ) {
    this.processor = new QueueProcessor(ctx, settings.policy);
  }

  /** Starts the timer (when an interval is set). Called once the server is ready. */
  start(): void {
    if (this.closed || this.timer !== null || this.settings.retryIntervalMs === false) return;
    this.timer = setInterval(() => void this.sweep(), this.settings.retryIntervalMs);
    // A sweep waiting to happen must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  /**
   * Runs one sweep now, or joins the one under way, and resolves with what it did. Never rejects:
   * a failure is logged through the server's logger, as a background job's must be, and the next
   * sweep tries again.
   */
  sweep(): Promise<SweepReport> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Stops the timer and waits for a sweep under way, which stops after the item it is trying. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async run(): Promise<SweepReport> {
    const nothing: SweepReport = {
      retried: 0,
      synced: 0,
      conflicts: 0,
      failed: 0,
      waiting: 0,
      exhausted: 0,
      due: 0,
      resumed: 0,
      unattended: 0,
      errors: 0,
    };
    if (this.closed) return nothing;
    try {
      const report = await this.processor.sweep({
        limit: sweepBatch,
        stop: () => this.closed,
        onError: (err, item) => this.log.error({ err, ...item }, 'queue item could not be retried'),
      });
      if (report.retried > 0 || report.resumed > 0 || report.errors > 0)
        this.log.info({ queueRetry: report }, 'queue items retried');
      return report;
    } catch (err) {
      this.log.error({ err }, 'queue retry sweep failed');
      return { ...nothing, errors: 1 };
    }
  }
}
