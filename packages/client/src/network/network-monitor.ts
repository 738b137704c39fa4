/**
 * Whether the server can be reached, and how well. The browser's `online`/`offline` events are quick
 * but only say a network interface is up, not that the server answers (a clinic's Wi-Fi without an
 * uplink reads as online), so the monitor also asks the server itself: `GET <url>/v1/health`, timed,
 * given up after a timeout. Listeners hear of every change of `online` or `quality`; the client
 * syncs when `online` comes back. Between a browser event and the probe's answer the monitor is
 * "transitioning" (a UI says it is checking the connection); that flag has listeners of its own,
 * so a flip of it never reads as the network coming back.
 */
import { systemTimers } from './timers';
import type { TimerHandle, Timers } from './timers';

export type NetworkQuality = 'excellent' | 'good' | 'poor' | 'offline';

export interface NetworkStatus {
  readonly online: boolean;
  readonly quality: NetworkQuality;
  /** Round trip of the last probe that got an answer (to the response headers); null when none did. */
  readonly latencyMs: number | null;
  /** When (ms since epoch) the last probe finished; null before the first. */
  readonly lastCheckedAt: number | null;
}

/**
 * What a probe's round trip says about the link. An answer under `excellentBelowMs` is excellent,
 * under `goodBelowMs` good, any slower answer (or an error status: the server is there but unwell)
 * poor. No answer within `probeTimeoutMs`, or a failed request, is offline.
 */
export const networkThresholds = {
  excellentBelowMs: 300,
  goodBelowMs: 1_000,
  probeTimeoutMs: 10_000,
  probeIntervalMs: 30_000,
} as const;

export function qualityForLatency(latencyMs: number): Exclude<NetworkQuality, 'offline'> {
  if (latencyMs < networkThresholds.excellentBelowMs) return 'excellent';
  if (latencyMs < networkThresholds.goodBelowMs) return 'good';
  return 'poor';
}

/** The part of `window` the monitor uses; any EventTarget firing `online` and `offline` will do. */
export type NetworkEvents = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

export type NetworkListener = (status: NetworkStatus, previous: NetworkStatus) => void;

/** Told `true` when an online/offline event starts a probe, `false` when its answer is in (or on stop). */
export type TransitionListener = (isTransitioning: boolean) => void;

/** The status with whether the monitor is checking it after a browser event: what a UI shows. */
export interface NetworkSnapshot extends NetworkStatus {
  readonly isTransitioning: boolean;
}

export interface NetworkMonitorOptions {
  /** The server's base URL; the probe asks `<url>/v1/health`. */
  url: string;
  /** Defaults to the platform's fetch, looked up at call time. */
  fetch?: typeof fetch;
  timers?: Timers;
  /** Where `online`/`offline` events come from. Defaults to `window` when there is one; null: none. */
  events?: NetworkEvents | null;
  /** How often `start()` probes. Default 30 s; 0 probes only at start and on events. */
  intervalMs?: number;
  /** How long a probe waits for an answer. Default 10 s. */
  timeoutMs?: number;
  /** What to assume before the first probe. Defaults to `navigator.onLine` where it exists, else true. */
  initiallyOnline?: boolean;
}

interface Probe {
  readonly controller: AbortController;
  readonly result: Promise<NetworkStatus>;
}

function platformOnline(): boolean {
  const navigatorLike = (globalThis as { navigator?: { onLine?: unknown } }).navigator;
  return typeof navigatorLike?.onLine === 'boolean' ? navigatorLike.onLine : true;
}

function platformEvents(): NetworkEvents | undefined {
  // Read off globalThis: a service worker runs the client too, with no window (and no DOM types).
  return (globalThis as { window?: NetworkEvents }).window;
}

export class NetworkMonitor {
  private current: NetworkStatus;
  private probe: Probe | null = null;
  /** True while the probe answering an online/offline event is out. */
  private transitioning = false;
  /** What the transition listeners last heard: a flag set and reset before they hear is no flip. */
  private toldTransitioning = false;
  private running = false;
  private intervalTimer: TimerHandle | null = null;
  private readonly listeners = new Set<NetworkListener>();
  private readonly transitionListeners = new Set<TransitionListener>();
  private readonly healthUrl: string;
  private readonly doFetch: typeof fetch;
  private readonly timers: Timers;
  private readonly events: NetworkEvents | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(options: NetworkMonitorOptions) {
    this.healthUrl = `${options.url.replace(/\/+$/, '')}/v1/health`;
    this.doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timers = options.timers ?? systemTimers;
    this.events = options.events === null ? undefined : (options.events ?? platformEvents());
    this.intervalMs = options.intervalMs ?? networkThresholds.probeIntervalMs;
    this.timeoutMs = options.timeoutMs ?? networkThresholds.probeTimeoutMs;
    // Until the first probe answers, this is a guess, and lastCheckedAt: null says so.
    const online = options.initiallyOnline ?? platformOnline();
    this.current = { online, quality: online ? 'good' : 'offline', latencyMs: null, lastCheckedAt: null };
  }

  get status(): NetworkStatus {
    return this.current;
  }

  /** True between an online/offline event and the answer of the probe it started. */
  get isTransitioning(): boolean {
    return this.transitioning;
  }

  /** Listens for events and probes now and every `intervalMs`. Calling it again does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.events?.addEventListener('online', this.onOnline);
    this.events?.addEventListener('offline', this.onOffline);
    void this.check();
    this.scheduleNext();
  }

  /** Stops listening and probing; a probe still out is abandoned and its answer ignored. */
  stop(): void {
    this.running = false;
    this.events?.removeEventListener('online', this.onOnline);
    this.events?.removeEventListener('offline', this.onOffline);
    if (this.intervalTimer !== null) this.timers.clearTimeout(this.intervalTimer);
    this.intervalTimer = null;
    this.abandonProbe();
    // Nobody will answer the event any more: a UI saying "checking" must hear that it stopped.
    this.transitioning = false;
    this.tellTransition();
  }

  /** Probes the server now (or joins the probe already out) and returns the status it leads to. */
  check(): Promise<NetworkStatus> {
    return this.probe?.result ?? this.startProbe();
  }

  /** Tells `listener` of every change of `online` or `quality`; returns the function that stops it. */
  subscribe(listener: NetworkListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Tells `listener` each time `isTransitioning` flips, on and off; returns the function that
   * stops it. Apart from `subscribe` so that a flip alone (an offline event the probe confirms)
   * never looks like a change of `online` to whoever syncs on reconnect. When a flip comes with a
   * change of status, the status listeners are told first, and already read the new flag.
   */
  subscribeTransitioning(listener: TransitionListener): () => void {
    this.transitionListeners.add(listener);
    return () => {
      this.transitionListeners.delete(listener);
    };
  }

  private readonly onOnline = () => {
    // The interface is up; only an answer from the server makes the device online.
    this.restartProbeForEvent(null);
  };

  private readonly onOffline = () => {
    // No interface at all is certain: say so at once, then confirm with a probe.
    this.restartProbeForEvent({ ...this.current, online: false, quality: 'offline', latencyMs: null });
  };

  private restartProbeForEvent(known: NetworkStatus | null): void {
    // What a probe sent before the change finds out is stale: start again.
    this.abandonProbe();
    this.transitioning = true;
    if (known !== null) this.apply(known);
    this.tellTransition();
    void this.startProbe(true);
  }

  private scheduleNext(): void {
    if (!this.running || this.intervalMs <= 0) return;
    this.intervalTimer = this.timers.setTimeout(() => {
      this.intervalTimer = null;
      this.scheduleNext();
      void this.check();
    }, this.intervalMs);
  }

  private abandonProbe(): void {
    const probe = this.probe;
    this.probe = null;
    probe?.controller.abort();
  }

  private startProbe(afterEvent = false): Promise<NetworkStatus> {
    const controller = new AbortController();
    const result = this.runProbe(controller).then((next) => {
      // Abandoned (stopped, or overtaken by an event): leave the status to whatever came after.
      if (this.probe?.controller !== controller) return this.probe?.result ?? this.current;
      this.probe = null;
      if (afterEvent) this.transitioning = false;
      this.apply(next);
      this.tellTransition();
      return next;
    });
    this.probe = { controller, result };
    return result;
  }

  /** One probe; never rejects: every way of not getting an answer reads as offline. */
  private async runProbe(controller: AbortController): Promise<NetworkStatus> {
    const timer = this.timers.setTimeout(() => controller.abort(), this.timeoutMs);
    const started = this.timers.now();
    // Racing the abort as well means even a fetch that ignores its signal cannot hold a probe forever.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    try {
      const request = this.doFetch(this.healthUrl, {
        method: 'GET',
        signal: controller.signal,
        cache: 'no-store',
        headers: { accept: 'application/json' },
      });
      const response = await Promise.race([request, aborted]);
      const finished = this.timers.now();
      const latencyMs = finished - started;
      // The status line is the answer; the body is not needed, so free the connection.
      response.body?.cancel().catch(() => undefined);
      return {
        online: true,
        quality: response.ok ? qualityForLatency(latencyMs) : 'poor',
        latencyMs,
        lastCheckedAt: finished,
      };
    } catch {
      return { online: false, quality: 'offline', latencyMs: null, lastCheckedAt: this.timers.now() };
    } finally {
      this.timers.clearTimeout(timer);
    }
  }

  private apply(next: NetworkStatus): void {
    const previous = this.current;
    this.current = next;
    if (previous.online === next.online && previous.quality === next.quality) return;
    for (const listener of [...this.listeners]) tellSafely(() => listener(next, previous));
  }

  /** Tells the transition listeners if the flag moved since they last heard; else nothing. */
  private tellTransition(): void {
    const transitioning = this.transitioning;
    if (transitioning === this.toldTransitioning) return;
    this.toldTransitioning = transitioning;
    for (const listener of [...this.transitionListeners]) tellSafely(() => listener(transitioning));
  }
}

function tellSafely(call: () => void): void {
  try {
    call();
  } catch (error) {
    // One broken listener must not stop the others or the monitor; it still surfaces.
    queueMicrotask(() => {
      throw error;
    });
  }
}
