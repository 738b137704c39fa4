/** Demo sign-ins created by `npm start` unless turned off. Every one uses the same password. */
export const demoPassword = 'outpost-demo';

export interface DemoUser {
  email: string;
  tenant: string;
  roles: readonly string[];
  schema: 'field-clinic' | 'vet-practice';
}

export const demoUsers: readonly DemoUser[] = [
  { email: 'nurse@clinic-a.test', tenant: 'clinic-a', roles: ['clinician'], schema: 'field-clinic' },
  { email: 'admin@clinic-a.test', tenant: 'clinic-a', roles: ['admin'], schema: 'field-clinic' },
  { email: 'nurse@clinic-b.test', tenant: 'clinic-b', roles: ['clinician'], schema: 'field-clinic' },
  { email: 'vet@vet-a.test', tenant: 'vet-a', roles: ['clinician'], schema: 'vet-practice' },
  { email: 'admin@vet-a.test', tenant: 'vet-a', roles: ['admin'], schema: 'vet-practice' },
];

export interface DemoRecord {
  collection: string;
  id: string;
  data: Record<string, unknown>;
}

/** A small clinic's worth of records, in dependency order, with fixed ids so reseeding is idempotent. */
export const fieldClinicDemoRecords: readonly DemoRecord[] = [
  {
    collection: 'patients',
    id: 'demo-patient-amina',
    data: {
      name: 'Amina K.',
      dateOfBirth: '1988-04-12',
      sex: 'female',
      village: 'Ntcheu',
      allergies: ['penicillin'],
    },
  },
  {
    collection: 'patients',
    id: 'demo-patient-joseph',
    data: {
      name: 'Joseph M.',
      dateOfBirth: '1954-09-30',
      sex: 'male',
      village: 'Balaka',
      phone: '+265 991 000 123',
    },
  },
  {
    collection: 'patients',
    id: 'demo-patient-grace',
    data: { name: 'Grace P.', dateOfBirth: '2019-01-05', sex: 'female', village: 'Ntcheu' },
  },
  {
    collection: 'encounters',
    id: 'demo-encounter-amina-1',
    data: {
      patientId: 'demo-patient-amina',
      date: '2026-11-02',
      diagnosis: 'Malaria (uncomplicated)',
      vitals: { temperatureC: 38.6, pulse: 96 },
    },
  },
  {
    collection: 'prescriptions',
    id: 'demo-rx-amina-1',
    data: {
      patientId: 'demo-patient-amina',
      encounterId: 'demo-encounter-amina-1',
      drug: 'Artemether-lumefantrine',
      dose: '4 tablets',
      frequency: 'twice daily',
      durationDays: 3,
    },
  },
  {
    collection: 'clinicalNotes',
    id: 'demo-note-amina-1',
    data: { encounterId: 'demo-encounter-amina-1', body: 'Fever for two days. RDT positive. Started ACT.' },
  },
];
