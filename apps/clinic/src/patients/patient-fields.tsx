import type { ChangeEvent } from 'react';
import type { Patient } from '../records';
import type { Draft, FormValues } from '../use-draft';

const patientFields = ['name', 'dateOfBirth', 'sex', 'village', 'phone', 'allergies', 'notes'] as const;
export type PatientField = (typeof patientFields)[number];

/** What a person calls each field (the form's labels). */
export const patientFieldLabels: Readonly<Record<PatientField, string>> = {
  name: 'Name',
  dateOfBirth: 'Date of birth',
  sex: 'Sex',
  village: 'Village',
  phone: 'Phone',
  allergies: 'Allergies',
  notes: 'Notes',
};

/** A patient as the form's text: blank for an absent field, allergies comma separated. */
export function patientFormValues(patient?: Patient): FormValues<PatientField> {
  const values = Object.fromEntries(
    patientFields.map((f) => {
      const value = patient?.[f];
      return [f, typeof value === 'string' ? value : ''];
    }),
  ) as Record<PatientField, string>;
  values.allergies = patient?.allergies?.join(', ') ?? '';
  return values;
}

/**
 * The patient form's fields, shared by "New patient" and the patient page's edit form. Controlled
 * by a draft, so a sync that changes the patient meanwhile does not take away what is typed.
 */
export function PatientFields({ draft }: { draft: Draft<PatientField> }) {
  const { values } = draft;
  const bind = (field: PatientField) => ({
    name: field,
    value: values[field],
    onChange: (e: ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) =>
      draft.set(field, e.target.value),
  });
  return (
    <div className="fields">
      <label>
        Name
        <input {...bind('name')} required maxLength={200} />
      </label>
      <label>
        Date of birth
        <input {...bind('dateOfBirth')} type="date" />
      </label>
      <label>
        Sex
        <select {...bind('sex')}>
          <option value="">Not recorded</option>
          <option value="female">Female</option>
          <option value="male">Male</option>
          <option value="other">Other</option>
          <option value="unknown">Unknown</option>
        </select>
      </label>
      <label>
        Village
        <input {...bind('village')} maxLength={200} />
      </label>
      <label>
        Phone
        <input {...bind('phone')} type="tel" maxLength={50} />
      </label>
      <label>
        Allergies (comma separated)
        <input {...bind('allergies')} />
      </label>
      <label className="wide">
        Notes
        <textarea {...bind('notes')} rows={3} />
      </label>
    </div>
  );
}

/**
 * What the form says, as a patient record. Blank optional fields are left out of a new record;
 * in an edit, a field that was set and is now blank is cleared (null), and unchanged fields are
 * not sent at all, so two clinicians editing different fields of one patient both keep their work.
 */
export function patientFromForm(
  form: { get(name: string): FormDataEntryValue | null | undefined },
  before?: Patient,
): Record<string, unknown> {
  const value = (name: string) => String(form.get(name) ?? '').trim();
  const allergies = value('allergies')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const next: Record<string, unknown> = {
    name: value('name'),
    dateOfBirth: value('dateOfBirth') || undefined,
    sex: value('sex') || undefined,
    village: value('village') || undefined,
    phone: value('phone') || undefined,
    allergies: allergies.length > 0 ? allergies : undefined,
    notes: value('notes') || undefined,
  };
  if (before === undefined)
    return Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined));
  const patch: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(next)) {
    const was = before[field];
    if (JSON.stringify(v) === JSON.stringify(was)) continue;
    if (v === undefined) {
      if (was !== undefined) patch[field] = null;
    } else patch[field] = v;
  }
  return patch;
}
