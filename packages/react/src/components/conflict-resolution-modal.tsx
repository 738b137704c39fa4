import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { LocalConflict } from '@outpost/client';
import { stableStringify } from '@outpost/core';
import type { ConflictOutcome, NotOpenDetails, RecordData, ResolutionStrategy } from '@outpost/core';
import { useSyncClient } from '../sync-client-context';
import { useOfflinePermissions } from '../use-offline-permissions';
import { useSyncEngine } from '../use-sync-engine';
import { ConflictDiffViewer } from './conflict-diff-viewer';
import {
  fieldLabel,
  formatTime,
  kindLabel,
  localSide,
  outcomeLabel,
  recordLabel,
  strategyLabel,
} from './conflict-labels';
import { useConflictVersions } from './conflict-versions';
import { useDeviceNaming } from './device-naming';
import { mergeChoices } from './record-diff';
import type { FieldChoices, Side } from './record-diff';
import { RecordPreview } from './record-preview';
import { alert, buttonRow, dialog, overlay } from './styles';
import { useConflictActions } from './use-conflict-actions';
import { collisionText } from './collision';

/** The choices the dialog offers: "Keep local", "Use server" and "Merge". */
export type DialogStrategy = Extract<ResolutionStrategy, 'client-wins' | 'server-wins' | 'merge'>;

export interface ConflictResolutionModalProps {
  /**
   * The conflict to settle. Its current state is read from the client, so an older copy will do.
   * Null shows nothing, as `open={false}` does.
   */
  conflict: LocalConflict | null;
  /** Default true: an app may instead render the dialog only while it has a conflict to show. */
  open?: boolean;
  /** Called on Close and on Escape; the caller hides the dialog (`open` false, or unmounts it). */
  onDismiss(): void;
  /**
   * Settles the conflict the app's own way, in place of the client's resolve: called on Confirm
   * with the choice (our strategy names: `'client-wins'` for "Keep local", `'server-wins'` for "Use
   * server", `'merge'`) and, for a merge, the merged record. The dialog is busy while the promise
   * runs; a rejection is shown in words (an Outpost refusal or a lost connection as for the
   * client's resolve, anything else by its message) and the choice stays to try again; once it
   * resolves, the dialog shows the conflict resolved, as after its own resolution. Nothing is
   * sent by the dialog itself, so `onlyOpen` is the app's to pass if it resolves through the
   * client (`client.conflicts.resolve(id, strategy, mergedData, { onlyOpen: true })`). Undo is
   * not offered while this is given: the app owns the resolution, and the dialog cannot know how
   * to take it back.
   */
  onResolve?: (strategy: DialogStrategy, mergedData?: RecordData) => Promise<void>;
  /**
   * False for a person whose role may not resolve the conflict (the server would refuse): the
   * dialog shows both versions and the outcome, with no choice to make. Default: what the person's
   * roles allow for the conflict's collection (`client.can(collection, 'resolve')`), true when the
   * client knows no roles.
   */
  canResolve?: boolean;
}

/**
 * A dialog to settle one conflict: the two versions side by side with a choice per disputed field,
 * "Keep local", "Use server" or "Merge" (the fields as chosen), a confirmation showing the
 * result, and Undo of a resolution this person made in this session (closed and opened again too)
 * while the conflict still shows it. A choice is sent for an open conflict only (`onlyOpen`): one
 * settled meanwhile elsewhere is not overruled, and the dialog says so and shows how it stands.
 * Focus moves into the dialog when it opens, stays in it while it is open and returns to where it
 * was when it closes; Escape closes it. Seed 003's props (`conflict`, `onResolve`, `onDismiss`)
 * are enough: `{c && <ConflictResolutionModal conflict={c} onResolve={...} onDismiss={...} />}`.
 */
export function ConflictResolutionModal({
  conflict,
  open = true,
  onDismiss,
  onResolve,
  canResolve,
}: ConflictResolutionModalProps) {
  const { can } = useOfflinePermissions();
  if (!open || conflict === null) return null;
  return (
    <OpenConflictModal
      key={conflict.id}
      conflict={conflict}
      onDismiss={onDismiss}
      onResolve={onResolve}
      canResolve={canResolve ?? can(conflict.collection, 'resolve')}
    />
  );
}

/** What a choice made in the dialog settles the conflict as. */
const outcomeOf: Readonly<Record<DialogStrategy, ConflictOutcome>> = {
  'client-wins': 'client-won',
  'server-wins': 'server-won',
  merge: 'merged',
};

const focusableSelector = [
  'button:not([disabled])',
  'input:not([disabled])',
  'select:not([disabled])',
  'textarea:not([disabled])',
  'a[href]',
  '[tabindex]:not([tabindex="-1"])',
].join(', ');

/** The controls in `root` a person can tab to, in document order. */
function focusableIn(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(focusableSelector)).filter(
    (el) => el.closest('[hidden]') === null,
  );
}

function explanation(strategy: ResolutionStrategy, localVersion: string, deletedNow: boolean): string {
  switch (strategy) {
    case 'client-wins':
      return `${localVersion} replaces the server's.`;
    case 'server-wins':
      return deletedNow
        ? 'The record stays deleted, as it was deleted after this conflict; the local change is set aside in the conflict archive.'
        : "The server's version stays; the local change is set aside in the conflict archive.";
    case 'last-write-wins':
      return 'The version changed last stays.';
    case 'merge':
      return 'Each field takes the version you chose; a field the chosen version lacks is cleared.';
  }
}

/** A choice refused because someone settled the conflict while it was open here, in words. */
function settledMeanwhileText(standing: NotOpenDetails): string {
  const when = standing.resolvedAt === null ? '' : `, ${formatTime(standing.resolvedAt)}`;
  return `Not applied: a colleague (or another device) settled this conflict while it was open here (${outcomeLabel(standing.outcome)}${when}). Your choice was not sent over theirs, so nothing was overwritten. Review how it was settled below; to change the record now, edit it.`;
}

function OpenConflictModal({
  conflict,
  onDismiss,
  onResolve,
  canResolve,
}: {
  conflict: LocalConflict;
  onDismiss(): void;
  onResolve: ConflictResolutionModalProps['onResolve'];
  canResolve: boolean;
}) {
  const { conflicts } = useSyncEngine();
  const client = useSyncClient();
  const deviceName = useDeviceNaming();
  const live = conflicts.find((c) => c.id === conflict.id) ?? conflict;
  const versions = useConflictVersions(live);
  const actions = useConflictActions();
  const [choices, setChoices] = useState<FieldChoices>({});
  const [planned, setPlanned] = useState<DialogStrategy | null>(null);
  // The choice the app's `onResolve` settled the conflict with; the device's copy may never show it.
  const [resolvedByApp, setResolvedByApp] = useState<DialogStrategy | null>(null);
  // The record as it stands now, once a choice was refused because it changed after the conflict
  // (null: deleted since).
  const [current, setCurrent] = useState<RecordData | null | undefined>(undefined);
  // Deleted since the conflict: every choice but the server's would bring it back, and is refused
  // (core's resolutionEffect); "Keep local" of a delete leaves it deleted, and stays.
  const deletedNow = current === null;
  const localRevives = deletedNow && versions.local !== null;
  // Every field a refusal named as edited since the conflict: no choice may overwrite them.
  const [editedSince, setEditedSince] = useState<readonly string[]>([]);
  // Keeping the local version would put its values over fields edited since: refused again.
  const localOverwrites =
    current !== undefined &&
    editedSince.some(
      (field) =>
        stableStringify(versions.local?.[field] ?? null) !== stableStringify(current?.[field] ?? null),
    );
  const merged = useMemo(
    () => mergeChoices(versions.local, versions.server, choices, current ?? null),
    [versions.local, versions.server, choices, current],
  );

  // A choice refused for overwriting later edits: fetch the record as it stands and offer its
  // values, each field edited since keeping its value now unless the person chooses otherwise.
  const { collision } = actions;
  useEffect(() => {
    if (collision === null) return;
    setPlanned(null);
    // The refusal says so itself: there is nothing to fetch, and no value to keep.
    if (collision.deleted) {
      setCurrent(null);
      return;
    }
    let cancelled = false;
    client.conflicts.current(live.id).then(
      (record) => {
        if (cancelled) return;
        setCurrent(record && !record.deleted ? record.data : null);
        setEditedSince((previous) => [...new Set([...previous, ...collision.fields])]);
        setChoices((previous) => ({
          ...previous,
          ...Object.fromEntries(collision.fields.map((field) => [field, 'current' as const])),
        }));
      },
      // The refusal's message stays on screen; without the record, the two versions still are.
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [collision, client, live.id]);

  // A choice refused because someone settled the conflict meanwhile: nothing more to choose. The
  // record that settlement wrote reaches the device with its next pull; fetched now, it is shown
  // beside the two versions for the person to review.
  const settledElsewhere = actions.settledMeanwhile;
  const [settledRecord, setSettledRecord] = useState<RecordData | null | undefined>(undefined);
  useEffect(() => {
    if (settledElsewhere === null) return;
    setPlanned(null);
    let cancelled = false;
    client.conflicts.current(live.id).then(
      (record) => {
        if (!cancelled) setSettledRecord(record && !record.deleted ? record.data : null);
      },
      // Without the record, the outcome and the two versions are still shown.
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [settledElsewhere, client, live.id]);

  const id = useId();
  const titleId = `${id}-title`;
  const descriptionId = `${id}-description`;
  const confirmHeadingId = `${id}-confirm`;
  const dialogRef = useRef<HTMLDivElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const undoRef = useRef<HTMLButtonElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const onDismissRef = useRef(onDismiss);
  useLayoutEffect(() => {
    onDismissRef.current = onDismiss;
  });

  // Settled meanwhile elsewhere: the device shows it settled once the refusal says so (the client
  // notes it), and the dialog does at once, whatever the device's copy says.
  const resolved = live.resolvedAt !== undefined || settledElsewhere !== null || resolvedByApp !== null;
  const outcome =
    live.resolvedAt !== undefined
      ? live.summary.outcome
      : settledElsewhere !== null
        ? settledElsewhere.outcome
        : resolvedByApp !== null
          ? outcomeOf[resolvedByApp]
          : live.summary.outcome;
  // Only a resolution this person made, while nobody settled the conflict again since (another
  // device, a refresh from the archive): Undo takes back the conflict's last resolution, whoever made it.
  // Never with `onResolve`: the app settles the conflict, and taking that back is the app's too.
  const canUndo = resolved && canResolve && onResolve === undefined && actions.undoable(live);
  const phase = resolved ? 'resolved' : planned !== null ? 'confirm' : 'choose';

  // Focus in on open and back out on close; Escape closes; Tab and Shift+Tab stay inside.
  useEffect(() => {
    const box = dialogRef.current;
    const returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (box) (focusableIn(box)[0] ?? box).focus();
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        onDismissRef.current();
        return;
      }
      if (event.key !== 'Tab' || !box) return;
      const controls = focusableIn(box);
      const first = controls[0];
      const last = controls.at(-1);
      const active = document.activeElement;
      if (!first || !last) {
        event.preventDefault();
      } else if (event.shiftKey && (active === first || !box.contains(active))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !box.contains(active))) {
        event.preventDefault();
        first.focus();
      }
    };
    document.addEventListener('keydown', onKeyDown);
    return () => {
      document.removeEventListener('keydown', onKeyDown);
      if (returnTo?.isConnected) returnTo.focus();
    };
  }, []);

  // The control that replaced the one just used gets the focus, so it is never lost to the page.
  const step = `${phase}${canUndo ? '+undo' : ''}`;
  const shownStep = useRef(step);
  useEffect(() => {
    if (shownStep.current === step) return;
    shownStep.current = step;
    const box = dialogRef.current;
    const target =
      phase === 'confirm'
        ? confirmRef.current
        : phase === 'resolved'
          ? (undoRef.current ?? closeRef.current)
          : box && focusableIn(box)[0];
    target?.focus();
  }, [step, phase]);

  const choose = (field: string, side: Side) => setChoices((previous) => ({ ...previous, [field]: side }));
  const choosing = {
    localData: versions.local,
    serverData: versions.server,
    entityType: live.collection,
    raisedOn: live.raisedBy?.deviceId,
    choices,
    onFieldSelect: choose,
  };
  const confirm = async () => {
    if (planned === null) return;
    if (onResolve !== undefined) {
      const chosen = planned;
      const done = await actions.resolveWith(() =>
        chosen === 'merge' ? onResolve(chosen, merged) : onResolve(chosen),
      );
      if (done) {
        setResolvedByApp(chosen);
        setPlanned(null);
      }
      return;
    }
    // Only while open: a colleague who settled it since this dialog showed it open is not overruled.
    const response = await actions.resolve(live.id, planned, planned === 'merge' ? merged : undefined, {
      onlyOpen: true,
    });
    if (response !== null) setPlanned(null);
  };
  // "Use server" of an open conflict leaves the record as it stands: once that is known (after a
  // refusal), it is what the record will read, not the server's version when the conflict came.
  const serverNow = current !== undefined ? current : versions.server;
  const result: RecordData | null =
    planned === 'merge' ? merged : planned === 'server-wins' ? serverNow : versions.local;
  const fields = (live.summary.fields ?? []).map(fieldLabel);

  return (
    <div style={overlay}>
      <div
        ref={dialogRef}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={descriptionId}
        aria-busy={actions.busy}
        tabIndex={-1}
        style={dialog}
      >
        <h2 id={titleId}>
          Conflict on {live.collection} “{recordLabel(live)}”
        </h2>
        <p id={descriptionId}>
          {kindLabel(live)}. Detected {formatTime(live.detectedAt)}.
          {fields.length > 0 ? ` Fields in dispute: ${fields.join(', ')}.` : ''}
        </p>

        {phase === 'choose' && !canResolve ? (
          <>
            <p>Open: an administrator settles this conflict.</p>
            <ConflictDiffViewer conflict={live} />
          </>
        ) : null}

        {phase === 'choose' && canResolve && deletedNow ? (
          <>
            <p>
              Deleted since: someone deleted this record after this conflict.{' '}
              {localRevives
                ? '“Keep local” and “Merge” would bring it back, so they are unavailable.'
                : '“Merge” would bring it back, so it is unavailable.'}{' '}
              “Use server” leaves it deleted and closes the conflict. To have the record back, add it again.
            </p>
            <ConflictDiffViewer
              localData={versions.local}
              serverData={versions.server}
              entityType={live.collection}
              raisedOn={live.raisedBy?.deviceId}
              current={null}
            />
          </>
        ) : null}

        {phase === 'choose' && canResolve && !deletedNow ? (
          <>
            {current !== undefined && editedSince.length > 0 ? (
              <p>
                Changed after this conflict: {editedSince.map(fieldLabel).join(', ')}. “Now” shows the record
                as it stands; those fields keep their values now, as no resolution may overwrite them (to
                change one, edit the record itself).
                {localOverwrites ? ' “Keep local” would overwrite them, so it is unavailable.' : ''} Choose
                the other fields, then Merge.
              </p>
            ) : null}
            {/* Two branches, not a spread: the viewer offers "Keep current" only with `current`. */}
            {current !== undefined ? (
              <ConflictDiffViewer {...choosing} current={current} editedSince={editedSince} />
            ) : (
              <ConflictDiffViewer {...choosing} />
            )}
          </>
        ) : null}

        {phase === 'choose' && canResolve ? (
          <div role="group" aria-label="Resolve with" style={buttonRow}>
            <button
              type="button"
              disabled={localOverwrites || localRevives}
              onClick={() => setPlanned('client-wins')}
            >
              Keep local
            </button>
            <button type="button" onClick={() => setPlanned('server-wins')}>
              Use server
            </button>
            <button type="button" disabled={deletedNow} onClick={() => setPlanned('merge')}>
              Merge
            </button>
          </div>
        ) : null}

        {phase === 'confirm' && planned !== null ? (
          <section aria-labelledby={confirmHeadingId}>
            <h3 id={confirmHeadingId}>
              {strategyLabel(planned)}:{' '}
              {result !== null
                ? 'the record will read'
                : deletedNow
                  ? 'the record stays deleted'
                  : 'the record will be deleted'}
            </h3>
            <p>
              {explanation(
                planned,
                localSide(live.raisedBy?.deviceId, client.deviceId, deviceName).version,
                deletedNow,
              )}
            </p>
            {result !== null ? <RecordPreview data={result} labelledBy={confirmHeadingId} /> : null}
            <div style={buttonRow}>
              <button type="button" ref={confirmRef} disabled={actions.busy} onClick={() => void confirm()}>
                Confirm
              </button>
              <button type="button" disabled={actions.busy} onClick={() => setPlanned(null)}>
                Back
              </button>
            </div>
          </section>
        ) : null}

        {phase === 'resolved' ? (
          <>
            <p role="status">Resolved: {outcomeLabel(outcome)}.</p>
            {settledElsewhere !== null && settledRecord !== undefined ? (
              <p>
                {settledRecord === null
                  ? 'The record is deleted now.'
                  : '“Now” shows the record as that settlement left it.'}
              </p>
            ) : null}
            <ConflictDiffViewer
              conflict={live}
              {...(settledElsewhere !== null && settledRecord !== undefined
                ? { current: settledRecord }
                : {})}
            />
            {canUndo ? (
              <div style={buttonRow}>
                <button
                  type="button"
                  ref={undoRef}
                  disabled={actions.busy}
                  onClick={() => void actions.undo(live.id)}
                >
                  Undo
                </button>
              </div>
            ) : null}
          </>
        ) : null}

        {actions.error !== null ? (
          <p role="alert" style={alert}>
            {/* The server's words name the record by id and the choice by its wire name: every
                refusal is said in words of the dialog's own (refusal-words.ts). */}
            {settledElsewhere !== null
              ? settledMeanwhileText(settledElsewhere)
              : actions.collision !== null
                ? collisionText(actions.collision)
                : `That did not go through: ${actions.error}.`}
          </p>
        ) : null}
        <div style={buttonRow}>
          <button type="button" ref={closeRef} onClick={onDismiss}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}
