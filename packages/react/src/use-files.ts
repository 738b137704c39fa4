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
 * The files attached to one record as this device knows them, oldest first: those attached here
 * (with their upload's state and progress) and those downloaded. Re-renders on every change, each
 * chunk of an upload included, and returns the same array otherwise. Files attached on another
 * device and never opened here are not among them: the server lists those (`GET /v1/files`).
 */
export function useFiles({ collection, recordId }: FilesOf): readonly LocalFile[] {
  const client = useSyncClient();
  return useExternalValue(
    () => filesSource(client, { collection, recordId }),
    [client, collection, recordId],
  );
}
