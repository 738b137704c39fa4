/**
 * What the people in a run do on their devices: local writes of every type on every collection of
 * the two example schemas, with temp ids and references, notes signed and intake forms locked,
 * and an administrator settling conflicts. Values come from small pools, so two nurses often
 * type the same thing and often not.
 */
import type { RecordData } from '@outpost/core';
import type { ClientRecord, SyncClient } from '@outpost/client';
import type { Prng } from './prng';

export interface WriteFigures {
  creates: number;
  updates: number;
  deletes: number;
  signs: number;
  locks: number;
  refusedLocally: number;
}

export function noWrites(): WriteFigures {
  return { creates: 0, updates: 0, deletes: 0, signs: 0, locks: 0, refusedLocally: 0 };
}

const names = ['Amina K.', 'Chikondi B.', 'Grace M.', 'Yusuf T.', 'Mercy P.', 'Daniel O.'];
const villages = ['Ntcheu', 'Dedza', 'Balaka', 'Mangochi', 'Zomba'];
const allergies = ['penicillin', 'sulfa', 'latex', 'peanuts'];
const diagnoses = ['malaria', 'pneumonia', 'hypertension', 'diabetes', 'wound', 'anaemia'];
const drugs = ['amoxicillin', 'paracetamol', 'artemether', 'metformin'];
const doses = ['250 mg', '500 mg', '1 g', '2 tablets'];
const words = ['stable', 'improving', 'referred', 'follow up in 7 days', 'no change', 'fever down'];
const species = ['dog', 'cat', 'goat', 'cow', 'horse'];
const petNames = ['Rex', 'Bella', 'Tiko', 'Moyo', 'Luna'];

function someOf<T>(r: Prng, items: readonly T[]): T[] {
  return items.filter(() => r.chance(0.35));
}

function day(r: Prng): string {
  return `2026-0${r.int(1, 9)}-1${r.int(0, 9)}`;
}

/** A value for an optional field, or null to clear it. */
function orClear<T>(r: Prng, value: T): T | null {
  return r.chance(0.12) ? null : value;
}

type Live = ClientRecord<RecordData>;

interface CollectionPlan {
  /** Parents this collection's creates need: field -> collection (required ones first). */
  parents: Record<string, string>;
  optionalParents?: Record<string, string>;
  create(r: Prng, refs: Record<string, string>): RecordData;
  update(r: Prng): RecordData;
  /** A fixed id for creates (an intake form per patient), so two devices may create the same record. */
  fixedId?(refs: Record<string, string>): string | undefined;
  /** How likely a delete is, when the collection has records. */
  deleteWeight: number;
}

const plans: Record<string, CollectionPlan> = {
  patients: {
    parents: {},
    create: (r) => ({
      name: r.pick(names),
      ...(r.chance(0.6) ? { village: r.pick(villages) } : {}),
      ...(r.chance(0.4) ? { sex: r.pick(['female', 'male', 'other', 'unknown']) } : {}),
      ...(r.chance(0.3) ? { allergies: someOf(r, allergies) } : {}),
    }),
    update: (r) =>
      r.weighted({
        village: 3,
        phone: 1,
        notes: 2,
        allergies: 1,
        dateOfBirth: 1,
        name: 1,
      }) === 'village'
        ? { village: orClear(r, r.pick(villages)) }
        : r.chance(0.5)
          ? { notes: orClear(r, r.pick(words)), phone: orClear(r, `+265 99 ${r.int(100, 999)}`) }
          : r.chance(0.5)
            ? { allergies: orClear(r, someOf(r, allergies)), dateOfBirth: day(r) }
            : { name: r.pick(names) },
    deleteWeight: 0.5,
  },
  encounters: {
    parents: { patientId: 'patients' },
    create: (r, refs) => ({
      patientId: refs['patientId'],
      date: day(r),
      ...(r.chance(0.5) ? { diagnosis: r.pick(diagnoses) } : {}),
    }),
    update: (r) => {
      const roll = r.int(0, 9);
      if (roll < 4) return { diagnosis: orClear(r, r.pick(diagnoses)) };
      if (roll < 6)
        return { vitals: { temp: 36 + r.int(0, 30) / 10, bp: `${r.int(100, 160)}/${r.int(60, 100)}` } };
      if (roll < 8) return { notes: orClear(r, r.pick(words)), prescription: orClear(r, r.pick(drugs)) };
      return { date: day(r) };
    },
    deleteWeight: 0.6,
  },
  clinicalNotes: {
    parents: { encounterId: 'encounters' },
    create: (r, refs) => ({
      encounterId: refs['encounterId'],
      body: r.pick(words),
      authorId: `clinician-${r.int(1, 3)}`,
    }),
    update: (r) =>
      r.chance(0.3)
        ? { signatureHash: `sha256:${r.uint32().toString(16)}`, signedAt: `${day(r)}T10:00:00.000Z` }
        : { body: `${r.pick(words)}; ${r.pick(words)}` },
    deleteWeight: 0.5,
  },
  intakeForms: {
    parents: { patientId: 'patients' },
    // Sometimes filled in and locked in one go, at the first visit.
    create: (r, refs) => ({
      patientId: refs['patientId'],
      answers: { pain: r.int(0, 10), smoker: r.chance(0.3) },
      ...(r.chance(0.25) ? { isLocked: true } : {}),
    }),
    update: (r) =>
      r.chance(0.3)
        ? { isLocked: true }
        : { answers: { pain: r.int(0, 10), sleep: r.pick(['good', 'poor']), smoker: r.chance(0.3) } },
    // One intake form per patient: every device makes it under the same id.
    fixedId: (refs) => (refs['patientId'] ? `intake-${refs['patientId']}` : undefined),
    deleteWeight: 0.3,
  },
  prescriptions: {
    parents: { patientId: 'patients' },
    optionalParents: { encounterId: 'encounters' },
    create: (r, refs) => ({
      patientId: refs['patientId'],
      ...(refs['encounterId'] ? { encounterId: refs['encounterId'] } : {}),
      drug: r.pick(drugs),
      dose: r.pick(doses),
      ...(r.chance(0.5) ? { frequency: r.pick(['daily', 'twice daily', 'at night']) } : {}),
    }),
    update: (r) =>
      r.chance(0.5)
        ? { dose: r.pick(doses) }
        : { frequency: orClear(r, r.pick(['daily', 'twice daily'])), durationDays: r.int(1, 30) },
    deleteWeight: 0.6,
  },
  users: {
    parents: {},
    create: (r) => ({ name: r.pick(names), role: r.pick(['CLIENT', 'CLIENT', 'VET']) }),
    update: (r) =>
      r.chance(0.5) ? { email: orClear(r, `owner${r.int(1, 9)}@farm.test`) } : { name: r.pick(names) },
    deleteWeight: 0.3,
  },
  pets: {
    parents: { ownerId: 'users' },
    create: (r, refs) => ({ name: r.pick(petNames), species: r.pick(species), ownerId: refs['ownerId'] }),
    update: (r) => (r.chance(0.5) ? { name: r.pick(petNames) } : { species: orClear(r, r.pick(species)) }),
    deleteWeight: 0.5,
  },
  appointments: {
    parents: { petId: 'pets' },
    optionalParents: { practitionerId: 'users' },
    create: (r, refs) => ({
      date: `${day(r)}T0${r.int(8, 9)}:00:00.000Z`,
      petId: refs['petId'],
      ...(refs['practitionerId'] ? { practitionerId: refs['practitionerId'] } : {}),
      ...(r.chance(0.5)
        ? { title: r.pick(['check-up', 'vaccination', 'surgery']), durationMinutes: 30 }
        : {}),
    }),
    update: (r) =>
      r.chance(0.5)
        ? { title: orClear(r, r.pick(['check-up', 'follow-up'])) }
        : { durationMinutes: r.int(1, 12) * 10 },
    deleteWeight: 0.5,
  },
  soapNotes: {
    parents: { appointmentId: 'appointments' },
    create: (r, refs) => ({ appointmentId: refs['appointmentId'], subjective: r.pick(words) }),
    update: (r) => {
      const section = r.pick(['subjective', 'objective', 'assessment', 'plan']);
      return { [section]: orClear(r, r.pick(words)) };
    },
    deleteWeight: 0.4,
  },
};

async function liveOf(client: SyncClient, collection: string): Promise<Live[]> {
  return client.collection(collection).find();
}

/** Picks the parents a new record (or a moved reference) needs from what the device holds; null when one is missing. */
async function pickRefs(
  r: Prng,
  client: SyncClient,
  plan: CollectionPlan,
): Promise<{ refs: Record<string, string>; missing: string | null }> {
  const refs: Record<string, string> = {};
  for (const [field, target] of Object.entries(plan.parents)) {
    const candidates = await liveOf(client, target);
    if (candidates.length === 0) return { refs, missing: target };
    refs[field] = r.pick(candidates).id;
  }
  for (const [field, target] of Object.entries(plan.optionalParents ?? {})) {
    const candidates = await liveOf(client, target);
    if (candidates.length > 0 && r.chance(0.5)) refs[field] = r.pick(candidates).id;
  }
  return { refs, missing: null };
}

/**
 * One local write on the device: a create, an update (sometimes a signature or a lock, sometimes a
 * moved reference) or a delete. When the collection needs a parent the device does not hold, the
 * parent is created instead. Resolves once the write is committed locally (or refused).
 */
export async function localWrite(r: Prng, client: SyncClient, figures: WriteFigures): Promise<void> {
  // Signed notes and locked forms are where the strictest rule lives: they get more traffic.
  const weights = Object.fromEntries(
    client.schema.collectionNames.map((c) => [c, c === 'intakeForms' ? 3 : c === 'clinicalNotes' ? 2 : 1]),
  );
  let collection = r.weighted(weights);
  for (let depth = 0; depth < 4; depth++) {
    const plan = plans[collection];
    if (!plan) throw new Error(`the workload has no plan for ${collection}`);
    const existing = await liveOf(client, collection);
    const kind =
      existing.length === 0
        ? 'create'
        : r.weighted({ create: 1, update: 1.6, delete: 0.5 * plan.deleteWeight });
    const records = client.collection(collection);
    try {
      if (kind === 'create') {
        const { refs, missing } = await pickRefs(r, client, plan);
        if (missing) {
          collection = missing;
          continue;
        }
        const id = plan.fixedId?.(refs);
        await records.create(plan.create(r, refs), id !== undefined ? { id } : {});
        figures.creates += 1;
      } else if (kind === 'update') {
        await update(r, client, collection, plan, r.pick(existing), figures);
      } else {
        await records.delete(r.pick(existing).id);
        figures.deletes += 1;
      }
    } catch {
      // Refused on the device: a signed note, a locked form, a record gone, an id taken.
      figures.refusedLocally += 1;
    }
    return;
  }
}

/** Chance that an update moves a record to another parent (a pet to another owner). */
const moveChance = 0.15;

async function update(
  r: Prng,
  client: SyncClient,
  collection: string,
  plan: CollectionPlan,
  target: Live,
  figures: WriteFigures,
): Promise<void> {
  const patch = plan.update(r);
  const movable = Object.entries(plan.parents)[0];
  if (movable && r.chance(moveChance)) {
    const [field, parent] = movable;
    const candidates = (await liveOf(client, parent)).filter((c) => c.id !== target.data[field]);
    if (candidates.length > 0) patch[field] = r.pick(candidates).id;
  }
  await client.collection(collection).update(target.id, patch);
  figures.updates += 1;
  if (patch['signatureHash'] !== undefined) figures.signs += 1;
  if (patch['isLocked'] === true) figures.locks += 1;
}
