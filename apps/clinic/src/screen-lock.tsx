import { useEffect, useId, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus, useSyncClient } from '@outpost/react';
import { useClinicSettingsFollowed, useScreenLockMinutes } from './clinic-settings';
import { FormError } from './form-error';
import { canCheckOffline, checkOffline } from './offline-sign-in';
import { signInAgain } from './session';
import type { Session } from './session';
import type { StretchedPassword } from './stretched-password';
import { confirmLeaving } from './unsaved-typing';
import { useIdleLock } from './use-idle-lock';

interface ScreenLockProps {
  session: Session;
  tokens: TokenSession;
  /** The server checked the password: the session it renewed, as after "Sign in again". */
  onSignedInAgain: (session: Session) => void;
  onSignOut: () => void;
  /** The app's screens: kept mounted while locked, so nothing typed in them is lost. */
  children: ReactNode;
}

/**
 * The clinic's screen lock (decision 0048): after the minutes without use the clinic chose (10 by
 * default), the records are covered and out of reach until the person's password is typed again.
 * Nothing under it is unmounted: a note half typed is there after unlocking, and the sync client
 * goes on syncing meanwhile. The app's screens are `inert` (no focus, no click, no find-in-page,
 * nothing read aloud) under an opaque dialog.
 */
export function ScreenLock({ session, tokens, onSignedInAgain, onSignOut, children }: ScreenLockProps) {
  const client = useSyncClient();
  const { isOnline } = useNetworkStatus();
  useClinicSettingsFollowed(session.tenant, tokens, client);
  const afterMinutes = useScreenLockMinutes(session.tenant);
  const { locked, unlock } = useIdleLock(afterMinutes);
  return (
    <>
      <div className="app-screens" inert={locked}>
        {children}
      </div>
      {locked ? (
        <LockDialog
          session={session}
          isOnline={isOnline}
          heading="Locked"
          prompt="Enter your password to continue"
          onUnlocked={unlock}
          onSignedInAgain={onSignedInAgain}
          onSignOut={onSignOut}
        />
      ) : null}
    </>
  );
}

const triesWords = (n: number) => `${n} ${n === 1 ? 'try' : 'tries'}`;

interface LockDialogProps {
  session: Session;
  /** Whether the server may be reached: without it, a device that cannot check the password says so. */
  isOnline: boolean;
  heading: string;
  /** Why the password is asked, when the heading does not say. */
  explanation?: string;
  prompt: string;
  /**
   * What the password must also open on the device once its verifier took it (the records' key,
   * decision 0054); false sends the password to the server, as when the device cannot check it.
   * `stretched` is the password as the verifier's check stretched it (decision 0055).
   */
  opensOnDevice?: (password: string, stretched?: StretchedPassword) => Promise<boolean>;
  /**
   * The server checks the password first, and the device only when the server cannot be reached:
   * when this device holds no session the server accepts, whose sign-in also hands what
   * `opensOnDevice` would open (the records key), so that online the password is asked once.
   */
  serverFirst?: boolean;
  onUnlocked: () => void;
  onSignedInAgain: (session: Session) => void;
  onSignOut: () => void;
}

/**
 * The password asked again of the person signed in: by the screen lock, and by records encrypted on
 * this device that this tab has no key to (records-locked.tsx).
 */
export function LockDialog({
  session,
  isOnline,
  heading: title,
  explanation,
  prompt,
  opensOnDevice = () => Promise.resolve(true),
  serverFirst = false,
  onUnlocked,
  onSignedInAgain,
  onSignOut,
}: LockDialogProps) {
  const heading = useId();
  // Whether this device can check the password itself (decision 0038's verifier); null: asking.
  const [onDevice, setOnDevice] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let cancelled = false;
    canCheckOffline(session.email).then(
      (can) => !cancelled && setOnDevice(can),
      () => !cancelled && setOnDevice(false),
    );
    return () => {
      cancelled = true;
    };
  }, [session.email]);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const password = String(new FormData(form).get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      // On the device first: no network needed, and the server need not hear of every unlock.
      const checked = await checkOffline(session.email, password);
      const checkedHere =
        checked.ok &&
        checked.identity.userId === session.userId &&
        checked.identity.tenant === session.tenant;
      const openedHere = async () =>
        checked.ok && checkedHere && (await opensOnDevice(password, checked.stretched));
      // A key sealed under an earlier password does not open: the server then checks it.
      if (!serverFirst && (await openedHere())) return onUnlocked();
      if (!checked.ok && checked.reason === 'wrong-password') {
        form.reset();
        return setError(
          `Wrong password. ${triesWords(checked.triesLeft)} left before only the server can check it.`,
        );
      }
      // None on the device, or just used up by wrong passwords: the server checks it, and the
      // sign-in it renews keeps a new verifier for next time.
      if (!(serverFirst && checkedHere)) setOnDevice(false);
      let signedIn: Session;
      try {
        signedIn = await signInAgain(session, password);
      } catch (err) {
        // Out of reach: what the device opens with the password it checked, it opens.
        if (err instanceof TypeError && serverFirst && (await openedHere())) return onUnlocked();
        throw err;
      }
      onSignedInAgain(signedIn);
      onUnlocked();
    } catch (err) {
      form.reset();
      setError(
        err instanceof TypeError
          ? 'The server cannot be reached, and this device cannot check your password itself: unlocking needs the network.'
          : `Not unlocked: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      setBusy(false);
    }
  };

  // Neither the device nor the server can check the password: only another sign-in is possible.
  const needsNetwork = onDevice === false && !isOnline;
  return (
    <div className="screen-lock" role="dialog" aria-modal="true" aria-labelledby={heading}>
      <div className="screen-lock-box">
        <h1 id={heading}>{title}</h1>
        <p className="screen-lock-who">{session.email}</p>
        {explanation === undefined ? null : <p>{explanation}</p>}
        {needsNetwork ? (
          <p role="alert">
            Unlocking needs the network: this device cannot check your password itself (you have not signed in
            on it with the network in the last 30 days, or the password was typed wrong five times). Connect
            to unlock, or sign out.
          </p>
        ) : (
          <form aria-label="Unlock" onSubmit={(e) => void submit(e)}>
            {/* The account the browser's password manager should fill in. */}
            <input type="hidden" name="email" autoComplete="username" value={session.email} />
            <label>
              {prompt}
              <input name="password" type="password" autoComplete="current-password" required autoFocus />
            </label>
            <FormError error={error} />
            <button type="submit" disabled={busy || onDevice === null}>
              {busy ? 'Checking…' : 'Unlock'}
            </button>
          </form>
        )}
        <p className="hint">
          Someone else taking the tablet? Sign out: your changes waiting stay on this device, and go when you
          next sign in here.
        </p>
        <button type="button" onClick={() => confirmLeaving() && onSignOut()}>
          Sign out
        </button>
      </div>
    </div>
  );
}
