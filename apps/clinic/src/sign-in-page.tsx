import { useState } from 'react';
import type { FormEvent } from 'react';
import { demoPassword } from '@outpost/examples';
import { signIn, signInOffline } from './session';
import type { Session } from './session';
import { FormError } from './form-error';

export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    const email = String(form.get('email'));
    const password = String(form.get('password'));
    try {
      onSignedIn(await signIn(email, password));
    } catch (err) {
      let failure = err;
      // No network: a person who signed in here before is checked on the device (decision 0038).
      if (err instanceof TypeError) {
        try {
          onSignedIn(await signInOffline(email, password));
          return;
        } catch (offline) {
          failure = offline;
        }
      }
      setError(failure instanceof Error ? failure.message : String(failure));
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Outpost Clinic</h1>
      <p>Patient records that keep working without a network.</p>
      <form onSubmit={(e) => void submit(e)} aria-label="Sign in">
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <FormError error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p className="hint">
        Demo accounts: nurse@clinic-a.test (clinician) and admin@clinic-a.test (administrator), password
        &ldquo;{demoPassword}&rdquo;.
      </p>
    </main>
  );
}
