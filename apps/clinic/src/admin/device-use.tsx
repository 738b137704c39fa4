import { useState } from 'react';
import { deviceUseResponseSchema } from '@outpost/core';
import type { DeviceUseResponse } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { fetchJson } from '../server-json';
import { deviceWords, useDeviceNames } from '../device-names';

/**
 * "Out of use" and "In use again" for an administrator on the Statistics page (decision 0057). A
 * tablet broken, lost or replaced is taken out of use once the administrator has read what that
 * means, and "Needs attention" stops listing it as silent; it is back in use when it syncs again,
 * or when put back here. The server decides; the page keeps its answer.
 */
export function DeviceUse({
  id,
  outOfUse,
  tokens,
  onChanged,
}: {
  id: string;
  /** Whether the device is out of use for the row it is shown in. */
  outOfUse: boolean;
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>;
  onChanged: (answer: DeviceUseResponse) => void;
}) {
  const { isOnline } = useNetworkStatus();
  const { names } = useDeviceNames();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const device = deviceWords(id, names);

  const send = (inUse: boolean) => {
    setBusy(true);
    setError(null);
    fetchJson(
      '/v1/device-use',
      tokens,
      (b) => deviceUseResponseSchema.parse(b),
      { deviceId: id, inUse },
      'PUT',
    ).then(
      (answer) => {
        setBusy(false);
        setAsking(false);
        onChanged(answer);
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof Error ? err.message : String(err));
      },
    );
  };

  return (
    <>
      {asking ? (
        <div role="group" aria-label={`Take ${device} out of use`} className="device-use">
          <p>
            Take this device out of use when it is broken, lost or replaced: “Needs attention” stops listing
            it as silent. Anything recorded on it and never sent stays only on it. If it syncs again, it is in
            use again by itself.
          </p>
          <button type="button" disabled={busy || !isOnline} onClick={() => send(false)}>
            Take out of use
          </button>{' '}
          <button type="button" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </div>
      ) : (
        <button
          type="button"
          className="link-button"
          disabled={busy || !isOnline}
          aria-label={outOfUse ? `${device} in use again` : `${device} out of use`}
          onClick={() => (outOfUse ? send(true) : setAsking(true))}
        >
          {outOfUse ? 'In use again' : 'Out of use'}
        </button>
      )}
      {error !== null ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </>
  );
}
