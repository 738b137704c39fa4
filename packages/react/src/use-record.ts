import type { ClientRecord, Collection, FindQuery } from '@outpost/client';
import type { RecordData } from '@outpost/core';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { readNow, sameRecord } from './read-now';
import { useSyncClient } from './sync-client-context';

function recordSource<D extends RecordData>(
  collection: Collection<D>,
  id: string,
): ValueSource<ClientRecord<D> | null> {
  // The id followed: a temp id gives way to the real one once the server assigns it.
  let followed = id;
  const query: FindQuery<D> = { where: (r) => r.id === followed, limit: 1 };
  let delivered: ClientRecord<D>[] | null = null;
  let listening = 0;
  return {
    read: () => (delivered ?? readNow(collection, query))[0] ?? null,
    equal: sameRecord,
    listen(changed) {
      listening += 1;
      let active = true;
      const stop = collection.subscribe((records) => {
        delivered = records;
        changed();
        if (records.length > 0) return;
        // Gone, or renamed: the collection knows the real id a temp id became.
        void collection.get(id).then((found) => {
          if (!active || found === null || found.id === followed) return;
          followed = found.id;
          delivered = null;
          changed();
        });
      }, query);
      return () => {
        active = false;
        stop();
        listening -= 1;
        if (listening === 0) delivered = null;
      };
    },
  };
}

/** One record, live from the device's store; null while it does not exist (or after it is deleted). */
export function useRecord<D extends RecordData = RecordData>(
  name: string,
  id: string,
): ClientRecord<D> | null {
  const client = useSyncClient();
  const collection = client.collection<D>(name);
  return useExternalValue(() => recordSource(collection, id), [collection, id]);
}
