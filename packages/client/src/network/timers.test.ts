import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemTimers } from './timers';

describe('systemTimers', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2024, 10, 2, 8) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('follows fake timers installed after it was imported', () => {
    const fired = vi.fn();
    systemTimers.setTimeout(fired, 1_000);
    vi.advanceTimersByTime(999);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledOnce();
    expect(systemTimers.now()).toBe(Date.UTC(2024, 10, 2, 8) + 1_000);
  });

  it('cancels a timer by its handle', () => {
    const fired = vi.fn();
    const handle = systemTimers.setTimeout(fired, 10);
    systemTimers.clearTimeout(handle);
    vi.advanceTimersByTime(100);
    expect(fired).not.toHaveBeenCalled();
  });
});
