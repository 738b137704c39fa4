import { useState } from 'react';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { endSessionsOf } from './server-json';
import type { Session } from './session';

/**
 * A nurse whose tablet was lost, signed in on another: she ends her sessions on every device
 * (`POST /v1/auth/end-sessions` with her own id), so the lost one is refused from then on and
 * cannot renew her sign-in, and then is signed out here too. Needs the server: offline, the button says so.
 */
export function SignOutEverywhere({
  session,
  tokens,
  onSignOut,
}: {
  session: Session;
  tokens: TokenSession;
  onSignOut: () => void;
}) {
  const { isOnline } = useNetworkStatus();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const endAll = async () => {
    if (
      !window.confirm(
        'Sign out on every device, this one included? Changes waiting on each device stay there until you sign in on it again.',
      )
    )
      return;
    setBusy(true);
    setError(null);
    try {
      await endSessionsOf(session.userId, tokens);
      onSignOut();
    } catch (err) {
      setError(
        err instanceof TypeError
          ? 'The server cannot be reached.'
          : err instanceof Error
            ? err.message
            : String(err),
      );
      setBusy(false);
    }
  };

  return (
    <section className="sign-out-everywhere" aria-labelledby="everywhere-heading">
      <h2 id="everywhere-heading">A tablet lost?</h2>
      <p>
        Sign out on every device where you are signed in, so a lost tablet can no longer sync as you.
        {isOnline ? '' : ' This needs the network.'}
      </p>
      <button type="button" disabled={busy || !isOnline} onClick={() => void endAll()}>
        Sign out on every device
      </button>
      {error !== null ? (
        <p role="alert" className="error">
          Could not sign out everywhere: {error}
        </p>
      ) : null}
    </section>
  );
}
