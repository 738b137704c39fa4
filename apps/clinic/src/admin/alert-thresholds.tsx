import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { alertThresholdsResponseSchema, alertThresholdsSchema } from '@outpost/core';
import type { AlertThresholdsResponse, SyncAlertThresholds } from '@outpost/core';
import type { TokenSession } from '@outpost/client';
import { useNetworkStatus } from '@outpost/react';
import { fetchJson } from '../server-json';
import { FormError } from '../form-error';
import { plural } from './needs-attention';
import { utcMinute } from '../sync-time';

const hour = 60 * 60 * 1000;
const day = 24 * hour;
const path = '/v1/admin/alert-thresholds';

/** A figure as the form shows it: at most four places, no trailing zeros. */
const shown = (n: number) => String(Number(n.toFixed(4)));

/** "3 days", "12 hours", "1.5 days". */
function daysWords(ms: number): string {
  if (ms % day === 0) return plural(ms / day, 'day');
  if (ms % hour === 0 && ms < 2 * day) return plural(ms / hour, 'hour');
  return `${shown(ms / day)} days`;
}

/** "24 hours", "1.5 hours". */
function hoursWords(ms: number): string {
  return ms % hour === 0 ? plural(ms / hour, 'hour') : `${shown(ms / hour)} hours`;
}

/** The form's fields, as typed. */
interface Draft {
  checkDays: string;
  urgentDays: string;
  failurePercent: string;
  openConflicts: string;
  waitHours: string;
}
type DraftErrors = Partial<Record<keyof Draft, string>>;

function draftOf(t: SyncAlertThresholds): Draft {
  return {
    checkDays: shown(t.silentWarningAfterMs / day),
    urgentDays: shown(t.silentCriticalAfterMs / day),
    failurePercent: shown(t.failureRateAbove * 100),
    openConflicts: String(t.openConflictsAtLeast),
    waitHours: shown(t.slowMedianAboveMs / hour),
  };
}

/** A number typed in a field, or null when it is none. */
function numberIn(text: string): number | null {
  const n = Number(text.trim().replace(',', '.'));
  return text.trim() === '' || !Number.isFinite(n) ? null : n;
}

/**
 * The thresholds the draft says, or what is wrong with each field, in the administrator's units;
 * core's schema, which the server applies too, has the last word.
 */
function thresholdsOf(draft: Draft): { thresholds: SyncAlertThresholds } | { errors: DraftErrors } {
  const errors: DraftErrors = {};
  const days = (field: 'checkDays' | 'urgentDays'): number => {
    const n = numberIn(draft[field]);
    const ms = n === null ? Number.NaN : Math.round(n * day);
    if (!(ms >= hour && ms <= 365 * day))
      errors[field] = 'Enter a number of days from 0.05 (about an hour) to 365.';
    return ms;
  };
  const check = days('checkDays');
  const urgent = days('urgentDays');
  if (errors.checkDays === undefined && errors.urgentDays === undefined && urgent < check)
    errors.urgentDays = `“Urgent” cannot come before “Check”: enter ${shown(check / day)} days or more.`;
  const percent = numberIn(draft.failurePercent);
  if (percent === null || percent < 0 || percent >= 100)
    errors.failurePercent = 'Enter a percentage from 0 (any failed change) to below 100.';
  const conflicts = numberIn(draft.openConflicts);
  if (conflicts === null || !Number.isInteger(conflicts) || conflicts < 1 || conflicts > 1000)
    errors.openConflicts = 'Enter a whole number from 1 to 1000.';
  const hours = numberIn(draft.waitHours);
  const waitMs = hours === null ? Number.NaN : Math.round(hours * hour);
  if (!(waitMs >= hour && waitMs <= 365 * day))
    errors.waitHours = 'Enter a number of hours from 1 to 8760 (a year).';
  if (Object.keys(errors).length > 0) return { errors };
  const parsed = alertThresholdsSchema.safeParse({
    silentWarningAfterMs: check,
    silentCriticalAfterMs: urgent,
    failureRateAbove: (percent ?? 0) / 100,
    openConflictsAtLeast: conflicts,
    slowMedianAboveMs: waitMs,
  });
  if (!parsed.success) return { errors: { checkDays: parsed.error.issues[0]?.message ?? 'Not valid.' } };
  return { thresholds: parsed.data };
}

const fields: ReadonlyArray<{ name: keyof Draft; label: string }> = [
  { name: 'checkDays', label: 'Days without a sync before “Check”' },
  { name: 'urgentDays', label: 'Days without a sync before “Urgent”' },
  { name: 'failurePercent', label: 'Failed changes above (% of the last 7 days)' },
  { name: 'openConflicts', label: 'Open conflicts from one device, at least' },
  { name: 'waitHours', label: 'Changes took to arrive (median) above, in hours' },
];

/**
 * The clinic's alert thresholds, kept on the server (decision 0042): in words for whoever sees the
 * Statistics page, and a small form for an administrator to change them or go back to the
 * defaults. "Needs attention" judges by what the server holds.
 */
export function AlertThresholds({
  tokens,
  canChange,
  onChanged,
}: {
  tokens: TokenSession;
  /** An administrator: the form is shown. */
  canChange: boolean;
  /** Told of the thresholds the server holds after a change. */
  onChanged: (thresholds: SyncAlertThresholds) => void;
}) {
  const { isOnline } = useNetworkStatus();
  const [current, setCurrent] = useState<AlertThresholdsResponse | null>(null);
  const [readError, setReadError] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<DraftErrors>({});
  const [saveError, setSaveError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!isOnline) return;
    let cancelled = false;
    fetchJson(path, tokens, (b) => alertThresholdsResponseSchema.parse(b)).then(
      (answer) => {
        if (cancelled) return;
        setCurrent(answer);
        setReadError(null);
        setDraft((d) => d ?? draftOf(answer.thresholds));
      },
      (err: unknown) => !cancelled && setReadError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [isOnline, tokens]);

  const save = async (thresholds: SyncAlertThresholds | null) => {
    setBusy(true);
    setSaveError(null);
    setDone(null);
    try {
      const answer = await fetchJson(
        path,
        tokens,
        (b) => alertThresholdsResponseSchema.parse(b),
        { thresholds },
        'PUT',
      );
      setCurrent(answer);
      setDraft(draftOf(answer.thresholds));
      setErrors({});
      onChanged(answer.thresholds);
      setDone(
        thresholds === null
          ? 'Back to the defaults. “Needs attention” uses them now.'
          : 'Saved. “Needs attention” uses these thresholds now.',
      );
    } catch (err) {
      setSaveError(`Could not save: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (draft === null) return;
    const result = thresholdsOf(draft);
    setDone(null);
    if ('errors' in result) {
      setErrors(result.errors);
      return;
    }
    setErrors({});
    void save(result.thresholds);
  };

  const t = current?.thresholds;
  return (
    <section className="alert-thresholds" aria-labelledby="thresholds-heading">
      <h2 id="thresholds-heading">Alert thresholds</h2>
      {!isOnline && current === null ? (
        <p role="status">Alert thresholds come from the server: connect to see them.</p>
      ) : null}
      {readError !== null ? (
        <p role="alert" className="error">
          Could not read the alert thresholds: {readError}
        </p>
      ) : null}
      {t !== undefined && current !== null ? (
        <>
          <p>A device is listed under “Needs attention”:</p>
          <ul>
            <li>
              <strong>Check</strong> when it has not synced for more than {daysWords(t.silentWarningAfterMs)};{' '}
              <strong>Urgent</strong> after more than {daysWords(t.silentCriticalAfterMs)}.
            </li>
            <li>
              <strong>Urgent</strong> when more than {shown(t.failureRateAbove * 100)}% of its changes in the
              last 7 days failed.
            </li>
            <li>
              <strong>Check</strong> when {plural(t.openConflictsAtLeast, 'conflict')} or more from it{' '}
              {t.openConflictsAtLeast === 1 ? 'waits' : 'wait'} for review.
            </li>
            <li>
              <strong>Check</strong> when its changes took more than {hoursWords(t.slowMedianAboveMs)} to
              arrive (median over the last 7 days).
            </li>
          </ul>
          <p className="thresholds-source">
            {current.custom
              ? `Set for this clinic by ${current.updatedByEmail ?? current.updatedBy ?? 'an administrator'}${
                  current.updatedAt !== null ? ` on ${utcMinute(current.updatedAt)} UTC` : ''
                }.`
              : 'These are the usual thresholds.'}
          </p>
        </>
      ) : null}
      {canChange && current !== null && !isOnline ? (
        <p role="status">The thresholds are kept on the server: connect to change them.</p>
      ) : null}
      {canChange && current !== null && isOnline && draft !== null ? (
        <form aria-label="Change the alert thresholds" noValidate onSubmit={submit}>
          {fields.map((f) => (
            <div key={f.name}>
              <label>
                {f.label}
                <input
                  name={f.name}
                  type="text"
                  inputMode="decimal"
                  value={draft[f.name]}
                  aria-invalid={errors[f.name] !== undefined}
                  aria-describedby={errors[f.name] !== undefined ? `${f.name}-error` : undefined}
                  onChange={(e) => setDraft({ ...draft, [f.name]: e.target.value })}
                />
              </label>
              {errors[f.name] !== undefined ? (
                <span id={`${f.name}-error`} className="error">
                  {errors[f.name]}
                </span>
              ) : null}
            </div>
          ))}
          <div className="thresholds-actions">
            <button type="submit" disabled={busy}>
              Save
            </button>
            <button type="button" disabled={busy || !current.custom} onClick={() => void save(null)}>
              Back to the defaults
            </button>
          </div>
          {Object.keys(errors).length > 0 ? (
            <p role="alert" className="error">
              Not saved: correct the values marked above.
            </p>
          ) : null}
          <FormError error={saveError} />
          {done !== null ? <p role="status">{done}</p> : null}
        </form>
      ) : null}
    </section>
  );
}
