import { useEffect, useState } from 'react';
import { useSyncEngine } from '@outpost/react';
import { latestSyncTime, syncTime } from './sync-time';
import { readWorkerSyncTime } from './worker-session';

/**
 * Where the time of a person's last good sync is kept: the client knows only this page's syncs,
 * and after a reload with no network the header must still say how old the records are.
 */
function storageKey(person: string): string {
  return `outpost.lastSynced.${person}`;
}

/**
 * When the service worker last synced `person`'s records with no tab open (decision 0026), kept in
 * IndexedDB as a worker has no localStorage: undefined while being read, null if it never did (or
 * the time cannot be read). Read once: the worker syncs only while no tab holds the records, so
 * never while this header shows.
 */
function useWorkerSyncTime(person: string): string | null | undefined {
  const [time, setTime] = useState<{ person: string; at: string | null } | null>(null);
  useEffect(() => {
    let current = true;
    readWorkerSyncTime(person).then(
      (at) => {
        if (current) setTime({ person, at });
      },
      () => {
        // Unreadable: the page's own time shows.
        if (current) setTime({ person, at: null });
      },
    );
    return () => {
      current = false;
    };
  }, [person]);
  return time?.person === person ? time.at : undefined;
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
 * beside the online status, and whether the latest try since failed: by this app's page, or by
 * its service worker while no tab was open.
 */
export function LastSync({ person }: { person: string }) {
  const { lastResult, isSyncing } = useSyncEngine();
  const now = useNow();
  const workerSynced = useWorkerSyncTime(person);
  // A sync of named collections only (`sync({ collections })`) says nothing of the others.
  const wholeGood = lastResult?.ok === true && lastResult.scope === undefined ? lastResult : null;
  useEffect(() => {
    if (wholeGood) localStorage.setItem(storageKey(person), wholeGood.finishedAt);
  }, [wholeGood, person]);
  // Until the worker's time is read (a few milliseconds), no time shows: the page's own could be
  // older, and a header that says "yesterday" and then "today" tells the nurse the wrong thing.
  if (workerSynced === undefined) return <span className="last-sync" aria-busy="true" />;
  // The later of this page's syncs and the worker's, which syncs while no tab is open.
  const lastGood = latestSyncTime(
    wholeGood ? wholeGood.finishedAt : localStorage.getItem(storageKey(person)),
    workerSynced,
  );
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
