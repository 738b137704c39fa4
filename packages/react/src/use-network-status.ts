import type { NetworkQuality, SyncClient } from '@outpost/client';
import { sameFields } from './equality';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { useSyncClient } from './sync-client-context';

export interface NetworkState {
  /** True while the server answers (not merely while a network interface is up). */
  readonly isOnline: boolean;
  /**
   * True between a browser online/offline event and the answer of the probe it started: the
   * device is checking whether the server can be reached (a UI says "Checking connection…").
   */
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
    // The client tells 'network' when online or quality changes and when isTransitioning flips.
    listen: (changed) => client.on('network', () => changed()),
  };
}

/** Whether the server can be reached and how well, as the client's network monitor sees it. */
export function useNetworkStatus(): NetworkState {
  const client = useSyncClient();
  return useExternalValue(() => networkSource(client), [client]);
}
