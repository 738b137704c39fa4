import { useCallback, useSyncExternalStore } from 'react';
import type { LocalConflict, SyncClient } from '@outpost/client';
import type { ResolutionStrategy } from '@outpost/core';
import { useSyncClient } from '../sync-client-context';

/** A resolution a person made through the conflict components, with the time the server gave it. */
export interface SessionResolution {
  readonly id: string;
  readonly strategy: ResolutionStrategy;
  /** While the conflict still shows this time, nobody settled it again since. */
  readonly resolvedAt: string | null;
}

type Resolutions = ReadonlyMap<string, SessionResolution>;

interface Ledger {
  resolutions: Resolutions;
  readonly listeners: Set<() => void>;
}

// Per client rather than per component: Undo must outlive the dialog that made the resolution.
// A client is one signed-in person's (the app closes it at sign-out), so this is their session;
// keyed weakly, it goes with the client and two clients in one test never share it.
const ledgers = new WeakMap<SyncClient, Ledger>();

function ledgerOf(client: SyncClient): Ledger {
  let ledger = ledgers.get(client);
  if (!ledger) ledgers.set(client, (ledger = { resolutions: new Map(), listeners: new Set() }));
  return ledger;
}

function update(client: SyncClient, change: (next: Map<string, SessionResolution>) => void): void {
  const ledger = ledgerOf(client);
  const next = new Map(ledger.resolutions);
  change(next);
  ledger.resolutions = next;
  for (const listener of ledger.listeners) listener();
}

/** Notes a resolution this person just made on `client`, replacing any earlier one of that conflict. */
export function noteResolution(client: SyncClient, resolution: SessionResolution): void {
  update(client, (next) => void next.set(resolution.id, resolution));
}

/** Forgets the resolution of a conflict: undone, or one the server will not undo. */
export function forgetResolution(client: SyncClient, id: string): void {
  if (ledgerOf(client).resolutions.has(id)) update(client, (next) => void next.delete(id));
}

/**
 * Whether Undo would take back a resolution this person made in this session: the conflict still
 * shows it. Once someone settled it again (another device, the archive), Undo would take back
 * theirs instead, as the server undoes a conflict's last resolution whoever made it.
 */
export function isUndoable(resolutions: Resolutions, conflict: LocalConflict): boolean {
  const mine = resolutions.get(conflict.id);
  return mine !== undefined && conflict.resolvedAt !== undefined && conflict.resolvedAt === mine.resolvedAt;
}

/** The resolutions made on the provider's client in this session, live. */
export function useSessionResolutions(): Resolutions {
  const client = useSyncClient();
  const subscribe = useCallback(
    (changed: () => void) => {
      const { listeners } = ledgerOf(client);
      listeners.add(changed);
      return () => void listeners.delete(changed);
    },
    [client],
  );
  const read = useCallback(() => ledgerOf(client).resolutions, [client]);
  return useSyncExternalStore(subscribe, read, read);
}
