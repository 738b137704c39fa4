import { useCallback, useState } from 'react';
import type { FormEvent } from 'react';
import type { ClientRecord } from '@outpost/client';
import { useCollection, useSyncClient } from '@outpost/react';
import type { Encounter, Prescription } from '../records';
import { useAction } from '../use-action';
import { useUnsavedFormTyping } from '../unsaved-typing';
import { FormFooter } from '../form-footer';
import { syncStateText } from '../sync-badge';

/** A patient's prescriptions. They sync first, and a conflicting change waits for a person. */
export function PrescriptionsSection({ patientId }: { patientId: string }) {
  const [adding, setAdding] = useState(false);
  const ofPatient = useCallback(
    (r: ClientRecord<Prescription> | ClientRecord<Encounter>) => r.data.patientId === patientId,
    [patientId],
  );
  const prescriptions = useCollection<Prescription>('prescriptions', { where: ofPatient, orderBy: 'drug' });
  const encounters = useCollection<Encounter>('encounters', { where: ofPatient, orderBy: 'date' });
  return (
    <section aria-labelledby="prescriptions-heading" className="card">
      <div className="page-head">
        <h2 id="prescriptions-heading">Prescriptions</h2>
        <button type="button" onClick={() => setAdding(true)} disabled={adding}>
          New prescription
        </button>
      </div>
      {adding ? (
        <NewPrescriptionForm patientId={patientId} encounters={encounters} onDone={() => setAdding(false)} />
      ) : null}
      {prescriptions.length === 0 ? <p className="muted">No prescriptions.</p> : null}
      <table className="grid" aria-label="Prescriptions">
        <thead>
          <tr>
            <th scope="col">Drug</th>
            <th scope="col">Dose</th>
            <th scope="col">Frequency</th>
            <th scope="col">Days</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {prescriptions.map((p) => (
            <tr key={p.id}>
              <td>{p.data.drug}</td>
              <td>{p.data.dose}</td>
              <td>{p.data.frequency ?? ''}</td>
              <td>{p.data.durationDays ?? ''}</td>
              <td>{syncStateText(p)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function NewPrescriptionForm({
  patientId,
  encounters,
  onDone,
}: {
  patientId: string;
  encounters: readonly ClientRecord<Encounter>[];
  onDone: () => void;
}) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const onInput = useUnsavedFormTyping();
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const data: Prescription = { patientId, drug: text('drug'), dose: text('dose') };
    if (text('frequency')) data.frequency = text('frequency');
    if (text('durationDays')) data.durationDays = Number(text('durationDays'));
    if (text('encounterId')) data.encounterId = text('encounterId');
    if (await run(() => client.collection<Prescription>('prescriptions').create(data))) onDone();
  };
  return (
    <form aria-label="New prescription" onSubmit={(e) => void submit(e)} onInput={onInput}>
      <div className="fields">
        <label>
          Drug
          <input name="drug" required maxLength={200} />
        </label>
        <label>
          Dose
          <input name="dose" required maxLength={200} />
        </label>
        <label>
          Frequency
          <input name="frequency" maxLength={200} />
        </label>
        <label>
          Duration (days)
          <input name="durationDays" type="number" min={0} max={3650} step={1} />
        </label>
        <label>
          Encounter
          <select name="encounterId" defaultValue={encounters.at(-1)?.id ?? ''}>
            <option value="">None</option>
            {encounters.map((e) => (
              <option key={e.id} value={e.id}>
                {e.data.date ?? 'Undated'} {e.data.diagnosis ?? ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      <FormFooter error={error} busy={busy} save="Save prescription" onCancel={onDone} />
    </form>
  );
}
