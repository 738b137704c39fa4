import { useEffect } from 'react';
import type { LocalFile, SyncClient } from '@outpost/client';
import { sameFields } from './equality';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { useSyncClient } from './sync-client-context';

/** The record whose files to show. */
export interface FilesOf {
  collection: string;
  /** Its id, or its temp id: files attached under a temp id stay listed once the server gives the real one. */
  recordId: string;
}

/** The client builds a fresh object for each file at every read: equal while every field is. */
function sameFiles(a: readonly LocalFile[], b: readonly LocalFile[]): boolean {
  return (
    a.length === b.length &&
    a.every((file, i) => {
      const other = b[i];
      return other !== undefined && sameFields(file, other);
    })
  );
}

function filesSource(client: SyncClient, record: FilesOf): ValueSource<readonly LocalFile[]> {
  return {
    read: () => client.files.list(record),
    equal: sameFiles,
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
 * Asks the server for the record's files now and after each sync that went well, while `record`
 * is shown. After a sync, as that is when the device has just heard from the server (every minute
 * in an app syncing on a timer, at once on a colleague's live change) and never more often: a
 * screen left open does not poll. Offline it does not ask; a refusal or a lost link is let go, as
 * the list on the device still stands and the next sync asks again.
 */
function useServerFiles(client: SyncClient, record: FilesOf): void {
  const { collection, recordId } = record;
  useEffect(() => {
    const ask = () => {
      if (!client.network.status.online) return;
      client.files.refresh({ collection, recordId }).catch(() => undefined);
    };
    ask();
    return client.on('sync', (result) => {
      if (result.ok) ask();
    });
  }, [client, collection, recordId]);
}

/**
 * The files attached to one record, oldest first: those attached here (with their upload's state
 * and progress) and, as the server lists them (`files.refresh`, asked when the component mounts
 * and after each sync that went well), those attached on other devices: 'synced', or 'incomplete'
 * while their device still uploads them, with their bytes on this device only once opened
 * (`held`). Re-renders on every change, each chunk of an upload included, and returns the same
 * array otherwise.
 */
export function useFiles({ collection, recordId }: FilesOf): readonly LocalFile[] {
  const client = useSyncClient();
  useServerFiles(client, { collection, recordId });
  return useExternalValue(
    () => filesSource(client, { collection, recordId }),
    [client, collection, recordId],
  );
}
