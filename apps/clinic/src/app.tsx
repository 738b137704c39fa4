import { useEffect, useRef, useState } from 'react';
import type { SyncClient } from '@outpost/client';
import { SyncClientProvider } from '@outpost/react';
import { startBackgroundSync } from './background-sync';
import { openClient } from './open-client';
import type { RecordsHolder } from './open-client';
import { loadSession, onSessionChangedElsewhere, signOut, tokenFor } from './session';
import type { Session } from './session';
import { Shell } from './shell';
import { SignInPage } from './sign-in-page';

/** Signed out: the sign-in page. Signed in: the user's local database opens, then the clinic. */
export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  // What the open client sends: signing in again (an expired token) changes the token, not the
  // person, so the client stays open with their records and unsent changes.
  const current = useRef(session);
  current.current = session;
  const person = session === null ? null : `${session.tenant}/${session.userId}`;
  const [client, setClient] = useState<SyncClient | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [otherTab, setOtherTab] = useState<RecordsHolder | null>(null);

  // Signing in or out in another tab holds here too: the session is the browser's, not the tab's.
  useEffect(
    () =>
      onSessionChangedElsewhere((changed) => {
        current.current = changed;
        setSession(changed);
      }),
    [],
  );

  useEffect(() => {
    const signedIn = current.current;
    if (signedIn === null) return;
    let opened: SyncClient | null = null;
    let stopBackgroundSync = () => {};
    let cancelled = false;
    const token = () => tokenFor(signedIn, current.current);
    openClient(signedIn, token, (holder) => {
      if (!cancelled) setOtherTab(holder);
    }).then(
      (c) => {
        if (cancelled) return void c.close();
        opened = c;
        setOtherTab(null);
        stopBackgroundSync = startBackgroundSync(c);
        setClient(c);
        // Bring the device up to date as soon as it opens; offline, this fails quietly and the
        // client syncs when the server answers again.
        void c.sync().catch(() => {});
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      cancelled = true;
      stopBackgroundSync();
      setClient(null);
      // The failure was this person's database: the next person's (or a new try) starts clean.
      setError(null);
      void opened?.close();
    };
  }, [person]);

  const onSignOut = () => {
    void signOut();
    setSession(null);
  };
  if (session === null) return <SignInPage onSignedIn={setSession} />;
  if (error !== null)
    return (
      <main>
        <p role="alert">This device&rsquo;s records could not be opened: {error}</p>
        {/* A shared tablet: the next person must still be able to sign in. */}
        <p>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </p>
      </main>
    );
  if (client === null)
    return (
      <main>
        {otherTab === 'background-sync' ? (
          <p role="status">
            Finishing a sync started in the background&hellip; This device&rsquo;s records open here as soon
            as it ends, in a few seconds.
          </p>
        ) : otherTab === 'tab' ? (
          <p role="status">
            Outpost Clinic is open in another tab or window of this browser. Close it, and this tab continues
            here: two tabs writing this device&rsquo;s records at once could lose a change.
          </p>
        ) : (
          <p role="status">Opening this device&rsquo;s records…</p>
        )}
      </main>
    );
  return (
    <SyncClientProvider client={client}>
      <Shell
        session={session}
        onSignedInAgain={(renewed) => {
          // At once, not at the next render: the sync that follows must already send it.
          current.current = renewed;
          setSession(renewed);
        }}
        onSignOut={onSignOut}
      />
    </SyncClientProvider>
  );
}
