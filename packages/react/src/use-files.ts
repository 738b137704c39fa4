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

/** Notices within this of the first are one: one request, asked when it has passed. */
const noticeBurstMs = 200;

/**
 * Asks the server for the record's files now, after each sync that went well, and when the live
 * stream says a file of the clinic became complete or was deleted (the `files` event), while
 * `record` is shown. After a sync, as that is when the device has just heard from the server
 * (every minute in an app syncing on a timer, at once on a colleague's live change); on a notice,
 * as a colleague's photo finishes uploading after the record that names it has arrived. Never on a
 * timer of its own: a screen left open does not poll. Offline it does not ask; a refusal or a lost
 * link is let go, as the list on the device still stands and the next sync asks again.
 *
 * One request at a time: a reason to ask that comes while one is under way asks once more when it
 * ends, since the answer under way may have been read before the file was complete. Notices
 * within `noticeBurstMs` of the first (a clinic's photos finishing together) are one request.
 */
function useServerFiles(client: SyncClient, record: FilesOf): void {
  const { collection, recordId } = record;
  useEffect(() => {
    let mounted = true;
    let asking = false;
    let again = false;
    let burst: ReturnType<typeof setTimeout> | null = null;
    const ask = () => {
      if (!mounted) return;
      if (asking) {
        again = true;
        return;
      }
      if (!client.network.status.online) return;
      asking = true;
      void client.files
        .refresh({ collection, recordId })
        .catch(() => undefined)
        .finally(() => {
          asking = false;
          if (!again) return;
          again = false;
          ask();
        });
    };
    const askSoon = () => {
      burst ??= setTimeout(() => {
        burst = null;
        ask();
      }, noticeBurstMs);
    };
    ask();
    const stopSync = client.on('sync', (result) => {
      if (result.success) ask();
    });
    const stopFiles = client.on('files', askSoon);
    return () => {
      mounted = false;
      if (burst !== null) clearTimeout(burst);
      stopSync();
      stopFiles();
    };
  }, [client, collection, recordId]);
}

/**
 * The files attached to one record, oldest first: those attached here (with their upload's state
 * and progress) and, as the server lists them (`files.refresh`, asked when the component mounts,
 * after each sync that went well, and on the live stream's notice that a file was completed or
 * deleted), those attached on other devices: 'synced', or 'incomplete' while their device still
 * uploads them, with their bytes on this device only once opened
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
