import { useSyncEngine } from '@outpost/react';

function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** When this device last reached the server, in the header beside the online status. */
export function LastSync() {
  const { lastResult, isSyncing } = useSyncEngine();
  if (isSyncing && lastResult === null) return <span className="last-sync">First sync…</span>;
  if (lastResult === null) return <span className="last-sync">Not synced yet on this device</span>;
  if (lastResult.ok) return <span className="last-sync">Last synced at {clock(lastResult.finishedAt)}</span>;
  // A network failure is the everyday case in the field: say it in a clinician's words.
  const reason =
    lastResult.error === undefined || lastResult.error.code === 'NETWORK'
      ? 'the server could not be reached'
      : lastResult.error.message;
  return (
    <span className="last-sync">
      Last sync at {clock(lastResult.finishedAt)} did not finish: {reason}
    </span>
  );
}
