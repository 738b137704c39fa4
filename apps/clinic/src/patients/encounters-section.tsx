import { useCallback, useState } from 'react';
import type { FormEvent } from 'react';
import type { ClientRecord } from '@outpost/client';
import { useCollection, useSyncClient } from '@outpost/react';
import { today } from '../records';
import type { Encounter } from '../records';
import type { Session } from '../session';
import { useAction } from '../use-action';
import { useUnsavedFormTyping } from '../unsaved-typing';
import { ClinicalNotes } from './clinical-notes';
import { EncounterFiles } from './encounter-files';
import { FormFooter } from '../form-footer';
import { SyncBadge } from '../sync-badge';

/** A patient's visits, newest first, each with its clinical notes. */
export function EncountersSection({ patientId, session }: { patientId: string; session: Session }) {
  const [adding, setAdding] = useState(false);
  const ofPatient = useCallback((e: ClientRecord<Encounter>) => e.data.patientId === patientId, [patientId]);
  const encounters = useCollection<Encounter>('encounters', {
    where: ofPatient,
    orderBy: 'date',
    direction: 'desc',
  });
  return (
    <section aria-labelledby="encounters-heading" className="card">
      <div className="page-head">
        <h2 id="encounters-heading">Encounters</h2>
        <button type="button" onClick={() => setAdding(true)} disabled={adding}>
          New encounter
        </button>
      </div>
      {adding ? <NewEncounterForm patientId={patientId} onDone={() => setAdding(false)} /> : null}
      {encounters.length === 0 ? <p className="muted">No encounters yet.</p> : null}
      <ul className="plain">
        {encounters.map((e) => (
          <li key={e.id} className="encounter">
            <h3>
              {e.data.date ?? 'Undated'}: {e.data.diagnosis || 'No diagnosis recorded'}
              <SyncBadge record={e} />
            </h3>
            {e.data.notes ? <p>{e.data.notes}</p> : null}
            <EncounterFiles encounterId={e.id} />
            <ClinicalNotes encounterId={e.id} session={session} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function NewEncounterForm({ patientId, onDone }: { patientId: string; onDone: () => void }) {
  const client = useSyncClient();
  const { error, busy, run } = useAction();
  const onInput = useUnsavedFormTyping();
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const data: Encounter = { patientId, date: text('date') || today() };
    if (text('diagnosis')) data.diagnosis = text('diagnosis');
    if (text('notes')) data.notes = text('notes');
    if (await run(() => client.collection<Encounter>('encounters').create(data))) onDone();
  };
  return (
    <form aria-label="New encounter" onSubmit={(e) => void submit(e)} onInput={onInput}>
      <div className="fields">
        <label>
          Date
          <input name="date" type="date" defaultValue={today()} required />
        </label>
        <label>
          Diagnosis
          <input name="diagnosis" maxLength={2000} />
        </label>
        <label className="wide">
          Encounter notes
          <textarea name="notes" rows={2} />
        </label>
      </div>
      <FormFooter error={error} busy={busy} save="Save encounter" onCancel={onDone} />
    </form>
  );
}
