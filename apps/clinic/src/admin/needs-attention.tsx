import { syncAlerts } from '@outpost/core';
import type { ReactNode } from 'react';
import type { DeviceStats, SyncAlert, SyncAlertThresholds } from '@outpost/core';
import { Link } from '../router';
import { DeviceLabel } from '../device-names';
import './needs-attention.css';
import { utcMinute } from '../sync-time';

const minute = 60 * 1000;
const hour = 60 * minute;
const day = 24 * hour;

export function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** A wait as a person says it: "under a minute", "40 minutes", "5 hours", "2 days". */
export function spokenDuration(ms: number): string {
  if (ms < minute) return 'under a minute';
  if (ms < 2 * hour) return plural(Math.round(ms / minute), 'minute');
  if (ms < 2 * day) return plural(Math.round(ms / hour), 'hour');
  return plural(Math.round(ms / day), 'day');
}

/** "the last 7 days": the server's recent window, from the response (a week when it sent none). */
function windowWords(asOf: string | undefined, recentSince: string | undefined): string {
  const days =
    asOf !== undefined && recentSince !== undefined
      ? Math.round((Date.parse(asOf) - Date.parse(recentSince)) / day)
      : 7;
  return `the last ${plural(days, 'day')}`;
}

/** What a coordinator reads about one alert, after the owner and the device. */
function alertWords(alert: SyncAlert, window: string): ReactNode {
  switch (alert.kind) {
    case 'silent':
      return (
        <>
          has not synced for {plural(Math.floor(alert.silentMs / day), 'day')} (last sync{' '}
          {utcMinute(alert.lastSyncAt)} UTC). Anything recorded on it since is only on the device.
        </>
      );
    case 'failing':
      return (
        <>
          {alert.failed} of {alert.total} changes failed {alert.over === 'recent' ? `in ${window}` : 'so far'}{' '}
          ({Math.round(alert.rate * 100)}%): the server refused them for good.
        </>
      );
    case 'conflicts':
      return (
        <>
          {plural(alert.openConflicts, 'conflict')} from this device{' '}
          {alert.openConflicts === 1 ? 'waits' : 'wait'} for review on the{' '}
          <Link href="/conflicts">Conflicts</Link> page.
        </>
      );
    case 'slow':
      return (
        <>
          changes took {spokenDuration(alert.medianMs)} to arrive (median over {window}; longest{' '}
          {spokenDuration(alert.maxMs)}).
        </>
      );
  }
}

/**
 * The devices that need someone's attention, most severe first, by core's syncAlerts (decision
 * 0036) with the clinic's thresholds as the server answered them (decision 0042; the defaults when
 * it sent none), judged at the server's time of the figures.
 */
export function NeedsAttention({
  devices,
  asOf,
  recentSince,
  thresholds,
}: {
  devices: readonly DeviceStats[];
  asOf?: string | undefined;
  recentSince?: string | undefined;
  thresholds?: SyncAlertThresholds | undefined;
}) {
  const alerts = syncAlerts(devices, asOf !== undefined ? new Date(asOf) : new Date(), thresholds);
  const window = windowWords(asOf, recentSince);
  return (
    <section className="needs-attention" aria-labelledby="attention-heading">
      <h2 id="attention-heading">Needs attention</h2>
      {alerts.length === 0 ? (
        <p className="all-normal">All devices are syncing normally.</p>
      ) : (
        <ul>
          {alerts.map((alert) => (
            <li key={`${alert.kind}/${alert.userId}/${alert.deviceId}`} className={alert.severity}>
              <span className="severity">{alert.severity === 'critical' ? 'Urgent' : 'Check'}</span>{' '}
              <strong>{alert.email ?? alert.userId}</strong>, device <DeviceLabel id={alert.deviceId} short />
              : {alertWords(alert, window)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
