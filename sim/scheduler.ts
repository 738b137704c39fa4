/**
 * Virtual time and the one queue of everything that happens in a run: timers of every device,
 * network deliveries, the schedule's actions. Events run one at a time in (time, insertion)
 * order, and each is followed by a drain that lets every promise chain it started run on until it
 * waits for the network or a timer again. Nothing in a run reads the real clock or a real timer,
 * so a seed replays exactly.
 */

interface Entry {
  at: number;
  seq: number;
  label: string;
  run: () => unknown;
  cancelled: boolean;
}

export type EventHandle = Entry;

/** Turns of the event loop a drain gives: enough for chains of promises and stream reads to settle. */
const drainTurns = 2;

export async function drain(): Promise<void> {
  for (let i = 0; i < drainTurns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class Scheduler {
  private current: number;
  private seq = 0;
  private readonly heap: Entry[] = [];
  /** Called with each event as it runs: the run's trace. */
  onEvent: (at: number, label: string) => void = () => {};
  eventsRun = 0;

  constructor(start: number) {
    this.current = start;
  }

  get now(): number {
    return this.current;
  }

  at(time: number, label: string, run: () => unknown): EventHandle {
    const entry: Entry = { at: Math.max(time, this.current), seq: this.seq++, label, run, cancelled: false };
    this.push(entry);
    return entry;
  }

  after(ms: number, label: string, run: () => unknown): EventHandle {
    return this.at(this.current + Math.max(0, ms), label, run);
  }

  cancel(handle: EventHandle): void {
    handle.cancelled = true;
  }

  /** Runs the next event; false when none is left. */
  async step(): Promise<boolean> {
    for (;;) {
      const entry = this.pop();
      if (!entry) return false;
      if (entry.cancelled) continue;
      this.current = entry.at;
      this.eventsRun += 1;
      this.onEvent(entry.at, entry.label);
      await entry.run();
      await drain();
      return true;
    }
  }

  /** Runs events up to `time` (inclusive), then moves the clock there. */
  async runUntil(time: number): Promise<void> {
    while (this.heap.length > 0 && this.peekTime() <= time) await this.step();
    this.current = Math.max(this.current, time);
  }

  /**
   * Runs events until `promise` settles, at most `limitMs` of virtual time. Returns false when it
   * did not settle in time (or nothing was left to run while it waited).
   */
  async runWhile<T>(promise: Promise<T>, limitMs: number): Promise<{ settled: boolean; value?: T }> {
    let state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
    promise.then(
      (value) => (state = { settled: true, value }),
      (error: unknown) => (state = { settled: true, error }),
    );
    await drain();
    const end = this.current + limitMs;
    while (!state.settled) {
      if (this.heap.length === 0 || this.peekTime() > end) return { settled: false };
      await this.step();
    }
    if ('error' in state) throw state.error;
    return state;
  }

  private peekTime(): number {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap.length > 0 ? this.heap[0]!.at : Infinity;
  }

  private before(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && this.before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
