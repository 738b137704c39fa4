import { useEffect } from 'react';
import { useSyncEngine, useSyncQueue } from '@outpost/react';
import { syncTime, waitingSince } from './sync-time';
import { useNow } from './use-now';

/**
 * Where the previous version of the app kept the time of a person's last good sync, before the
 * client kept it in the device's store (`queue.stats().lastSyncAt`, decision 0033). Read only, on
 * a tablet updated from that version whose store has no time yet, and removed once it has one.
 */
function previousVersionKey(person: string): string {
  return `outpost.lastSynced.${person}`;
}

/** The previous version's time for `person` (ISO), or null: none, or unreadable. */
function previousVersionTime(person: string): string | null {
  const at = localStorage.getItem(previousVersionKey(person));
  return at === null || Number.isNaN(Date.parse(at)) ? null : at;
}

/**
 * When this device last brought `person`'s records up to date with the server, in the header
 * beside the online status, and whether the latest try since failed. The time is the client's
 * (`lastSyncAt`, kept in the device's store with the records): this page's syncs and the service
 * worker's, which opens the same store while no tab is open, alike, and still there after a
 * reload with no network.
 */
export function LastSync({ person }: { person: string }) {
  const { lastResult, isSyncing } = useSyncEngine();
  const { stats } = useSyncQueue();
  const now = useNow();
  const stored = stats.lastSyncAt;
  // The store has a time of its own from now on: the previous version's goes.
  useEffect(() => {
    if (stored !== null) localStorage.removeItem(previousVersionKey(person));
  }, [stored, person]);
  // A tablet updated from the previous version says when that version last synced, until its
  // first sync here (opened offline, that can take days).
  const lastGood = stored ?? previousVersionTime(person);
  const failed = lastResult !== null && !lastResult.success ? lastResult : null;
  if (lastGood === null && failed === null)
    return <span className="last-sync">{isSyncing ? 'First sync…' : 'Not synced yet on this device'}</span>;
  const synced =
    lastGood === null ? 'Not synced yet on this device' : `Last synced ${syncTime(lastGood, now)}`;
  if (failed === null) return <span className="last-sync">{synced}</span>;
  // A network failure is the everyday case in the field: say it in a clinician's words.
  const reason =
    failed.error === undefined || failed.error.code === 'NETWORK'
      ? 'the server could not be reached'
      : failed.error.message;
  return (
    <span className="last-sync">
      {synced}; the sync {syncTime(failed.finishedAt, now)} did not finish: {reason}
    </span>
  );
}

/**
 * Since when the oldest change still to reach the server has waited, in the header below the
 * count of what waits: a nurse sees that unsent work is getting old. Nothing when none waits.
 */
export function OldestWaiting() {
  const { stats } = useSyncQueue();
  const now = useNow();
  const oldest = stats.oldestPendingAt;
  if (stats.waiting === 0 || oldest === null || Number.isNaN(Date.parse(oldest))) return null;
  return <span className="last-sync">Oldest change waiting {waitingSince(oldest, now)}</span>;
}
