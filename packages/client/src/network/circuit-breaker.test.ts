import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from './circuit-breaker';
import type { CircuitStateChange } from './circuit-breaker';
import type { Timers } from './timers';

const start = Date.UTC(2024, 10, 2, 8);

function failTimes(breaker: CircuitBreaker, n: number): void {
  for (let i = 0; i < n; i++) {
    expect(breaker.canRequest()).toBe(true);
    breaker.recordFailure();
  }
}

describe('CircuitBreaker', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: start });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens after 5 failures in a row, and a success in between starts the count again', () => {
    const breaker = new CircuitBreaker();
    failTimes(breaker, 4);
    breaker.recordSuccess();
    failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.isOpen()).toBe(true);
    expect(breaker.failures).toBe(5);
  });

  it('refuses requests at once while open, without running them', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2 });
    failTimes(breaker, 2);
    const request = vi.fn(async () => 'sent');
    const refused = await breaker.execute(request).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused).toMatchObject({ code: 'CIRCUIT_OPEN', retryAt: start + 30_000 });
    expect(request).not.toHaveBeenCalled();
    expect(breaker.canRequest()).toBe(false);
    vi.advanceTimersByTime(12_000);
    expect(breaker.msUntilTrial()).toBe(18_000);
  });

  it('lets exactly one trial through after the cool-down, and its success closes the circuit', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 30_000 });
    failTimes(breaker, 1);
    vi.advanceTimersByTime(29_999);
    expect(breaker.canRequest()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(breaker.state).toBe('half-open');
    expect(breaker.msUntilTrial()).toBe(0);
    expect(breaker.canRequest()).toBe(true);
    expect(breaker.canRequest()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.canRequest()).toBe(true);
    expect(breaker.failures).toBe(0);
  });

  it('opens again for a full cool-down when the trial fails', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10_000 });
    failTimes(breaker, 1);
    vi.advanceTimersByTime(10_000);
    await expect(breaker.execute(async () => Promise.reject(new Error('502')))).rejects.toThrow('502');
    expect(breaker.state).toBe('open');
    expect(breaker.msUntilTrial()).toBe(10_000);
    vi.advanceTimersByTime(10_000);
    await expect(breaker.execute(async () => 'ok')).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('tells listeners of every change, on time, until they unsubscribe', () => {
    const seen: CircuitStateChange[] = [];
    const onStateChange = vi.fn();
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 5_000, onStateChange });
    const unsubscribe = breaker.subscribe((change) => seen.push(change));
    failTimes(breaker, 2);
    // Nobody asks the breaker anything: the cool-down timer alone moves it to half-open.
    vi.advanceTimersByTime(5_000);
    expect(breaker.canRequest()).toBe(true);
    breaker.recordSuccess();
    expect(seen).toEqual([
      { state: 'open', previous: 'closed', failures: 2, retryAt: start + 5_000 },
      { state: 'half-open', previous: 'open', failures: 2, retryAt: null },
      { state: 'closed', previous: 'half-open', failures: 0, retryAt: null },
    ]);
    expect(onStateChange).toHaveBeenCalledTimes(3);
    unsubscribe();
    failTimes(breaker, 2);
    expect(seen).toHaveLength(3);
    expect(onStateChange).toHaveBeenCalledTimes(4);
  });

  it('does not count errors that show the server answering', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 2,
      isFailure: (error) => !(error instanceof Error && error.message === 'VALIDATION_FAILED'),
    });
    for (let i = 0; i < 5; i++) {
      await expect(
        breaker.execute(async () => Promise.reject(new Error('VALIDATION_FAILED'))),
      ).rejects.toThrow();
    }
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(async () => Promise.reject(new Error('fetch failed')))).rejects.toThrow();
    await expect(breaker.execute(async () => Promise.reject(new Error('fetch failed')))).rejects.toThrow();
    expect(breaker.state).toBe('open');
  });

  it('hands the trial out again when its holder never reports back', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1_000 });
    failTimes(breaker, 1);
    vi.advanceTimersByTime(1_000);
    expect(breaker.canRequest()).toBe(true);
    vi.advanceTimersByTime(999);
    expect(breaker.canRequest()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(breaker.canRequest()).toBe(true);
  });

  it('ignores late answers to requests sent before it opened', () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    failTimes(breaker, 1);
    breaker.recordSuccess();
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.msUntilTrial()).toBe(30_000);
  });

  it('closes at once on reset and cancels its cool-down', () => {
    const listener = vi.fn();
    const breaker = new CircuitBreaker({ failureThreshold: 1, onStateChange: listener });
    failTimes(breaker, 1);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(breaker.canRequest()).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(breaker.state).toBe('closed');
    expect(listener).toHaveBeenCalledTimes(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses settings that cannot work', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ cooldownMs: -1 })).toThrow(RangeError);
  });
});

describe('CircuitBreaker with timers that run late', () => {
  it('is half-open once the cool-down has passed, even before its timer fires', () => {
    // A background tab can hold timers back for minutes; the clock still moves.
    let now = start;
    const timers: Timers = { now: () => now, setTimeout: () => 0, clearTimeout: () => undefined };
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 30_000, timers });
    breaker.recordFailure();
    now += 30_000;
    expect(breaker.canRequest()).toBe(true);
    expect(breaker.state).toBe('half-open');
  });
});
