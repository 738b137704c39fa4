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

/**
 * The demo veterinary practice's records (seed 001). Its ids are the server's to give, so these
 * carry temp ids, as a device's creates do, and later records name earlier ones by them: the
 * server gives each its id and puts it in their place. The ops' ids are fixed, so a restart that
 * seeds again applies nothing twice. Clients of the practice are users with role CLIENT; the
 * appointment names no client, and the server derives it from the pet's owner.
 */
export const vetPracticeDemoRecords: readonly DemoRecord[] = [
  {
    collection: 'users',
    id: 'temp_1767225600000_d1_users',
    data: { name: 'Dr. Rosa Banda', email: 'vet@vet-a.test', role: 'VET' },
  },
  {
    collection: 'users',
    id: 'temp_1767225600000_d2_users',
    data: { name: 'Tom Phiri', email: 'tom.phiri@example.test', role: 'CLIENT' },
  },
  {
    collection: 'users',
    id: 'temp_1767225600000_d3_users',
    data: { name: 'Mercy Chirwa', role: 'CLIENT' },
  },
  {
    collection: 'pets',
    id: 'temp_1767225600000_d4_pets',
    data: { name: 'Bingu', species: 'dog', ownerId: 'temp_1767225600000_d2_users' },
  },
  {
    collection: 'pets',
    id: 'temp_1767225600000_d5_pets',
    data: { name: 'Daisy', species: 'cow', ownerId: 'temp_1767225600000_d3_users' },
  },
  {
    collection: 'appointments',
    id: 'temp_1767225600000_d6_appointments',
    data: {
      title: 'Rabies vaccination',
      type: 'vaccination',
      date: '2026-11-24T08:30:00.000Z',
      durationMinutes: 20,
      petId: 'temp_1767225600000_d4_pets',
      practitionerId: 'temp_1767225600000_d1_users',
    },
  },
  {
    collection: 'appointments',
    id: 'temp_1767225600000_d7_appointments',
    data: {
      title: 'Farm visit: lameness',
      type: 'farm-visit',
      date: '2026-11-24T13:00:00.000Z',
      durationMinutes: 60,
      petId: 'temp_1767225600000_d5_pets',
      practitionerId: 'temp_1767225600000_d1_users',
    },
  },
  {
    collection: 'soapNotes',
    id: 'temp_1767225600000_d8_soapNotes',
    data: {
      appointmentId: 'temp_1767225600000_d7_appointments',
      subjective: 'Favouring the left hind leg for three days.',
      objective: 'Heat and swelling above the hoof. Temperature 39.1 °C.',
    },
  },
];
