import { useEffect, useState } from 'react';
import { ConflictList, useNetworkStatus, useSyncClient } from '@outpost/react';

/**
 * Conflicts waiting for a person. An administrator's device fetches every device's conflicts from
 * the server's archive and can resolve them; a clinician sees the conflicts their own changes met.
 */
export function ConflictsPage({ canResolve }: { canResolve: boolean }) {
  const client = useSyncClient();
  const { isOnline } = useNetworkStatus();
  const [state, setState] = useState<{ loading: boolean; error: string | null }>({
    loading: false,
    error: null,
  });
  const refresh = async () => {
    setState({ loading: true, error: null });
    try {
      await client.conflicts.refresh();
      setState({ loading: false, error: null });
    } catch (err) {
      setState({ loading: false, error: err instanceof Error ? err.message : String(err) });
    }
  };
  useEffect(() => {
    if (isOnline) void refresh();
    // Refresh when the page opens and whenever the network comes back.
  }, [isOnline]);

  return (
    <section aria-labelledby="conflicts-page-heading">
      <div className="page-head">
        <h1 id="conflicts-page-heading">Conflict review</h1>
        <button type="button" onClick={() => void refresh()} disabled={state.loading || !isOnline}>
          Refresh from server
        </button>
      </div>
      <p className="muted">
        {canResolve
          ? 'Conflicts from every device of the clinic. Open one to compare both versions field by field and choose.'
          : 'Conflicts your changes met. An administrator settles them; you see the outcome here after your next sync.'}
      </p>
      {state.loading ? <p role="status">Fetching conflicts…</p> : null}
      {state.error !== null ? (
        <p role="alert" className="error">
          Could not fetch conflicts: {state.error}
        </p>
      ) : null}
      {/* Each conflict offers to settle it only to a role the schema lets resolve its collection
          (the client's roles): the server would refuse any other choice. */}
      <ConflictList />
    </section>
  );
}
