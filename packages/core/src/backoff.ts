/**
 * How long to wait before trying a failed request again. Exponential backoff with full jitter (as AWS
 * describes it): each wait is drawn anywhere between zero and a ceiling that doubles per attempt, so
 * a clinic's tablets that all lost the server at once do not all come back at the same instant.
 */

export interface BackoffPolicy {
  /** The ceiling of the first wait. */
  baseMs: number;
  /** No wait is ever longer than this. */
  maxMs: number;
}

export interface RetryPolicy extends BackoffPolicy {
  /** After this many failed attempts an op stays failed, visible, until someone retries it by hand. */
  maxAttempts: number;
}

export const defaultRetryPolicy: Readonly<RetryPolicy> = {
  baseMs: 1_000,
  maxMs: 5 * 60_000,
  maxAttempts: 8,
};

/** The defaults with the caller's changes, refused early when they would make no sense. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...defaultRetryPolicy, ...overrides };
  if (!(policy.baseMs > 0)) throw new RangeError(`retry baseMs must be above 0, got ${policy.baseMs}`);
  if (!(policy.maxMs >= policy.baseMs)) {
    throw new RangeError(`retry maxMs (${policy.maxMs}) must be at least baseMs (${policy.baseMs})`);
  }
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`retry maxAttempts must be a whole number from 1, got ${policy.maxAttempts}`);
  }
  return policy;
}

/**
 * The wait before the next try: a whole number of ms in [0, min(maxMs, baseMs * 2^attempt)].
 * `attempt` counts from 0; `random` returns [0, 1) like Math.random and is passed in so tests fix it.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = defaultRetryPolicy,
  random: () => number = Math.random,
): number {
  // 2 ** 1100 is Infinity, and min() then keeps maxMs: no overflow to guard against.
  const exponent = Number.isFinite(attempt) ? Math.max(0, Math.floor(attempt)) : 0;
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.min(ceiling, Math.floor(random() * (ceiling + 1)));
}

/** Whether an op that has failed `failedAttempts` times gets another try. */
export function shouldRetry(
  failedAttempts: number,
  policy: Pick<RetryPolicy, 'maxAttempts'> = defaultRetryPolicy,
) {
  return failedAttempts < policy.maxAttempts;
}

/** How long an op that keeps failing is tried for, from its first failure to its last attempt. */
export interface RetryWindow {
  /** Every wait drawn at its ceiling: the window is never longer. */
  longestMs: number;
  /** What the waits add up to on average: full jitter draws each evenly below its ceiling. */
  averageMs: number;
}

/**
 * The waits a policy plans for an op that fails every time, added up: one after each failed attempt
 * but the last (`backoffDelay(attempts)` after the `attempts`-th, as the client's outbox and the
 * server's queue both plan it). So a limit is chosen for the hours it covers, not guessed at.
 */
export function retryWindow(policy: RetryPolicy): RetryWindow {
  let longestMs = 0;
  let attempts = 1;
  for (; shouldRetry(attempts, policy); attempts += 1) {
    const ceiling = policy.baseMs * 2 ** attempts;
    if (ceiling >= policy.maxMs) break;
    longestMs += ceiling;
  }
  // From here every wait is capped: counted at once, so a limit of millions costs no loop.
  longestMs += Math.max(0, policy.maxAttempts - attempts) * policy.maxMs;
  return { longestMs, averageMs: longestMs / 2 };
}
