/**
 * Which devices of a clinic need someone's attention, from the server's figures per device
 * (`GET /v1/sync/stats/devices`): seed 000's "Monitoring Sync Health" (devices with a failure rate
 * above 10%, operations taking longest to sync) and its production checklist's "Alert thresholds
 * configured", as one rule the clinic app and anything else share. Decision 0036 gives the
 * thresholds and why; queueHealth is the same kind of rule for one device's own queue.
 */
import type { DeviceStats } from './protocol/status';

const hour = 60 * 60 * 1000;
const day = 24 * hour;

export type SyncAlertSeverity = 'critical' | 'warning';

/**
 * - `silent`: the device synced before, but not for longer than a threshold: whatever was typed on
 *   it since is only on it. Not raised for a device the clinic took out of use.
 * - `failing`: more than a share of its recent changes were refused for good (seed 000's FAILED).
 * - `conflicts`: conflicts its changes met wait for a person.
 * - `slow`: its recent changes took long (median) to reach the server after they were made.
 */
export type SyncAlertKind = 'silent' | 'failing' | 'conflicts' | 'slow';

/**
 * The defaults. Every "above" and "after" is strict: a value exactly at the threshold raises no
 * alert (seed 000's failure rule is `failureRate > 10`); `openConflictsAtLeast` is inclusive.
 */
export const syncAlertThresholds = {
  /** Silent for longer than this (a weekend in the field, with a margin), a warning. */
  silentWarningAfterMs: 3 * day,
  /** Silent for longer than this (a working week's visits unsent), critical. */
  silentCriticalAfterMs: 7 * day,
  /** Seed 000: a failure rate above 10% (refused for good over received, recent window), critical. */
  failureRateAbove: 0.1,
  /** This many open conflicts or more, a warning: each waits for a person on the Conflicts page. */
  openConflictsAtLeast: 1,
  /** A median wait above a day between a change being made and reaching the server, a warning. */
  slowMedianAboveMs: day,
} as const;

export type SyncAlertThresholds = { readonly [K in keyof typeof syncAlertThresholds]: number };

/** What syncAlerts reads of a device: DeviceStats, whose window fields a server may not send. */
export type SyncAlertDevice = Pick<
  DeviceStats,
  | 'userId'
  | 'email'
  | 'deviceId'
  | 'lastSyncAt'
  | 'openConflicts'
  | 'total'
  | 'failed'
  | 'recent'
  | 'delay'
  | 'outOfUseSince'
>;

interface AlertOf {
  deviceId: string;
  userId: string;
  email: string | null;
  severity: SyncAlertSeverity;
}

export type SyncAlert =
  | (AlertOf & { kind: 'silent'; lastSyncAt: string; silentMs: number })
  | (AlertOf & {
      kind: 'failing';
      failed: number;
      total: number;
      /** failed / total, 0 to 1. */
      rate: number;
      /** Over the server's recent window, or every op it ever received when it sent no window. */
      over: 'recent' | 'all';
    })
  | (AlertOf & { kind: 'conflicts'; openConflicts: number })
  | (AlertOf & { kind: 'slow'; medianMs: number; maxMs: number; measured: number });

const severityRank: Record<SyncAlertSeverity, number> = { critical: 0, warning: 1 };
const kindRank: Record<SyncAlertKind, number> = { silent: 0, failing: 1, conflicts: 2, slow: 3 };

/** How bad an alert is within its kind: the larger, the earlier it is listed. */
function magnitude(alert: SyncAlert): number {
  switch (alert.kind) {
    case 'silent':
      return alert.silentMs;
    case 'failing':
      return alert.rate;
    case 'conflicts':
      return alert.openConflicts;
    case 'slow':
      return alert.medianMs;
  }
}

/**
 * Orders alerts most severe first: critical before warning; then silent, failing, conflicts, slow
 * (data that may exist only on a device before data refused for good, before data waiting for a
 * person, before data arriving late); then the worse figure first; then by device and user, so
 * the order never depends on the order the devices came in.
 */
export function compareSyncAlerts(a: SyncAlert, b: SyncAlert): number {
  return (
    severityRank[a.severity] - severityRank[b.severity] ||
    kindRank[a.kind] - kindRank[b.kind] ||
    magnitude(b) - magnitude(a) ||
    (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0) ||
    (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)
  );
}

/**
 * The alerts for `devices` at `now` (the server's time the figures were read at, when it sent one:
 * the reader's own clock can be wrong), most severe first; empty when every device is syncing
 * normally. A device may raise several. `thresholds` overrides some of syncAlertThresholds.
 */
export function syncAlerts(
  devices: readonly SyncAlertDevice[],
  now: Date | number,
  thresholds: Partial<SyncAlertThresholds> = {},
): SyncAlert[] {
  const at = typeof now === 'number' ? now : now.getTime();
  if (!Number.isFinite(at)) throw new RangeError('syncAlerts needs a valid time for now');
  const t: SyncAlertThresholds = { ...syncAlertThresholds, ...thresholds };
  const alerts: SyncAlert[] = [];
  for (const d of devices) {
    const of = { deviceId: d.deviceId, userId: d.userId, email: d.email };

    const lastSync = d.lastSyncAt === null ? Number.NaN : Date.parse(d.lastSyncAt);
    const silentMs = at - lastSync;
    // A device taken out of use (decision 0057) is silent by the clinic's own account: a broken
    // or replaced tablet would otherwise be listed for ever. Its other alerts still stand.
    const outOfUse = d.outOfUseSince !== undefined && d.outOfUseSince !== null;
    if (d.lastSyncAt !== null && !outOfUse && silentMs > t.silentWarningAfterMs) {
      const severity = silentMs > t.silentCriticalAfterMs ? 'critical' : 'warning';
      alerts.push({ ...of, severity, kind: 'silent', lastSyncAt: d.lastSyncAt, silentMs });
    }

    const counts = d.recent ?? { total: d.total, failed: d.failed };
    if (counts.total > 0 && counts.failed / counts.total > t.failureRateAbove) {
      alerts.push({
        ...of,
        severity: 'critical',
        kind: 'failing',
        failed: counts.failed,
        total: counts.total,
        rate: counts.failed / counts.total,
        over: d.recent ? 'recent' : 'all',
      });
    }

    if (d.openConflicts > 0 && d.openConflicts >= t.openConflictsAtLeast) {
      alerts.push({ ...of, severity: 'warning', kind: 'conflicts', openConflicts: d.openConflicts });
    }

    if (d.delay && d.delay.medianMs > t.slowMedianAboveMs) {
      const { medianMs, maxMs, measured } = d.delay;
      alerts.push({ ...of, severity: 'warning', kind: 'slow', medianMs, maxMs, measured });
    }
  }
  return alerts.sort(compareSyncAlerts);
}
