/**
 * Time as the network layer sees it, passed in so tests and the simulation can drive it. The system
 * version looks `setTimeout` up on every call instead of capturing it, so fake timers installed
 * after this module loaded (vitest's `vi.useFakeTimers()`) still take effect.
 */

/** Whatever `setTimeout` returned: a number in browsers, an object in Node, anything in a fake. */
export type TimerHandle = unknown;

export interface Timers {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};
