import type { CSSProperties } from 'react';
import { useFilesStats } from '../use-files-stats';
import { useNetworkStatus } from '../use-network-status';
import { useSyncEngine } from '../use-sync-engine';
import { useSyncQueue } from '../use-sync-queue';
import { QueueHealthWarning } from './queue-health-warning';

export interface OfflineIndicatorProps {
  className?: string;
  /** Merged over the default look; position it (e.g. fixed top-right) with this or `className`. */
  style?: CSSProperties;
  /**
   * `full` (the default): always shown, as in an app's header, "No changes waiting" included, with
   * "Sync now" at hand whatever the state. `floating`: seed 001's indicator, fixed in the top-right
   * corner, hidden while everything is synced (online, nothing waiting, refused or in conflict, no
   * sync running), and offering "Sync now" only online with something waiting (or disabled while a
   * sync runs): offline it could only fail.
   */
  mode?: 'full' | 'floating';
  /**
   * What the app calls the files attached to records, in the count of what waits: "3 changes and
   * 1 photo waiting" reads better to a nurse than "file". Default `{ one: 'file', many: 'files' }`.
   */
  fileWords?: { one: string; many: string };
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "No changes waiting", "3 changes waiting", "1 photo waiting", "3 changes and 1 photo waiting". */
function waitingText(changes: number, files: number, fileWords: { one: string; many: string }): string {
  const parts = [
    ...(changes > 0 ? [plural(changes, 'change', 'changes')] : []),
    ...(files > 0 ? [plural(files, fileWords.one, fileWords.many)] : []),
  ];
  return parts.length === 0 ? 'No changes waiting' : `${parts.join(' and ')} waiting`;
}

/** Seed 001's place for it: the top-right corner, above the page, readable over anything. */
const floatingLook: CSSProperties = {
  position: 'fixed',
  top: '0.75em',
  right: '0.75em',
  zIndex: 1000,
  maxWidth: 'calc(100vw - 1.5em)',
  padding: '0.5em 0.75em',
  background: '#fff',
  border: '1px solid #ccc',
  borderRadius: '0.5em',
  boxShadow: '0 2px 8px rgba(0, 0, 0, 0.15)',
};

/** The dot's colour: green online, red offline, amber while a browser event is being checked. */
function dotColour(isOnline: boolean, isTransitioning: boolean): string {
  if (isTransitioning) return '#b06f00';
  return isOnline ? '#1e7e34' : '#b3261e';
}

/**
 * Whether the server can be reached ("Checking connection…" between the browser saying the
 * network changed and the server's answer), how many changes and files attached on this device
 * wait to reach it (and how many of the changes stopped after repeated failures), a warning when
 * so many wait that syncing suffers (seed 004's queue health), how many the server refused, how
 * many conflicts wait for a person, and a "Sync now" button (disabled while a sync runs) that
 * sends every waiting change, the stopped ones too.
 */
export function OfflineIndicator({
  className,
  style,
  fileWords = { one: 'file', many: 'files' },
  mode = 'full',
}: OfflineIndicatorProps) {
  const { isOnline, isTransitioning } = useNetworkStatus();
  const { stats } = useSyncQueue();
  const files = useFilesStats();
  // A file is only on this device until the server holds it whole; one the server refused is not
  // waiting (no sync sends it again), while one that gave up on the network is, as a stopped change is.
  const filesWaiting = files.attached - files.uploaded - files.refused;
  const { sync, isSyncing, unresolvedConflicts } = useSyncEngine();
  // A change the server refused is not waiting: a resend gets the same answer.
  const { waiting, stopped } = stats;
  const floating = mode === 'floating';
  const workWaiting = waiting + filesWaiting > 0;
  const synced =
    isOnline &&
    !isTransitioning &&
    !isSyncing &&
    !workWaiting &&
    stats.refused === 0 &&
    unresolvedConflicts.length === 0 &&
    stats.health === 'ok';
  if (floating && synced) return null;
  const offersSyncNow = !floating || isSyncing || (isOnline && workWaiting);
  return (
    <div
      className={className}
      style={{
        display: 'flex',
        alignItems: 'center',
        gap: '0.75em',
        flexWrap: 'wrap',
        ...(floating ? floatingLook : {}),
        ...style,
      }}
    >
      <span
        aria-hidden="true"
        style={{
          width: '0.75em',
          height: '0.75em',
          borderRadius: '50%',
          background: dotColour(isOnline, isTransitioning),
        }}
      />
      <span role="status" style={{ fontWeight: 600 }}>
        {isTransitioning ? 'Checking connection…' : isOnline ? 'Online' : 'Offline'}
      </span>
      <span>{waitingText(waiting, filesWaiting, fileWords)}</span>
      {stopped > 0 ? <span>{stopped} stopped after repeated failures</span> : null}
      {stats.refused > 0 ? (
        <span>{plural(stats.refused, 'change', 'changes')} refused by the server</span>
      ) : null}
      {unresolvedConflicts.length > 0 ? (
        <span>{plural(unresolvedConflicts.length, 'conflict', 'conflicts')} to resolve</span>
      ) : null}
      {offersSyncNow ? (
        <button
          type="button"
          disabled={isSyncing}
          aria-busy={isSyncing}
          // Its outcome shows in the counts above; a sync the client refused (closed meanwhile)
          // must not become an unhandled rejection in the page.
          onClick={() => void sync({ manual: true }).catch(() => undefined)}
        >
          Sync now
        </button>
      ) : null}
      {isSyncing ? <span>Syncing…</span> : null}
      {/* Last, on a line of its own while it shows: empty, it takes no room between the others. */}
      <QueueHealthWarning health={stats.health} isOnline={isOnline} style={{ flexBasis: '100%' }} />
    </div>
  );
}
