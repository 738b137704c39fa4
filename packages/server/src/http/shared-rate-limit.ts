import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { SyncStore } from '../storage/sync-store';

/** How often, at most, an instance deletes the counts of windows long over. */
const sweepEveryMs = 60_000;

/**
 * The rate limit's counts kept in the database, not in this process: on PostgreSQL several server
 * instances may answer one user (behind a load balancer), and each counting alone would let that
 * user through as many times over as there are instances. One upsert per request, on an unlogged
 * table (migration 0006), so it costs no WAL flush.
 */
export function sharedRateLimitStore(
  store: SyncStore,
  nowMs: () => number,
  /** Told of a count the database could not take (the request goes through: `skipOnError`). */
  onError: (error: Error) => void,
): FastifyRateLimitStoreCtor {
  let lastSweepMs = 0;
  class SharedRateLimitStore implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      const at = nowMs();
      store.countRequest(key, at, timeWindow).then(
        ({ hits, windowStartMs }) =>
          callback(null, { current: hits, ttl: Math.max(0, windowStartMs + timeWindow - at) }),
        (err: unknown) => {
          const error = err instanceof Error ? err : new Error(String(err));
          onError(error);
          callback(error);
        },
      );
      if (at - lastSweepMs >= sweepEveryMs) {
        lastSweepMs = at;
        // Rows of addresses and users gone quiet; a failure here only leaves them for next time.
        store.forgetRequestCounts(at - 2 * timeWindow).catch(() => undefined);
      }
    }

    child(): FastifyRateLimitStore {
      return new SharedRateLimitStore();
    }
  }
  return SharedRateLimitStore;
}
