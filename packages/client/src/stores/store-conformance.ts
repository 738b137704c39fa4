import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  LocalConflict,
  LocalRecord,
  LocalStore,
  OutboxEntry,
  StoreSnapshot,
  WriteBatch,
} from './local-store';

/**
 * One fresh, empty store per test. `reopen` is called after the suite has closed `store` and must
 * give a store over the same data (a new object, as a restarted app would make, or the same one).
 * `cleanup` releases whatever the test opened.
 */
export interface ConformanceTarget {
  store: LocalStore;
  reopen: () => Promise<LocalStore>;
  cleanup?: () => Promise<void>;
}

const HLC = '2025-03-04T08:15:00.000Z_0000_tablet-7';
const AT = '2025-03-04T08:15:00.000Z';

function record(
  collection: string,
  id: string,
  data: LocalRecord['data'],
  extra: Partial<LocalRecord> = {},
): LocalRecord {
  return { collection, id, data, deleted: false, version: 0, hlc: HLC, updatedAt: AT, ...extra };
}

function op(seq: number, extra: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    seq,
    opId: `op-${seq}`,
    collection: 'patients',
    type: 'update',
    id: `patient-${seq}`,
    data: { village: `village ${seq}` },
    baseVersion: 1,
    hlc: HLC,
    status: 'pending',
    attempts: 0,
    createdAt: AT,
    ...extra,
  };
}

function conflict(id: string, extra: Partial<LocalConflict> = {}): LocalConflict {
  return {
    id,
    opId: `op-for-${id}`,
    collection: 'patients',
    recordId: 'patient-1',
    summary: {
      id,
      kind: 'version',
      fields: ['village'],
      strategy: 'manual',
      outcome: 'open',
      server: { data: { name: 'Amina Kachingwe', village: 'Ntcheu' }, version: 3 },
      client: { data: { village: 'Dedza' } },
    },
    detectedAt: AT,
    ...extra,
  };
}

/** Data with every JSON shape a clinic record holds. */
const richData = {
  name: 'Amina Kachingwe',
  nameLocal: 'Ámína Kachingwe — 阿米娜 🩺',
  dateOfBirth: null,
  allergies: ['penicillin', 'sulfa'],
  vitals: { bp: { systolic: 120, diastolic: 80 }, temperatureC: 38.4, readings: [[1, 2], [3]] },
  pregnant: false,
  visits: 0,
  balance: -12.5,
  notes: '',
  tags: [],
  extra: {},
};

const byKey = (a: LocalRecord, b: LocalRecord) =>
  a.collection === b.collection ? (a.id < b.id ? -1 : 1) : a.collection < b.collection ? -1 : 1;

/** Records in key order: the contract does not promise an order for records, only for the outbox. */
function normalized(snapshot: StoreSnapshot): StoreSnapshot {
  return { ...snapshot, records: [...snapshot.records].sort(byKey) };
}

export function describeStoreConformance(name: string, open: () => Promise<ConformanceTarget>): void {
  describe(`${name} conformance`, () => {
    let target: ConformanceTarget;
    let store: LocalStore;

    beforeEach(async () => {
      target = await open();
      store = target.store;
    });
    afterEach(async () => {
      await target.cleanup?.();
    });

    const load = async (from: LocalStore = store) => normalized(await from.load());

    describe('an empty store', () => {
      it('loads as empty', async () => {
        expect(await store.load()).toEqual({ records: [], outbox: [], conflicts: [], meta: {} });
      });

      it('takes an empty batch without changing anything', async () => {
        await store.commit({});
        await store.commit({ putRecords: [], deleteRecords: [], putOps: [], deleteOps: [], meta: {} });
        expect(await store.load()).toEqual({ records: [], outbox: [], conflicts: [], meta: {} });
      });
    });

    describe('records', () => {
      it('gives back nested objects, arrays, unicode and null fields as they were put', async () => {
        const patient = record('patients', 'p-1', richData, { version: 3, hlc: HLC });
        const tombstone = record('encounters', 'e-1', { patientId: 'p-1' }, { deleted: true, version: 7 });
        await store.commit({ putRecords: [patient, tombstone] });
        expect((await load()).records).toEqual([tombstone, patient]);
      });

      it('gives back the times of a record’s fields and its server copy as they were put', async () => {
        const patient = record(
          'patients',
          'p-1',
          { name: 'Amina', village: 'Mzuzu' },
          {
            version: 3,
            fieldTimes: { '2026-06-01T09:00:00.000Z': ['name'], '': ['phone', 'village'] },
            server: { data: { name: 'Amina' }, deleted: false, version: 3, hlc: HLC, updatedAt: AT },
          },
        );
        await store.commit({ putRecords: [patient] });
        expect((await load()).records).toEqual([patient]);
      });

      it('keys records by collection and id together', async () => {
        await store.commit({
          putRecords: [
            record('patients', 'same-id', { name: 'A' }),
            record('encounters', 'same-id', { date: 'x' }),
          ],
        });
        await store.commit({ deleteRecords: [{ collection: 'patients', id: 'same-id' }] });
        expect((await load()).records).toEqual([record('encounters', 'same-id', { date: 'x' })]);
      });

      it('replaces a record whole on put, the last put of a key in a batch winning', async () => {
        await store.commit({ putRecords: [record('patients', 'p-1', { name: 'A', village: 'Ntcheu' })] });
        await store.commit({
          putRecords: [
            record('patients', 'p-1', { name: 'B' }),
            record('patients', 'p-1', { name: 'C' }, { version: 2 }),
          ],
        });
        expect((await load()).records).toEqual([record('patients', 'p-1', { name: 'C' }, { version: 2 })]);
      });

      it('deletes only the named records, and ignores deletes of records it does not hold', async () => {
        await store.commit({
          putRecords: [record('patients', 'p-1', { name: 'A' }), record('patients', 'p-2', { name: 'B' })],
        });
        await store.commit({
          deleteRecords: [
            { collection: 'patients', id: 'p-1' },
            { collection: 'patients', id: 'never-stored' },
          ],
        });
        expect((await load()).records).toEqual([record('patients', 'p-2', { name: 'B' })]);
      });

      it('stores a large batch in one commit', async () => {
        const many = Array.from({ length: 500 }, (_, i) =>
          record('patients', `p-${String(i).padStart(4, '0')}`, { name: `Patient ${i}`, i }),
        );
        await store.commit({ putRecords: many });
        expect((await load()).records).toEqual(many);
      });
    });

    describe('outbox', () => {
      it('gives back entries with every optional field, and a delete without data', async () => {
        const failed = op(1, {
          status: 'failed',
          attempts: 3,
          nextAttemptAt: 1_741_076_100_000,
          lastError: { code: 'VALIDATION_FAILED', message: 'bad', details: { issues: [{ path: ['name'] }] } },
          heldReason: 'waits for patient-9',
          strategy: 'client-wins',
        });
        const { data: _data, baseVersion: _base, ...rest } = op(2);
        // A person's "my change wins" goes with the op after a restart too (decision 0031).
        const deletion: OutboxEntry = { ...rest, type: 'delete', strategy: 'server-wins' };
        await store.commit({ putOps: [failed, deletion] });
        expect((await store.load()).outbox).toEqual([failed, deletion]);
      });

      it('returns entries ordered by seq, numerically, whatever the order they were put in', async () => {
        await store.commit({ putOps: [op(10), op(2)] });
        await store.commit({ putOps: [op(100), op(1)] });
        await store.commit({ putOps: [op(3)] });
        expect((await store.load()).outbox.map((e) => e.seq)).toEqual([1, 2, 3, 10, 100]);
      });

      it('updates an entry in place and deletes acknowledged ones', async () => {
        await store.commit({ putOps: [op(1), op(2), op(3)] });
        await store.commit({ putOps: [op(2, { status: 'in-flight', attempts: 1 })], deleteOps: [1, 3, 99] });
        expect((await store.load()).outbox).toEqual([op(2, { status: 'in-flight', attempts: 1 })]);
      });
    });

    describe('conflicts', () => {
      it('gives back both versions, a deleted side as null, and a later resolution', async () => {
        const open = conflict('c-1');
        const deleteUpdate = conflict('c-2', {
          summary: {
            kind: 'delete-update',
            outcome: 'open',
            server: { data: null, version: 4 },
            client: { data: null },
          },
        });
        await store.commit({ putConflicts: [open, deleteUpdate] });
        expect((await store.load()).conflicts).toEqual([open, deleteUpdate]);

        const resolved = conflict('c-1', { resolvedAt: '2025-03-05T10:00:00.000Z' });
        await store.commit({ putConflicts: [resolved], deleteConflicts: ['c-2'] });
        expect((await store.load()).conflicts).toEqual([resolved]);
      });
    });

    describe('meta', () => {
      it('sets values of any JSON shape, overwrites them, and removes a key set to undefined', async () => {
        await store.commit({
          meta: {
            cursor: 'c-41',
            clientId: 'tablet-7',
            lastSync: 1_741_076_100_000,
            tempIds: { temp_1: 'real-1' },
          },
        });
        await store.commit({
          meta: { cursor: 'c-42', flags: [true, null], clientId: undefined, absent: undefined },
        });
        expect((await store.load()).meta).toEqual({
          cursor: 'c-42',
          lastSync: 1_741_076_100_000,
          tempIds: { temp_1: 'real-1' },
          flags: [true, null],
        });
      });
    });

    describe('one batch', () => {
      it('stores a local edit, its op and the meta that goes with them together', async () => {
        const patient = record('patients', 'p-1', { name: 'Amina Kachingwe' });
        await store.commit({ putRecords: [patient], putOps: [op(1, { id: 'p-1' })], meta: { nextSeq: 2 } });
        expect(await load()).toEqual({
          records: [patient],
          outbox: [op(1, { id: 'p-1' })],
          conflicts: [],
          meta: { nextSeq: 2 },
        });
      });

      it('applies deletes before puts, so a key both deleted and put holds the put value', async () => {
        await store.commit({
          putRecords: [record('patients', 'p-1', { v: 1 })],
          putOps: [op(1)],
          putConflicts: [conflict('c-1')],
        });
        await store.commit({
          deleteRecords: [{ collection: 'patients', id: 'p-1' }],
          putRecords: [record('patients', 'p-1', { v: 2 })],
          deleteOps: [1],
          putOps: [op(1, { attempts: 5 })],
          deleteConflicts: ['c-1'],
          putConflicts: [conflict('c-1', { resolvedAt: AT })],
        });
        expect(await load()).toEqual({
          records: [record('patients', 'p-1', { v: 2 })],
          outbox: [op(1, { attempts: 5 })],
          conflicts: [conflict('c-1', { resolvedAt: AT })],
          meta: {},
        });
      });

      it('applies commits made without waiting in the order they were made', async () => {
        const commits = Array.from({ length: 20 }, (_, i) =>
          store.commit({
            putRecords: [record('patients', 'p-1', { n: i })],
            putOps: [op(i)],
            meta: { last: i },
          }),
        );
        await Promise.all(commits);
        const loaded = await load();
        expect(loaded.records).toEqual([record('patients', 'p-1', { n: 19 })]);
        expect(loaded.outbox.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(loaded.meta).toEqual({ last: 19 });
      });
    });

    describe('atomicity', () => {
      // Everything a failing batch could touch: records it would replace or delete, ops,
      // conflicts and meta keys.
      const before: WriteBatch = {
        putRecords: [
          record('patients', 'p-1', { name: 'Amina Kachingwe' }),
          record('patients', 'p-2', { name: 'B' }),
        ],
        putOps: [op(1), op(2)],
        putConflicts: [conflict('c-1')],
        meta: { cursor: 'c-1', clientId: 'tablet-7' },
      };
      /** A batch touching every table, to which each case adds one value no store can keep. */
      const wide: WriteBatch = {
        deleteRecords: [{ collection: 'patients', id: 'p-2' }],
        putRecords: [
          record('patients', 'p-1', { name: 'changed' }),
          record('patients', 'p-3', { name: 'new' }),
        ],
        deleteOps: [1],
        putOps: [op(2, { status: 'done' }), op(3)],
        deleteConflicts: ['c-1'],
        putConflicts: [conflict('c-2')],
        meta: { cursor: 'c-2', clientId: undefined },
      };
      const failingCases: Array<[string, WriteBatch]> = [
        [
          'a record whose data holds a function (the last record of the batch)',
          {
            ...wide,
            putRecords: [...(wide.putRecords ?? []), record('patients', 'p-4', { onSave: () => 'x' })],
          },
        ],
        [
          // Meta is the last table every store writes, so the rest of the batch has been applied
          // inside the transaction by the time this fails: the store must roll it back.
          'a meta value holding a function (the last value written)',
          { ...wide, meta: { ...wide.meta, callback: () => 'x' } },
        ],
        [
          'a conflict whose summary holds a symbol',
          { ...wide, putConflicts: [conflict('c-3', { summary: Symbol('x') as never })] },
        ],
        [
          'an outbox entry without a usable seq',
          { ...wide, putOps: [...(wide.putOps ?? []), op(Number.NaN)] },
        ],
        [
          'a record without an id',
          {
            ...wide,
            putRecords: [
              ...(wide.putRecords ?? []),
              { ...record('patients', 'x', {}), id: undefined as never },
            ],
          },
        ],
      ];

      it.each(failingCases)(
        'stores nothing of a batch with %s, and keeps working',
        async (_label, failing) => {
          await store.commit(before);
          const stored = await load();

          await expect(store.commit(failing)).rejects.toMatchObject({ code: 'STORE_WRITE_FAILED' });
          expect(await load()).toEqual(stored);

          // Nothing was left half-open: the same batch without the bad value goes through.
          await store.commit(wide);
          expect((await load()).records.map((r) => r.id)).toEqual(['p-1', 'p-3']);
        },
      );

      it('stores nothing of a failed batch across a restart either', async () => {
        await store.commit(before);
        const stored = await load();
        await expect(store.commit(failingCases[0]![1])).rejects.toThrow();
        await store.close();
        expect(await load(await target.reopen())).toEqual(stored);
      });
    });

    describe('persistence', () => {
      const everything: WriteBatch = {
        putRecords: [record('patients', 'p-1', richData), record('encounters', 'e-1', { patientId: 'p-1' })],
        putOps: [op(2), op(1, { data: richData, type: 'create' })],
        putConflicts: [conflict('c-1')],
        meta: { cursor: 'c-9', tempIds: { temp_1_a_patients: 'p-1' } },
      };

      it('keeps everything when the same store object is closed and loaded again', async () => {
        await store.commit(everything);
        const stored = await load();
        await store.close();
        expect(await load()).toEqual(stored);
        await store.commit({ meta: { afterReload: true } });
        expect((await load()).meta).toMatchObject({ afterReload: true, cursor: 'c-9' });
      });

      it('refuses a write after close(), stores nothing of it, and takes writes again once loaded', async () => {
        await store.commit(everything);
        const stored = await load();
        await store.close();
        // A write of the session that closed (a sync finishing after sign-out) must not land.
        await expect(store.commit({ meta: { late: true } })).rejects.toMatchObject({ code: 'STORE_CLOSED' });
        await expect(store.clear()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
        expect(await load()).toEqual(stored);
        await store.commit({ meta: { nextSession: true } });
        expect((await load()).meta).toMatchObject({ nextSession: true, cursor: 'c-9' });
      });

      it('keeps everything for a store reopened after a restart, which can keep writing', async () => {
        await store.commit(everything);
        const stored = await load();
        await store.close();

        const again = await target.reopen();
        expect(await load(again)).toEqual(stored);
        await again.commit({ putOps: [op(3)], deleteRecords: [{ collection: 'encounters', id: 'e-1' }] });
        await again.close();

        const third = await target.reopen();
        const loaded = await load(third);
        expect(loaded.outbox.map((e) => e.seq)).toEqual([1, 2, 3]);
        expect(loaded.records.map((r) => r.id)).toEqual(['p-1']);
        expect(loaded.records[0]?.data).toEqual(richData);
      });
    });

    describe('clear', () => {
      it('removes every record, op, conflict and meta key, durably, and the store stays usable', async () => {
        await store.commit({
          putRecords: [record('patients', 'p-1', { name: 'A' })],
          putOps: [op(1)],
          putConflicts: [conflict('c-1')],
          meta: { cursor: 'c-1' },
        });
        await store.clear();
        expect(await store.load()).toEqual({ records: [], outbox: [], conflicts: [], meta: {} });

        await store.commit({
          putRecords: [record('patients', 'p-2', { name: 'B' })],
          meta: { cursor: 'c-2' },
        });
        await store.close();
        const again = await target.reopen();
        expect(await again.load()).toEqual({
          records: [record('patients', 'p-2', { name: 'B' })],
          outbox: [],
          conflicts: [],
          meta: { cursor: 'c-2' },
        });
      });
    });

    describe('copies', () => {
      it('is not changed by a caller mutating what it committed', async () => {
        const patient = record('patients', 'p-1', { name: 'Amina', allergies: ['sulfa'] });
        const entry = op(1, { data: { allergies: ['sulfa'] } });
        const open = conflict('c-1');
        const meta = { tempIds: { temp_1: 'p-1' } };
        await store.commit({ putRecords: [patient], putOps: [entry], putConflicts: [open], meta });

        patient.data.name = 'changed';
        (patient.data.allergies as string[]).push('penicillin');
        entry.status = 'done';
        open.summary.outcome = 'merged';
        meta.tempIds.temp_1 = 'changed';

        expect(await store.load()).toEqual({
          records: [record('patients', 'p-1', { name: 'Amina', allergies: ['sulfa'] })],
          outbox: [op(1, { data: { allergies: ['sulfa'] } })],
          conflicts: [conflict('c-1')],
          meta: { tempIds: { temp_1: 'p-1' } },
        });
      });

      it('is not changed by a caller mutating what it loaded', async () => {
        await store.commit({
          putRecords: [record('patients', 'p-1', { name: 'Amina', allergies: ['sulfa'] })],
          putOps: [op(1)],
          putConflicts: [conflict('c-1')],
          meta: { tempIds: { temp_1: 'p-1' } },
        });
        const first = await store.load();
        const stored = structuredClone(first);

        first.records[0]!.data.name = 'changed';
        (first.records[0]!.data.allergies as string[]).push('penicillin');
        first.outbox[0]!.attempts = 99;
        first.conflicts[0]!.summary.outcome = 'merged';
        (first.meta.tempIds as Record<string, string>).temp_1 = 'changed';
        first.records.push(record('patients', 'p-9', {}));

        expect(await store.load()).toEqual(stored);
      });
    });
  });
}
