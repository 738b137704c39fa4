import { useState } from 'react';
import type { FormEvent } from 'react';
import { useFetchedRecord, useSyncClient } from '@outpost/react';
import type { FetchedRecord } from '@outpost/react';
import type { Patient } from '../records';
import { Link } from '../router';
import { isAdmin } from '../session';
import type { Session } from '../session';
import { useAction } from '../use-action';
import { sameValues, useDraft } from '../use-draft';
import { useUnsavedTyping } from '../unsaved-typing';
import type { FormValues } from '../use-draft';
import { EncountersSection } from './encounters-section';
import { IntakeFormSection } from './intake-form-section';
import { PatientFields, patientFieldLabels, patientFormValues, patientFromForm } from './patient-fields';
import type { PatientField } from './patient-fields';
import { PrescriptionsSection } from './prescriptions-section';
import { ChangedMeanwhile } from '../changed-meanwhile';
import { FormError } from '../form-error';
import { SyncBadge } from '../sync-badge';

/** One patient: details (editable), encounters with their clinical notes, prescriptions, intake form. */
export function PatientPage({ id, session }: { id: string; session: Session }) {
  const fetched = useFetchedRecord<Patient>('patients', id);
  if (fetched.status !== 'held') return <PatientNotOnDevice fetched={fetched} />;
  const patient = fetched.record;
  return (
    <article aria-labelledby="patient-heading">
      <p>
        <Link href="/patients">← All patients</Link>
      </p>
      <h1 id="patient-heading">{patient.data.name}</h1>
      {patient.pending || patient.refused || patient.awaitingReview ? (
        <p>
          <SyncBadge record={patient} notSynced="Changes not yet synced" />
        </p>
      ) : (
        <p className="muted">Synced, version {patient.version}</p>
      )}
      {/* Administrators read the audit log (a clinician's request for it is refused): who changed
          this patient's record, visits, notes, prescriptions and forms. */}
      {isAdmin(session) ? (
        <p>
          <Link href={`/audit?collection=patients&record=${encodeURIComponent(patient.id)}&related=yes`}>
            Audit log of this patient
          </Link>
        </p>
      ) : null}
      <PatientDetails id={patient.id} patient={patient.data} />
      <EncountersSection patientId={patient.id} session={session} />
      <PrescriptionsSection patientId={patient.id} />
      <IntakeFormSection patientId={patient.id} />
    </article>
  );
}

/**
 * A patient this device does not hold (a link opened before the first sync brought them, or one
 * another device registered since): asked of the server, and said as the answer goes. Offline it is
 * never "not found": the patient may well exist, and the screen tries again when the network returns.
 */
function PatientNotOnDevice({ fetched }: { fetched: Exclude<FetchedRecord<Patient>, { status: 'held' }> }) {
  const back = <Link href="/patients">All patients</Link>;
  switch (fetched.status) {
    case 'loading':
      return (
        <section>
          <h1>Looking for the patient…</h1>
          <p>This device does not hold this patient: asking the server.</p>
        </section>
      );
    case 'found':
      return (
        <section>
          <h1>{fetched.record.data.name}</h1>
          <p>
            Read from the server: this device does not hold this patient yet. The next sync brings them here
            to work on. {back}
          </p>
        </section>
      );
    case 'not-found':
      return (
        <section>
          <h1>Patient not found</h1>
          <p>Neither this device nor the server holds a patient with that id. {back}</p>
        </section>
      );
    case 'unavailable':
      return (
        <section>
          <h1>Patient not on this device</h1>
          <p>
            This device does not hold this patient, and the server cannot be reached to look for them. This
            page tries again when the network returns.{' '}
            <button type="button" onClick={fetched.retry}>
              Try again
            </button>{' '}
            {back}
          </p>
        </section>
      );
    case 'refused':
      return (
        <section>
          <h1>Patient not shown</h1>
          <p>
            {fetched.error.code === 'UNAUTHORIZED'
              ? 'The server asks you to sign in again before it shows this patient.'
              : 'The server does not show this patient to your role.'}{' '}
            {back}
          </p>
        </section>
      );
  }
}

function PatientDetails({ id, patient }: { id: string; patient: Patient }) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const draft = useDraft(patientFormValues(patient));
  // What the form held when last saved: "Saved" is true only while nothing was typed since.
  const [saved, setSaved] = useState<FormValues<PatientField> | null>(null);
  // Unsaved: "Save" would change the patient (the same test a save makes).
  useUnsavedTyping(Object.keys(patientFromForm(new Map(Object.entries(draft.values)), patient)).length > 0);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const typed = draft.values;
    const patch = patientFromForm(new FormData(event.currentTarget), patient);
    setSaved(null);
    if (Object.keys(patch).length === 0) return setSaved(typed);
    if (await run(() => client.collection<Patient>('patients').update(id, patch))) setSaved(typed);
  };
  return (
    <section aria-labelledby="details-heading" className="card">
      <h2 id="details-heading">Details</h2>
      <form aria-label="Patient details" onSubmit={(e) => void submit(e)}>
        <PatientFields draft={draft} />
        <ChangedMeanwhile
          changes={draft.changedMeanwhile.map((f) => ({
            label: patientFieldLabels[f],
            now: draft.base[f],
          }))}
        />
        <FormError error={error} />
        <div className="buttons">
          <button type="submit" disabled={busy}>
            Save
          </button>
          {saved !== null && sameValues(saved, draft.values) ? (
            <span role="status">Saved on this device</span>
          ) : null}
        </div>
      </form>
    </section>
  );
}
