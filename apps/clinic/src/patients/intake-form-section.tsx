import { useCallback, useState } from 'react';
import type { FormEvent } from 'react';
import type { ClientRecord } from '@outpost/client';
import { useCollection, useSyncClient } from '@outpost/react';
import type { IntakeForm } from '../records';
import { useAction } from '../use-action';
import { useDraft } from '../use-draft';
import type { FormValues } from '../use-draft';
import { useUnsavedTyping } from '../unsaved-typing';
import { ClosedWhileTyping } from '../closed-while-typing';
import { ChangedMeanwhile } from '../changed-meanwhile';
import { FormError } from '../form-error';
import { SyncBadge } from '../sync-badge';

interface Question {
  key: 'complaint' | 'conditions' | 'medications' | 'pregnant';
  label: string;
  /** Answered by choosing one of these, where free text would be read ten ways. */
  choices?: readonly string[];
}

const questions: readonly Question[] = [
  { key: 'complaint', label: 'Main complaint' },
  { key: 'conditions', label: 'Known conditions' },
  { key: 'medications', label: 'Current medications' },
  {
    key: 'pregnant',
    label: 'Pregnant or possibly pregnant',
    choices: ['No', 'Yes', 'Possibly', 'Not applicable'],
  },
];
type QuestionKey = Question['key'];

/** The form's answers as the form's text, blank where none was given. */
function answersOf(form: IntakeForm | undefined): FormValues<QuestionKey> {
  return Object.fromEntries(questions.map((q) => [q.key, String(form?.answers?.[q.key] ?? '')])) as Record<
    QuestionKey,
    string
  >;
}

/**
 * A question's answer field: a text box, or a list of its choices. An answer given before the
 * question had choices (typed on an older app, or sent by another system) stays in the list as it
 * was written, chosen, so that saving the form never drops it.
 */
function AnswerField({
  question,
  value,
  onChange,
}: {
  question: Question;
  value: string;
  onChange(value: string): void;
}) {
  if (question.choices === undefined) {
    return <input name={question.key} value={value} onChange={(e) => onChange(e.target.value)} />;
  }
  const choices =
    value === '' || question.choices.includes(value) ? question.choices : [...question.choices, value];
  return (
    <select name={question.key} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">Not answered</option>
      {choices.map((choice) => (
        <option key={choice} value={choice}>
          {choice}
        </option>
      ))}
    </select>
  );
}

/**
 * The patient's intake form. Once locked it is read-only for everyone: the schema's lockedWhen
 * holds on this device and on the server.
 */
export function IntakeFormSection({ patientId }: { patientId: string }) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const ofPatient = useCallback((f: ClientRecord<IntakeForm>) => f.data.patientId === patientId, [patientId]);
  const [form] = useCollection<IntakeForm>('intakeForms', { where: ofPatient, limit: 1 });
  const forms = client.collection<IntakeForm>('intakeForms');
  const draft = useDraft(answersOf(form?.data));
  // Answers are saved trimmed: what differs beyond spaces was not saved.
  const unsavedAnswers = questions.filter((q) => draft.values[q.key].trim() !== draft.base[q.key].trim());
  const locked = form?.data.isLocked === true;
  // Typing the form can no longer take once a colleague locked it: kept on screen until dismissed.
  const [dismissed, setDismissed] = useState(false);
  const lost = locked && !dismissed ? unsavedAnswers.filter((q) => draft.values[q.key].trim() !== '') : [];
  useUnsavedTyping(locked ? lost.length > 0 : unsavedAnswers.length > 0);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const data = new FormData(event.currentTarget);
    const answers = Object.fromEntries(questions.map((q) => [q.key, String(data.get(q.key) ?? '').trim()]));
    const lock = submitter?.value === 'lock';
    await run(async () => {
      if (form === undefined) await forms.create({ patientId, answers, ...(lock ? { isLocked: true } : {}) });
      else await forms.update(form.id, { answers, ...(lock ? { isLocked: true } : {}) });
    });
  };

  if (form !== undefined && locked) {
    return (
      <section aria-labelledby="intake-heading" className="card">
        <h2 id="intake-heading">
          Intake form <span className="badge signed-badge">Locked</span> <SyncBadge record={form} />
        </h2>
        <dl className="answers">
          {questions.map((q) => (
            <div key={q.key}>
              <dt>{q.label}</dt>
              <dd>{String(form.data.answers?.[q.key] ?? '') || '—'}</dd>
            </div>
          ))}
        </dl>
        <p className="muted">A locked form is read-only.</p>
        {lost.length > 0 ? (
          <ClosedWhileTyping
            what="This form was locked"
            typed={lost.map((q) => ({ label: q.label, text: draft.values[q.key] }))}
          >
            <button type="button" onClick={() => setDismissed(true)}>
              Dismiss
            </button>
          </ClosedWhileTyping>
        ) : null}
      </section>
    );
  }
  return (
    <section aria-labelledby="intake-heading" className="card">
      <h2 id="intake-heading">Intake form {form ? <SyncBadge record={form} /> : null}</h2>
      <form aria-label="Intake form" onSubmit={(e) => void submit(e)}>
        <div className="fields">
          {questions.map((q) => (
            <label key={q.key}>
              {q.label}
              <AnswerField
                question={q}
                value={draft.values[q.key]}
                onChange={(value) => draft.set(q.key, value)}
              />
            </label>
          ))}
        </div>
        <ChangedMeanwhile
          changes={draft.changedMeanwhile.map((key) => ({
            label: questions.find((q) => q.key === key)?.label ?? key,
            now: draft.base[key],
          }))}
        />
        <FormError error={error} />
        <div className="buttons">
          <button type="submit" name="action" value="save" disabled={busy}>
            Save intake form
          </button>
          <button type="submit" name="action" value="lock" disabled={busy}>
            Lock intake form
          </button>
        </div>
      </form>
    </section>
  );
}
