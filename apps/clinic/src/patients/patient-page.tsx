import { useState } from 'react';
import type { FormEvent } from 'react';
import { useRecord, useSyncClient } from '@outpost/react';
import type { Patient } from '../records';
import { Link } from '../router';
import type { Session } from '../session';
import { useAction } from '../use-action';
import { EncountersSection } from './encounters-section';
import { IntakeFormSection } from './intake-form-section';
import { PatientFields, patientFromForm } from './patient-fields';
import { PrescriptionsSection } from './prescriptions-section';
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
      <PatientDetails id={patient.id} patient={patient.data} version={patient.version} />
      <EncountersSection patientId={patient.id} session={session} />
      <PrescriptionsSection patientId={patient.id} />
      <IntakeFormSection patientId={patient.id} />
    </article>
  );
}

function PatientDetails({ id, patient, version }: { id: string; patient: Patient; version: number }) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const [saved, setSaved] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const patch = patientFromForm(new FormData(event.currentTarget), patient);
    setSaved(false);
    if (Object.keys(patch).length === 0) return setSaved(true);
    if (await run(() => client.collection<Patient>('patients').update(id, patch))) setSaved(true);
  };
  return (
    <section aria-labelledby="details-heading" className="card">
      <h2 id="details-heading">Details</h2>
      {/* Keyed by the data, so a change synced from another device shows in the fields. */}
      <form
        key={`${version}:${JSON.stringify(patient)}`}
        aria-label="Patient details"
        onSubmit={(e) => void submit(e)}
      >
        <PatientFields patient={patient} />
        <FormError error={error} />
        <div className="buttons">
          <button type="submit" disabled={busy}>
            Save
          </button>
          {saved ? <span role="status">Saved on this device</span> : null}
        </div>
      </form>
    </section>
  );
}
