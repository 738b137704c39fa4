import type { CSSProperties } from 'react';
import { useNetworkStatus } from '../use-network-status';
import { useSyncEngine } from '../use-sync-engine';
import { useSyncQueue } from '../use-sync-queue';

export interface OfflineIndicatorProps {
  className?: string;
  /** Merged over the default look; position it (e.g. fixed top-right) with this or `className`. */
  style?: CSSProperties;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * Whether the server can be reached, how many changes wait to reach it, how many conflicts wait
 * for a person, and a "Sync now" button (disabled while a sync runs).
 */
export function OfflineIndicator({ className, style }: OfflineIndicatorProps) {
  const { isOnline } = useNetworkStatus();
  const { stats } = useSyncQueue();
  const { sync, isSyncing, unresolvedConflicts } = useSyncEngine();
  // Everything not yet acknowledged: waiting, on its way, or failed and kept for a retry.
  const waiting = stats.pending + stats.inFlight + stats.failed;
  return (
    <div
      className={className}
      style={{ display: 'flex', alignItems: 'center', gap: '0.75em', flexWrap: 'wrap', ...style }}
    >
      <span
        aria-hidden="true"
        style={{
          width: '0.75em',
          height: '0.75em',
          borderRadius: '50%',
          background: isOnline ? '#1e7e34' : '#b3261e',
        }}
      />
      <span role="status" style={{ fontWeight: 600 }}>
        {isOnline ? 'Online' : 'Offline'}
      </span>
      <span>{waiting === 0 ? 'No changes waiting' : `${plural(waiting, 'change', 'changes')} waiting`}</span>
      {unresolvedConflicts.length > 0 ? (
        <span>{plural(unresolvedConflicts.length, 'conflict', 'conflicts')} to resolve</span>
      ) : null}
      <button type="button" disabled={isSyncing} aria-busy={isSyncing} onClick={() => void sync()}>
        Sync now
      </button>
      {isSyncing ? <span>Syncing…</span> : null}
    </div>
  );
}
