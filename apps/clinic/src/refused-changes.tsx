import { useEffect, useState } from 'react';
import { isRefused } from '@outpost/client';
import type { Rejection } from '@outpost/core';
import { useNetworkStatus, useSyncClient, useSyncQueue } from '@outpost/react';
import { typedText } from './typed-text';
import { DeviceLabel } from './device-names';

/**
 * The server's archive of changes it refused for good, with what was typed: the clinician can
 * copy it into a new record even from another tablet. Administrators see every device's. A change
 * still kept on this device can be dismissed here once read: it stops being shown and counted on
 * the device, and stays in the archive.
 */
export function RefusedChanges() {
  const client = useSyncClient();
  const { isOnline } = useNetworkStatus();
  const { operations, discard } = useSyncQueue();
  const keptHere = new Map(operations.filter(isRefused).map((o) => [o.opId, o.seq]));
  const [dismissError, setDismissError] = useState<string | null>(null);
  const dismiss = async (seq: number) => {
    try {
      await discard([seq]);
      setDismissError(null);
    } catch (err) {
      setDismissError(err instanceof Error ? err.message : String(err));
    }
  };
  const [state, setState] = useState<{ rejections: Rejection[] | null; error: string | null }>({
    rejections: null,
    error: null,
  });
  const refresh = async () => {
    try {
      setState({ rejections: (await client.rejections.fetch()).reverse(), error: null });
    } catch (err) {
      setState((s) => ({ ...s, error: err instanceof Error ? err.message : String(err) }));
    }
  };
  useEffect(() => {
    if (isOnline) void refresh();
    // Fetch when the page opens and whenever the network comes back.
  }, [isOnline]);

  const { rejections, error } = state;
  return (
    <section aria-labelledby="refused-heading">
      <div className="page-head">
        <h2 id="refused-heading">Refused by the server</h2>
        <button type="button" onClick={() => void refresh()} disabled={!isOnline}>
          Refresh refused changes
        </button>
      </div>
      <p className="muted">
        Changes the server could not accept, kept on the server with what was typed. Newest first.
        &ldquo;Dismiss&rdquo; takes a change off this device once you have read it; the server keeps it.
      </p>
      {!isOnline && rejections === null ? <p>Connect to the server to see its archive.</p> : null}
      {error !== null ? (
        <p role="alert" className="error">
          Could not fetch refused changes: {error}
        </p>
      ) : null}
      {dismissError !== null ? (
        <p role="alert" className="error">
          Could not dismiss the change: {dismissError}
        </p>
      ) : null}
      {rejections !== null && rejections.length === 0 ? <p>Nothing was refused.</p> : null}
      {rejections !== null && rejections.length > 0 ? (
        <table aria-label="Refused changes">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Change</th>
              <th scope="col">Reason</th>
              <th scope="col">What was typed</th>
              <th scope="col">Device</th>
              <th scope="col">On this device</th>
            </tr>
          </thead>
          <tbody>
            {rejections.map((r) => (
              <tr key={r.id}>
                <td>{new Date(r.rejectedAt).toLocaleString()}</td>
                <td>
                  {r.opType} {r.collection}
                </td>
                <td>{r.error.message}</td>
                <td>{typedText(r.data)}</td>
                <td>
                  <DeviceLabel id={r.deviceId} />
                </td>
                <td>
                  {keptHere.has(r.opId) ? (
                    <button type="button" onClick={() => void dismiss(keptHere.get(r.opId) as number)}>
                      Dismiss
                    </button>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
