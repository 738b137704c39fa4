/**
 * The automatic syncs a client makes by itself (seed 001's `syncOnReconnect` and `autoSyncEnabled`):
 * what the `autoSync` option and `client.setAutoSync` take, how a value is checked, and the
 * settings it comes to. One check for both, so a setting refused when the client is made is
 * refused alike while it runs, and the other way round.
 */

/** What `autoSync` and `setAutoSync` take: fields left out take the defaults; `false`: only by hand. */
export type AutoSyncOption =
  | {
      /** Sync once as soon as the server answers again after the device was offline. Default true. */
      onReconnect?: boolean;
      /** Sync every this many ms while the server answers; 0: no timed sync. Default 5 minutes. */
      intervalMs?: number;
      /** Sync after each local write and file attached, while the server answers. Default false. */
      afterWrite?: boolean;
      /**
       * Keep the server's live stream open while it answers, and pull as soon as it says the
       * clinic's data changed. Default false.
       */
      live?: boolean;
    }
  | false;

/** The automatic syncs in effect, as `client.autoSync` reads them: every field set. */
export interface AutoSyncSettings {
  readonly onReconnect: boolean;
  readonly intervalMs: number;
  readonly afterWrite: boolean;
  readonly live: boolean;
}

export const defaultAutoSync: AutoSyncSettings = Object.freeze({
  onReconnect: true,
  intervalMs: 300_000,
  afterWrite: false,
  live: false,
});

/** The longest wait a platform timer keeps: a longer one fires at once, and again, in a loop. */
const maxIntervalMs = 2_147_483_647;
const switches = ['onReconnect', 'afterWrite', 'live'] as const;
const known: ReadonlySet<string> = new Set([...switches, 'intervalMs']);

/**
 * Refuses a setting that cannot work, and returns the settings it comes to (frozen). A timer of a
 * negative, NaN, infinite or over-long interval fires at once, over and over (a sync loop); a name
 * the setting does not have (`enabled: false`, seed 001's `syncOnReconnect`) would be dropped
 * silently and leave the defaults on, the opposite of what was meant. `undefined` is the default
 * (`createSyncClient` without the option), accepted only when `allowDefault`: `setAutoSync`
 * takes the setting whole.
 */
export function checkAutoSync(value: unknown, allowDefault: boolean): AutoSyncSettings | false {
  if (value === undefined && allowDefault) return defaultAutoSync;
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `autoSync must be { onReconnect, intervalMs, afterWrite, live } or false, got ${describe(value)}`,
    );
  }
  const given = value as Record<string, unknown>;
  const unknown = Object.keys(given).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new TypeError(
      `autoSync has no setting named ${unknown.join(', ')}: it takes onReconnect, intervalMs, afterWrite and live`,
    );
  }
  for (const name of switches) {
    const v = given[name];
    if (v !== undefined && typeof v !== 'boolean') {
      throw new TypeError(`autoSync.${name} must be true or false, got ${describe(v)}`);
    }
  }
  const intervalMs = given['intervalMs'];
  if (
    intervalMs !== undefined &&
    !(typeof intervalMs === 'number' && intervalMs >= 0 && intervalMs <= maxIntervalMs)
  ) {
    throw new RangeError(
      `autoSync.intervalMs must be 0 (no timed sync) or a number of ms up to ${maxIntervalMs}, got ${describe(intervalMs)}`,
    );
  }
  const pick = <K extends keyof AutoSyncSettings>(name: K): AutoSyncSettings[K] =>
    (given[name] as AutoSyncSettings[K] | undefined) ?? defaultAutoSync[name];
  return Object.freeze({
    onReconnect: pick('onReconnect'),
    intervalMs: pick('intervalMs'),
    afterWrite: pick('afterWrite'),
    live: pick('live'),
  });
}

export function sameAutoSync(a: AutoSyncSettings | false, b: AutoSyncSettings | false): boolean {
  if (a === false || b === false) return a === b;
  return (
    a.onReconnect === b.onReconnect &&
    a.intervalMs === b.intervalMs &&
    a.afterWrite === b.afterWrite &&
    a.live === b.live
  );
}

/**
 * Whether these settings send the device's changes by themselves: on reconnect, on a timer or after
 * a write. The live stream only pulls.
 */
export function sendsByItself(settings: AutoSyncSettings | false): boolean {
  return settings !== false && (settings.onReconnect || settings.intervalMs > 0 || settings.afterWrite);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
