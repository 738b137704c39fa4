import { createContext, useContext } from 'react';
import type { ReactNode } from 'react';

/** How the conflict components name a device other than this one. */
export type DeviceNaming = (deviceId: string) => string;

const byId: DeviceNaming = (deviceId) => `device ${deviceId}`;

const DeviceNamingContext = createContext<DeviceNaming>(byId);

/**
 * Names the devices the conflict components speak of (the resolution dialog's "Local (…)" column,
 * for a conflict another tablet raised) as the app knows them: by the names a clinic gives its
 * tablets, say. Without it a device is "device <its id>".
 */
export function DeviceNamingProvider({ name, children }: { name: DeviceNaming; children: ReactNode }) {
  return <DeviceNamingContext.Provider value={name}>{children}</DeviceNamingContext.Provider>;
}

/** The naming in effect: the nearest DeviceNamingProvider's, or "device <id>". */
export function useDeviceNaming(): DeviceNaming {
  return useContext(DeviceNamingContext);
}
