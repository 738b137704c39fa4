import { useCallback, useState } from 'react';
import type { LocalConflict, SyncClient } from '@outpost/client';
import { settledMeanwhile } from '@outpost/core';
import { useSyncClient } from '../sync-client-context';
import { collisionOf } from './collision';
import { appRefusalCause, refusalCause } from './refusal-words';
import { recordLabel } from './conflict-labels';

/** The rules bulk resolution offers: "Keep all local" and "Use server for all". */
export type BulkStrategy = 'client-wins' | 'server-wins';

/** Each bulk rule as its button says it. */
export const bulkLabels: Readonly<Record<BulkStrategy, string>> = {
  'client-wins': 'Keep all local',
  'server-wins': 'Use server for all',
};

/**
 * An app's own bulk resolution (the list's `onBulkResolve`): the rule, then the conflicts the
 * built-in one would have settled, which seed 003's `(strategy) => Promise<void>` may ignore.
 */
export type BulkResolve = (strategy: BulkStrategy, conflicts: readonly LocalConflict[]) => Promise<void>;

/** What the last bulk resolution (or its undo) did, for the list to say. */
export interface BulkReport {
  readonly action: 'resolve' | 'undo';
  /** Conflicts settled (or, for an undo, opened again) by it. */
  readonly done: number;
  /**
   * Conflicts left as they were because they changed before their turn: settled meanwhile (by a
   * person, another device, another tab) or, for an undo, settled again since the bulk resolution.
   */
  readonly skipped: number;
  /** Each failure, naming its record, with the server's reason. */
  readonly failed: readonly string[];
}

export interface BulkResolution {
  /** Resolving or undoing, and how many conflicts it was given; null when idle. */
  readonly running: { readonly action: 'resolve' | 'undo'; readonly count: number } | null;
  readonly report: BulkReport | null;
  /**
   * The last bulk resolution handed to the app (`resolveWith`): its rule, and why it failed in
   * words (null: it went through). Null after a built-in one.
   */
  readonly handedOver: { readonly strategy: BulkStrategy; readonly error: string | null } | null;
  /** How many resolutions of the last bulk resolution Undo would take back; 0 when none. */
  readonly undoable: number;
  resolveAll(targets: readonly LocalConflict[], strategy: BulkStrategy): Promise<void>;
  /**
   * Hands a bulk resolution to the app instead: running while its promise runs, then `handedOver`.
   * What the app settled is its own, so nothing is counted, and nothing offered to Undo.
   */
  resolveWith(targets: readonly LocalConflict[], strategy: BulkStrategy, work: BulkResolve): Promise<void>;
  undoLast(): Promise<void>;
}

/** The conflict as the device holds it now, not as the last render saw it. */
function conflictNow(client: SyncClient, id: string): LocalConflict | undefined {
  return client.conflicts.list().find((c) => c.id === id);
}

/**
 * Why one conflict of a bulk run was left as it was, in words (refusal-words.ts): a collision
 * (work done since) is said as the dialog says it, with what that means for the conflict.
 */
function messageOf(err: unknown): string {
  return collisionOf(err) ? `left as it is: ${refusalCause(err)}` : refusalCause(err);
}

/**
 * Bulk resolution, one request per conflict, and its undo. Each conflict is read again just before
 * its turn: one settled since the person pressed the button is left alone, as resending the rule
 * would overrule whoever settled it. One settled elsewhere after that read is refused by the
 * server (`onlyOpen`), and left alone too. Undo takes back only what this bulk resolution settled
 * and nobody settled again since, newest first.
 */
export function useBulkResolution(): BulkResolution {
  const client = useSyncClient();
  const [running, setRunning] = useState<BulkResolution['running']>(null);
  const [report, setReport] = useState<BulkReport | null>(null);
  const [handedOver, setHandedOver] = useState<BulkResolution['handedOver']>(null);
  // What the last bulk resolution settled: each conflict with the settlement time the server gave.
  const [settled, setSettled] = useState<ReadonlyArray<{ conflict: LocalConflict; at: string }>>([]);

  const resolveAll = useCallback(
    async (targets: readonly LocalConflict[], strategy: BulkStrategy) => {
      setRunning({ action: 'resolve', count: targets.length });
      setReport(null);
      setHandedOver(null);
      setSettled([]);
      const done: Array<{ conflict: LocalConflict; at: string }> = [];
      const failed: string[] = [];
      let skipped = 0;
      for (const conflict of targets) {
        if (conflictNow(client, conflict.id)?.resolvedAt !== undefined) {
          skipped += 1;
          continue;
        }
        try {
          // onlyOpen: settled on another device between the read above and this request, the
          // conflict is refused by the server rather than overruled.
          const response = await client.conflicts.resolve(conflict.id, strategy, undefined, {
            onlyOpen: true,
          });
          done.push({ conflict, at: response.conflict.resolvedAt ?? '' });
        } catch (err) {
          if (settledMeanwhile(err) !== null) skipped += 1;
          else failed.push(`${recordLabel(conflict)}: ${messageOf(err)}`);
        }
      }
      setSettled(done);
      setRunning(null);
      setReport({ action: 'resolve', done: done.length, skipped, failed });
    },
    [client],
  );

  const resolveWith = useCallback(
    async (targets: readonly LocalConflict[], strategy: BulkStrategy, work: BulkResolve) => {
      setRunning({ action: 'resolve', count: targets.length });
      setReport(null);
      setHandedOver(null);
      setSettled([]);
      let error: string | null = null;
      try {
        await work(strategy, targets);
      } catch (err) {
        error = appRefusalCause(err);
      }
      setRunning(null);
      setHandedOver({ strategy, error });
    },
    [],
  );

  const undoLast = useCallback(async () => {
    const targets = [...settled].reverse();
    setRunning({ action: 'undo', count: targets.length });
    setReport(null);
    setHandedOver(null);
    setSettled([]);
    const failed: string[] = [];
    let done = 0;
    let skipped = 0;
    for (const { conflict, at } of targets) {
      // Settled again since (in the dialog, on another device): undo would take back that instead.
      if (conflictNow(client, conflict.id)?.resolvedAt !== at) {
        skipped += 1;
        continue;
      }
      try {
        await client.conflicts.undo(conflict.id);
        done += 1;
      } catch (err) {
        failed.push(`${recordLabel(conflict)}: ${messageOf(err)}`);
      }
    }
    setRunning(null);
    setReport({ action: 'undo', done, skipped, failed });
  }, [client, settled]);

  return {
    running,
    report,
    handedOver,
    undoable: running === null ? settled.length : 0,
    resolveAll,
    resolveWith,
    undoLast,
  };
}

function conflicts(count: number): string {
  return `${count} ${count === 1 ? 'conflict' : 'conflicts'}`;
}

/** The report in one sentence, for a status line. */
export function bulkSummary(report: BulkReport): string {
  const parts = [
    report.action === 'resolve'
      ? `Resolved ${conflicts(report.done)}`
      : `Undid the resolution of ${conflicts(report.done)}`,
  ];
  if (report.skipped > 0)
    parts.push(
      report.action === 'resolve'
        ? `${report.skipped} settled meanwhile, left as ${report.skipped === 1 ? 'it was' : 'they were'}`
        : `${report.skipped} settled again since, left as ${report.skipped === 1 ? 'it is' : 'they are'}`,
    );
  if (report.failed.length > 0) parts.push(`${report.failed.length} failed`);
  return `${parts.join('; ')}.`;
}

/** What a running bulk action says. */
export function bulkProgress(running: NonNullable<BulkResolution['running']>): string {
  return running.action === 'resolve'
    ? `Resolving ${conflicts(running.count)}…`
    : `Undoing the resolution of ${conflicts(running.count)}…`;
}
