import { fieldClinic } from '@outpost/examples';
import { describe, expect, it } from 'vitest';
import { HlcClock, formatHlc } from '../hlc';
import type { ConflictKind, ConflictOutcome } from '../protocol/conflicts';
import type { ConflictStrategy, RecordData } from '../schema/define-schema';
import { stableHash } from '../stable-hash';
import { detectConflict } from './detect-conflict';
import type { IncomingChange, RecordState } from './detect-conflict';
import { applyEffect, settleChange } from './settle-change';

// 2024-11-02 08:00 UTC, the day's first outreach visit; `at(30, 'tab-b')` is tablet B half an hour later.
const dayStart = Date.UTC(2024, 10, 2, 8);
const at = (minute: number, node: string, counter = 0) =>
  formatHlc({ ms: dayStart + minute * 60_000, counter, node });

function rules(name: 'patients' | 'encounters') {
  const def = fieldClinic.collection(name);
  if (!def) throw new Error(`field-clinic has no ${name}`);
  return def;
}
const patients = rules('patients');
const encounters = rules('encounters');

// A patient registered by tablet A (v1), her phone corrected by tablet B (v2), then her village (v3).
const aminaV2: RecordData = {
  name: 'Amina Banda',
  dateOfBirth: '1988-04-12',
  sex: 'female',
  village: 'Balaka',
  phone: '+265 991 234 567',
  allergies: ['penicillin'],
};
const amina: RecordData = { ...aminaV2, village: 'Ntcheu' };
const registered = { v: 1, hlc: at(0, 'tab-a') };
const patient: RecordState = {
  data: amina,
  version: 3,
  deleted: false,
  fieldMeta: {
    name: registered,
    dateOfBirth: registered,
    sex: registered,
    allergies: registered,
    phone: { v: 2, hlc: at(10, 'tab-b') },
    village: { v: 3, hlc: at(30, 'tab-b') },
  },
  hlc: at(30, 'tab-b'),
};
// Deleted by tablet B at v4 (a duplicate registration, say); a tombstone keeps its last data.
const deletedPatient: RecordState = { ...patient, version: 4, deleted: true, hlc: at(40, 'tab-b') };

// An encounter opened by tablet A (v1); tablet B then took new vitals and set the diagnosis (v2).
const visit: RecordData = {
  patientId: 'pt-amina',
  date: '2024-11-02',
  diagnosis: 'Malaria (uncomplicated)',
  prescription: 'Artemether-lumefantrine 4 tablets twice daily, 3 days',
  vitals: { temperature: 38.6, pulse: 96 },
};
const opened = { v: 1, hlc: at(0, 'tab-a') };
const encounter: RecordState = {
  data: visit,
  version: 2,
  deleted: false,
  fieldMeta: {
    patientId: opened,
    date: opened,
    prescription: opened,
    diagnosis: { v: 2, hlc: at(30, 'tab-b') },
    vitals: { v: 2, hlc: at(30, 'tab-b') },
  },
  hlc: at(30, 'tab-b'),
};
const deletedEncounter: RecordState = { ...encounter, version: 3, deleted: true, hlc: at(40, 'tab-b') };

const strategies = [
  'server-wins',
  'client-wins',
  'last-write-wins',
  'merge',
  'manual',
  'crdt',
] as const satisfies readonly ConflictStrategy[];
type Strategy = (typeof strategies)[number];

/** What a user sees after the change: the record's data, or null when it is (still) deleted. */
type Visible = RecordData | null;
type Expected = readonly [outcome: ConflictOutcome | null, record: Visible];

interface ConflictCase {
  name: string;
  collection: 'patients' | 'encounters';
  current: RecordState;
  change: IncomingChange;
  /** The HLC the change is settled at: the client's, or the server's own when it sent none. */
  hlc?: string;
  kind: ConflictKind;
  fields: readonly string[];
  expect: Readonly<Record<Strategy, Expected>>;
}

const newPhone = '+265 888 555 000';

// Tablet C's changes, each made on an older view of the record. Every strategy's row states the
// outcome and the record afterwards. Merge is the patients rule, with its manual fallback.
const cases: readonly ConflictCase[] = [
  {
    name: 'version: an update disputing a field the server changed since its base',
    collection: 'patients',
    current: patient,
    change: {
      type: 'update',
      baseVersion: 2,
      hlc: at(40, 'tab-c'),
      data: { village: 'Zomba', notes: 'Moved to Zomba for work.' },
    },
    kind: 'version',
    fields: ['village'],
    expect: {
      'server-wins': ['server-won', amina],
      'client-wins': ['client-won', { ...amina, village: 'Zomba', notes: 'Moved to Zomba for work.' }],
      'last-write-wins': ['client-won', { ...amina, village: 'Zomba', notes: 'Moved to Zomba for work.' }],
      merge: ['open', amina],
      manual: ['open', amina],
      crdt: ['client-won', { ...amina, village: 'Zomba', notes: 'Moved to Zomba for work.' }],
    },
  },
  {
    name: 'version: an update of fields the server did not change (disjoint), made before its last change',
    collection: 'patients',
    current: patient,
    change: {
      type: 'update',
      baseVersion: 2,
      hlc: at(20, 'tab-c'),
      data: { phone: newPhone, allergies: ['penicillin', 'sulfa drugs'] },
    },
    kind: 'version',
    fields: [],
    expect: {
      'server-wins': ['server-won', amina],
      'client-wins': ['client-won', { ...amina, phone: newPhone, allergies: ['penicillin', 'sulfa drugs'] }],
      // The whole change is older than the record's latest change.
      'last-write-wins': ['server-won', amina],
      merge: ['merged', { ...amina, phone: newPhone, allergies: ['penicillin', 'sulfa drugs'] }],
      manual: ['open', amina],
      // Each register the change touches is older on the server: no conflict at all.
      crdt: [null, { ...amina, phone: newPhone, allergies: ['penicillin', 'sulfa drugs'] }],
    },
  },
  {
    name: 'hash: a stale base hash and no client HLC (the server stamps it; every field may have moved)',
    collection: 'patients',
    current: patient,
    change: { type: 'update', baseHash: stableHash(aminaV2), data: { village: 'Dedza' } },
    hlc: at(50, 'server'),
    kind: 'hash',
    fields: ['village'],
    expect: {
      'server-wins': ['server-won', amina],
      'client-wins': ['client-won', { ...amina, village: 'Dedza' }],
      'last-write-wins': ['client-won', { ...amina, village: 'Dedza' }],
      merge: ['open', amina],
      manual: ['open', amina],
      crdt: ['client-won', { ...amina, village: 'Dedza' }],
    },
  },
  {
    name: 'hash: a stale base hash with the client HLC, on a field the server did not change since',
    collection: 'patients',
    current: patient,
    change: {
      type: 'update',
      baseHash: stableHash(aminaV2),
      hlc: at(20, 'tab-c'),
      data: { notes: 'Prefers morning visits.' },
    },
    kind: 'hash',
    fields: [],
    expect: {
      'server-wins': ['server-won', amina],
      'client-wins': ['client-won', { ...amina, notes: 'Prefers morning visits.' }],
      'last-write-wins': ['server-won', amina],
      merge: ['merged', { ...amina, notes: 'Prefers morning visits.' }],
      manual: ['open', amina],
      crdt: [null, { ...amina, notes: 'Prefers morning visits.' }],
    },
  },
  {
    name: 'timestamp: a client that sends only its HLC, older than the record’s last change',
    collection: 'encounters',
    current: encounter,
    change: {
      type: 'update',
      hlc: at(20, 'tab-c'),
      data: { vitals: { temperature: 37.9, pulse: 88 }, notes: 'Fever down after paracetamol.' },
    },
    kind: 'timestamp',
    fields: ['vitals'],
    expect: {
      'server-wins': ['server-won', visit],
      'client-wins': [
        'client-won',
        { ...visit, vitals: { temperature: 37.9, pulse: 88 }, notes: 'Fever down after paracetamol.' },
      ],
      'last-write-wins': ['server-won', visit],
      merge: ['open', visit],
      manual: ['open', visit],
      // The vitals register is newer on the server; the notes register is the client's.
      crdt: ['merged', { ...visit, notes: 'Fever down after paracetamol.' }],
    },
  },
  {
    name: 'delete-update: an update of a deleted record',
    collection: 'patients',
    current: deletedPatient,
    change: { type: 'update', baseVersion: 3, hlc: at(45, 'tab-c'), data: { phone: newPhone } },
    kind: 'delete-update',
    fields: ['phone'],
    expect: {
      'server-wins': ['server-won', null],
      // Winning revives the record from its last data.
      'client-wins': ['client-won', { ...amina, phone: newPhone }],
      'last-write-wins': ['client-won', { ...amina, phone: newPhone }],
      merge: ['open', null],
      manual: ['open', null],
      // A delete is final for registers.
      crdt: ['server-won', null],
    },
  },
  {
    name: 'delete-update: a delete of a record the server changed since its base',
    collection: 'encounters',
    current: encounter,
    change: { type: 'delete', baseVersion: 1, hlc: at(40, 'tab-c') },
    kind: 'delete-update',
    fields: ['diagnosis', 'vitals'],
    expect: {
      'server-wins': ['server-won', visit],
      'client-wins': ['client-won', null],
      'last-write-wins': ['client-won', null],
      merge: ['open', visit],
      manual: ['open', visit],
      crdt: ['client-won', null],
    },
  },
  {
    name: 'delete-update: a create over a deleted record',
    collection: 'encounters',
    current: deletedEncounter,
    change: {
      type: 'create',
      hlc: at(50, 'tab-c'),
      data: { patientId: 'pt-amina', date: '2024-11-02', diagnosis: 'Malaria (severe)' },
    },
    kind: 'delete-update',
    fields: [],
    expect: {
      'server-wins': ['server-won', null],
      'client-wins': [
        'client-won',
        { patientId: 'pt-amina', date: '2024-11-02', diagnosis: 'Malaria (severe)' },
      ],
      'last-write-wins': [
        'client-won',
        { patientId: 'pt-amina', date: '2024-11-02', diagnosis: 'Malaria (severe)' },
      ],
      merge: ['open', null],
      manual: ['open', null],
      crdt: ['server-won', null],
    },
  },
  {
    name: 'create over an existing record, both holding the same field with different values',
    collection: 'patients',
    current: patient,
    change: {
      type: 'create',
      hlc: at(35, 'tab-c'),
      data: { name: 'Amina Banda', village: 'Zomba', notes: 'Registered again at outreach.' },
    },
    kind: 'version',
    fields: ['allergies', 'dateOfBirth', 'notes', 'phone', 'sex', 'village'],
    expect: {
      'server-wins': ['server-won', amina],
      // A create is the whole record: winning replaces the fields it does not name.
      'client-wins': [
        'client-won',
        { name: 'Amina Banda', village: 'Zomba', notes: 'Registered again at outreach.' },
      ],
      'last-write-wins': [
        'client-won',
        { name: 'Amina Banda', village: 'Zomba', notes: 'Registered again at outreach.' },
      ],
      merge: ['open', amina],
      manual: ['open', amina],
      // Registers: only the fields the create names.
      crdt: ['client-won', { ...amina, village: 'Zomba', notes: 'Registered again at outreach.' }],
    },
  },
  {
    name: 'create over an existing record, each side holding fields the other lacks',
    collection: 'patients',
    current: patient,
    change: {
      type: 'create',
      hlc: at(25, 'tab-c'),
      data: { name: 'Amina Banda', notes: 'Registered again at outreach.' },
    },
    kind: 'version',
    fields: ['allergies', 'dateOfBirth', 'notes', 'phone', 'sex', 'village'],
    expect: {
      'server-wins': ['server-won', amina],
      'client-wins': ['client-won', { name: 'Amina Banda', notes: 'Registered again at outreach.' }],
      'last-write-wins': ['server-won', amina],
      merge: ['merged', { ...amina, notes: 'Registered again at outreach.' }],
      manual: ['open', amina],
      crdt: ['client-won', { ...amina, notes: 'Registered again at outreach.' }],
    },
  },
];

const rows = cases.flatMap((c) =>
  strategies.map((strategy) => {
    const [outcome, record] = c.expect[strategy];
    return { case: c.name, strategy, outcome, record, c };
  }),
);

/** Settles a change as the server does and applies the effect as the next version. */
function settleAndApply(
  current: RecordState,
  change: IncomingChange,
  strategy: ConflictStrategy,
  hlc: string,
  fallback: Exclude<ConflictStrategy, 'merge'> = 'manual',
) {
  const settlement = settleChange({ change, current, strategy, fallback, hlc });
  const next = applyEffect(current, settlement.effect, current.version + 1, hlc);
  return { settlement, next, visible: next.deleted ? null : next.data };
}

function hlcOf(c: { change: IncomingChange; hlc?: string }): string {
  const hlc = c.hlc ?? c.change.hlc;
  if (hlc === undefined) throw new Error('a case needs an HLC');
  return hlc;
}

describe('settleChange against every conflict kind', () => {
  it.each(cases)('detects $name', (c) => {
    expect(detectConflict(c.change, c.current)).toMatchObject({ kind: c.kind, fields: c.fields });
  });

  it.each(rows)('$strategy | $case -> $outcome', ({ c, strategy, outcome, record }) => {
    const def = c.collection === 'patients' ? patients : encounters;
    const { settlement, next, visible } = settleAndApply(c.current, c.change, strategy, hlcOf(c));

    expect(settlement.outcome).toBe(outcome);
    expect(visible).toEqual(record);
    // The record moves to a new version exactly when the change did something.
    expect(next.version).toBe(settlement.effect.kind === 'none' ? c.current.version : c.current.version + 1);
    if (outcome !== null) expect(settlement.detection?.kind).toBe(c.kind);
    // Merge hands what it cannot combine to the collection's fallback, which is then named as the rule.
    if (strategy === 'merge') expect(settlement.strategy).toBe(outcome === 'merged' ? 'merge' : 'manual');
    else expect(settlement.strategy).toBe(strategy);
    if (visible !== null) expect(def.fields.safeParse(visible).success).toBe(true);
  });

  it('uses the field-clinic rules the rows assume', () => {
    expect(patients.conflict).toEqual({ strategy: 'merge', fallback: 'manual' });
    expect(encounters.conflict.strategy).toBe('last-write-wins');
    expect(fieldClinic.collection('prescriptions')?.conflict.strategy).toBe('manual');
  });
});

describe('changes made on the current version', () => {
  it.each(strategies)('%s: an update applies as sent, with no conflict', (strategy) => {
    const change: IncomingChange = {
      type: 'update',
      baseVersion: 3,
      hlc: at(45, 'tab-c'),
      data: { phone: null, notes: 'Moved to Zomba.', village: 'Zomba' },
    };
    const { settlement, next, visible } = settleAndApply(patient, change, strategy, at(45, 'tab-c'));
    expect(settlement).toMatchObject({ detection: null, outcome: null });
    // null clears the phone.
    const { phone: _cleared, ...rest } = amina;
    expect(visible).toEqual({ ...rest, notes: 'Moved to Zomba.', village: 'Zomba' });
    expect(next.version).toBe(4);
    expect(patients.fields.safeParse(visible).success).toBe(true);
  });

  it.each(strategies)('%s: a delete applies, a delete of a tombstone does nothing', (strategy) => {
    const deleted = settleAndApply(encounter, { type: 'delete', baseVersion: 2 }, strategy, at(45, 'tab-c'));
    expect(deleted.settlement.outcome).toBeNull();
    expect(deleted.visible).toBeNull();
    expect(deleted.next.version).toBe(3);

    const again = settleAndApply(deleted.next, { type: 'delete', baseVersion: 2 }, strategy, at(46, 'tab-c'));
    expect(again.settlement).toMatchObject({ detection: null, outcome: null, effect: { kind: 'none' } });
    expect(again.next).toEqual(deleted.next);
  });

  it.each(strategies)('%s: a create identical to the stored record is no conflict', (strategy) => {
    const { settlement, next } = settleAndApply(
      patient,
      { type: 'create', data: { ...amina }, hlc: at(5, 'tab-a') },
      strategy,
      at(5, 'tab-a'),
    );
    expect(settlement).toMatchObject({ detection: null, outcome: null });
    expect(next.data).toEqual(amina);
    // crdt restamps the registers the later create won (same values); every other rule changes nothing.
    if (strategy !== 'crdt') expect(next).toBe(patient);
  });

  // Clients that send every column (WatermelonDB) send null for the empty ones; null is an empty field.
  it.each(strategies)('%s: a create resent with null for its empty fields is no conflict', (strategy) => {
    const change: IncomingChange = {
      type: 'create',
      hlc: at(0, 'tab-a'),
      data: { ...amina, notes: null },
    };
    expect(detectConflict(change, patient)).toBeNull();
    const { settlement, next } = settleAndApply(patient, change, strategy, at(0, 'tab-a'));
    expect(settlement).toMatchObject({ detection: null, outcome: null });
    expect(next.data).toEqual(amina);
    // crdt alone stamps the notes register it wrote (empty); every other rule leaves the record alone.
    if (strategy !== 'crdt') expect(next).toBe(patient);
  });

  it('merge: a create with null for a field the server holds keeps the server’s value', () => {
    const change: IncomingChange = {
      type: 'create',
      hlc: at(35, 'tab-c'),
      data: { name: 'Amina Banda', village: null, notes: 'Registered again at outreach.' },
    };
    const { settlement, visible } = settleAndApply(patient, change, 'merge', at(35, 'tab-c'));
    expect(settlement.outcome).toBe('merged');
    expect(visible).toEqual({ ...amina, notes: 'Registered again at outreach.' });
  });

  it('a change with no base at all applies on top of whatever is stored', () => {
    const { settlement, visible } = settleAndApply(
      encounter,
      { type: 'update', data: { notes: 'Review in 3 days.' } },
      'last-write-wins',
      at(60, 'server'),
    );
    expect(settlement.outcome).toBeNull();
    expect(visible).toEqual({ ...visit, notes: 'Review in 3 days.' });
  });
});

describe('merge fallback', () => {
  const disputed: IncomingChange = {
    type: 'update',
    baseVersion: 2,
    hlc: at(40, 'tab-c'),
    data: { village: 'Zomba', notes: 'Moved to Zomba for work.' },
  };
  const older: IncomingChange = { ...disputed, hlc: at(25, 'tab-c') };
  const clientVersion = { ...amina, village: 'Zomba', notes: 'Moved to Zomba for work.' };

  it.each([
    ['last-write-wins', disputed, 'client-won', clientVersion],
    ['last-write-wins', older, 'server-won', amina],
    ['client-wins', older, 'client-won', clientVersion],
    ['server-wins', disputed, 'server-won', amina],
    ['manual', disputed, 'open', amina],
  ] as const)('fallback %s settles the disputed field', (fallback, change, outcome, record) => {
    const { settlement, visible } = settleAndApply(patient, change, 'merge', hlcOf({ change }), fallback);
    expect(settlement).toMatchObject({ strategy: fallback, outcome });
    expect(visible).toEqual(record);
  });

  it('fallback crdt settles the disputed fields register by register', () => {
    const { settlement, visible } = settleAndApply(
      encounter,
      {
        type: 'update',
        baseVersion: 1,
        hlc: at(20, 'tab-c'),
        data: { vitals: { temperature: 37.9, pulse: 88 }, diagnosis: 'Malaria', notes: 'Seen again.' },
      },
      'merge',
      at(20, 'tab-c'),
      'crdt',
    );
    expect(settlement).toMatchObject({ strategy: 'crdt', outcome: 'merged' });
    expect(visible).toEqual({ ...visit, notes: 'Seen again.' });
  });

  it.each(['last-write-wins', 'client-wins', 'server-wins'] as const)(
    'with fallback %s, disjoint fields still merge, whatever the HLCs',
    (fallback) => {
      const change: IncomingChange = {
        type: 'update',
        baseVersion: 2,
        hlc: at(1, 'tab-c'),
        data: { sex: 'unknown' },
      };
      const { settlement, visible } = settleAndApply(patient, change, 'merge', at(1, 'tab-c'), fallback);
      expect(settlement).toMatchObject({ strategy: 'merge', outcome: 'merged' });
      expect(visible).toEqual({ ...amina, sex: 'unknown' });
    },
  );
});

describe('last-write-wins tie-break', () => {
  it('two devices at the same millisecond and counter: the same winner whichever is stored first', () => {
    const now = () => dayStart + 90 * 60_000;
    const fromA = new HlcClock({ node: 'tab-a', now }).tick();
    const fromB = new HlcClock({ node: 'tab-b', now }).tick();
    expect(fromA.slice(0, 22)).toBe(fromB.slice(0, 22));

    const base: RecordState = { ...encounter, hlc: at(30, 'tab-b') };
    const a: IncomingChange = { type: 'update', baseVersion: 2, hlc: fromA, data: { diagnosis: 'Typhoid' } };
    const b: IncomingChange = { type: 'update', baseVersion: 2, hlc: fromB, data: { diagnosis: 'Dengue' } };
    const deliver = (first: IncomingChange, second: IncomingChange) => {
      const one = settleAndApply(base, first, 'last-write-wins', hlcOf({ change: first }));
      const two = settleAndApply(one.next, second, 'last-write-wins', hlcOf({ change: second }));
      return { first: one.settlement.outcome, second: two.settlement.outcome, record: two.next };
    };

    const aThenB = deliver(a, b);
    const bThenA = deliver(b, a);
    // 'tab-b' sorts after 'tab-a', so B's change is the later one in both orders.
    expect(aThenB).toMatchObject({ first: null, second: 'client-won' });
    expect(bThenA).toMatchObject({ first: null, second: 'server-won' });
    expect(aThenB.record.data).toEqual({ ...visit, diagnosis: 'Dengue' });
    expect(bThenA.record.data).toEqual(aThenB.record.data);
    expect(aThenB.record.hlc).toBe(fromB);
    expect(bThenA.record.hlc).toBe(fromB);
  });
});

describe('applyEffect', () => {
  it('creates a record with every field stamped at version 1', () => {
    const hlc = at(0, 'tab-a');
    const created = applyEffect(null, { kind: 'replace', data: { ...visit, notes: null } }, 1, hlc);
    expect(created).toEqual({
      data: visit,
      version: 1,
      deleted: false,
      fieldMeta: Object.fromEntries(Object.keys(visit).map((f) => [f, { v: 1, hlc }])),
      hlc,
    });
  });

  it('stamps the fields that changed (a cleared one too) with the version and HLC, and no others', () => {
    const hlc = at(50, 'tab-c');
    const next = applyEffect(
      patient,
      { kind: 'patch', patch: { village: 'Zomba', phone: null, sex: 'female', notes: 'New' } },
      4,
      hlc,
    );
    const { phone: _cleared, ...rest } = amina;
    expect(next.data).toEqual({ ...rest, village: 'Zomba', notes: 'New' });
    expect(next.fieldMeta).toEqual({
      ...patient.fieldMeta,
      village: { v: 4, hlc },
      phone: { v: 4, hlc },
      notes: { v: 4, hlc },
    });
    expect(next).toMatchObject({ version: 4, deleted: false, hlc });
  });

  it('stamps a crdt register the change won even when its value is unchanged', () => {
    const hlc = at(50, 'tab-c');
    const { settlement, next } = settleAndApply(
      patient,
      { type: 'update', baseVersion: 3, hlc, data: { village: 'Ntcheu' } },
      'crdt',
      hlc,
    );
    expect(settlement.effect).toEqual({
      kind: 'patch',
      patch: { village: 'Ntcheu' },
      registers: ['village'],
    });
    expect(next.data).toEqual(amina);
    expect(next.fieldMeta.village).toEqual({ v: 4, hlc });
  });

  it('keeps the record’s HLC the latest, even when an older change wins', () => {
    const older = at(5, 'tab-c');
    const next = applyEffect(patient, { kind: 'patch', patch: { notes: 'Late sync' } }, 4, older);
    expect(next.hlc).toBe(patient.hlc);
    expect(next.fieldMeta.notes).toEqual({ v: 4, hlc: older });

    const deleted = applyEffect(patient, { kind: 'delete' }, 4, older);
    expect(deleted).toMatchObject({ deleted: true, version: 4, hlc: patient.hlc, data: amina });

    const later = at(90, 'tab-c');
    expect(applyEffect(patient, { kind: 'patch', patch: { notes: 'x' } }, 4, later).hlc).toBe(later);
  });

  it('revives a tombstone with every field stamped anew', () => {
    const hlc = at(50, 'tab-c');
    const next = applyEffect(deletedPatient, { kind: 'patch', patch: { phone: newPhone } }, 5, hlc);
    expect(next).toMatchObject({ deleted: false, version: 5, data: { ...amina, phone: newPhone } });
    for (const field of Object.keys(amina)) expect(next.fieldMeta[field]).toEqual({ v: 5, hlc });
  });

  it('leaves the record as it is for no effect', () => {
    expect(applyEffect(patient, { kind: 'none' }, 4, at(90, 'tab-c'))).toBe(patient);
  });
});
