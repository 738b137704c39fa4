import { useId, useRef, useState } from 'react';
import type { SyncProgress, SyncResult } from '@outpost/client';
import { useSyncClient } from '../sync-client-context';
import { useNetworkStatus } from '../use-network-status';
import { useSyncEngine } from '../use-sync-engine';
import { useSyncQueue } from '../use-sync-queue';
import { ConflictList } from './conflict-list';
import type { ConflictListProps } from './conflict-list';
import { QueueHealthWarning } from './queue-health-warning';
import { alert, buttonRow } from './styles';

export interface SyncEnginePanelProps {
  className?: string;
  /** The panel's heading. Default "Sync". */
  title?: string;
  /**
   * Seed 001's panel: the conflicts waiting for a person listed under their count, each opening
   * the resolution dialog with its strategies (`ConflictList`, with these props). Off by default:
   * an app with a page of its own for conflicts (the clinic's) shows the count alone.
   */
  conflicts?: boolean | ConflictListProps;
}

const phaseLabels: Readonly<Record<SyncProgress['phase'], string>> = {
  push: 'sending changes (push)',
  pull: 'receiving changes (pull)',
  done: 'done',
};

function ProgressBar({ progress }: { progress: SyncProgress | null }) {
  // A new sync reports nothing until it knows what to send: show it as starting, extent unknown.
  const current = progress !== null && progress.phase !== 'done' ? progress : null;
  const percentage = current?.percentage ?? null;
  const text =
    current === null
      ? 'starting'
      : current.total !== null
        ? `${current.processed} of ${current.total}`
        : `${current.processed} so far`;
  return (
    <>
      <p>Phase: {current === null ? 'starting' : phaseLabels[current.phase]}</p>
      <div
        role="progressbar"
        aria-label="Sync progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percentage ?? undefined}
        aria-valuetext={percentage !== null ? `${percentage}%, ${text}` : text}
        style={{ height: '0.5em', background: '#e0e0e0', borderRadius: 4, overflow: 'hidden' }}
      >
        <div
          style={{
            height: '100%',
            width: percentage !== null ? `${percentage}%` : '30%',
            background: '#1565c0',
          }}
        />
      </div>
      <p>{percentage !== null ? `${percentage}% (${text})` : text}</p>
    </>
  );
}

function LastResult({ result, pressRefused }: { result: SyncResult | null; pressRefused: string | null }) {
  if (pressRefused !== null) return <p style={alert}>Last sync: failed: {pressRefused}</p>;
  if (result === null) return <p>Last sync: none yet.</p>;
  const { pushed } = result;
  return (
    <>
      {result.success ? (
        <p>Last sync: succeeded.</p>
      ) : (
        <p style={alert}>Last sync: failed: {result.error?.message ?? 'unknown error'}</p>
      )}
      <p>
        Pushed {pushed.sent} ({pushed.applied} applied, {pushed.conflicts} in conflict, {pushed.rejected}{' '}
        rejected{pushed.held > 0 ? `, ${pushed.held} held` : ''}); pulled {result.pulled}.
      </p>
    </>
  );
}

/**
 * The sync engine at a glance: "Sync now" (which sends again what stopped after repeated network
 * failures), the progress of a running sync and its phase, how the last sync ended (with the
 * error when it failed, and what it pushed and pulled; or why "Sync now" was refused, e.g. the
 * client was closed), announced to screen readers, what waits to be sent with a warning when so
 * much waits that syncing suffers (seed 004's queue health), what the server refused, and how
 * many conflicts wait for a person (listed, with `conflicts`).
 */
export function SyncEnginePanel({ className, title = 'Sync', conflicts = false }: SyncEnginePanelProps) {
  const client = useSyncClient();
  const { sync, isSyncing, progress, lastResult, unresolvedConflicts } = useSyncEngine();
  const { waiting, stopped, refused, health } = useSyncQueue().stats;
  const { isOnline } = useNetworkStatus();
  const headingId = useId();
  // A "Sync now" the client refused without reporting it as a sync's result (it was closed): why,
  // shown in place of the last result it left unchanged, until a newer result arrives. Numbered,
  // so that a second refusal with the same words is announced again.
  const [pressRefused, setPressRefused] = useState<{
    over: SyncResult | null;
    message: string;
    nth: number;
  } | null>(null);
  const refusals = useRef(0);
  const syncNow = () => {
    const over = client.lastResult;
    setPressRefused(null);
    const refuse = (message: string) => setPressRefused({ over, message, nth: (refusals.current += 1) });
    sync({ manual: true }).then(
      (result) => {
        if (!result.success && client.lastResult !== result) refuse(result.error?.message ?? 'unknown error');
      },
      (err: unknown) => refuse(err instanceof Error ? err.message : String(err)),
    );
  };
  const refusal = pressRefused !== null && pressRefused.over === lastResult ? pressRefused : null;
  // What the live region holds is replaced for each new outcome, and only then: a screen reader
  // announces every sync's ending (two alike included) and nothing when the panel merely renders
  // again, e.g. as the queue counts below change.
  const outcome = refusal !== null ? `refused ${refusal.nth}` : (lastResult?.finishedAt ?? 'none');
  const open = unresolvedConflicts.length;
  return (
    <section className={className} aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      <div style={buttonRow}>
        <button type="button" disabled={isSyncing} aria-busy={isSyncing} onClick={syncNow}>
          Sync now
        </button>
      </div>
      {isSyncing ? <ProgressBar progress={progress} /> : <p>Phase: idle</p>}
      <div role="status" aria-live="polite" aria-atomic="true">
        <LastResult key={outcome} result={lastResult} pressRefused={refusal?.message ?? null} />
      </div>
      <p>
        Waiting to be sent: {waiting}
        {stopped > 0 ? ` (${stopped} stopped after repeated failures: "Sync now" sends them again)` : ''}.
        Refused by the server: {refused}.
      </p>
      <div>
        <QueueHealthWarning health={health} isOnline={isOnline} />
      </div>
      <p>{open === 0 ? 'No open conflicts' : `${open} open ${open === 1 ? 'conflict' : 'conflicts'}`}</p>
      {conflicts !== false && open > 0 ? <ConflictList {...(conflicts === true ? {} : conflicts)} /> : null}
    </section>
  );
}
