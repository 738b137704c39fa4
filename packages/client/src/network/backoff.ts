// The rule lives in core so the server's queue (seed 000's retry) backs off exactly as the client does.
export { backoffDelay, defaultRetryPolicy, retryPolicy, shouldRetry } from '@outpost/core';
export type { BackoffPolicy, RetryPolicy } from '@outpost/core';
