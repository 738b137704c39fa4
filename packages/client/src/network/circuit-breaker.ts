/**
 * Stops a device from hammering a server that is down. After `failureThreshold` failures in a row
 * the circuit opens and requests are refused at once, without touching the network; after the
 * cool-down one trial request goes through (half-open): its success closes the circuit, its
 * failure opens it for another cool-down. UIs follow the state through `subscribe`.
 */
import { systemTimers } from './timers';
import type { TimerHandle, Timers } from './timers';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitStateChange {
  state: CircuitState;
  previous: CircuitState;
  /** Failures in a row so far. */
  failures: number;
  /** When open: the time (ms since epoch) the trial request will be let through. */
  retryAt: number | null;
}

export type CircuitListener = (change: CircuitStateChange) => void;

export interface CircuitBreakerOptions {
  /** Failures in a row that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before a trial request. Default 30 s. */
  cooldownMs?: number;
  timers?: Timers;
  /** For `execute`: whether an error says the server is failing. Default: every error does. */
  isFailure?: (error: unknown) => boolean;
  onStateChange?: CircuitListener;
}

export const defaultCircuitBreaker = { failureThreshold: 5, cooldownMs: 30_000 } as const;

/** Thrown by `execute` while the circuit is open; matched by `code` as well as by class. */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  readonly code = 'CIRCUIT_OPEN';
  /** When (ms since epoch) a trial request will be let through. */
  readonly retryAt: number;

  constructor(retryAt: number) {
    super('the server has been failing: waiting before trying it again');
    this.retryAt = retryAt;
  }
}

export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failureCount = 0;
  private openedAt = 0;
  /** When the half-open trial was handed out, or null while nobody holds it. */
  private trialSince: number | null = null;
  private cooldownTimer: TimerHandle | null = null;
  private readonly listeners = new Set<CircuitListener>();
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly timers: Timers;
  private readonly isFailure: (error: unknown) => boolean;

  constructor(options: CircuitBreakerOptions = {}) {
    this.threshold = options.failureThreshold ?? defaultCircuitBreaker.failureThreshold;
    this.cooldownMs = options.cooldownMs ?? defaultCircuitBreaker.cooldownMs;
    if (!Number.isInteger(this.threshold) || this.threshold < 1) {
      throw new RangeError(`failureThreshold must be a whole number from 1, got ${this.threshold}`);
    }
    if (!(this.cooldownMs >= 0)) throw new RangeError(`cooldownMs must be 0 or more, got ${this.cooldownMs}`);
    this.timers = options.timers ?? systemTimers;
    this.isFailure = options.isFailure ?? (() => true);
    if (options.onStateChange) this.listeners.add(options.onStateChange);
  }

  get state(): CircuitState {
    this.catchUp();
    return this.current;
  }

  /** Failures in a row so far (reset by any success). */
  get failures(): number {
    return this.failureCount;
  }

  /** True while requests are refused outright, before the cool-down ends. */
  isOpen(): boolean {
    return this.state === 'open';
  }

  /**
   * Asks to send a request. Closed: yes. Open: no. Half-open: yes to exactly one caller, the trial,
   * until its outcome is recorded; a caller that never records one loses the trial after a cool-down,
   * so a forgotten outcome cannot shut the circuit for good.
   */
  canRequest(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    const now = this.timers.now();
    if (this.trialSince !== null && now - this.trialSince < this.cooldownMs) return false;
    this.trialSince = now;
    return true;
  }

  /** How long until a trial request is let through: 0 unless the circuit is open. */
  msUntilTrial(): number {
    if (this.state !== 'open') return 0;
    return Math.max(0, this.openedAt + this.cooldownMs - this.timers.now());
  }

  recordSuccess(): void {
    const state = this.state;
    // An answer to a request sent before the circuit opened proves little; the trial decides.
    if (state === 'open') return;
    this.failureCount = 0;
    if (state === 'half-open') this.moveTo('closed');
  }

  recordFailure(): void {
    const state = this.state;
    this.failureCount++;
    if (state === 'half-open' || (state === 'closed' && this.failureCount >= this.threshold)) this.open();
  }

  /** Runs `fn` if the circuit allows it and records the outcome; throws CircuitOpenError if not. */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.canRequest()) throw new CircuitOpenError(this.openedAt + this.cooldownMs);
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      // An error that is not the server failing (a refused payload) still shows the server answers.
      if (this.isFailure(error)) this.recordFailure();
      else this.recordSuccess();
      throw error;
    }
    this.recordSuccess();
    return value;
  }

  /** Tells `listener` of every state change; returns the function that stops it. */
  subscribe(listener: CircuitListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Closes the circuit at once, e.g. when the user asks to sync now or the network came back. */
  reset(): void {
    this.failureCount = 0;
    this.clearCooldown();
    if (this.current !== 'closed') this.moveTo('closed');
  }

  /** Cancels the cool-down timer; call when the client closes. */
  dispose(): void {
    this.clearCooldown();
    this.listeners.clear();
  }

  private open(): void {
    this.openedAt = this.timers.now();
    this.clearCooldown();
    // The timer tells listeners on time; catchUp() covers timers a background tab ran late.
    this.cooldownTimer = this.timers.setTimeout(() => {
      this.cooldownTimer = null;
      this.catchUp();
    }, this.cooldownMs);
    this.moveTo('open');
  }

  /** An open circuit whose cool-down has passed is half-open, whether or not its timer ran yet. */
  private catchUp(): void {
    if (this.current === 'open' && this.timers.now() >= this.openedAt + this.cooldownMs) {
      this.clearCooldown();
      this.moveTo('half-open');
    }
  }

  private clearCooldown(): void {
    if (this.cooldownTimer !== null) this.timers.clearTimeout(this.cooldownTimer);
    this.cooldownTimer = null;
  }

  private moveTo(state: CircuitState): void {
    const previous = this.current;
    this.current = state;
    this.trialSince = null;
    const change: CircuitStateChange = {
      state,
      previous,
      failures: this.failureCount,
      retryAt: state === 'open' ? this.openedAt + this.cooldownMs : null,
    };
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        // A broken UI callback must not break the request path; it still surfaces as an uncaught error.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
