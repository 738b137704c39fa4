/**
 * Hybrid logical clock (Kulkarni et al.): wall-clock milliseconds plus a counter, so timestamps
 * follow causality even when device clocks drift, and stay close to real time for people reading
 * them. The text form `<ms:15 digits>-<counter:6 digits>-<node>` sorts in causal order as a plain
 * string; the node id breaks ties deterministically.
 */

export interface HlcTimestamp {
  readonly ms: number;
  readonly counter: number;
  readonly node: string;
}

const hlcPattern = /^(\d{15})-(\d{6})-([A-Za-z0-9_.:-]{1,64})$/;
const maxCounter = 999_999;

export function formatHlc(ts: HlcTimestamp): string {
  return `${String(ts.ms).padStart(15, '0')}-${String(ts.counter).padStart(6, '0')}-${ts.node}`;
}

export function parseHlc(text: string): HlcTimestamp | null {
  const m = hlcPattern.exec(text);
  if (!m) return null;
  return { ms: Number(m[1]), counter: Number(m[2]), node: m[3] ?? '' };
}

export function isHlc(text: unknown): text is string {
  return typeof text === 'string' && hlcPattern.test(text);
}

/** Compares two HLC strings; their text order is their causal order. */
export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface HlcClockOptions {
  node: string;
  /** Injected so simulations and tests can drive time. */
  now?: () => number;
  /** Remote timestamps further ahead than this are refused instead of dragging our clock forward. */
  maxDriftMs?: number;
}

export class HlcClock {
  private last: HlcTimestamp;
  private readonly now: () => number;
  private readonly maxDriftMs: number;

  constructor(options: HlcClockOptions) {
    this.now = options.now ?? Date.now;
    this.maxDriftMs = options.maxDriftMs ?? 24 * 60 * 60 * 1000;
    this.last = { ms: 0, counter: 0, node: options.node };
  }

  /** A timestamp for a local event. */
  tick(): string {
    const wall = this.now();
    if (wall > this.last.ms) this.last = { ...this.last, ms: wall, counter: 0 };
    else this.last = this.bump(this.last.ms, this.last.counter + 1);
    return formatHlc(this.last);
  }

  /**
   * Merge a timestamp received from elsewhere, so our next tick sorts after it. Returns false
   * (and leaves the clock alone) for a malformed timestamp or one implausibly far in the future.
   */
  receive(remote: string): boolean {
    const r = parseHlc(remote);
    const wall = this.now();
    if (!r || r.ms - wall > this.maxDriftMs) return false;
    const ms = Math.max(wall, this.last.ms, r.ms);
    let counter = 0;
    if (ms === this.last.ms && ms === r.ms) counter = Math.max(this.last.counter, r.counter) + 1;
    else if (ms === this.last.ms) counter = this.last.counter + 1;
    else if (ms === r.ms) counter = r.counter + 1;
    this.last = this.bump(ms, counter);
    return true;
  }

  private bump(ms: number, counter: number): HlcTimestamp {
    // A counter overflow borrows the next millisecond rather than breaking the text order.
    if (counter > maxCounter) return { ms: ms + 1, counter: 0, node: this.last.node };
    return { ms, counter, node: this.last.node };
  }
}
