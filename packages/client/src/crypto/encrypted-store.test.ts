import { serialize } from 'node:v8';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { indexedDbStore } from '../stores/indexeddb-store';
import type { LocalConflict, LocalRecord, OutboxEntry, WriteBatch } from '../stores/local-store';
import { memoryStore } from '../stores/memory-store';
import { base64ToBytes } from './base64';
import { CRYPTO_META_KEY, createHeader } from './crypto-header';
import type { CryptoHeader } from './crypto-header';
import { EncryptedDataError, WrongPassphraseError, encryptedStore } from './encrypted-store';
import { sealValue } from './sealed-value';
import { keptDeletionsKey } from '../outbox/kept-deletions';

const PASSPHRASE = 'mangoes ripen in Ntcheu';
const ITERATIONS = 1_000;
const NAME = 'Amina Kachingwe';
// Longer than one base64 chunk (32 KiB), as a dictated note can be.
const NOTE_BODY = 'Presents with three days of fever and a dry cough; malaria RDT negative. '.repeat(600);
const HLC = '2025-03-04T08:15:00.000Z_0000_tablet-7';
const AT = '2025-03-04T08:15:00.000Z';

const patient: LocalRecord = {
  collection: 'patients',
  id: 'p-1',
  data: { name: NAME, village: 'Ntcheu', allergies: ['penicillin'] },
  deleted: false,
  version: 2,
  hlc: HLC,
  updatedAt: AT,
};
const note: LocalRecord = {
  collection: 'clinicalNotes',
  id: 'n-1',
  data: { encounterId: 'e-1', body: NOTE_BODY, authorId: 'nurse-3' },
  deleted: false,
  version: 0,
  hlc: HLC,
  updatedAt: AT,
};
const ops: OutboxEntry[] = [
  {
    seq: 1,
    opId: 'op-1',
    collection: 'patients',
    type: 'update',
    id: 'p-1',
    data: { name: NAME },
    baseVersion: 1,
    hlc: HLC,
    status: 'pending',
    attempts: 0,
    createdAt: AT,
  },
  {
    seq: 2,
    opId: 'op-2',
    collection: 'clinicalNotes',
    type: 'create',
    id: 'n-1',
    data: note.data,
    hlc: HLC,
    status: 'pending',
    attempts: 0,
    createdAt: AT,
  },
  {
    seq: 3,
    opId: 'op-3',
    collection: 'encounters',
    type: 'delete',
    id: 'e-9',
    hlc: HLC,
    status: 'failed',
    attempts: 1,
    createdAt: AT,
    // The server's refusal can repeat what was typed: a hook's message, a field's value.
    lastError: {
      code: 'VALIDATION_FAILED',
      message: `the visit of ${NAME} in Ntcheu is signed`,
      details: { allergies: ['penicillin'] },
    },
  },
];
const disputed: LocalConflict = {
  id: 'c-1',
  opId: 'op-1',
  collection: 'patients',
  recordId: 'p-1',
  summary: {
    kind: 'version',
    outcome: 'open',
    fields: ['name'],
    server: { data: { name: `${NAME} Banda`, village: 'Ntcheu' }, version: 3 },
    client: { data: { name: NAME } },
  },
  detectedAt: AT,
};
const everything: WriteBatch = {
  putRecords: [note, patient],
  putOps: ops,
  putConflicts: [disputed],
  meta: { cursor: 'c-7' },
};
const plaintexts = [NAME, 'Kachingwe', 'Ntcheu', 'penicillin', 'malaria', NOTE_BODY.slice(0, 40)];

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Every row of every table of every database, read with plain IndexedDB, not through any store. */
async function dumpIndexedDb(factory: IDBFactory): Promise<Record<string, Record<string, unknown[]>>> {
  const dump: Record<string, Record<string, unknown[]>> = {};
  for (const { name } of await factory.databases()) {
    if (!name) continue;
    const db = await request(factory.open(name));
    const tables: Record<string, unknown[]> = {};
    for (const table of Array.from(db.objectStoreNames)) {
      tables[table] = await request(db.transaction(table, 'readonly').objectStore(table).getAll());
    }
    db.close();
    dump[name] = tables;
  }
  return dump;
}

function openIndexedDb(factory: IDBFactory, passphrase = PASSPHRASE) {
  return encryptedStore(indexedDbStore({ name: 'clinic', indexedDB: factory, IDBKeyRange }), {
    passphrase,
    iterations: ITERATIONS,
  });
}

describe('encryptedStore at rest', () => {
  it('keeps no patient name or note text in any IndexedDB table, yet loads them back', async () => {
    const factory = new IDBFactory();
    const store = openIndexedDb(factory);
    await store.commit(everything);
    const expected = await store.load();
    await store.close();

    const dump = await dumpIndexedDb(factory);
    const tables = dump.clinic!;
    // Not vacuous: every value is there, sealed, with its keys in clear for the store to index.
    expect(Object.keys(tables).sort()).toEqual(['conflicts', 'meta', 'outbox', 'records']);
    expect(tables.records).toHaveLength(2);
    expect(tables.outbox).toHaveLength(3);
    expect(tables.conflicts).toHaveLength(1);
    expect(tables.records![0]).toMatchObject({
      collection: 'clinicalNotes',
      id: 'n-1',
      data: { $enc: expect.any(String) },
    });
    expect(tables.outbox![2]).not.toHaveProperty('data');
    const raw = JSON.stringify(dump);
    for (const text of plaintexts) expect(raw).not.toContain(text);

    const reopened = await openIndexedDb(factory).load();
    expect(reopened).toEqual(expected);
    expect(reopened.records.find((r) => r.id === 'p-1')?.data).toEqual(patient.data);
    expect(reopened.records.find((r) => r.id === 'n-1')?.data.body).toBe(NOTE_BODY);
    expect(reopened.outbox).toEqual(ops);
    expect(reopened.conflicts).toEqual([disputed]);
    expect(reopened.meta).toEqual({ cursor: 'c-7' });
  });

  it('refuses a wrong passphrase, writing nothing, and still opens with the right one', async () => {
    const factory = new IDBFactory();
    const store = openIndexedDb(factory);
    await store.commit(everything);
    await store.close();
    const before = serialize(await dumpIndexedDb(factory));

    const intruder = openIndexedDb(factory, 'mangoes ripen in Dedza');
    const error: unknown = await intruder.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongPassphraseError);
    expect(error).toMatchObject({
      name: 'WrongPassphraseError',
      code: 'WRONG_PASSPHRASE',
      message: "the passphrase does not open this device's data",
    });
    // A commit before any load must not get through either.
    await expect(
      intruder.commit({ putRecords: [{ ...patient, data: { name: 'overwritten' } }] }),
    ).rejects.toBeInstanceOf(WrongPassphraseError);
    await expect(intruder.load()).rejects.toBeInstanceOf(WrongPassphraseError);
    await intruder.close();
    expect(serialize(await dumpIndexedDb(factory)).equals(before)).toBe(true);

    const owner = openIndexedDb(factory);
    expect((await owner.load()).records.find((r) => r.id === 'p-1')?.data).toEqual(patient.data);
    await owner.close();
  });

  it('seals the same value differently every time (a fresh IV each)', async () => {
    const inner = memoryStore();
    const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    const twin = { ...patient, id: 'p-2' };
    await store.commit({ putRecords: [patient, twin] });
    const first = (await inner.load()).records.map((r) => r.data.$enc as string);
    await store.commit({ putRecords: [patient] });
    const again = (await inner.load()).records.find((r) => r.id === 'p-1')!.data.$enc as string;

    const sealed = [...first, again];
    expect(new Set(sealed).size).toBe(3);
    const ivs = sealed.map((s) => Buffer.from(base64ToBytes(s).subarray(0, 12)).toString('hex'));
    expect(new Set(ivs).size).toBe(3);
  });
});

describe('encryptedStore and the times of a record’s fields', () => {
  it('seals them, as they name the fields a patient’s record holds and when each changed', async () => {
    const inner = memoryStore();
    const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    const timed: LocalRecord = {
      ...patient,
      id: 'p-9',
      data: { name: 'Amina', hivStatus: 'positive' },
      fieldTimes: { '2026-06-01T09:00:00.000Z': ['name'], '2026-06-02T09:00:00.000Z': ['hivStatus'] },
    };
    await store.commit({ putRecords: [timed] });
    const held = (await inner.load()).records[0]!;
    expect(held.fieldTimes).toEqual({ $enc: expect.any(String) });
    expect(JSON.stringify(held)).not.toContain('hivStatus');
    expect((await store.load()).records).toEqual([timed]);
    // Bound to their record: moved onto another, they do not open.
    await store.commit({ putRecords: [{ ...patient, id: 'p-10' }] });
    const other = (await inner.load()).records.find((r) => r.id === 'p-10')!;
    await inner.commit({ putRecords: [{ ...other, fieldTimes: held.fieldTimes! }] });
    const reopened = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    await expect(reopened.load()).rejects.toBeInstanceOf(EncryptedDataError);
  });
});

describe('encryptedStore and the deletions kept for a restored server', () => {
  const kept = [{ collection: 'patients', id: 'p-hiv-7', hlc: HLC, completedAt: AT }];

  it('seals the list whole, as in clear it would name for weeks which records were deleted', async () => {
    const inner = memoryStore();
    const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    await store.commit({ meta: { [keptDeletionsKey]: kept, cursor: 'c-1' } });
    const raw = (await inner.load()).meta;
    expect(raw[keptDeletionsKey]).toEqual({ $enc: expect.any(String) });
    expect(JSON.stringify(raw)).not.toContain('p-hiv-7');
    expect(raw.cursor).toBe('c-1');
    expect((await store.load()).meta[keptDeletionsKey]).toEqual(kept);
    // Taken off: the key goes.
    await store.commit({ meta: { [keptDeletionsKey]: undefined } });
    expect((await inner.load()).meta).not.toHaveProperty(keptDeletionsKey);
  });

  it('seals a list kept in clear when the device turns encryption on', async () => {
    const inner = memoryStore();
    await inner.commit({ putRecords: [patient], meta: { [keptDeletionsKey]: kept } });
    const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    expect((await store.load()).meta[keptDeletionsKey]).toEqual(kept);
    expect(JSON.stringify((await inner.load()).meta)).not.toContain('p-hiv-7');
  });
});

describe('encryptedStore header', () => {
  const header = async (inner: ReturnType<typeof memoryStore>) =>
    (await inner.load()).meta[CRYPTO_META_KEY] as CryptoHeader;

  it('derives with 310,000 PBKDF2 iterations and a 16-byte salt by default, and hides its header', async () => {
    const inner = memoryStore();
    const store = encryptedStore(inner, { passphrase: PASSPHRASE });
    await store.commit({ putRecords: [patient], meta: { cursor: 'c-1' } });
    expect(await header(inner)).toMatchObject({ version: 1, kdf: 'PBKDF2-SHA-256', iterations: 310_000 });
    expect(base64ToBytes((await header(inner)).salt)).toHaveLength(16);
    expect((await store.load()).meta).toEqual({ cursor: 'c-1' });
    await expect(store.commit({ meta: { [CRYPTO_META_KEY]: undefined } })).rejects.toMatchObject({
      code: 'STORE_WRITE_FAILED',
    });
  });

  it('keeps the iteration count a store was made with, whatever a later version asks for', async () => {
    const inner = memoryStore();
    await encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS }).commit({
      putRecords: [patient],
    });
    const later = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: 600_000 });
    expect((await later.load()).records).toEqual([patient]);
    expect((await header(inner)).iterations).toBe(ITERATIONS);
  });

  it('makes a new salt after clear()', async () => {
    const inner = memoryStore();
    const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    await store.commit({ putRecords: [patient] });
    const { salt } = await header(inner);
    await store.clear();
    await store.commit({ putRecords: [note] });
    expect((await header(inner)).salt).not.toBe(salt);
    expect((await encryptedStore(inner, { passphrase: PASSPHRASE }).load()).records).toEqual([note]);
  });
});

describe('encryptedStore over a store that was not encrypted before', () => {
  it('encrypts what the device already holds when first opened, in one commit', async () => {
    const inner = memoryStore();
    await inner.commit(everything);
    const plain = await inner.load();

    const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    expect(await store.load()).toEqual(plain);
    const raw = JSON.stringify(await inner.load());
    for (const text of plaintexts) expect(raw).not.toContain(text);
    expect(await encryptedStore(inner, { passphrase: PASSPHRASE }).load()).toEqual(plain);
  });
});

describe('encryptedStore refusing damaged data', () => {
  it('does not open ciphertext moved from one record to another', async () => {
    const inner = memoryStore();
    const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    await store.commit({ putRecords: [patient, { ...patient, id: 'p-2', data: { name: 'Someone else' } }] });
    const [first, second] = (await inner.load()).records;
    await inner.commit({ putRecords: [{ ...first!, data: second!.data }] });

    await expect(encryptedStore(inner, { passphrase: PASSPHRASE }).load()).rejects.toMatchObject({
      name: 'EncryptedDataError',
      code: 'ENCRYPTED_DATA_DAMAGED',
      message: expect.stringContaining('record patients/p-1 data'),
    });
  });

  it('does not open an op or a conflict whose record, collection or kind was changed in the clear', async () => {
    // The ids stay in clear for the store to index. Were an op's data bound to its seq alone, an
    // edited id would send one patient's change (here: allergies cleared) to another patient.
    const tampered: Array<[string, (stored: OutboxEntry) => OutboxEntry]> = [
      ['id', (stored) => ({ ...stored, id: 'p-2' })],
      ['collection', (stored) => ({ ...stored, collection: 'encounters' })],
      ['type', (stored) => ({ ...stored, type: 'create' })],
    ];
    for (const [field, edit] of tampered) {
      const inner = memoryStore();
      const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
      await store.commit({ putOps: [{ ...ops[0]!, data: { allergies: null } }] });
      const [stored] = (await inner.load()).outbox;
      await inner.commit({ putOps: [edit(stored!)] });
      await expect(
        encryptedStore(inner, { passphrase: PASSPHRASE }).load(),
        `an op whose ${field} was changed`,
      ).rejects.toMatchObject({
        code: 'ENCRYPTED_DATA_DAMAGED',
        message: expect.stringContaining('outbox entry 1'),
      });
    }

    const inner = memoryStore();
    await encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS }).commit({
      putConflicts: [disputed],
    });
    const [conflict] = (await inner.load()).conflicts;
    await inner.commit({ putConflicts: [{ ...conflict!, recordId: 'p-2' }] });
    await expect(encryptedStore(inner, { passphrase: PASSPHRASE }).load()).rejects.toMatchObject({
      code: 'ENCRYPTED_DATA_DAMAGED',
      message: expect.stringContaining('conflict c-1 summary'),
    });
  });

  it('opens a store sealed before ops were bound to their record, and seals it again in one commit', async () => {
    // As an earlier version wrote it: a header without `binding`, op data and conflict summaries
    // authenticated with their key alone.
    const inner = memoryStore();
    const { header, key } = await createHeader(PASSPHRASE, ITERATIONS);
    const { binding: _binding, ...legacyHeader } = header;
    await inner.commit({
      putRecords: [
        {
          ...patient,
          data: await sealValue(key, patient.data, { path: 'p', context: 'record\u0000patients\u0000p-1' }),
        },
      ],
      putOps: [
        { ...ops[0]!, data: await sealValue(key, ops[0]!.data, { path: 'o', context: 'op\u00001' }) },
        ops[2]!,
      ],
      putConflicts: [
        {
          ...disputed,
          summary: (await sealValue(key, disputed.summary, {
            path: 'c',
            context: 'conflict\u0000c-1',
          })) as never,
        },
      ],
      meta: { [CRYPTO_META_KEY]: legacyHeader, cursor: 'c-7' },
    });

    const expected = {
      records: [patient],
      outbox: [ops[0], ops[2]],
      conflicts: [disputed],
      meta: { cursor: 'c-7' },
    };
    expect(await encryptedStore(inner, { passphrase: PASSPHRASE }).load()).toEqual(expected);
    expect((await inner.load()).meta[CRYPTO_META_KEY]).toEqual(header);
    expect(await encryptedStore(inner, { passphrase: PASSPHRASE }).load()).toEqual(expected);
    // Bound now: the op no longer opens under another record's id.
    const [stored] = (await inner.load()).outbox;
    await inner.commit({ putOps: [{ ...stored!, id: 'p-2' }] });
    await expect(encryptedStore(inner, { passphrase: PASSPHRASE }).load()).rejects.toBeInstanceOf(
      EncryptedDataError,
    );
  });

  it('fails the load on a damaged op beside a record still opening, leaving no rejection unhandled meanwhile', async () => {
    const inner = memoryStore();
    const store = encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS });
    // A record with long notes takes a while to open; the small op beside it opens at once.
    const long = { ...patient, data: { ...patient.data, notes: 'x'.repeat(8_000_000) } };
    await store.commit({ putRecords: [long], putOps: [ops[0]!] });
    // The op moved under another record: it fails to open while the record is still opening.
    const [stored] = (await inner.load()).outbox;
    await inner.commit({ putOps: [{ ...stored!, id: 'p-2' }] });

    const unhandled: unknown[] = [];
    const listen = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listen);
    try {
      await expect(encryptedStore(inner, { passphrase: PASSPHRASE }).load()).rejects.toBeInstanceOf(
        EncryptedDataError,
      );
      // A turn of the event loop for Node to report any rejection left without a handler.
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', listen);
    }
    expect(unhandled).toEqual([]);
  });

  it('refuses to start over when the header is gone but encrypted data remains, writing nothing', async () => {
    const inner = memoryStore();
    await encryptedStore(inner, { passphrase: PASSPHRASE, iterations: ITERATIONS }).commit({
      putRecords: [patient],
    });
    await inner.commit({ meta: { [CRYPTO_META_KEY]: undefined } });
    const before = await inner.load();

    await expect(encryptedStore(inner, { passphrase: PASSPHRASE }).load()).rejects.toBeInstanceOf(
      EncryptedDataError,
    );
    expect(await inner.load()).toEqual(before);
  });

  it('refuses values JSON would silently change, naming where they are', async () => {
    const store = encryptedStore(memoryStore(), { passphrase: PASSPHRASE, iterations: ITERATIONS });
    for (const bad of [{ seen: new Date(0) }, { score: Number.NaN }, { list: [undefined] }]) {
      await expect(store.commit({ putRecords: [{ ...patient, data: bad }] })).rejects.toMatchObject({
        code: 'STORE_WRITE_FAILED',
        message: expect.stringContaining('record patients/p-1 data'),
      });
    }
    expect((await store.load()).records).toEqual([]);
  });
});
