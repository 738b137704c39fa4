import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { demoAccountsResponseSchema } from '@outpost/core';
import type { DemoAccountsResponse } from '@outpost/core';
import { signIn, signInOffline } from './session';
import type { Session } from './session';
import { FormError } from './form-error';

export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const demo = useDemoAccounts();

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
      {demo !== null && demo.accounts.length > 0 ? (
        <p className="hint">
          Demo accounts:{' '}
          {demo.accounts
            .map((a) => `${a.email} (${a.roles.includes('admin') ? 'administrator' : 'clinician'})`)
            .join(', ')}
          ; password &ldquo;{demo.password}&rdquo;.
        </p>
      ) : null}
    </main>
  );
}

/**
 * The demo sign-ins the server offers (`GET /v1/demo-accounts`, served by `npm start` while it
 * creates them), or null: a clinic's own server has none, and offline nothing is asked.
 */
function useDemoAccounts(): DemoAccountsResponse | null {
  const [demo, setDemo] = useState<DemoAccountsResponse | null>(null);
  useEffect(() => {
    let cancelled = false;
    fetch('/v1/demo-accounts')
      .then(async (res) => (res.ok ? demoAccountsResponseSchema.parse(await res.json()) : null))
      .then(
        (answer) => {
          if (!cancelled) setDemo(answer);
        },
        () => {},
      );
    return () => {
      cancelled = true;
    };
  }, []);
  return demo;
}
