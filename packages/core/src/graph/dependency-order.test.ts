import { fieldClinic, vetPractice } from '@outpost/examples';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeTempId } from '../ids';
import { collection, defineSchema } from '../schema/define-schema';
import type { Schema } from '../schema/define-schema';
import { DependencyCycleError, collectionOrder, orderOps, withPrerequisites } from './dependency-order';

interface Op {
  seq: number;
  collection: string;
  type: 'create' | 'update' | 'delete';
  id: string;
  data?: Record<string, unknown>;
}

const dayStart = Date.UTC(2024, 10, 2, 8);
let tempCounter = 0;
/** Temp ids as a vet-practice device makes them: temp_<ms>_<hex>_<collection>. */
function tempId(collection: string): string {
  tempCounter++;
  const n = tempCounter;
  return makeTempId(collection, dayStart + n, () => new Uint8Array([n >> 16, n >> 8, n]));
}

const create = (seq: number, collection: string, id: string, data: Record<string, unknown> = {}): Op => ({
  seq,
  collection,
  type: 'create',
  id,
  data,
});
const update = (seq: number, collection: string, id: string, data: Record<string, unknown>): Op => ({
  seq,
  collection,
  type: 'update',
  id,
  data,
});
const remove = (seq: number, collection: string, id: string): Op => ({ seq, collection, type: 'delete', id });

const steps = (ops: readonly Op[]) => ops.map((op) => `${op.type} ${op.collection}#${op.seq}`);

const permissions = { admin: ['read', 'create', 'update', 'delete'] as const };
const named = z.object({ name: z.string() });

describe('collectionOrder', () => {
  it('puts vet-practice collections parent first: users, pets, appointments, SOAP notes', () => {
    expect(collectionOrder(vetPractice)).toEqual(['users', 'pets', 'appointments', 'soapNotes']);
  });

  it('breaks ties by priority then name, never ahead of what a collection references', () => {
    // Prescriptions have priority 1 but reference encounters, so they wait for them.
    expect(collectionOrder(fieldClinic)).toEqual([
      'patients',
      'encounters',
      'prescriptions',
      'clinicalNotes',
      'intakeForms',
    ]);
  });

  it('names the cycle when collections reference each other in a loop', () => {
    const schema = defineSchema({
      name: 'loop',
      collections: {
        a: collection({ fields: z.object({ bId: z.string() }), references: { bId: 'b' }, permissions }),
        b: collection({ fields: z.object({ cId: z.string() }), references: { cId: 'c' }, permissions }),
        c: collection({ fields: z.object({ aId: z.string() }), references: { aId: 'a' }, permissions }),
        d: collection({ fields: named, permissions }),
      },
    });
    const error = catchError(() => collectionOrder(schema));
    expect(error).toBeInstanceOf(DependencyCycleError);
    expect(error).toMatchObject({
      name: 'DependencyCycleError',
      code: 'DEPENDENCY_CYCLE',
      cycle: ['a', 'b', 'c', 'a'],
      message: 'collections reference each other in a cycle: a -> b -> c -> a',
    });
  });

  it('does not count a collection referencing itself as a cycle', () => {
    expect(collectionOrder(folderSchema)).toEqual(['folders', 'files']);
  });
});

/** Folders nest: a folder's parentId points at another folder, which the op order has to respect. */
const folderSchema: Schema = defineSchema({
  name: 'folders',
  collections: {
    files: collection({
      fields: z.object({ folderId: z.string() }),
      references: { folderId: 'folders' },
      permissions,
    }),
    folders: collection({
      idStrategy: 'server',
      fields: z.object({ name: z.string(), parentId: z.string().optional() }),
      references: { parentId: 'folders' },
      permissions,
    }),
  },
});

describe('orderOps', () => {
  it('sends a vet-practice chain parent first even when the device queued it child first', () => {
    const user = tempId('users');
    const pet = tempId('pets');
    const appointment = tempId('appointments');
    const note = tempId('soapNotes');
    const ops = [
      create(1, 'soapNotes', note, { appointmentId: appointment, subjective: 'Limping' }),
      create(2, 'appointments', appointment, { date: '2024-11-02', petId: pet }),
      create(3, 'pets', pet, { name: 'Rex', ownerId: user }),
      create(4, 'users', user, { name: 'Jo Banda', role: 'CLIENT' }),
    ];
    expect(orderOps(ops, vetPractice).map((op) => op.id)).toEqual([user, pet, appointment, note]);
  });

  it('holds a high-priority child back until its parent, letting independent ones go first', () => {
    // Prescriptions have priority 1; the first one points at a patient created after it.
    const ops = [
      create(1, 'prescriptions', 'rx-new', { patientId: 'pat-new', drug: 'Amoxicillin', dose: '250 mg' }),
      create(2, 'patients', 'pat-new', { name: 'Amina K.' }),
      create(3, 'prescriptions', 'rx-old', { patientId: 'pat-stored', drug: 'Zinc', dose: '20 mg' }),
      create(4, 'encounters', 'enc-1', { patientId: 'pat-stored' }),
    ];
    expect(orderOps(ops, fieldClinic).map((op) => op.id)).toEqual(['rx-old', 'pat-new', 'rx-new', 'enc-1']);
  });

  it('orders independent ops by priority, then by seq', () => {
    const ops = [
      update(1, 'pets', 'pet-1', { name: 'Rex' }),
      update(2, 'appointments', 'apt-1', { title: 'Vaccination' }),
      create(3, 'users', tempId('users'), { name: 'Dr. Phiri' }),
      update(4, 'pets', 'pet-2', { species: 'cat' }),
      update(5, 'users', 'user-9', { email: 'jo@example.test' }),
    ];
    expect(steps(orderOps(ops, vetPractice))).toEqual([
      'create users#3',
      'update users#5',
      'update pets#1',
      'update appointments#2',
      'update pets#4',
    ]);
  });

  it("keeps a record's own ops in seq order whatever order they are listed in", () => {
    const pet = tempId('pets');
    const ops = [
      update(7, 'pets', pet, { species: 'dog' }),
      remove(9, 'pets', pet),
      create(2, 'pets', pet, { name: 'Rex', ownerId: 'user-1' }),
      update(4, 'pets', pet, { name: 'Rexy' }),
      create(3, 'users', tempId('users'), { name: 'Jo' }),
    ];
    const ordered = orderOps(ops, vetPractice).filter((op) => op.id === pet);
    expect(ordered.map((op) => op.seq)).toEqual([2, 4, 7, 9]);
  });

  it('deletes a parent only after every op that still points at it', () => {
    const user = 'user-42';
    const ops = [
      remove(1, 'users', user),
      update(2, 'pets', 'pet-1', { ownerId: user }),
      create(3, 'appointments', tempId('appointments'), {
        date: '2024-11-02',
        petId: 'pet-1',
        practitionerId: user,
      }),
      update(4, 'pets', 'pet-2', { name: 'Mittens' }),
    ];
    expect(steps(orderOps(ops, vetPractice))).toEqual([
      'update pets#2',
      'create appointments#3',
      'delete users#1',
      'update pets#4',
    ]);
  });

  it('orders nested records of a self-referencing collection parent first', () => {
    const root = tempId('folders');
    const child = tempId('folders');
    const ops = [
      create(1, 'files', 'file-1', { folderId: child }),
      create(2, 'folders', child, { name: 'X-rays', parentId: root }),
      create(3, 'folders', root, { name: 'Rex' }),
      update(4, 'folders', root, { parentId: root }),
    ];
    expect(orderOps(ops, folderSchema).map((op) => op.seq)).toEqual([3, 2, 1, 4]);
  });

  it('names the records when the data makes ops wait on each other in a loop', () => {
    const ops = [
      create(1, 'folders', 'f1', { name: 'a', parentId: 'f2' }),
      create(2, 'folders', 'f2', { name: 'b', parentId: 'f1' }),
      create(3, 'files', 'file-1', { folderId: 'f1' }),
    ];
    const error = catchError(() => orderOps(ops, folderSchema));
    expect(error).toMatchObject({
      code: 'DEPENDENCY_CYCLE',
      cycle: ['folders/f1', 'folders/f2', 'folders/f1'],
      seqs: [1, 2],
      message: 'ops depend on each other in a cycle: folders/f1 -> folders/f2 -> folders/f1',
    });
  });

  it('names the ops that wait on a loop, and only those', () => {
    const ops = [
      create(1, 'folders', 'f1', { name: 'a', parentId: 'f2' }),
      create(2, 'folders', 'f2', { name: 'b', parentId: 'f1' }),
      create(3, 'files', 'file-1', { folderId: 'f1' }),
      update(4, 'folders', 'f2', { name: 'B' }),
      create(5, 'folders', 'f3', { name: 'c' }),
      create(6, 'files', 'file-2', { folderId: 'f3' }),
    ];
    const error = catchError(() => orderOps(ops, folderSchema));
    expect(error).toMatchObject({ seqs: [1, 2], waiting: [3, 4] });
    // Without them, the rest orders as usual.
    const rest = ops.filter((op) => op.seq > 4);
    expect(orderOps(rest, folderSchema).map((op) => op.seq)).toEqual([5, 6]);
  });

  it('reports a delete-then-recreate loop by its records', () => {
    // A device deleted a user and created one again under the same temp id, with a pet in between.
    const user = tempId('users');
    const ops = [
      remove(1, 'users', user),
      create(2, 'pets', 'pet-1', { name: 'Rex', ownerId: user }),
      create(3, 'users', user, { name: 'Jo' }),
    ];
    const error = catchError(() => orderOps(ops, vetPractice));
    expect(error).toBeInstanceOf(DependencyCycleError);
    expect((error as DependencyCycleError).cycle).toEqual([`users/${user}`, 'pets/pet-1', `users/${user}`]);
  });

  it('puts ops on collections the schema does not know last, in seq order', () => {
    const ops = [
      { seq: 1, collection: 'invoices', type: 'create' as const, id: 'inv-2', data: { petId: 'x' } },
      update(2, 'soapNotes', 'note-1', { plan: 'Rest' }),
      { seq: 3, collection: 'attachments', type: 'create' as const, id: 'att-1' },
      { seq: 0, collection: 'invoices', type: 'update' as const, id: 'inv-1', data: {} },
      update(4, 'pets', 'pet-1', { name: 'Rex' }),
    ];
    expect(orderOps(ops, vetPractice).map((op) => op.seq)).toEqual([2, 4, 0, 1, 3]);
  });

  it('returns the same objects and leaves the input alone', () => {
    const ops = [
      create(2, 'pets', 'p', { name: 'Rex', ownerId: 'u' }),
      create(1, 'users', 'u', { name: 'Jo' }),
    ];
    const before = [...ops];
    const ordered = orderOps(ops, vetPractice);
    expect(ops).toEqual(before);
    expect(ordered[0]).toBe(ops[1]);
    expect(orderOps([], vetPractice)).toEqual([]);
  });
});

describe('withPrerequisites', () => {
  it('sends a SOAP note with the appointment, pet and owner made on the device that it needs, and nothing else', () => {
    const user = tempId('users');
    const pet = tempId('pets');
    const appointment = tempId('appointments');
    const note = tempId('soapNotes');
    const ops = [
      create(1, 'users', user, { name: 'Jo Banda' }),
      create(2, 'pets', pet, { name: 'Rex', ownerId: user }),
      update(3, 'pets', 'pet-stored', { name: 'Mittens' }),
      create(4, 'appointments', appointment, { date: '2024-11-02', petId: pet }),
      create(5, 'soapNotes', note, { appointmentId: appointment, subjective: 'Limping' }),
      // A later edit of the pet goes too: the record goes whole, never leaving a change behind.
      update(6, 'pets', pet, { species: 'dog' }),
    ];
    const going = withPrerequisites(ops, vetPractice, (op) => op.collection === 'soapNotes');
    expect(going.map((op) => op.seq)).toEqual([1, 2, 4, 5, 6]);
  });

  it("sends with a user's delete every op still to go that points at that user", () => {
    const ops = [
      update(1, 'pets', 'pet-1', { ownerId: 'user-42' }),
      update(2, 'pets', 'pet-2', { name: 'Mittens' }),
      remove(3, 'users', 'user-42'),
    ];
    expect(
      withPrerequisites(ops, vetPractice, (op) => op.collection === 'users').map((op) => op.seq),
    ).toEqual([1, 3]);
    // Pointing at a stored user needs nothing of the device's: the pet goes alone.
    expect(withPrerequisites(ops, vetPractice, (op) => op.id === 'pet-1').map((op) => op.seq)).toEqual([1]);
  });

  it("takes exactly the rules' closure of the chosen records, and orders it as the whole outbox orders it", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 50 }),
        fc.array(fc.nat(100), { maxLength: 50 }),
        fc.constantFrom(...kinds),
        (script, seqKeys, kind) => {
          const ops = buildOutbox(script, seqKeys);
          const going = withPrerequisites(ops, vetPractice, (op) => op.collection === kind);
          // The closure by brute force: the chosen records, then any record with an op that must
          // come before an op already taken, each record whole, until nothing is added.
          const records = new Set(ops.filter((op) => op.collection === kind).map(recordOf));
          const pairs = requiredPairs(ops);
          for (let grew = true; grew;) {
            grew = false;
            for (const [first, then] of pairs) {
              if (records.has(recordOf(then)) && !records.has(recordOf(first))) {
                records.add(recordOf(first));
                grew = true;
              }
            }
          }
          expect(going).toEqual(ops.filter((op) => records.has(recordOf(op))));
          const taken = new Set(going);
          expect(orderOps(going, vetPractice)).toEqual(
            orderOps(ops, vetPractice).filter((op) => taken.has(op)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

// --- property: random vet-practice outboxes ---------------------------------------------------

const parentOf = { pets: 'users', appointments: 'pets', soapNotes: 'appointments' } as const;
const refField = { pets: 'ownerId', appointments: 'petId', soapNotes: 'appointmentId' } as const;
const kinds = ['users', 'pets', 'appointments', 'soapNotes'] as const;
type Kind = (typeof kinds)[number];

/** One thing a clinician did, to be turned into an op against the records made so far. */
interface Step {
  action: 'create' | 'update' | 'delete';
  kind: Kind;
  /** Which record to touch or to point at; wrapped around the ones available. */
  pick: number;
  /** Point at a record the server already has (a real id) instead of one made on the device. */
  stored: boolean;
  /** An update that moves the record to another parent (a pet to another owner). */
  reparent: boolean;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  action: fc.constantFrom('create', 'create', 'update', 'delete'),
  kind: fc.constantFrom(...kinds),
  pick: fc.nat(1000),
  stored: fc.boolean(),
  reparent: fc.boolean(),
});

/**
 * A device's outbox from a script of steps. Each record sees at most one create, then updates, then at
 * most one delete, as a real outbox does; parents are device-made (temp ids) or stored on the server.
 * Seqs are then dealt out in a random order across records (each record keeps its own order), so a
 * child often has a lower seq than its parent and the order has real work to do.
 */
function buildOutbox(script: readonly Step[], seqKeys: readonly number[]): Op[] {
  const ops: Op[] = [];
  const live: Record<Kind, string[]> = { users: [], pets: [], appointments: [], soapNotes: [] };
  const ended = new Set<string>();
  const at = <T>(list: readonly T[], pick: number): T | undefined =>
    list.length === 0 ? undefined : list[pick % list.length];
  const parentFor = (kind: Exclude<Kind, 'users'>, step: Step): string => {
    const parentKind = parentOf[kind];
    return (!step.stored && at(live[parentKind], step.pick)) || `${parentKind}-stored-${step.pick % 7}`;
  };
  const dataFor = (kind: Kind, step: Step): Record<string, unknown> =>
    kind === 'users' ? { name: `User ${step.pick}` } : { [refField[kind]]: parentFor(kind, step) };
  for (const step of script) {
    if (step.action === 'create') {
      const id = tempId(step.kind);
      live[step.kind].push(id);
      ops.push(create(0, step.kind, id, dataFor(step.kind, step)));
      continue;
    }
    const id = step.stored ? `${step.kind}-stored-${step.pick % 7}` : at(live[step.kind], step.pick);
    // Nothing happens to a record after its delete.
    if (id === undefined || ended.has(`${step.kind}/${id}`)) continue;
    if (step.action === 'update') {
      const data =
        step.reparent && step.kind !== 'users' ? dataFor(step.kind, step) : { note: `edit ${step.pick}` };
      ops.push(update(0, step.kind, id, data));
    } else {
      ended.add(`${step.kind}/${id}`);
      live[step.kind] = live[step.kind].filter((other) => other !== id);
      ops.push(remove(0, step.kind, id));
    }
  }
  // Deal seqs in a random order, then give each record its own seqs back in the order it was worked on.
  const dealt = ops
    .map((_, i) => ({ i, key: (seqKeys[i % Math.max(1, seqKeys.length)] ?? 0) * 1000 + i }))
    .sort((a, b) => a.key - b.key);
  const seqOf = new Array<number>(ops.length);
  dealt.forEach(({ i }, rank) => (seqOf[i] = rank + 1));
  const byRecord = new Map<string, number[]>();
  ops.forEach((op, i) => byRecord.set(recordOf(op), [...(byRecord.get(recordOf(op)) ?? []), i]));
  for (const indices of byRecord.values()) {
    const seqs = indices.map((i) => seqOf[i] as number).sort((a, b) => a - b);
    indices.forEach((i, k) => (seqOf[i] = seqs[k] as number));
  }
  return ops.map((op, i) => ({ ...op, seq: seqOf[i] as number }));
}

function referencesOf(op: Op): string[] {
  const def = vetPractice.collection(op.collection);
  if (!def || !op.data) return [];
  const out: string[] = [];
  for (const [field, target] of Object.entries(def.references)) {
    const value = op.data[field];
    if (typeof value === 'string') out.push(`${target}/${value}`);
  }
  return out;
}

const recordOf = (op: Op) => `${op.collection}/${op.id}`;

/** Every rule as pairs (earlier, later) that the order must keep. */
function requiredPairs(ops: readonly Op[]): [Op, Op][] {
  const pairs: [Op, Op][] = [];
  for (const a of ops) {
    for (const b of ops) {
      if (a === b) continue;
      if (recordOf(a) === recordOf(b)) {
        if (a.seq < b.seq) pairs.push([a, b]);
        continue;
      }
      const bRefersToA = referencesOf(b).includes(recordOf(a));
      if (bRefersToA && a.type === 'create') pairs.push([a, b]);
      if (referencesOf(a).includes(recordOf(b)) && b.type === 'delete') pairs.push([a, b]);
    }
  }
  return pairs;
}

describe('orderOps on random vet-practice outboxes', () => {
  it('returns a permutation that keeps every rule, in any batching', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 60 }),
        fc.array(fc.nat(100), { maxLength: 60 }),
        fc.integer({ min: 1, max: 70 }),
        (script, seqKeys, batchSize) => {
          const ops = buildOutbox(script, seqKeys);
          const ordered = orderOps(ops, vetPractice);
          expect(ordered).toHaveLength(ops.length);
          expect(new Set(ordered)).toEqual(new Set(ops));
          const position = new Map(ordered.map((op, i) => [op, i]));
          const batch = (op: Op) => Math.floor((position.get(op) as number) / batchSize);
          for (const [first, then] of requiredPairs(ops)) {
            expect(position.get(first)).toBeLessThan(position.get(then) as number);
            expect(batch(first)).toBeLessThanOrEqual(batch(then));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
