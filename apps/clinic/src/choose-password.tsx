import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { passwordBounds } from '@outpost/core';
import { useSyncClient } from '@outpost/react';
import { FormError } from './form-error';
import { changeOwnPassword } from './session';
import type { Session } from './session';
import { confirmLeaving } from './unsaved-typing';

/**
 * The person's own new password (decision 0047): the current one, and the new one twice. Needs the
 * server; unreachable, it says so and keeps what was typed. The server's refusals are shown in its
 * words ("the current password is wrong"). `onChanged` gets who is signed in after the change.
 */
export function PasswordForm({
  session,
  submitWords,
  onChanged,
}: {
  session: Session;
  submitWords: string;
  onChanged: (session: Session) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hint = useId();

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const fields = new FormData(form);
    const current = String(fields.get('current'));
    const next = String(fields.get('new'));
    if (next !== String(fields.get('again'))) {
      setError('The two new passwords differ: type the same one twice.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const changed = await changeOwnPassword(session, current, next);
      form.reset();
      setBusy(false);
      onChanged(changed);
    } catch (err) {
      setError(
        err instanceof TypeError
          ? 'The server cannot be reached: changing your password needs the network.'
          : err instanceof Error
            ? err.message
            : String(err),
      );
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} aria-label="Change password">
      {/* The account the browser's password manager should update. */}
      <input type="hidden" name="email" autoComplete="username" value={session.email} />
      <label>
        Current password
        <input name="current" type="password" autoComplete="current-password" required />
      </label>
      <label>
        New password
        <input
          name="new"
          type="password"
          autoComplete="new-password"
          required
          minLength={passwordBounds.min}
          maxLength={passwordBounds.max}
          aria-describedby={hint}
        />
      </label>
      <p id={hint} className="hint">
        At least {passwordBounds.min} characters and not easy to guess: a few words you will remember serve
        better than symbols. Only you should know it.
      </p>
      <label>
        New password again
        <input name="again" type="password" autoComplete="new-password" required />
      </label>
      <FormError error={error} />
      <button type="submit" disabled={busy}>
        {submitWords}
      </button>
    </form>
  );
}

/**
 * Shown instead of the clinic while the person signs in with a password an administrator set: the
 * server accepts nothing else from them until they choose their own, so no record is opened. They
 * may sign out instead (a shared tablet).
 */
export function ChoosePasswordPage({
  session,
  onChanged,
  onSignOut,
}: {
  session: Session;
  onChanged: (session: Session) => void;
  onSignOut: () => void;
}) {
  return (
    <main className="sign-in">
      <h1>Choose your own password</h1>
      <p>
        {session.email}: you signed in with a password an administrator set for you. Choose one only you know
        before you open the clinic&rsquo;s records.
      </p>
      <PasswordForm session={session} submitWords="Choose this password" onChanged={onChanged} />
      <p>
        <button type="button" className="link-button" onClick={onSignOut}>
          Sign out
        </button>
      </p>
    </main>
  );
}

/**
 * Over the open clinic, when the person signed in again (their session ended) with a password an
 * administrator had just reset: the records stay open beneath, inert and hidden, so nothing typed
 * in them is lost, and the syncs wait until they choose their own (the server refuses them until
 * then). Signing out asks first about unsaved typing, as everywhere.
 */
export function ChoosePasswordDialog({
  session,
  onChanged,
  onSignOut,
}: {
  session: Session;
  onChanged: (session: Session) => void;
  onSignOut: () => void;
}) {
  const heading = useId();
  const client = useSyncClient();
  // What waited goes now, rather than at the client's next try after the server's refusals.
  const chosen = (changed: Session) => {
    onChanged(changed);
    void client.sync({ manual: true });
  };
  return (
    <div className="screen-lock" role="dialog" aria-modal="true" aria-labelledby={heading}>
      <div className="screen-lock-box">
        <h1 id={heading}>Choose your own password</h1>
        <p>
          {session.email}: an administrator set the password you signed in with. Choose one only you know;
          what you typed is kept, and your changes sync once it is done.
        </p>
        <PasswordForm session={session} submitWords="Choose this password" onChanged={chosen} />
        <p>
          <button type="button" className="link-button" onClick={() => confirmLeaving() && onSignOut()}>
            Sign out
          </button>
        </p>
      </div>
    </div>
  );
}

/** The "Password" page: a person changes their own, any time; their other devices ask for it. */
export function PasswordPage({
  session,
  onChanged,
}: {
  session: Session;
  onChanged: (session: Session) => void;
}) {
  const [done, setDone] = useState(false);
  return (
    <section aria-labelledby="password-heading" className="own-password">
      <h1 id="password-heading">Your password</h1>
      <p>
        Changing it signs you out on every other device where you are signed in: each asks for the new
        password, and keeps the changes waiting on it until then. This device stays signed in.
      </p>
      <PasswordForm
        session={session}
        submitWords="Change password"
        onChanged={(changed) => {
          setDone(true);
          onChanged(changed);
        }}
      />
      {done ? (
        <p role="status">
          Your password was changed. Use the new one from now on, here and on other devices.
        </p>
      ) : null}
    </section>
  );
}
