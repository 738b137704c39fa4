import { fieldClinic } from '@outpost/examples';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareHlc, formatHlc } from '../hlc';
import { applyPatch } from '../record/record-change';
import type { RecordData } from '../schema/define-schema';
import type { IncomingChange, RecordState } from './detect-conflict';
import { applyEffect, settleChange } from './settle-change';
import type { Settlement } from './settle-change';

const patients = fieldClinic.collection('patients');
if (!patients) throw new Error('field-clinic has no patients');

const dayStart = Date.UTC(2024, 10, 2, 8);
// Device ids as different clients make them: our UUIDv7 tablets, a WatermelonDB phone, a short name.
const devices = ['0193a1f2-7c4e-7b21-9f3a-2c1d5e6f7a80', 'tab-b', 'q8Zk3mW9xR2pL7vN', 'tab-a.2'] as const;

/** A small pool of values per patient field, so devices often write the same value; null clears. */
const values = {
  name: ['Amina Banda', 'Amina K. Banda'],
  sex: ['female', 'unknown', null],
  village: ['Ntcheu', 'Zomba', 'Dedza', null],
  phone: ['+265 991 234 567', '+265 888 555 000', null],
  allergies: [['penicillin'], ['penicillin', 'sulfa drugs'], [], null],
  notes: ['Prefers morning visits.', 'Moved to Zomba.', null],
} as const satisfies Record<string, readonly unknown[]>;
type Field = keyof typeof values;
const fields = Object.keys(values) as Field[];

const created: RecordData = {
  name: 'Amina Banda',
  sex: 'female',
  village: 'Ntcheu',
  phone: '+265 991 234 567',
};
const createdAt = formatHlc({ ms: dayStart + 2, counter: 0, node: 'tab-a' });

/** The same create for every delivery order: version 1, every field stamped. */
const createdRecord = (): RecordState => applyEffect(null, { kind: 'replace', data: created }, 1, createdAt);

const patchArb = (only: readonly Field[] = fields, minKeys = 1): fc.Arbitrary<RecordData> =>
  fc
    .record(Object.fromEntries(only.map((f) => [f, fc.constantFrom(...values[f])])), {
      requiredKeys: [],
    })
    .filter((p) => Object.keys(p).length >= minKeys);

interface Op {
  readonly device: number;
  readonly change: IncomingChange & { readonly hlc: string };
}

/**
 * One op of a device: a few milliseconds and counters only, so ops of different devices often share
 * both and their order falls to the node id; some ops sort before the create.
 */
const opArb = (deviceCount: number): fc.Arbitrary<Op> =>
  fc
    .record({
      device: fc.integer({ min: 0, max: deviceCount - 1 }),
      ms: fc.integer({ min: 0, max: 4 }),
      counter: fc.integer({ min: 0, max: 1 }),
      baseVersion: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      body: fc.oneof(
        { weight: 6, arbitrary: patchArb().map((data) => ({ type: 'update' as const, data })) },
        { weight: 1, arbitrary: fc.constant({ type: 'delete' as const }) },
      ),
    })
    .map(({ device, ms, counter, baseVersion, body }) => {
      const hlc = formatHlc({ ms: dayStart + ms, counter, node: devices[device] ?? 'tab-x' });
      const change: IncomingChange & { hlc: string } =
        baseVersion === undefined ? { ...body, hlc } : { ...body, hlc, baseVersion };
      return { device, change };
    });

/** 2-4 devices and their ops, every op with its own HLC. */
const opsArb = fc
  .integer({ min: 2, max: devices.length })
  .chain((deviceCount) =>
    fc.uniqueArray(opArb(deviceCount), { minLength: 1, maxLength: 8, selector: (op) => op.change.hlc }),
  );

/** A delivery: every op at least once, some two or three times, in any order. */
const deliveryArb = <T>(ops: readonly T[]): fc.Arbitrary<T[]> =>
  fc
    .array(fc.integer({ min: 1, max: 3 }), { minLength: ops.length, maxLength: ops.length })
    .chain((copies) => {
      const sent = ops.flatMap((op, i) => Array.from({ length: copies[i] ?? 1 }, () => op));
      return fc.shuffledSubarray(sent, { minLength: sent.length, maxLength: sent.length });
    });

function settleCrdt(current: RecordState, change: IncomingChange & { hlc: string }) {
  const settlement = settleChange({ change, current, strategy: 'crdt', fallback: 'manual', hlc: change.hlc });
  const next =
    settlement.effect.kind === 'none'
      ? current
      : applyEffect(current, settlement.effect, current.version + 1, change.hlc);
  return { settlement, next };
}

const deliverCrdt = (ops: readonly Op[]): RecordState =>
  ops.reduce((record, op) => settleCrdt(record, op.change).next, createdRecord());

/** What a user sees. */
const visible = (record: RecordState): RecordData | null => (record.deleted ? null : record.data);

/** The record the crdt rules promise: deleted if anyone deleted it, else each field the latest write's. */
function expectedCrdt(ops: readonly Op[]): RecordData | null {
  if (ops.some((op) => op.change.type === 'delete')) return null;
  const latest = new Map<string, { hlc: string; value: unknown }>();
  for (const [field, value] of Object.entries(created)) latest.set(field, { hlc: createdAt, value });
  for (const { change } of ops) {
    for (const [field, value] of Object.entries(change.data ?? {})) {
      const held = latest.get(field);
      if (!held || compareHlc(change.hlc, held.hlc) > 0) latest.set(field, { hlc: change.hlc, value });
    }
  }
  return applyPatch({}, Object.fromEntries([...latest].map(([f, w]) => [f, w.value])));
}

describe('crdt settlement (properties)', () => {
  it('converges: every delivery order, with repeats, ends in the same record', () => {
    fc.assert(
      fc.property(
        opsArb.chain((ops) =>
          fc.tuple(fc.constant(ops), fc.array(deliveryArb(ops), { minLength: 2, maxLength: 4 })),
        ),
        ([ops, deliveries]) => {
          // The reference: each op once, in HLC order.
          const inOrder = [...ops].sort((a, b) => compareHlc(a.change.hlc, b.change.hlc));
          const reference = visible(deliverCrdt(inOrder));
          for (const delivery of deliveries) expect(visible(deliverCrdt(delivery))).toEqual(reference);
          // And it is the record the rules promise, not merely the same one everywhere.
          expect(reference).toEqual(expectedCrdt(ops));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is idempotent: settling the same change again on its result changes nothing', () => {
    const changeArb: fc.Arbitrary<IncomingChange & { hlc: string }> = fc
      .record({
        ms: fc.integer({ min: 0, max: 4 }),
        device: fc.integer({ min: 0, max: devices.length - 1 }),
        baseVersion: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
        body: fc.oneof(
          patchArb().map((data) => ({ type: 'update' as const, data })),
          patchArb(fields, 0).map((data) => ({ type: 'create' as const, data })),
          fc.constant({ type: 'delete' as const }),
        ),
      })
      .map(({ ms, device, baseVersion, body }) => ({
        ...body,
        ...(baseVersion === undefined ? {} : { baseVersion }),
        // Counter 2: never the HLC of an earlier op, so this is a new change.
        hlc: formatHlc({ ms: dayStart + ms, counter: 2, node: devices[device] ?? 'tab-x' }),
      }));
    fc.assert(
      fc.property(opsArb, changeArb, (history, change) => {
        const before = deliverCrdt(history);
        const once = settleCrdt(before, change).next;
        const twice = settleCrdt(once, change);
        expect(twice.settlement.effect).toEqual({ kind: 'none' });
        expect(twice.next).toEqual(once);
      }),
      { numRuns: 300 },
    );
  });
});

describe('merge settlement (properties)', () => {
  const rule = patients.conflict;
  const base: RecordData = {
    name: 'Amina Banda',
    dateOfBirth: '1988-04-12',
    sex: 'female',
    village: 'Ntcheu',
    phone: '+265 991 234 567',
  };
  // Fields a device may edit; the name is required, so it is only ever set, never cleared.
  const editable = fields;
  const valueArb = (f: Field) =>
    f === 'name' ? fc.constantFrom(...values.name) : fc.constantFrom(...values[f]);

  /** Each field goes to at most one device; every device that got a field edits them all. */
  const editsArb = fc
    .integer({ min: 2, max: devices.length })
    .chain((deviceCount) =>
      fc.tuple(
        fc.array(fc.integer({ min: -1, max: deviceCount - 1 }), {
          minLength: editable.length,
          maxLength: editable.length,
        }),
        fc.tuple(...editable.map(valueArb)),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: deviceCount, maxLength: deviceCount }),
      ),
    )
    .map(([owners, chosen, minutes]) => {
      const edits = new Map<number, RecordData>();
      editable.forEach((field, i) => {
        const owner = owners[i] ?? -1;
        if (owner < 0) return;
        edits.set(owner, { ...edits.get(owner), [field]: chosen[i] });
      });
      return [...edits].map(([device, data]) => ({
        device,
        change: {
          type: 'update' as const,
          baseVersion: 1,
          data,
          hlc: formatHlc({
            ms: dayStart + (minutes[device] ?? 0) * 60_000,
            counter: 0,
            node: devices[device] ?? 'x',
          }),
        },
      }));
    })
    .filter((edits) => edits.length >= 2);

  it('combines disjoint edits made on the same version, in any order, without losing a field', () => {
    fc.assert(
      fc.property(
        editsArb.chain((edits) =>
          fc.tuple(
            fc.constant(edits),
            fc.shuffledSubarray(edits, { minLength: edits.length, maxLength: edits.length }),
          ),
        ),
        ([edits, order]) => {
          let record = applyEffect(null, { kind: 'replace', data: base }, 1, createdAt);
          const settlements: Settlement[] = [];
          for (const { change } of order) {
            const settlement = settleChange({ change, current: record, ...rule, hlc: change.hlc });
            settlements.push(settlement);
            record = applyEffect(record, settlement.effect, record.version + 1, change.hlc);
          }
          for (const s of settlements) expect([null, 'merged']).toContain(s.outcome);
          expect(record.deleted).toBe(false);
          // Every device's every edit is there; null cleared the field.
          const expected = edits.reduce((data, { change }) => applyPatch(data, change.data), base);
          expect(record.data).toEqual(expected);
          for (const { change } of edits) {
            for (const [field, value] of Object.entries(change.data)) {
              expect(record.data[field]).toEqual(value ?? undefined);
            }
          }
          expect(patients.fields.safeParse(record.data).success).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
