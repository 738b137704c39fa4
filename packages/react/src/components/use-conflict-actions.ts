import { useCallback, useMemo, useState } from 'react';
import type { LocalConflict } from '@outpost/client';
import { OutpostError, settledMeanwhile } from '@outpost/core';
import type { NotOpenDetails, RecordData, ResolutionStrategy, ResolveResponse } from '@outpost/core';
import { useSyncClient } from '../sync-client-context';
import { useSyncEngine } from '../use-sync-engine';
import { collisionOf } from './collision';
import { appRefusalCause, refusalCause } from './refusal-words';
import type { Collision } from './collision';
import { forgetResolution, isUndoable, noteResolution, useSessionResolutions } from './session-resolutions';

export interface ConflictActions {
  /**
   * Settles a conflict; resolves to the server's answer, or null when it failed (see `error`). With
   * `{ onlyOpen: true }` a conflict settled meanwhile elsewhere is refused, not overruled (see
   * `settledMeanwhile`): what a view passes for a choice it offered on a conflict it showed open.
   */
  resolve(
    id: string,
    strategy: ResolutionStrategy,
    mergedData?: RecordData,
    options?: { readonly onlyOpen?: boolean },
  ): Promise<ResolveResponse | null>;
  /**
   * Runs an app's own resolution (the dialog's `onResolve`) in place of `resolve`, with the same
   * busy and error state: true once it went through, false when it was rejected (see `error`). An
   * Outpost refusal is read as `resolve` reads it (`collision`, `settledMeanwhile`); what the app
   * settled is not noted for Undo.
   */
  resolveWith(work: () => Promise<void>): Promise<boolean>;
  /**
   * Undoes the last resolution of a conflict, which is open again afterwards; null when it failed.
   * Refused with 409 (the record changed since the resolution), Undo is no longer offered for it.
   */
  undo(id: string): Promise<ResolveResponse | null>;
  /**
   * Whether Undo would take back a resolution this person made on this client in this session
   * (through any component's actions, the dialog closed since or not): the conflict still shows it.
   */
  undoable(conflict: LocalConflict): boolean;
  /** True while a resolve or undo is out. */
  readonly busy: boolean;
  /** Why the last resolve or undo failed, in words (refusal-words.ts); null after one succeeds. */
  readonly error: string | null;
  /**
   * The conflict last resolved through these actions and not undone since, with the time the
   * server settled it: while the conflict still shows that time, nobody settled it again since,
   * and Undo would take back this resolution rather than someone else's.
   */
  readonly lastResolved: {
    readonly id: string;
    readonly strategy: ResolutionStrategy;
    readonly resolvedAt: string | null;
  } | null;
  /**
   * Set when the last resolve or undo was refused because the record changed after the conflict
   * (409 CONFLICT): the fields edited since that the choice would overwrite, or `deleted` when the
   * record was deleted since. The person then chooses again with the record as it stands.
   */
  readonly collision: Collision | null;
  /**
   * Set when the last resolve, sent with `onlyOpen`, was refused because someone settled the
   * conflict meanwhile (a colleague, another device): how it stands now, as the server said. The
   * device already shows it settled that way; nothing was overwritten.
   */
  readonly settledMeanwhile: NotOpenDetails | null;
}

/**
 * Resolve and undo for conflict components, with the state a view shows: busy, the last error,
 * and the resolution that Undo would take back. The calls themselves are the client's.
 */
export function useConflictActions(): ConflictActions {
  const client = useSyncClient();
  const { resolveConflict } = useSyncEngine();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [lastResolved, setLastResolved] = useState<ConflictActions['lastResolved']>(null);
  const [collision, setCollision] = useState<Collision | null>(null);
  const [settled, setSettled] = useState<NotOpenDetails | null>(null);
  const resolutions = useSessionResolutions();

  const run = useCallback(
    async <T>(
      work: () => Promise<T>,
      options: { onRefused?: (err: unknown) => void; words?: (err: unknown) => string } = {},
    ): Promise<T | null> => {
      const { onRefused, words = refusalCause } = options;
      setBusy(true);
      setError(null);
      setCollision(null);
      setSettled(null);
      try {
        return await work();
      } catch (err) {
        setError(words(err));
        setCollision(collisionOf(err));
        setSettled(settledMeanwhile(err));
        onRefused?.(err);
        return null;
      } finally {
        setBusy(false);
      }
    },
    [],
  );

  const resolve = useCallback(
    async (
      id: string,
      strategy: ResolutionStrategy,
      mergedData?: RecordData,
      options?: { readonly onlyOpen?: boolean },
    ) => {
      const response = await run(() => resolveConflict(id, strategy, mergedData, options));
      if (response !== null) {
        const resolution = { id, strategy, resolvedAt: response.conflict.resolvedAt };
        setLastResolved(resolution);
        noteResolution(client, resolution);
      }
      return response;
    },
    [run, resolveConflict, client],
  );
  const resolveWith = useCallback(
    async (work: () => Promise<void>) => {
      const done = await run(
        async () => {
          await work();
          return true;
        },
        { words: appRefusalCause },
      );
      return done ?? false;
    },
    [run],
  );
  const undo = useCallback(
    async (id: string) => {
      // A 409 means the record changed after the resolution (or it can no longer change): versions
      // only rise, so the server would refuse every later Undo too. Not a lost connection: retry that.
      const response = await run(() => client.conflicts.undo(id), {
        onRefused: (err) => {
          if (err instanceof OutpostError && err.code === 'CONFLICT') forgetResolution(client, id);
        },
      });
      if (response !== null) {
        setLastResolved((last) => (last?.id === id ? null : last));
        forgetResolution(client, id);
      }
      return response;
    },
    [run, client],
  );
  const undoable = useCallback((conflict: LocalConflict) => isUndoable(resolutions, conflict), [resolutions]);
  return useMemo(
    () => ({
      resolve,
      resolveWith,
      undo,
      undoable,
      busy,
      error,
      lastResolved,
      collision,
      settledMeanwhile: settled,
    }),
    [resolve, resolveWith, undo, undoable, busy, error, lastResolved, collision, settled],
  );
}
