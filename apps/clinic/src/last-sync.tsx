import { useEffect, useState } from 'react';
import { useSyncEngine } from '@outpost/react';
import { syncTime } from './sync-time';

/**
 * Where the time of a person's last good sync is kept: the client knows only this page's syncs,
 * and after a reload with no network the header must still say how old the records are.
 */
function storageKey(person: string): string {
  return `outpost.lastSynced.${person}`;
}

/** The current time, renewed every minute, so a day passing shows in the text. */
function useNow(): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 60_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/**
 * When this device last brought `person`'s records up to date with the server, in the header
 * beside the online status, and whether the latest try since failed.
 */
export function LastSync({ person }: { person: string }) {
  const { lastResult, isSyncing } = useSyncEngine();
  const now = useNow();
  useEffect(() => {
    if (lastResult?.ok) localStorage.setItem(storageKey(person), lastResult.finishedAt);
  }, [lastResult, person]);
  const lastGood = lastResult?.ok ? lastResult.finishedAt : localStorage.getItem(storageKey(person));
  const failed = lastResult !== null && !lastResult.ok ? lastResult : null;

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
