import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { clinicSettingsResponseSchema, screenLockBounds } from '@outpost/core';
import type { ScreenLock, ScreenLockResponse } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { keepClinicSettings, readClinicSettings } from '../clinic-settings';
import { FormError } from '../form-error';
import { fetchJson } from '../server-json';
import { utcMinute } from '../sync-time';
import { plural } from './needs-attention';

const path = '/v1/admin/screen-lock';

/**
 * The clinic's screen lock in words: "Tablets lock after 10 minutes without use (the default).",
 * "Tablets lock after 2 minutes without use, set by admin@… on 2026-03-02 09:15 UTC.", "Tablets
 * never lock, set by …".
 */
export function screenLockWords(lock: ScreenLockResponse): string {
  const rule =
    lock.afterMinutes === null
      ? 'Tablets never lock'
      : `Tablets lock after ${plural(lock.afterMinutes, 'minute')} without use`;
  if (!lock.custom) return `${rule} (the default).`;
  const who = lock.updatedByEmail ?? lock.updatedBy ?? 'an administrator';
  return `${rule}, set by ${who}${lock.updatedAt !== null ? ` on ${utcMinute(lock.updatedAt)} UTC` : ''}.`;
}

/** What the server said, or the page's own words when the request did not reach it. */
function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return err instanceof TypeError ? 'the server could not be reached' : text;
}

/**
 * "Screen lock" on the People page (decision 0048), for administrators: how long the clinic's
 * tablets may go without use before they lock, in words, and a small form to change it: minutes,
 * never, or back to the default. The server judges the minutes and its refusal is shown in its
 * words. Each tablet applies a change at its next sync; this one at once.
 */
export function ScreenLockSetting({ tokens, clinic }: { tokens: TokenSession; clinic: string }) {
  const { isOnline } = useNetworkStatus();
  const [current, setCurrent] = useState<ScreenLockResponse | null>(null);
  const [readError, setReadError] = useState<string | null>(null);
  const [never, setNever] = useState(false);
  const [minutes, setMinutes] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // Filled in from the first answer; read again later (back online), a form being filled in is
  // left as it is.
  const filled = useRef(false);
  const fill = (lock: ScreenLockResponse) => {
    filled.current = true;
    setNever(lock.afterMinutes === null);
    setMinutes(String(lock.afterMinutes ?? screenLockBounds.defaultMinutes));
  };

  useEffect(() => {
    if (!isOnline) return;
    let cancelled = false;
    readClinicSettings(tokens).then(
      (answer) => {
        if (cancelled) return;
        keepClinicSettings(clinic, answer);
        setReadError(null);
        setCurrent(answer.screenLock);
        if (!filled.current) fill(answer.screenLock);
      },
      (err: unknown) => !cancelled && setReadError(messageOf(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [isOnline, tokens, clinic]);

  const save = async (screenLock: ScreenLock | null) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const answer = await fetchJson(
        path,
        tokens,
        (b) => clinicSettingsResponseSchema.parse(b),
        { screenLock },
        'PUT',
      );
      keepClinicSettings(clinic, answer);
      setCurrent(answer.screenLock);
      fill(answer.screenLock);
      setDone(`Saved. ${screenLockWords(answer.screenLock)} Each tablet applies it at its next sync.`);
    } catch (err) {
      setError(`Not saved: ${messageOf(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (never) return void save({ afterMinutes: null });
    // Only what is no number at all is refused here (JSON would send it as null: never); the
    // server judges the minutes, in its words.
    const typed = minutes.trim();
    const n = Number(typed);
    if (typed === '' || !Number.isFinite(n)) {
      setDone(null);
      return setError(
        `Not saved: enter the minutes as a number, from ${screenLockBounds.minMinutes} to ${screenLockBounds.maxMinutes}.`,
      );
    }
    void save({ afterMinutes: n });
  };

  return (
    <section className="screen-lock-setting" aria-labelledby="screen-lock-heading">
      <h2 id="screen-lock-heading">Screen lock</h2>
      {current !== null ? <p>{screenLockWords(current)}</p> : null}
      <p className="hint">
        A tablet left without use locks: the records are hidden until the person signed in types their
        password. Tablets each kept by one person may never lock.
      </p>
      {!isOnline ? (
        <p role="status">
          {current === null
            ? 'The screen lock is set on the server: connect to see it.'
            : 'The screen lock is set on the server: connect to change it.'}
        </p>
      ) : null}
      {readError !== null ? (
        <p role="alert" className="error">
          Could not read the screen lock: {readError}
        </p>
      ) : null}
      {current !== null && isOnline ? (
        <form aria-label="Change the screen lock" noValidate onSubmit={submit}>
          <label className="choice">
            <input type="radio" name="lock" checked={!never} onChange={() => setNever(false)} />
            Lock after a while without use
          </label>
          <label>
            Minutes without use
            <input
              name="minutes"
              type="text"
              inputMode="numeric"
              value={minutes}
              disabled={never}
              aria-describedby="screen-lock-minutes-hint"
              onChange={(e) => setMinutes(e.target.value)}
            />
          </label>
          <p id="screen-lock-minutes-hint" className="hint">
            From {screenLockBounds.minMinutes} to {screenLockBounds.maxMinutes} (4 hours); the default is{' '}
            {screenLockBounds.defaultMinutes}.
          </p>
          <label className="choice">
            <input type="radio" name="lock" checked={never} onChange={() => setNever(true)} />
            Never lock
          </label>
          <div className="thresholds-actions">
            <button type="submit" disabled={busy}>
              Save
            </button>
            <button type="button" disabled={busy || !current.custom} onClick={() => void save(null)}>
              Back to the default
            </button>
          </div>
          <FormError error={error} />
          {done !== null ? <p role="status">{done}</p> : null}
        </form>
      ) : null}
    </section>
  );
}
