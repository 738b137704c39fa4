import type { Patient } from '../records';

/** The patient form's fields, shared by "New patient" and the patient page's edit form. */
export function PatientFields({ patient }: { patient?: Patient }) {
  return (
    <div className="fields">
      <label>
        Name
        <input name="name" required maxLength={200} defaultValue={patient?.name ?? ''} />
      </label>
      <label>
        Date of birth
        <input name="dateOfBirth" type="date" defaultValue={patient?.dateOfBirth ?? ''} />
      </label>
      <label>
        Sex
        <select name="sex" defaultValue={patient?.sex ?? ''}>
          <option value="">Not recorded</option>
          <option value="female">Female</option>
          <option value="male">Male</option>
          <option value="other">Other</option>
          <option value="unknown">Unknown</option>
        </select>
      </label>
      <label>
        Village
        <input name="village" maxLength={200} defaultValue={patient?.village ?? ''} />
      </label>
      <label>
        Phone
        <input name="phone" type="tel" maxLength={50} defaultValue={patient?.phone ?? ''} />
      </label>
      <label>
        Allergies (comma separated)
        <input name="allergies" defaultValue={patient?.allergies?.join(', ') ?? ''} />
      </label>
      <label className="wide">
        Notes
        <textarea name="notes" rows={3} defaultValue={patient?.notes ?? ''} />
      </label>
    </div>
  );
}

/**
 * What the form says, as a patient record. Blank optional fields are left out of a new record;
 * in an edit, a field that was set and is now blank is cleared (null), and unchanged fields are
 * not sent at all, so two clinicians editing different fields of one patient both keep their work.
 */
export function patientFromForm(form: FormData, before?: Patient): Record<string, unknown> {
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
