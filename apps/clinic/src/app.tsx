import { useEffect, useMemo, useState } from 'react';
import type { SyncClient } from '@outpost/client';
import { SyncClientProvider } from '@outpost/react';
import { startBackgroundSync } from './background-sync';
import { askToKeepData } from './device-storage';
import { RecordsKeyNeeded, openClient } from './open-client';
import type { RecordsHolder } from './open-client';
import {
  loadSession,
  onSessionChangedElsewhere,
  previousVersionMoved,
  rolesReadAgain,
  sameIdentity,
  signOut,
  tokenSessionFor,
} from './session';
import type { Session } from './session';
import { ChoosePasswordDialog, ChoosePasswordPage } from './choose-password';
import { markActivity } from './idle-time';
import { RecordsLocked } from './records-locked';
import { ScreenLock } from './screen-lock';
import { Shell } from './shell';
import { SignInPage } from './sign-in-page';

/** Signed out: the sign-in page. Signed in: the user's local database opens, then the clinic. */
export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const person = session === null ? null : `${session.tenant}/${session.userId}`;
  // The person's tokens, in IndexedDB, shared with the other tabs and the service worker: a refresh
  // or signing in again changes them, not the person, so the client stays open with their records
  // and unsent changes. Made again only for another person.
  const tokens = useMemo(() => (session === null ? null : tokenSessionFor(session)), [person]);
  // No record opens while the person's own password is still to be chosen (decision 0047): the
  // server would refuse every sync. Records already open stay open (the person signed in again,
  // inside the app, with a password an administrator reset): what is typed in them is kept.
  const [client, setClient] = useState<SyncClient | null>(null);
  const openFor = session?.passwordChangeDue === true && client === null ? null : person;
  const [error, setError] = useState<string | null>(null);
  const [otherTab, setOtherTab] = useState<RecordsHolder | null>(null);
  // Encrypted records this tab has no key to (decision 0054): the password is asked, then they open.
  const [keyNeeded, setKeyNeeded] = useState<RecordsKeyNeeded | null>(null);
  const [unlocks, setUnlocks] = useState(0);

  // Signing in or out in another tab holds here too: the session is the browser's, not the tab's.
  useEffect(
    () =>
      onSessionChangedElsewhere((changed) =>
        // The same person signing in again elsewhere, or their roles read again: no new sign-in here.
        setSession((was) => (was !== null && changed !== null && sameIdentity(was, changed) ? was : changed)),
      ),
    [],
  );

  // A tablet updated from the version that kept the token in localStorage: it moves to IndexedDB.
  useEffect(() => void previousVersionMoved(), []);

  // Someone signed in: their changes may wait on this tablet for days, so the browser is asked not
  // to clear its data under storage pressure. Nothing waits for its answer.
  useEffect(() => {
    if (person !== null) void askToKeepData();
  }, [person]);

  useEffect(() => {
    if (session === null || tokens === null || openFor === null) return;
    let opened: SyncClient | null = null;
    let stopBackgroundSync = () => {};
    let stopReadingRoles = () => {};
    let cancelled = false;
    openClient(session, tokens, (holder) => {
      if (!cancelled) setOtherTab(holder);
    }).then(
      (c) => {
        if (cancelled) return void c.close();
        opened = c;
        setOtherTab(null);
        stopBackgroundSync = startBackgroundSync(c);
        // Each sync may have refreshed the tokens, here or in the worker, with the roles read again.
        stopReadingRoles = c.on('sync', () => {
          void rolesReadAgain(session).then(
            (renewed) => {
              if (renewed !== null && !cancelled)
                setSession((was) => (was !== null && sameIdentity(was, renewed) ? was : renewed));
            },
            () => {},
          );
        });
        setClient(c);
        // Bring the device up to date as soon as it opens; offline, this fails quietly and the
        // client syncs when the server answers again. Not with "Sync automatically" off: the
        // person syncs with "Sync now".
        if (c.autoSync !== false) void c.sync().catch(() => {});
      },
      (err: unknown) => {
        if (cancelled) return;
        if (err instanceof RecordsKeyNeeded) setKeyNeeded(err);
        else setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      cancelled = true;
      stopBackgroundSync();
      stopReadingRoles();
      setClient(null);
      // The failure was this person's database: the next person's (or a new try) starts clean.
      setError(null);
      setKeyNeeded(null);
      void opened?.close();
    };
    // The client is the person's: opened again only for another (or once their password is theirs),
    // or once the password typed gave the key to their encrypted records.
  }, [openFor, unlocks]);

  // Roles read again at a refresh (here, in another tab or in the worker): the client checks them.
  useEffect(() => {
    if (client !== null && session !== null) client.setRoles(session.roles);
  }, [client, session]);

  // The tokens leave the tablet first, then who is signed in (the other tabs follow), then this
  // tab's screen and client; the server is told after.
  const onSignOut = () => void signOut(() => setSession(null));
  // Typing a password is using the device: the screen lock counts from here, not from whatever the
  // person before left behind (decision 0048).
  const signedIn = (next: Session) => {
    markActivity();
    setSession(next);
  };
  if (session === null || tokens === null) return <SignInPage onSignedIn={signedIn} />;
  if (session.passwordChangeDue && client === null)
    return <ChoosePasswordPage session={session} onChanged={signedIn} onSignOut={onSignOut} />;
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
  const onSignedInAgain = (renewed: Session) =>
    setSession((was) => (was !== null && sameIdentity(was, renewed) ? was : renewed));
  if (keyNeeded !== null)
    return (
      <RecordsLocked
        session={session}
        reason={keyNeeded.reason}
        onUnlocked={() => {
          markActivity();
          setUnlocks((n) => n + 1);
        }}
        onSignedInAgain={onSignedInAgain}
        onSignOut={onSignOut}
      />
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
      {/* Locked after a while without use; the screens stay mounted under it, typing and all. */}
      <div className="app-screens" inert={session.passwordChangeDue === true}>
        <ScreenLock session={session} tokens={tokens} onSignedInAgain={onSignedInAgain} onSignOut={onSignOut}>
          <Shell session={session} tokens={tokens} onSignedInAgain={onSignedInAgain} onSignOut={onSignOut} />
        </ScreenLock>
      </div>
      {session.passwordChangeDue ? (
        <ChoosePasswordDialog session={session} onChanged={onSignedInAgain} onSignOut={onSignOut} />
      ) : null}
    </SyncClientProvider>
  );
}
