// The field-clinic records as the app reads them (packages/examples/src/field-clinic.ts defines
// and validates them; these are the same fields, typed for the screens).

export interface Patient {
  [field: string]: unknown;
  name: string;
  dateOfBirth?: string;
  sex?: 'female' | 'male' | 'other' | 'unknown';
  village?: string;
  phone?: string;
  allergies?: string[];
  notes?: string;
}

export interface Encounter {
  [field: string]: unknown;
  patientId: string;
  date?: string;
  diagnosis?: string;
  notes?: string;
}

export interface ClinicalNote {
  [field: string]: unknown;
  encounterId: string;
  body: string;
  authorId?: string;
  signatureHash?: string;
  signedAt?: string;
}

export interface IntakeForm {
  [field: string]: unknown;
  patientId: string;
  answers?: Record<string, unknown>;
  isLocked?: boolean;
}

export interface Prescription {
  [field: string]: unknown;
  patientId: string;
  encounterId?: string;
  drug: string;
  dose: string;
  frequency?: string;
  durationDays?: number;
}

export function isSigned(note: ClinicalNote): boolean {
  return typeof note.signatureHash === 'string' && note.signatureHash !== '';
}

/** Today as YYYY-MM-DD in the device's time zone: the date a clinician means by "today". */
export function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}
