import { useEffect, useState } from 'react';
import { deviceStatsResponseSchema, statsResponseSchema } from '@outpost/core';
import type { DeviceStats, StatsResponse } from '@outpost/core';
import { useNetworkStatus } from '@outpost/react';
import type { Session } from '../session';
import { SyncChart } from './sync-chart';

interface Loaded {
  total: StatsResponse;
  devices: readonly DeviceStats[];
}

async function fetchJson<T>(path: string, token: string, parse: (body: unknown) => T): Promise<T> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  const body: unknown = await res.json();
  if (!res.ok)
    throw new Error((body as { error?: { message?: string } }).error?.message ?? `HTTP ${res.status}`);
  return parse(body);
}

/** Seed 000's sync statistics for the clinic, and per device and user, from the server. */
export function StatisticsPage({ session }: { session: Session }) {
  const { isOnline } = useNetworkStatus();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!isOnline) return;
    let cancelled = false;
    Promise.all([
      fetchJson('/v1/sync/stats', session.token, (b) => statsResponseSchema.parse(b)),
      fetchJson('/v1/sync/stats/devices', session.token, (b) => deviceStatsResponseSchema.parse(b).devices),
    ]).then(
      ([total, devices]) => !cancelled && setLoaded({ total, devices }),
      (err: unknown) => !cancelled && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [isOnline, session.token]);

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
          <SyncChart devices={loaded.devices} />
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
              </tr>
            </thead>
            <tbody>
              {loaded.devices.map((d) => (
                <tr key={`${d.userId}/${d.deviceId}`}>
                  <td>{d.email ?? d.userId}</td>
                  <td>{d.deviceId}</td>
                  <td>{d.lastSyncAt?.slice(0, 16).replace('T', ' ') ?? 'never'}</td>
                  <td>{d.pending}</td>
                  <td>{d.synced}</td>
                  <td>{d.failed}</td>
                  <td>
                    {d.conflicts} ({d.openConflicts})
                  </td>
                  <td>{d.syncRate}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
