import { useState } from 'react';
import type { FormEvent } from 'react';
import { useRecord, useSyncClient } from '@outpost/react';
import type { Patient } from '../records';
import { Link } from '../router';
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
  const patient = useRecord<Patient>('patients', id);
  if (patient === null)
    return (
      <section>
        <h1>Patient not found</h1>
        <p>
          This device holds no patient with that id. It may not have synced yet.{' '}
          <Link href="/patients">All patients</Link>
        </p>
      </section>
    );
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
      <PatientDetails id={patient.id} patient={patient.data} />
      <EncountersSection patientId={patient.id} session={session} />
      <PrescriptionsSection patientId={patient.id} />
      <IntakeFormSection patientId={patient.id} />
    </article>
  );
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
