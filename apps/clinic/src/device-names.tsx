import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { deviceNameResponseSchema, deviceNamesResponseSchema } from '@outpost/core';
import type { DeviceNameResponse } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { DeviceNamingProvider, useNetworkStatus } from '@outpost/react';
import { fetchJson } from './server-json';
import { deviceId } from './session';

/**
 * The names the clinic gave its devices (decision 0056), as the server answers them to the person
 * signed in: every device's for an administrator, those she syncs on for anyone else. Read once
 * online; a naming on this page keeps the server's answer; the pages that name devices (Statistics, the audit
 * log, refused changes, Sync details) read them here rather than each asking the server.
 */
interface DeviceNames {
  /** Device id to name; a device missing here has no name (or none this person may read). */
  names: ReadonlyMap<string, string>;
  /** Names `id` (null: removes its name) on the server, and keeps the name it answers. */
  name(id: string, name: string | null): Promise<DeviceNameResponse>;
}

const noNames: DeviceNames = {
  names: new Map(),
  name: () => Promise.reject(new Error('device names are not available here')),
};

const DeviceNamesContext = createContext<DeviceNames>(noNames);

/** Where this tablet keeps its own name, so Sync details and the support file say it offline too. */
const ownNameKey = 'outpost.deviceName';

/** This tablet's name as last read from the server or given here; null when it has none. */
export function rememberedDeviceName(): string | null {
  return localStorage.getItem(ownNameKey);
}

function rememberOwnName(own: string | undefined): void {
  if (own === undefined) localStorage.removeItem(ownNameKey);
  else localStorage.setItem(ownNameKey, own);
}

export function DeviceNamesProvider({ tokens, children }: { tokens: TokenSession; children: ReactNode }) {
  const { isOnline } = useNetworkStatus();
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());

  useEffect(() => {
    if (!isOnline) return;
    let cancelled = false;
    // With this tablet's id: its name is answered to whoever uses it, not only to who named it.
    const own = new URLSearchParams({ deviceId: deviceId() });
    fetchJson(`/v1/device-names?${own}`, tokens, (b) => deviceNamesResponseSchema.parse(b)).then(
      ({ devices }) => {
        if (cancelled) return;
        const read = new Map(devices.map((d) => [d.deviceId, d.name]));
        setNames(read);
        rememberOwnName(read.get(deviceId()));
      },
      // An older server, or none to reach: devices show by their ids, as before names.
      (err: unknown) => console.error('The devices’ names could not be read:', err),
    );
    return () => {
      cancelled = true;
    };
  }, [isOnline, tokens]);

  const name = useCallback(
    async (id: string, newName: string | null) => {
      const answer = await fetchJson(
        '/v1/device-names',
        tokens,
        (b) => deviceNameResponseSchema.parse(b),
        { deviceId: id, name: newName },
        'PUT',
      );
      // The server's answer is the device's name now: nothing else to read again.
      if (id === deviceId()) rememberOwnName(answer.name ?? undefined);
      setNames((before) => {
        const after = new Map(before);
        if (answer.name === null) after.delete(id);
        else after.set(id, answer.name);
        return after;
      });
      return answer;
    },
    [tokens],
  );

  const value = useMemo(() => ({ names, name }), [names, name]);
  // The React bindings' conflict dialog names the tablet a conflict came from by these names too.
  const naming = useCallback((id: string) => names.get(id) ?? `device ${shortId(id)}`, [names]);
  return (
    <DeviceNamesContext.Provider value={value}>
      <DeviceNamingProvider name={naming}>{children}</DeviceNamingProvider>
    </DeviceNamesContext.Provider>
  );
}

export function useDeviceNames(): DeviceNames {
  return useContext(DeviceNamesContext);
}

/**
 * A device as a person reads it: its name, with the start of its id beside in small type; its id
 * alone when unnamed, whole in a table (support may ask for it), cut in a sentence (`short`).
 */
export function DeviceLabel({ id, short = false }: { id: string; short?: boolean }) {
  const name = useDeviceNames().names.get(id);
  if (name === undefined)
    return short ? (
      <span className="device-id" title={id}>
        {shortId(id)}
      </span>
    ) : (
      <span className="device-id">{id}</span>
    );
  return (
    <span title={id}>
      {name} <small className="muted device-id">{shortId(id)}</small>
    </span>
  );
}

/** A device's id as shown beside its name: long generated ids cut to their start. */
export function shortId(id: string): string {
  return id.length > 17 ? `${id.slice(0, 16)}…` : id;
}

/** A device in plain text (a chart's label, a CSV cell): its name, or its id. */
export function deviceWords(id: string, names: ReadonlyMap<string, string>): string {
  return names.get(id) ?? id;
}
