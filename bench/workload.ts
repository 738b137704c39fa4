// The data a benchmark pushes: patient creates as one tablet would queue them during a clinic day.
import { HlcClock, uuidv7 } from '@outpost/core';

export interface PatientData {
  name: string;
  dateOfBirth: string;
  sex: 'female' | 'male' | 'other' | 'unknown';
  village: string;
  phone?: string;
  allergies?: string[];
  notes?: string;
}

/** A push op exactly as it goes over the wire. */
export interface PatientCreateOp {
  opId: string;
  collection: 'patients';
  type: 'create';
  id: string;
  data: PatientData;
  hlc: string;
}

const givenNames = [
  'Amina',
  'Joseph',
  'Grace',
  'Chikondi',
  'Tiyamike',
  'Mphatso',
  'Kondwani',
  'Thoko',
  'Yamikani',
];
const familyNames = [
  'Banda',
  'Phiri',
  'Mwale',
  'Chirwa',
  'Kumwenda',
  'Nyirenda',
  'Gondwe',
  'Msiska',
  'Tembo',
];
const villages = ['Ntcheu', 'Balaka', 'Dedza', 'Mangochi', 'Zomba', 'Salima', 'Nkhotakota', 'Mchinji'];
const sexes = ['female', 'male', 'other', 'unknown'] as const;
const allergyList = ['penicillin', 'sulfa drugs', 'peanuts', 'latex', 'aspirin'];
const noteList = [
  'Lives two hours from the clinic; prefers morning visits.',
  'Follow up on immunisation schedule at next outreach.',
  'Hypertension monitored monthly. Bring previous readings.',
  'Referred from the mobile clinic; no previous records on paper.',
];

/**
 * A small seeded PRNG (mulberry32), so every run and both drivers get the same field values and
 * the row sizes being compared never differ by chance.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function patient(random: () => number): PatientData {
  const year = 1940 + Math.floor(random() * 84);
  const month = String(1 + Math.floor(random() * 12)).padStart(2, '0');
  const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
  const data: PatientData = {
    name: `${pick(random, givenNames)} ${pick(random, familyNames)}`,
    dateOfBirth: `${year}-${month}-${day}`,
    sex: pick(random, sexes),
    village: pick(random, villages),
  };
  // Optional fields as in real intake: not everyone has a phone, allergies or notes.
  if (random() < 0.6) data.phone = `+265 99${Math.floor(1_000_000 + random() * 8_999_999)}`;
  if (random() < 0.3) data.allergies = [pick(random, allergyList)];
  if (random() < 0.4) data.notes = pick(random, noteList);
  return data;
}

/** `count` patient creates with device-made ids (UUIDv7) and the device's HLC, as a client sends them. */
export function patientCreates(count: number, seed = 1): PatientCreateOp[] {
  const random = seededRandom(seed);
  const clock = new HlcClock({ node: 'bench-tablet' });
  const ops: PatientCreateOp[] = [];
  for (let i = 0; i < count; i++) {
    ops.push({
      opId: uuidv7(),
      collection: 'patients',
      type: 'create',
      id: uuidv7(),
      data: patient(random),
      hlc: clock.tick(),
    });
  }
  return ops;
}

export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
