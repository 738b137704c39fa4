import { useState } from 'react';
import type { FormEvent } from 'react';
import type { TokenSession } from '@outpost/client';
import { endSessionsOf } from '../server-json';

/**
 * A tablet lost or stolen: the administrator ends every session of the person who used it, on
 * every device (`POST /v1/auth/end-sessions`). Their sign-ins are refused from then on, the ones
 * in hand included, and no device renews them; each asks for the password again, and what waited
 * on it is kept there and sent after.
 */
export function EndSessions({
  people,
  tokens,
}: {
  people: ReadonlyArray<{ userId: string; name: string }>;
  tokens: TokenSession;
}) {
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (people.length === 0) return null;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const userId = String(new FormData(event.currentTarget).get('person') ?? '');
    const name = people.find((p) => p.userId === userId)?.name ?? userId;
    if (
      !window.confirm(`End every session of ${name}, on every device? They will be asked for their password.`)
    )
      return;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const ended = await endSessionsOf(userId, tokens);
      setDone(
        `${ended === 0 ? 'No session was open' : `Ended ${ended} ${ended === 1 ? 'session' : 'sessions'}`} of ${name}. Every device asks for the password again; changes waiting on a device stay on it.`,
      );
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="end-sessions" aria-label="End sessions" onSubmit={(e) => void submit(e)}>
      <h2>A tablet lost or stolen</h2>
      <label>
        End every session of
        <select name="person">
          {people.map((p) => (
            <option key={p.userId} value={p.userId}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy}>
        End sessions
      </button>
      {done !== null ? <p role="status">{done}</p> : null}
      {error !== null ? (
        <p role="alert" className="error">
          Could not end the sessions: {error}
        </p>
      ) : null}
    </form>
  );
}
