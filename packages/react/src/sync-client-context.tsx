import { createContext, useContext } from 'react';
import type { ReactNode } from 'react';
import type { SyncClient } from '@outpost/client';

const SyncClientContext = createContext<SyncClient | null>(null);

export interface SyncClientProviderProps {
  client: SyncClient;
  children?: ReactNode;
}

/** Hands one sync client to every hook below it; the app creates and closes the client itself. */
export function SyncClientProvider({ client, children }: SyncClientProviderProps) {
  return <SyncClientContext.Provider value={client}>{children}</SyncClientContext.Provider>;
}

/** The client of the nearest `SyncClientProvider`. */
export function useSyncClient(): SyncClient {
  const client = useContext(SyncClientContext);
  if (client === null) {
    throw new Error(
      'useSyncClient: no sync client here. Wrap the component in <SyncClientProvider client={client}>.',
    );
  }
  return client;
}
