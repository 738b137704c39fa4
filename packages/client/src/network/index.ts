export { systemTimers } from './timers';
export type { TimerHandle, Timers } from './timers';
export { backoffDelay, defaultRetryPolicy, retryPolicy, shouldRetry } from './backoff';
export type { BackoffPolicy, RetryPolicy } from './backoff';
export { CircuitBreaker, CircuitOpenError, defaultCircuitBreaker } from './circuit-breaker';
export type {
  CircuitBreakerOptions,
  CircuitListener,
  CircuitState,
  CircuitStateChange,
} from './circuit-breaker';
export { NetworkMonitor, networkThresholds, qualityForLatency } from './network-monitor';
export type {
  NetworkEvents,
  NetworkListener,
  NetworkMonitorOptions,
  NetworkQuality,
  NetworkSnapshot,
  NetworkStatus,
  TransitionListener,
} from './network-monitor';
