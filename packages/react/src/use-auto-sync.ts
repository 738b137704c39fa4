import { useCallback, useMemo } from 'react';
import type { AutoSyncOption, AutoSyncSettings, SyncClient } from '@outpost/client';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { useSyncClient } from './sync-client-context';

export interface AutoSync {
  /**
   * The automatic syncs in effect (`client.autoSync`): every field set, or `false` when the device
   * syncs only when asked ("only when I press Sync now").
   */
  readonly autoSync: AutoSyncSettings | false;
  /**
   * `client.setAutoSync`: changes them at once, taking what the `autoSync` option takes, whole.
   * Throws for a setting the client refuses, leaving the one in effect. Nothing is kept: an app
   * that lets a person choose stores the choice and passes it as `autoSync` at the next opening.
   */
  setAutoSync(settings: AutoSyncOption): void;
}

function autoSyncSource(client: SyncClient): ValueSource<AutoSyncSettings | false> {
  return {
    // The same frozen object until the settings change: no re-render for nothing.
    read: () => client.autoSync,
    listen: (changed) => client.on('autoSync', () => changed()),
  };
}

/**
 * Seed 001's auto-sync switch, for a settings screen: the automatic syncs in effect and a way to
 * change them. Re-renders when they change, whoever changed them.
 */
export function useAutoSync(): AutoSync {
  const client = useSyncClient();
  const autoSync = useExternalValue(() => autoSyncSource(client), [client]);
  const setAutoSync = useCallback((settings: AutoSyncOption) => client.setAutoSync(settings), [client]);
  return useMemo(() => ({ autoSync, setAutoSync }), [autoSync, setAutoSync]);
}
