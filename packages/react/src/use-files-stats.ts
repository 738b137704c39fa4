import type { FilesStats, SyncClient } from '@outpost/client';
import { sameFields } from './equality';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { useSyncClient } from './sync-client-context';

function filesStatsSource(client: SyncClient): ValueSource<FilesStats> {
  return {
    read: () => client.files.stats(),
    equal: sameFields,
    listen(changed) {
      // `subscribe` answers at once with the files as they are; React reads them right after anyway.
      let subscribed = false;
      const stop = client.files.subscribe(() => {
        if (subscribed) changed();
      });
      subscribed = true;
      return stop;
    },
  };
}

/**
 * The files attached on this device, counted (`client.files.stats()`): how many wait to upload,
 * upload now, went up, stopped or were refused. Files attached on other devices are not counted.
 * Re-renders when a count changes, and with each chunk of an upload (`bytesWaiting`).
 */
export function useFilesStats(): FilesStats {
  const client = useSyncClient();
  return useExternalValue(() => filesStatsSource(client), [client]);
}
