import { useCallback, useDeferredValue, useState } from 'react';
import type { FormEvent } from 'react';
import type { ClientRecord } from '@outpost/client';
import { useCollection, useSyncClient } from '@outpost/react';
import type { Patient } from '../records';
import { Link, navigate } from '../router';
import { useAction } from '../use-action';
import { sameValues, useDraft } from '../use-draft';
import { useUnsavedTyping } from '../unsaved-typing';
import { PatientFields, patientFormValues, patientFromForm } from './patient-fields';
import { FormFooter } from '../form-footer';
import { SyncBadge } from '../sync-badge';

const pageSize = 50;

/** Every patient of the clinic on this device, searchable by name, village or phone. */
export function PatientsPage() {
  const [search, setSearch] = useState('');
  const [shown, setShown] = useState(pageSize);
  const [creating, setCreating] = useState(false);
  // Typing stays quick on a slow tablet with thousands of patients: the list follows a moment later.
  const term = useDeferredValue(search.trim().toLowerCase());
  const matches = useCallback(
    (p: ClientRecord<Patient>) =>
      term === '' ||
      p.data.name.toLowerCase().includes(term) ||
      (p.data.village ?? '').toLowerCase().includes(term) ||
      (p.data.phone ?? '').includes(term),
    [term],
  );
  const patients = useCollection<Patient>('patients', { where: matches, orderBy: 'name' });

  return (
    <section aria-labelledby="patients-heading">
      <div className="page-head">
        <h1 id="patients-heading">Patients</h1>
        <button type="button" onClick={() => setCreating(true)} disabled={creating}>
          New patient
        </button>
      </div>
      {creating ? <NewPatientForm onDone={() => setCreating(false)} /> : null}
      <label className="search">
        Search patients
        <input
          type="search"
          value={search}
          onChange={(e) => {
            setSearch(e.target.value);
            setShown(pageSize);
          }}
          placeholder="Name, village or phone"
        />
      </label>
      <p role="status" className="count">
        {patients.length === 1 ? '1 patient' : `${patients.length} patients`}
        {patients.length > shown ? `, showing the first ${shown}` : ''}
      </p>
      <ul className="patient-list" aria-label="Patient list">
        {patients.slice(0, shown).map((p) => (
          <li key={p.id}>
            <Link href={`/patients/${encodeURIComponent(p.id)}`}>{p.data.name}</Link>
            <span className="muted">{[p.data.village, p.data.dateOfBirth].filter(Boolean).join(' · ')}</span>
            <SyncBadge record={p} />
          </li>
        ))}
      </ul>
      {patients.length > shown ? (
        <button type="button" onClick={() => setShown((n) => n + pageSize)}>
          Show more
        </button>
      ) : null}
    </section>
  );
}

const noPatient = patientFormValues();

function NewPatientForm({ onDone }: { onDone: () => void }) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const draft = useDraft(noPatient);
  const saved = useUnsavedTyping(!sameValues(draft.values, noPatient));
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = patientFromForm(new FormData(event.currentTarget));
    let id = '';
    const created = await run(async () => {
      id = (await client.collection<Patient>('patients').create(data as Patient)).id;
    });
    if (created) {
      // Saved: opening the new patient's page leaves nothing behind.
      saved();
      onDone();
      navigate(`/patients/${encodeURIComponent(id)}`);
    }
  };
  return (
    <form className="card" aria-label="New patient" onSubmit={(e) => void submit(e)}>
      <h2>New patient</h2>
      <PatientFields draft={draft} />
      <FormFooter error={error} busy={busy} save="Save" onCancel={onDone} />
    </form>
  );
}
