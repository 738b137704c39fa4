import { useEffect, useState } from 'react';
import { deviceStatsResponseSchema, outOfUseSince, statsResponseSchema } from '@outpost/core';
import type {
  DeviceStatsResponse,
  DeviceUseResponse,
  StatsResponse,
  SyncAlertThresholds,
} from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { SyncChart } from './sync-chart';
import { NeedsAttention, spokenDuration } from './needs-attention';
import { fetchJson } from '../server-json';
import { EndSessions } from './end-sessions';
import { AlertThresholds } from './alert-thresholds';
import { ServerBackups } from './server-backups';
import { utcMinute } from '../sync-time';
import { DeviceLabel, useDeviceNames } from '../device-names';
import { DeviceNameForm } from '../device-name-form';
import { DeviceUse } from './device-use';

interface Loaded {
  total: StatsResponse;
  /** Each device's figures, and the server's time and recent window they were read at. */
  perDevice: DeviceStatsResponse;
}

/**
 * Seed 000's sync statistics for the clinic, and per device and user, from the server; which
 * devices need attention, by the clinic's alert thresholds, which an administrator may change.
 */
export function StatisticsPage({ tokens, canChange }: { tokens: TokenSession; canChange: boolean }) {
  const { isOnline } = useNetworkStatus();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The thresholds an administrator saved on this page since its figures were read. */
  const [saved, setSaved] = useState<SyncAlertThresholds | null>(null);

  useEffect(() => {
    if (!isOnline) return;
    let cancelled = false;
    Promise.all([
      fetchJson('/v1/sync/stats', tokens, (b) => statsResponseSchema.parse(b)),
      fetchJson('/v1/sync/stats/devices', tokens, (b) => deviceStatsResponseSchema.parse(b)),
    ]).then(
      ([total, perDevice]) => !cancelled && setLoaded({ total, perDevice }),
      (err: unknown) => !cancelled && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [isOnline, tokens]);

  // A device taken out of use or put back: every row of it (one per person who synced on it),
  // each out of use unless that person synced on it since (core's outOfUseSince).
  const useChanged = (answer: DeviceUseResponse) =>
    setLoaded((before) =>
      before === null
        ? before
        : {
            ...before,
            perDevice: {
              ...before.perDevice,
              devices: before.perDevice.devices.map((d) =>
                d.deviceId === answer.deviceId
                  ? { ...d, outOfUseSince: outOfUseSince(answer.outOfUseSince, d.lastSyncAt) }
                  : d,
              ),
            },
          },
    );

  return (
    <section aria-labelledby="stats-heading">
      <h1 id="stats-heading">Sync statistics</h1>
      {!isOnline && loaded === null ? (
        <p role="status">Statistics come from the server: connect to see them.</p>
      ) : null}
      {error !== null ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {loaded !== null ? (
        <>
          <NeedsAttention
            devices={loaded.perDevice.devices}
            asOf={loaded.perDevice.asOf}
            recentSince={loaded.perDevice.recentSince}
            thresholds={saved ?? loaded.perDevice.alertThresholds}
          />
          {canChange ? <ServerBackups tokens={tokens} /> : null}
          <dl className="totals" aria-label="Whole clinic">
            <div>
              <dt>Changes received</dt>
              <dd>{loaded.total.total}</dd>
            </div>
            <div>
              <dt>Synced</dt>
              <dd>{loaded.total.synced}</dd>
            </div>
            <div>
              <dt>Conflicts</dt>
              <dd>{loaded.total.conflicts}</dd>
            </div>
            <div>
              <dt>Failed</dt>
              <dd>{loaded.total.failed}</dd>
            </div>
            <div>
              <dt>Sync rate</dt>
              <dd>{loaded.total.syncRate}</dd>
            </div>
          </dl>
          <SyncChart devices={loaded.perDevice.devices} />
          {/* Ten columns are wider than a tablet held upright: the table scrolls, not the page. */}
          <div className="table-scroll" role="region" aria-label="Figures per device" tabIndex={0}>
            <table className="grid" aria-label="Devices">
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Device</th>
                  <th scope="col">Last sync</th>
                  <th scope="col">Pending</th>
                  <th scope="col">Synced</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Conflicts (open)</th>
                  <th scope="col">Sync rate</th>
                  <th scope="col">Took to arrive (median)</th>
                  <th scope="col">Took to arrive (longest)</th>
                </tr>
              </thead>
              <tbody>
                {loaded.perDevice.devices.map((d) => (
                  <tr key={`${d.userId}/${d.deviceId}`}>
                    <td>{d.email ?? d.userId}</td>
                    <td>
                      <DeviceCell id={d.deviceId} canName={canChange} />
                      {canChange ? (
                        <>
                          {' '}
                          <DeviceUse
                            id={d.deviceId}
                            outOfUse={Boolean(d.outOfUseSince)}
                            tokens={tokens}
                            onChanged={useChanged}
                          />
                        </>
                      ) : null}
                    </td>
                    <td>
                      <span className="nowrap">
                        {d.lastSyncAt !== null ? utcMinute(d.lastSyncAt) : 'never'}
                      </span>
                      {d.outOfUseSince ? (
                        <span className="muted out-of-use">
                          {' '}
                          Out of use since <span className="nowrap">{utcMinute(d.outOfUseSince)}</span>
                        </span>
                      ) : null}
                    </td>
                    <td>{d.pending}</td>
                    <td>{d.synced}</td>
                    <td>{d.failed}</td>
                    <td>
                      {d.conflicts} ({d.openConflicts})
                    </td>
                    <td>{d.syncRate}</td>
                    <td>{d.delay ? spokenDuration(d.delay.medianMs) : '—'}</td>
                    <td>{d.delay ? spokenDuration(d.delay.maxMs) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      <AlertThresholds tokens={tokens} canChange={canChange} onChanged={setSaved} />
      {loaded !== null ? <EndSessions people={peopleOf(loaded.perDevice.devices)} tokens={tokens} /> : null}
    </section>
  );
}

/**
 * A device in the table: its name (decision 0056), and for an administrator "Name" or "Rename",
 * which opens the name's form in place.
 */
function DeviceCell({ id, canName }: { id: string; canName: boolean }) {
  const name = useDeviceNames().names.get(id) ?? null;
  const [naming, setNaming] = useState(false);
  if (naming)
    return <DeviceNameForm id={id} current={name} label={`Name of ${id}`} onDone={() => setNaming(false)} />;
  return (
    <>
      <DeviceLabel id={id} />
      {canName ? (
        <>
          {' '}
          <button type="button" className="link-button" onClick={() => setNaming(true)}>
            {name === null ? 'Name' : 'Rename'}
          </button>
        </>
      ) : null}
    </>
  );
}

/** Each person who synced from a device, once, by email where the server knows it. */
function peopleOf(devices: DeviceStatsResponse['devices']): Array<{ userId: string; name: string }> {
  const seen = new Map<string, string>();
  for (const d of devices) if (!seen.has(d.userId)) seen.set(d.userId, d.email ?? d.userId);
  return [...seen].map(([userId, name]) => ({ userId, name }));
}
