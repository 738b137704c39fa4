import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ClientRecord, Collection, SyncClient } from '@outpost/client';
import { isOutpostError } from '@outpost/core';
import type { OutpostError, RecordData } from '@outpost/core';
import { useSyncClient } from './sync-client-context';
import { useRecord } from './use-record';

/**
 * What a screen can show of a record that may not be on the device (`useFetchedRecord`). `status`:
 * - `held`: on the device, live as `useRecord` gives it (`pending`, `refused`, `awaitingReview`);
 * - `loading`: not on the device, being read from the server;
 * - `found`: the server's copy, read when the screen opened (or after the last sync that went
 *   well); not on the device, and not followed;
 * - `not-found`: the server has no such record, or holds it deleted (or the device holds it
 *   deleted, its delete not sent yet);
 * - `unavailable`: not on the device and the server cannot be reached (offline, the link dropped,
 *   a 5xx, the rate limit): `error` is the client's `RecordUnavailableError`. Never `not-found`, so a
 *   screen does not tell a clinician a patient does not exist because the tablet is offline;
 * - `refused`: the server refused the read (`error`: its `OutpostError`, e.g. `FORBIDDEN` for a
 *   role that may not read the collection, `UNAUTHORIZED` for a sign-in that expired).
 *
 * `retry()` reads again now (a "Try again" button); the hook does by itself when it can help.
 */
export type FetchedRecord<D extends RecordData = RecordData> = FetchedState<D> & {
  readonly retry: () => void;
};

type FetchedState<D extends RecordData> =
  { readonly status: 'held'; readonly record: ClientRecord<D>; readonly error: null } | ServerRead<D>;

/** A read from the server, as the hook shows it. */
type ServerRead<D extends RecordData> =
  | { readonly status: 'loading'; readonly record: null; readonly error: null }
  | { readonly status: 'found'; readonly record: ClientRecord<D>; readonly error: null }
  | { readonly status: 'not-found'; readonly record: null; readonly error: null }
  | { readonly status: 'unavailable'; readonly record: null; readonly error: Error }
  | { readonly status: 'refused'; readonly record: null; readonly error: OutpostError };

const loading = { status: 'loading', record: null, error: null } as const;
const notFound = { status: 'not-found', record: null, error: null } as const;

/** A failed read: the server's refusal, or anything else as "cannot be had now". */
function failed<D extends RecordData>(error: unknown): ServerRead<D> {
  if (isOutpostError(error)) return { status: 'refused', record: null, error };
  return {
    status: 'unavailable',
    record: null,
    error: error instanceof Error ? error : new Error(String(error)),
  };
}

/** Two reads of the server's record at one version: the copy shown stays, and nothing re-renders. */
function sameVersion<D extends RecordData>(a: ClientRecord<D>, b: ClientRecord<D>): boolean {
  return a.version === b.version && a.updatedAt === b.updatedAt;
}

/**
 * Whether a sync that went well is a reason to read again: the device has just heard from the
 * server. A copy read may be stale, an absence may have ended, a server that failed answers again,
 * a sign-in refused may have been renewed. A role refused stays refused: no read on every sync.
 */
function rereadAfterSync<D extends RecordData>(read: ServerRead<D>): boolean {
  if (read.status === 'refused') return read.error.code === 'UNAUTHORIZED';
  return read.status !== 'loading';
}

/**
 * Reads the record from the server (`collection.fetch`) while the device does not hold it, and
 * again when it helps: after a sync that went well (rereadAfterSync), and when the network comes
 * back while it could not be had. Never on a timer and never on its own failure, so an unreachable
 * server is not called in a loop. One read at a time; a reason that comes during one reads once
 * more after it. Reads of one record share one request with every other caller (`fetch` does).
 * A read again that fails to reach the server keeps the copy shown; one whose answer comes after
 * the screen left, or moved to another record, is dropped.
 */
function useServerRead<D extends RecordData>(
  client: SyncClient,
  collection: Collection<D>,
  id: string,
  held: boolean,
  attempt: number,
): ServerRead<D> {
  const [state, setState] = useState<{
    collection: Collection<D>;
    id: string;
    attempt: number;
    read: ServerRead<D>;
  } | null>(null);

  useEffect(() => {
    if (held) {
      // What was read before is stale once the device holds the record: read afresh if it goes.
      setState(null);
      return;
    }
    let active = true;
    let asking = false;
    let again = false;
    let last: ServerRead<D> = loading;
    let wasOnline = client.network.status.online;
    const show = (read: ServerRead<D>) => {
      last = read;
      setState({ collection, id, attempt, read });
    };
    const ask = () => {
      if (!active) return;
      if (asking) {
        again = true;
        return;
      }
      asking = true;
      // From a failure, the screen says it is reading; a copy shown stays shown meanwhile.
      if (last.status === 'unavailable' || last.status === 'refused') show(loading);
      void collection
        .fetch(id)
        .then(
          (record): ServerRead<D> =>
            record ? { status: 'found', record, error: null } : (notFound as ServerRead<D>),
          (error: unknown) => failed<D>(error),
        )
        .then((read) => {
          asking = false;
          if (!active) return;
          const keep =
            last.status === 'found' &&
            ((read.status === 'found' && sameVersion(last.record, read.record)) ||
              read.status === 'unavailable');
          if (!keep) show(read);
          if (!again) return;
          again = false;
          ask();
        });
    };
    ask();
    const stopNetwork = client.on('network', (network) => {
      const back = network.online && !wasOnline;
      wasOnline = network.online;
      if (back && (asking || last.status === 'unavailable')) ask();
    });
    const stopSync = client.on('sync', (result) => {
      if (result.success && rereadAfterSync(last)) ask();
    });
    return () => {
      active = false;
      stopNetwork();
      stopSync();
    };
  }, [client, collection, id, held, attempt]);

  const current = state?.collection === collection && state.id === id && state.attempt === attempt;
  return current ? state.read : loading;
}

/**
 * One record, from the device when it holds it, else from the server (seed 002's lazy loading): a
 * visit older than the device's `recordFilter` keeps, a patient of a collection it does not pull.
 * `useRecord` with `collection.fetch` behind it, as a state a screen renders (`FetchedRecord`):
 * held (live), loading, found on the server, not found, unavailable, refused. It reads the server
 * only while the device does not hold the record; once it does (a change made to it: `update`
 * stores it), it is live like any record the device holds, and once it goes again (the change is
 * confirmed and the next prune lets it go) the server is read again. While the record cannot be
 * had, the hook reads again when the network comes back and after a sync that went well, never in
 * a loop. Leaving the screen or moving to another id drops the answer of a read under way.
 */
export function useFetchedRecord<D extends RecordData = RecordData>(
  name: string,
  id: string,
): FetchedRecord<D> {
  const client = useSyncClient();
  const collection = client.collection<D>(name);
  const held = useRecord<D>(name, id);
  const [attempt, setAttempt] = useState(0);
  const read = useServerRead(client, collection, id, held !== null, attempt);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return useMemo(
    () => (held !== null ? { status: 'held', record: held, error: null, retry } : { ...read, retry }),
    [held, read, retry],
  );
}
