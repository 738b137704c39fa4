import type { NetworkQuality, SyncClient } from '@outpost/client';
import { sameFields } from './equality';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { useSyncClient } from './sync-client-context';

export interface NetworkState {
  /** True while the server answers (not merely while a network interface is up). */
  readonly isOnline: boolean;
  /** True between an online/offline event and the probe that confirms it (as of the last network event). */
  readonly isTransitioning: boolean;
  readonly connectionQuality: NetworkQuality;
}

function networkSource(client: SyncClient): ValueSource<NetworkState> {
  return {
    read: () => {
      const { online, quality } = client.network.status;
      return {
        isOnline: online,
        isTransitioning: client.network.isTransitioning,
        connectionQuality: quality,
      };
    },
    equal: sameFields,
    listen: (changed) => client.on('network', () => changed()),
  };
}

/** Whether the server can be reached and how well, as the client's network monitor sees it. */
export function useNetworkStatus(): NetworkState {
  const client = useSyncClient();
  return useExternalValue(() => networkSource(client), [client]);
}
