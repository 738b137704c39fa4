import { retryPolicy } from '@outpost/core';
import type { RetryPolicy } from '@outpost/core';

/**
 * The client outbox's rule (core's backoff: full jitter, a ceiling of 1 s doubled per failed attempt)
 * over a working day instead of minutes. The outbox's 8 attempts and 5-minute cap add up to 254 s
 * at most, right for a device with a person who can press "Sync now"; an item here waits for what
 * nobody watches (its patient's record coming from a tablet offline all afternoon, a central
 * outage), and the seed's client processes again, which replays a refusal, but never retries. So
 * each wait may grow to 15 minutes (an item syncs at most that long after its cause is gone), and
 * 80 attempts span 8 h 54 min on average, 17 h 47 min at most (core's `retryWindow`; decision 0009).
 */
export const queueRetryPolicy: Readonly<RetryPolicy> = retryPolicy({
  baseMs: 1_000,
  maxMs: 15 * 60_000,
  maxAttempts: 80,
});

/** `createSyncServer({ queueApi })`: how seed 000's queue tries failed items again. */
export interface QueueApiOptions {
  /**
   * How often the server looks for FAILED items whose next attempt is due and tries them again
   * itself, as `POST /api/v1/sync/retry` would (and finishes items a stopped server left SYNCING);
   * false leaves both to clients. Default 30 000 (30 s): seed 004's planned sync loop runs every
   * 30 s, the backoff's first waits are seconds, and an idle look is two indexed queries, so twice
   * a minute costs nothing a clinic server notices.
   */
  retryIntervalMs?: number | false;
  /**
   * Attempts an item gets in all (the first processing and its retries) before it stays FAILED.
   * Default 80, which with waits of up to 15 minutes covers a working day (`queueRetryPolicy`):
   * seed 000 names no number, and seed 004's 3 is that product's device queue, which retries
   * without backoff.
   */
  maxAttempts?: number;
}

/** The options checked and with their defaults. */
export interface QueueApiSettings {
  retryIntervalMs: number | false;
  policy: Readonly<RetryPolicy>;
}

export const defaultRetryIntervalMs = 30_000;

/** setInterval's ceiling: Node runs a longer interval every millisecond instead, with a warning. */
const maxIntervalMs = 2 ** 31 - 1;

/** The options with their defaults; nonsense is refused here, when the server is made, not at the first sweep. */
export function queueApiSettings(options: QueueApiOptions = {}): QueueApiSettings {
  const interval = options.retryIntervalMs ?? defaultRetryIntervalMs;
  if (interval !== false && !(Number.isInteger(interval) && interval >= 1 && interval <= maxIntervalMs)) {
    throw new RangeError(
      `queueApi.retryIntervalMs must be false or a whole number of milliseconds from 1 to ${maxIntervalMs}, got ${String(interval)}`,
    );
  }
  const maxAttempts = options.maxAttempts ?? queueRetryPolicy.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`queueApi.maxAttempts must be a whole number from 1, got ${String(maxAttempts)}`);
  }
  return { retryIntervalMs: interval, policy: retryPolicy({ ...queueRetryPolicy, maxAttempts }) };
}

/** The environment variables of `npm start` that set these options, as text. */
export interface QueueApiEnvironment {
  OUTPOST_QUEUE_RETRY_INTERVAL_MS?: string | undefined;
  OUTPOST_QUEUE_MAX_ATTEMPTS?: string | undefined;
}

function wholeNumber(name: string, value: string, meaning: string): number {
  const text = value.trim();
  // Digits only: Number() would take "", "1e3", "0x10" and " 12 " as numbers nobody meant.
  if (!/^\d+$/.test(text)) throw new RangeError(`${name} must be ${meaning}, got "${value}"`);
  return Number(text);
}

/**
 * `npm start`'s variables as options, checked as createSyncServer checks them, with errors that
 * name the variable. Unset or empty leaves the default; `OUTPOST_QUEUE_RETRY_INTERVAL_MS=0` turns
 * automatic retries off, as `OUTPOST_RATE_LIMIT=0` turns the rate limit off.
 */
export function queueApiOptionsFromEnv(env: QueueApiEnvironment): QueueApiOptions {
  const options: QueueApiOptions = {};
  const interval = env.OUTPOST_QUEUE_RETRY_INTERVAL_MS;
  if (interval !== undefined && interval.trim() !== '') {
    const ms = wholeNumber(
      'OUTPOST_QUEUE_RETRY_INTERVAL_MS',
      interval,
      `milliseconds from 1 to ${maxIntervalMs}, or 0 for off`,
    );
    if (ms > maxIntervalMs) {
      throw new RangeError(
        `OUTPOST_QUEUE_RETRY_INTERVAL_MS must be at most ${maxIntervalMs} ms (about 24 days), got "${interval}"`,
      );
    }
    options.retryIntervalMs = ms === 0 ? false : ms;
  }
  const attempts = env.OUTPOST_QUEUE_MAX_ATTEMPTS;
  if (attempts !== undefined && attempts.trim() !== '') {
    const n = wholeNumber('OUTPOST_QUEUE_MAX_ATTEMPTS', attempts, 'a whole number from 1');
    if (n < 1)
      throw new RangeError(`OUTPOST_QUEUE_MAX_ATTEMPTS must be a whole number from 1, got "${attempts}"`);
    options.maxAttempts = n;
  }
  return options;
}
