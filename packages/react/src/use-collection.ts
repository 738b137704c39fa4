import { useMemo } from 'react';
import type { ClientRecord, Collection, FindQuery } from '@outpost/client';
import type { RecordData } from '@outpost/core';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { readNow, sameRecords } from './read-now';
import { useSyncClient } from './sync-client-context';

function collectionSource<D extends RecordData>(
  collection: Collection<D>,
  query: FindQuery<D>,
): ValueSource<readonly ClientRecord<D>[]> {
  // While subscribed, the collection hands over the query's records after every change.
  let delivered: ClientRecord<D>[] | null = null;
  let listening = 0;
  return {
    read: () => delivered ?? readNow(collection, query),
    equal: sameRecords,
    listen(changed) {
      listening += 1;
      const stop = collection.subscribe((records) => {
        delivered = records;
        changed();
      }, query);
      return () => {
        stop();
        listening -= 1;
        if (listening === 0) delivered = null;
      };
    },
  };
}

/**
 * A query kept equal across renders while it means the same: the same fields and, for a `where`
 * predicate, the same function (wrap it in useCallback, or it is a new query every render).
 */
function useStableQuery<D extends RecordData>(query: FindQuery<D> | undefined): FindQuery<D> {
  const where = query?.where;
  const predicate = typeof where === 'function' ? where : undefined;
  const key = JSON.stringify({ ...query, where: predicate ? undefined : where });
  // The key and the predicate say everything the query holds.
  return useMemo(() => query ?? {}, [key, predicate]);
}

/**
 * The records of one collection matching `query`, live from the device's store: re-renders when a
 * matching record is created, changed, deleted or synced, and returns the same array otherwise.
 */
export function useCollection<D extends RecordData = RecordData>(
  name: string,
  query?: FindQuery<D>,
): readonly ClientRecord<D>[] {
  const client = useSyncClient();
  const collection = client.collection<D>(name);
  const stable = useStableQuery(query);
  return useExternalValue(() => collectionSource(collection, stable), [collection, stable]);
}
