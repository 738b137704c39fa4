import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { useSyncClient, useSyncEngine, useSyncQueue } from '@outpost/react';
import { FormError } from './form-error';
import { awaitingConfirmation, confirmOfflineSignIn, signInAgain } from './session';
import type { Session } from './session';

/**
 * Shown once the server refuses this device's sign-in (401) and the session cannot renew itself:
 * its refresh token was refused (the session was ended elsewhere, or its 90 days passed), or it
 * has none (a sign-in kept by the previous version). An access token that merely expired, after
 * days away from the network, is renewed without asking anything. Nothing leaves the device
 * meanwhile, so it says so and asks for the password again; the client stays open, and the changes
 * waiting go as soon as the new token does.
 */
export function SignInAgain({
  session,
  onSignedIn,
}: {
  session: Session;
  onSignedIn: (session: Session) => void;
}) {
  const client = useSyncClient();
  const { lastResult, sync } = useSyncEngine();
  const { stats } = useSyncQueue();
  // Kept once seen: a later sync that fails for another reason (offline again) does not mean the
  // server would accept the old sign-in now.
  const [refused, setRefused] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Signed in with no network in this tab, and not yet confirmed by the server (decision 0038).
  const [unconfirmed, setUnconfirmed] = useState(() => awaitingConfirmation(session));
  // Whichever call the server refused: a sync, the live stream, a resolution. A sign-in made
  // offline is confirmed then with the password it was made with, and nothing is asked.
  useEffect(
    () =>
      client.on('unauthorized', () => {
        if (!awaitingConfirmation(session)) return setRefused(true);
        void confirmOfflineSignIn(session).then(
          (confirmed) => {
            setUnconfirmed(false);
            if (confirmed === null) return setRefused(true);
            onSignedIn(confirmed);
            void sync({ manual: true });
          },
          (err: unknown) => {
            // Still unreachable: the next refusal tries again.
            if (err instanceof TypeError) return;
            setUnconfirmed(false);
            setRefused(true);
            setError(
              `The server did not accept the password you signed in with offline: ${err instanceof Error ? err.message : String(err)}`,
            );
          },
        );
      }),
    [client, session, onSignedIn, sync],
  );
  useEffect(() => {
    if (lastResult?.success === true) setRefused(false);
  }, [lastResult]);
  if (!refused)
    return unconfirmed ? (
      <p role="status" className="signed-in-offline">
        Signed in on this device without the network. Your changes wait here until the server confirms your
        sign-in, as soon as the network is back; nothing needs to be typed again.
      </p>
    ) : null;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      // Refused, and nothing stored, when it signs in anyone else.
      onSignedIn(await signInAgain(session, password));
      setRefused(false);
      void sync({ manual: true });
    } catch (err) {
      setError(
        err instanceof TypeError
          ? 'The server cannot be reached. Try again when the network is back.'
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setBusy(false);
    }
  };

  const waiting = stats.waiting;
  return (
    <form className="sign-in-again" aria-label="Sign in again" onSubmit={(e) => void submit(e)}>
      <p role="alert">
        The server no longer accepts this device&rsquo;s sign-in: it has expired or was ended.{' '}
        {waiting > 0
          ? `${waiting === 1 ? 'The change' : `The ${waiting} changes`} waiting stay${waiting === 1 ? 's' : ''} on this device until you sign in again.`
          : 'Sign in again to keep syncing.'}
      </p>
      <label>
        Password for {session.email}
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <FormError error={error} />
      <button type="submit" disabled={busy}>
        Sign in again
      </button>
    </form>
  );
}
