import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { LocalConflict } from '@outpost/client';
import { useSyncClient } from '../sync-client-context';
import { useOfflinePermissions } from '../use-offline-permissions';
import { useSyncEngine } from '../use-sync-engine';
import { fieldLabel, formatTime, kindLabel, outcomeLabel, recordLabel } from './conflict-labels';
import { ConflictResolutionModal } from './conflict-resolution-modal';
import { alert, buttonRow, cell, openBadge, resolvedBadge, table } from './styles';
import { bulkLabels, bulkProgress, bulkSummary, useBulkResolution } from './use-bulk-resolution';
import type { BulkResolve, BulkStrategy } from './use-bulk-resolution';
import { useConflictActions } from './use-conflict-actions';

export interface ConflictListProps {
  /** Conflicts per page. Default 10. */
  pageSize?: number;
  /**
   * False for a person whose role may not resolve these conflicts (the server would refuse with
   * 403): the list and the dialog show the conflicts and their outcome, with no control to settle
   * them; true offers them for every conflict. Default: what the person's roles allow for each
   * conflict's collection (`client.can(collection, 'resolve')`, useOfflinePermissions), every
   * conflict when the client knows no roles.
   */
  canResolve?: boolean;
  /**
   * The conflicts to list, in place of every conflict the device holds (`useSyncEngine().conflicts`):
   * a patient's page listing that patient's alone, say. Filter, sort, pages, status badges and
   * the bulk controls apply to these.
   */
  conflicts?: readonly LocalConflict[];
  /**
   * Called by a row's "Resolve" with the conflict's id, in place of opening the built-in dialog:
   * the app shows its own. Seed 003 types the id as a number; ours are the server's ids, strings
   * (UUIDs). "Review" (a settled conflict, or one the person's role may not settle) still opens
   * the built-in dialog, which only shows it.
   */
  onResolveConflict?: (conflictId: LocalConflict['id']) => void;
  /**
   * Called by "Keep all local" (`'client-wins'`) and "Use server for all" (`'server-wins'`) in
   * place of the built-in bulk resolution, with the conflicts that would have settled: the open
   * ones on the page shown that the person's role may settle (seed 003's `(strategy) =>
   * Promise<void>` fits, ignoring them). The list is busy while the promise runs, says it done
   * once it resolves, and says why in words if it rejects; nothing is offered to Undo.
   */
  onBulkResolve?: BulkResolve;
}

/** Oldest first by detection time; conflicts detected together keep the store's order. */
function byTime(a: LocalConflict, b: LocalConflict): number {
  return a.detectedAt.localeCompare(b.detectedAt);
}

/** How a row names its record, as its heading does. */
function rowName(conflict: LocalConflict): string {
  return `${conflict.collection} “${recordLabel(conflict)}”`;
}

/**
 * Every conflict of this device (or the `conflicts` given), a page at a time: filtered by
 * collection, sorted by time, each with what happened and the fields in dispute in words, its
 * status, a "Resolve" button opening the resolution dialog, bulk resolution of the open conflicts
 * on the page shown, and Undo of the last bulk resolution. A conflict this person resolved in its
 * dialog in this session offers "Undo" on its row, after the dialog closed, for as long as the
 * conflict still shows that resolution. Seed 003's props (`conflicts`, `onResolveConflict`,
 * `onBulkResolve`) hand the list's data and its resolutions to the app; each is optional.
 */
export function ConflictList({
  pageSize = 10,
  canResolve,
  conflicts: given,
  onResolveConflict,
  onBulkResolve,
}: ConflictListProps) {
  const stored = useSyncEngine().conflicts;
  const conflicts = given ?? stored;
  const { schema } = useSyncClient();
  const { can } = useOfflinePermissions();
  const mayResolve = (conflict: LocalConflict) => canResolve ?? can(conflict.collection, 'resolve');
  // The bulk controls show for a person who may settle conflicts of some collection.
  const resolvesAny = canResolve ?? schema.collectionNames.some((name) => can(name, 'resolve'));
  const [collection, setCollection] = useState('');
  const [newestFirst, setNewestFirst] = useState(true);
  const [page, setPage] = useState(0);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const bulk = useBulkResolution();
  const actions = useConflictActions();
  // The row whose Undo was pressed last, and whether the server took the resolution back.
  const [undone, setUndone] = useState<{ conflict: LocalConflict; ok: boolean } | null>(null);
  // The row Undo was pressed on: its Undo goes once pressed, so focus moves to the row's other button.
  const [refocus, setRefocus] = useState<string | null>(null);
  const statusRef = useRef<HTMLDivElement>(null);
  const bulkErrorRef = useRef<HTMLParagraphElement>(null);
  // A bulk action disables (Keep all local, Use server for all) or removes (Undo) the button that
  // started it: once it ends, its outcome takes the focus rather than leaving it nowhere.
  useEffect(() => {
    const active = document.activeElement;
    if (bulk.report === null && bulk.handedOver === null) return;
    if (active === null || active === document.body || !active.isConnected)
      (bulk.handedOver !== null && bulk.handedOver.error !== null
        ? bulkErrorRef
        : statusRef
      ).current?.focus();
  }, [bulk.report, bulk.handedOver]);
  const id = useId();
  const size = Math.max(1, Math.floor(pageSize));
  const openButtonId = (conflictId: string) => `${id}-open-${conflictId}`;
  useEffect(() => {
    if (refocus === null || actions.busy) return;
    setRefocus(null);
    const active = document.activeElement;
    if (active === null || active === document.body || !active.isConnected)
      document.getElementById(openButtonId(refocus))?.focus();
  });
  // A bulk action's report replaces what a row's Undo said.
  useEffect(() => {
    if (bulk.running !== null) setUndone(null);
  }, [bulk.running]);
  // Not disabled while busy: a disabled button drops the focus, which a failed Undo should keep.
  const undoRow = async (conflict: LocalConflict) => {
    if (actions.busy) return;
    setRefocus(conflict.id);
    const response = await actions.undo(conflict.id);
    setUndone({ conflict, ok: response !== null });
  };

  const collections = useMemo(() => {
    const names = new Set(conflicts.map((c) => c.collection));
    if (collection !== '') names.add(collection);
    return [...names].sort();
  }, [conflicts, collection]);
  const sorted = useMemo(() => {
    const chosen = conflicts.filter((c) => collection === '' || c.collection === collection);
    const oldestFirst = chosen.sort(byTime);
    return newestFirst ? oldestFirst.reverse() : oldestFirst;
  }, [conflicts, collection, newestFirst]);
  const pageCount = Math.max(1, Math.ceil(sorted.length / size));
  const current = Math.min(page, pageCount - 1);
  const shown = sorted.slice(current * size, current * size + size);
  const openShown = shown.filter((c) => c.resolvedAt === undefined);
  // Of those, the ones this person's role may settle: the bulk actions apply to them alone.
  const resolvableShown = openShown.filter(mayResolve);
  const othersShown = openShown.length - resolvableShown.length;
  const resolveShown = (strategy: BulkStrategy) =>
    onBulkResolve !== undefined
      ? bulk.resolveWith(resolvableShown, strategy, onBulkResolve)
      : bulk.resolveAll(resolvableShown, strategy);
  const selected = selectedId === null ? null : (conflicts.find((c) => c.id === selectedId) ?? null);

  const filterId = `${id}-collection`;
  const bulkHintId = `${id}-bulk-hint`;
  return (
    <section aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Conflicts</h2>
      {/* With nothing to list, the filter, the bulk actions and the pages would offer nothing to do. */}
      {conflicts.length > 0 ? (
        <div style={buttonRow}>
          <label htmlFor={filterId}>Collection</label>
          <select
            id={filterId}
            value={collection}
            onChange={(event) => {
              setCollection(event.target.value);
              setPage(0);
            }}
          >
            <option value="">All collections</option>
            {collections.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
          <button
            type="button"
            onClick={() => {
              setNewestFirst((previous) => !previous);
              setPage(0);
            }}
          >
            Sort: {newestFirst ? 'newest first' : 'oldest first'}
          </button>
        </div>
      ) : null}

      {sorted.length === 0 ? null : resolvesAny ? (
        <div role="group" aria-label="Bulk resolution" aria-describedby={bulkHintId} style={buttonRow}>
          {(['client-wins', 'server-wins'] as const).map((strategy) => (
            <button
              key={strategy}
              type="button"
              disabled={resolvableShown.length === 0 || bulk.running !== null}
              onClick={() => void resolveShown(strategy)}
            >
              {bulkLabels[strategy]}
            </button>
          ))}
          <span id={bulkHintId}>
            {resolvableShown.length === 0
              ? othersShown === 0
                ? 'No open conflicts on this page.'
                : 'No open conflicts on this page that your role may settle.'
              : `Applies to the ${resolvableShown.length} open ${resolvableShown.length === 1 ? 'conflict' : 'conflicts'} on this page` +
                (othersShown === 0 ? '.' : ` that your role may settle (not the ${othersShown} others).`)}
          </span>
        </div>
      ) : (
        <p>An administrator settles these conflicts; their outcome shows here.</p>
      )}
      <div role="status" ref={statusRef} tabIndex={-1}>
        {bulk.running !== null ? bulkProgress(bulk.running) : null}
        {bulk.report !== null && bulk.running === null ? bulkSummary(bulk.report) : null}
        {bulk.handedOver !== null && bulk.handedOver.error === null
          ? `${bulkLabels[bulk.handedOver.strategy]}: done.`
          : null}
      </div>
      {bulk.handedOver !== null && bulk.handedOver.error !== null ? (
        <p role="alert" ref={bulkErrorRef} tabIndex={-1} style={alert}>
          {bulkLabels[bulk.handedOver.strategy]} did not go through: {bulk.handedOver.error}.
        </p>
      ) : null}
      <p role="status" style={{ margin: 0 }}>
        {undone?.ok === true
          ? `Undid the resolution of ${rowName(undone.conflict)}: it is open again.`
          : null}
      </p>
      {undone?.ok === false && actions.error !== null ? (
        <p role="alert" style={alert}>
          Could not undo the resolution of {rowName(undone.conflict)}: {actions.error}
        </p>
      ) : null}
      {bulk.undoable > 0 ? (
        <div style={buttonRow}>
          <button type="button" aria-describedby={`${id}-undo-hint`} onClick={() => void bulk.undoLast()}>
            Undo
          </button>
          <span id={`${id}-undo-hint`}>
            Takes back the {bulk.undoable} {bulk.undoable === 1 ? 'resolution' : 'resolutions'} just made.
          </span>
        </div>
      ) : null}
      {bulk.report !== null && bulk.report.failed.length > 0 ? (
        <ul role="alert" style={alert}>
          {bulk.report.failed.map((failure) => (
            <li key={failure}>{failure}</li>
          ))}
        </ul>
      ) : null}

      {sorted.length === 0 ? (
        <p>{collection === '' ? 'No conflicts.' : `No conflicts in ${collection}.`}</p>
      ) : (
        <table style={table}>
          <caption style={{ textAlign: 'left' }}>
            {sorted.length} {sorted.length === 1 ? 'conflict' : 'conflicts'},{' '}
            {newestFirst ? 'newest first' : 'oldest first'}
          </caption>
          <thead>
            <tr>
              <th scope="col" style={cell}>
                Record
              </th>
              <th scope="col" style={cell}>
                Kind
              </th>
              <th scope="col" style={cell}>
                Fields
              </th>
              <th scope="col" style={cell}>
                Detected
              </th>
              <th scope="col" style={cell}>
                Status
              </th>
              <th scope="col" style={cell}>
                Action
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((conflict) => {
              const rowId = `${id}-row-${conflict.id}`;
              const isOpen = conflict.resolvedAt === undefined;
              return (
                <tr key={conflict.id}>
                  <th scope="row" id={rowId} style={cell}>
                    {rowName(conflict)}
                  </th>
                  <td style={cell}>{kindLabel(conflict)}</td>
                  <td style={cell}>{(conflict.summary.fields ?? []).map(fieldLabel).join(', ')}</td>
                  <td style={cell}>
                    <time dateTime={conflict.detectedAt}>{formatTime(conflict.detectedAt)}</time>
                  </td>
                  <td style={cell}>
                    <span style={isOpen ? openBadge : resolvedBadge}>
                      {isOpen ? 'open' : `resolved: ${outcomeLabel(conflict.summary.outcome)}`}
                    </span>
                  </td>
                  <td style={cell}>
                    <div style={{ display: 'flex', flexWrap: 'wrap', gap: '0.5em' }}>
                      <button
                        type="button"
                        id={openButtonId(conflict.id)}
                        aria-describedby={rowId}
                        onClick={(event) => {
                          // The app shows its own dialog for a conflict to settle.
                          if (onResolveConflict !== undefined && isOpen && mayResolve(conflict)) {
                            onResolveConflict(conflict.id);
                            return;
                          }
                          // Focus returns here when the dialog closes, in browsers that do not focus on click.
                          event.currentTarget.focus();
                          setSelectedId(conflict.id);
                        }}
                      >
                        {isOpen && mayResolve(conflict) ? 'Resolve' : 'Review'}
                      </button>
                      {mayResolve(conflict) && actions.undoable(conflict) ? (
                        <button type="button" aria-describedby={rowId} onClick={() => void undoRow(conflict)}>
                          Undo
                        </button>
                      ) : null}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      {pageCount > 1 ? (
        <nav aria-label="Conflict pages" style={buttonRow}>
          <button type="button" disabled={current === 0} onClick={() => setPage(current - 1)}>
            Previous
          </button>
          <span aria-live="polite">
            Page {current + 1} of {pageCount}
          </span>
          <button type="button" disabled={current >= pageCount - 1} onClick={() => setPage(current + 1)}>
            Next
          </button>
        </nav>
      ) : null}

      <ConflictResolutionModal
        conflict={selected}
        open={selected !== null}
        onDismiss={() => setSelectedId(null)}
        canResolve={selected !== null && mayResolve(selected)}
      />
    </section>
  );
}
