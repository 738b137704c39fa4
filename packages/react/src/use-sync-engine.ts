import { useCallback, useMemo } from 'react';
import type { LocalConflict, SyncClient, SyncOptions, SyncProgress, SyncResult } from '@outpost/client';
import type { RecordData, ResolutionStrategy, ResolveResponse } from '@outpost/core';
import { sameItems } from './equality';
import { useExternalValue } from './external-value';
import type { ValueSource } from './external-value';
import { useSyncClient } from './sync-client-context';

export interface SyncEngineState {
  readonly isSyncing: boolean;
  /** The last progress report heard while this component was mounted; null before any. */
  readonly progress: SyncProgress | null;
  readonly lastResult: SyncResult | null;
  /** Every conflict the server reported for this device's ops, oldest first. */
  readonly conflicts: readonly LocalConflict[];
  /** The conflicts still open. */
  readonly unresolvedConflicts: readonly LocalConflict[];
}

/** Seed 003's one-word sync state: a sync running, or how the last one ended (idle before any). */
export type SyncStatus = 'idle' | 'syncing' | 'success' | 'error';

export interface SyncEngine extends SyncEngineState {
  readonly syncStatus: SyncStatus;
  /**
   * Push then pull; joins a sync already running. A person's "Sync now" passes `{ manual: true }`:
   * what gave up on the network goes again, and a server the device was resting is tried at once.
   */
  sync(options?: SyncOptions): Promise<SyncResult>;
  /**
   * Settles a conflict through the server (`client.conflicts.resolve`). With `{ onlyOpen: true }`,
   * only while it is still open: one settled meanwhile (by a colleague, on another device) is
   * refused with 409 rather than overruled, and `settledMeanwhile(err)` from `@outpost/core` says
   * how it stands. A view that offers a choice for a conflict it shows open passes it.
   */
  resolveConflict(
    id: string,
    strategy: ResolutionStrategy,
    mergedData?: RecordData,
    options?: { readonly onlyOpen?: boolean },
  ): Promise<ResolveResponse>;
  /**
   * Reloads the conflicts from the server's archive (an administrator's device gets every device's);
   * resolves to how many it holds. Needs the network.
   */
  refreshConflicts(): Promise<number>;
}

interface SyncEngineSource extends ValueSource<SyncEngineState> {
  /**
   * Tells every listener of the client, in every component, that a sync was started here, so
   * `isSyncing` shows at once everywhere: the client tells of a sync only once it reports progress.
   */
  started(): void;
}

/** Per client, the listeners of every mounted `useSyncEngine`: each component has its own source. */
const startListeners = new WeakMap<SyncClient, Set<() => void>>();

function listenersOf(client: SyncClient): Set<() => void> {
  let set = startListeners.get(client);
  if (!set) startListeners.set(client, (set = new Set()));
  return set;
}

function sameState(a: SyncEngineState, b: SyncEngineState): boolean {
  return (
    a.isSyncing === b.isSyncing &&
    a.progress === b.progress &&
    a.lastResult === b.lastResult &&
    sameItems(a.conflicts, b.conflicts) &&
    sameItems(a.unresolvedConflicts, b.unresolvedConflicts)
  );
}

function syncEngineSource(client: SyncClient): SyncEngineSource {
  let progress: SyncProgress | null = null;
  const listeners = listenersOf(client);
  return {
    read: () => ({
      // The client clears isSyncing before it reports the end, so this is exact at every event.
      isSyncing: client.isSyncing,
      progress,
      lastResult: client.lastResult,
      conflicts: client.conflicts.list(),
      unresolvedConflicts: client.conflicts.list({ status: 'open' }),
    }),
    equal: sameState,
    listen(changed) {
      listeners.add(changed);
      const stops = [
        client.on('progress', (p) => {
          progress = p;
          changed();
        }),
        client.on('sync', () => changed()),
        client.on('change', (touched) => {
          if (touched.has('$conflicts')) changed();
        }),
      ];
      return () => {
        listeners.delete(changed);
        for (const stop of stops) stop();
      };
    },
    started() {
      for (const changed of [...listeners]) changed();
    },
  };
}

function statusOf({ isSyncing, lastResult }: SyncEngineState): SyncStatus {
  if (isSyncing) return 'syncing';
  if (lastResult === null) return 'idle';
  return lastResult.success ? 'success' : 'error';
}

/**
 * The sync engine as a component sees it: whether a sync runs, how far it got, how the last one
 * ended, and the conflicts to settle. Re-renders on progress, results and conflict changes.
 */
export function useSyncEngine(): SyncEngine {
  const client = useSyncClient();
  const source = useMemo(() => syncEngineSource(client), [client]);
  const state = useExternalValue(() => source, [source]);
  const sync = useCallback(
    (options?: SyncOptions) => {
      const run = client.sync(options);
      source.started();
      return run;
    },
    [client, source],
  );
  const resolveConflict = useCallback(
    (
      id: string,
      strategy: ResolutionStrategy,
      mergedData?: RecordData,
      options?: { readonly onlyOpen?: boolean },
    ) => client.conflicts.resolve(id, strategy, mergedData, options),
    [client],
  );
  const refreshConflicts = useCallback(() => client.conflicts.refresh(), [client]);
  return useMemo(
    () => ({ ...state, syncStatus: statusOf(state), sync, resolveConflict, refreshConflicts }),
    [state, sync, resolveConflict, refreshConflicts],
  );
}
