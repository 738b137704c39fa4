// Lessons other sync engines learned in the field, each pinned by a test against a real server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { LocalStore, SyncClientOptions, WriteBatch } from '../src/index';
import {
  ManualTimers,
  TestNetwork,
  closeClient,
  closeClients,
  openClient,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('lessons from the field', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  const open = (store: LocalStore, network: TestNetwork, extra: Partial<SyncClientOptions> = {}) =>
    openClient(server, 'nurse@clinic-a.test', store, network, { deviceId: 'tablet-9', ...extra });

  /** Puts `n` patients on the server from another device. */
  async function seedPatients(n: number, prefix: string): Promise<void> {
    const seeder = await open(memoryStore(), new TestNetwork(), { deviceId: 'seeder' });
    for (let i = 0; i < n; i++) await seeder.collection('patients').create({ name: `${prefix} ${i}` });
    expect((await seeder.sync()).success).toBe(true);
  }

  it('a pulled page and its cursor commit together: a failed commit applies neither', async () => {
    await seedPatients(12, 'Page');
    const inner = memoryStore();
    // The second pulled page fails to commit, as a full disk or a closed tab would make it.
    let pageCommits = 0;
    const failing: LocalStore = {
      kind: 'failing',
      load: () => inner.load(),
      clear: () => inner.clear(),
      close: () => inner.close(),
      commit: async (batch: WriteBatch) => {
        if (batch.meta && 'pull.cursor' in batch.meta && ++pageCommits === 2) throw new Error('disk full');
        return inner.commit(batch);
      },
    };
    const network = new TestNetwork();
    const client = await open(failing, network, { pullLimit: 5 });
    const first = await client.sync();
    expect(first.success).toBe(false);
    const snapshot = await inner.load();
    // Exactly the first page is stored, and the cursor saved is the one after it, not after page 2.
    const stored = snapshot.records.filter((r) => r.collection === 'patients');
    expect(stored.length).toBe(5);
    const cursorAfterPage1 = snapshot.meta['pull.cursor'];
    expect(cursorAfterPage1).toBeTruthy();
    expect(snapshot.meta['pull.upToDate']).toBe(false);
    // Reopened, the device resumes from that cursor and ends holding everything.
    await closeClient(client);
    const again = await open(inner, network, { pullLimit: 5 });
    const resumed = await again.sync();
    expect(resumed.success).toBe(true);
    expect(resumed.upToDate).toBe(true);
    expect(
      (await again.collection('patients').find({ where: (r) => String(r.data['name']).startsWith('Page ') }))
        .length,
    ).toBe(12);
  });

  it('an interrupted initial sync resumes where it stopped and is not reported complete early', async () => {
    await seedPatients(23, 'Initial');
    const total = (
      await open(memoryStore(), new TestNetwork(), { deviceId: 'counter' }).then((c) => c.sync())
    ).pulled;
    const network = new TestNetwork();
    let pulls = 0;
    const cutting: typeof fetch = async (input, init) => {
      if (String(input).includes('/v1/sync/pull') && ++pulls === 2)
        throw new TypeError('fetch failed: signal lost');
      return network.fetch(input, init);
    };
    const cut = await open(memoryStore(), network, { pullLimit: 10, fetch: cutting });
    const interrupted = await cut.sync();
    expect(interrupted).toMatchObject({ success: false, upToDate: false, pulled: 10 });
    const resumed = await cut.sync();
    expect(resumed.success).toBe(true);
    expect(resumed.upToDate).toBe(true);
    // The second sync did not start over: it pulled only what the first one had not applied.
    expect(resumed.pulled).toBe(total - 10);
    const names = (await cut.collection('patients').find()).map((p) => String(p.data['name']));
    expect(names.filter((n) => n.startsWith('Initial ')).length).toBe(23);
  });

  it('never sends a child in an earlier batch than its parent, even when the child syncs first by priority', async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network, { batchSize: 2 });
    network.mode = 'offline';
    const patients: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await client.collection('patients').create({ name: `Batch ${i}` });
      patients.push(p.id);
      // Prescriptions have priority 1 and patients 10: priority alone would send these first.
      await client
        .collection('prescriptions')
        .create({ patientId: p.id, drug: 'Paracetamol', dose: '500 mg' });
    }
    network.mode = 'online';
    const result = await client.sync();
    expect(result.success).toBe(true);
    expect(result.pushed.rejected).toBe(0);
    const batchOf = new Map<string, number>();
    network.pushes().forEach((push, batch) => {
      expect(push.ops.length).toBeLessThanOrEqual(2);
      for (const op of push.ops) batchOf.set(op.id, batch);
    });
    for (const push of network.pushes()) {
      for (const op of push.ops.filter((o) => o.collection === 'prescriptions')) {
        expect(batchOf.get(String(op.data?.['patientId']))).toBeLessThanOrEqual(batchOf.get(op.id) as number);
      }
    }
  });

  it('sets aside an op the server rejects for good, so the ops behind it still go', async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network);
    // An encounter for a patient that exists nowhere, neither here nor on the server.
    const orphan = await client.collection('encounters').create({ patientId: uuidv7(), diagnosis: 'x' });
    const fine = await client.collection('patients').create({ name: 'Behind the bad one' });
    const first = await client.sync();
    expect(first.pushed).toMatchObject({ applied: 1, rejected: 1 });
    const failed = client.queue.list().find((o) => o.id === orphan.id);
    expect(failed).toMatchObject({ status: 'failed', lastError: { code: 'UNRESOLVED_REFERENCE' } });
    // Still on the device, marked refused (nothing of it waits to be sent), never dropped.
    expect(await client.collection('encounters').get(orphan.id)).toMatchObject({
      pending: true,
      refused: true,
    });
    expect(await client.collection('patients').get(fine.id)).toMatchObject({
      pending: false,
      refused: false,
    });
    // Neither the next sync nor a person's "Sync now" sends it again: the answer would be the same.
    const pushesBefore = network.pushes().length;
    await client.collection('patients').create({ name: 'Later' });
    await client.sync();
    await client.sync({ manual: true });
    const later = network.pushes().slice(pushesBefore);
    expect(later.flatMap((p) => p.ops.map((o) => o.id))).not.toContain(orphan.id);
    expect(client.queue.stats()).toMatchObject({ failed: 1, refused: 1 });
    // Only a retry that names it does.
    expect(await client.queue.retry()).toBe(0);
    expect(await client.queue.retry([failed?.seq ?? -1])).toBe(1);
    expect(client.queue.stats().pending).toBe(1);
  });

  it('a refused change kept on screen never brings back a field changed again since', async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network);
    const p = await client.collection('patients').create({ name: 'Alinafe' });
    const e = await client.collection('encounters').create({ patientId: p.id, diagnosis: 'Fever' });
    await client.sync();
    // Refused: the new patient id names nobody. It stays on screen, marked failed.
    await client.collection('encounters').update(e.id, { patientId: uuidv7(), diagnosis: 'Malaria' });
    await client.sync();
    expect(client.queue.stats().failed).toBe(1);
    // The clinician corrects the diagnosis; that change goes through.
    await client.collection('encounters').update(e.id, { diagnosis: 'Typhoid' });
    await client.sync();
    // Another device changes the encounter: the record is read from the server again.
    const other = await open(memoryStore(), new TestNetwork(), { deviceId: 'other-3' });
    await other.sync();
    await other.collection('encounters').update(e.id, { notes: 'Referred' });
    await other.sync();
    await client.sync();
    const shown = await client.collection('encounters').get(e.id);
    expect(shown?.data).toMatchObject({ diagnosis: 'Typhoid', notes: 'Referred' });
  });

  it("takes a refused change off the device once read, showing the server's copy, and never an unsent one", async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network);
    const encounters = client.collection('encounters');
    const p = await client.collection('patients').create({ name: 'Tiwonge' });
    const e = await encounters.create({ patientId: p.id, diagnosis: 'Fever' });
    await client.sync();
    // Two refusals: an update of a visit the server has, and a visit for a patient that exists nowhere.
    await encounters.update(e.id, { patientId: uuidv7(), diagnosis: 'Malaria' });
    const orphan = await encounters.create({ patientId: uuidv7(), diagnosis: 'Cholera' });
    await client.sync();
    expect(client.queue.stats()).toMatchObject({ failed: 2, refused: 2 });
    const refused = client.queue.list().filter((o) => o.rejected === true);
    // A change not yet sent is never taken: this device is the only place it exists.
    network.mode = 'offline';
    const unsent = await client.collection('patients').create({ name: 'Typed offline' });
    const unsentSeq = client.queue.list().find((o) => o.id === unsent.id)?.seq ?? -1;
    expect(await client.queue.discard([unsentSeq])).toBe(0);
    // Offline, the server's copy of the visit cannot be read: nothing changes.
    await expect(client.queue.discard(refused.map((o) => o.seq))).rejects.toThrow();
    expect(client.queue.stats()).toMatchObject({ refused: 2 });
    expect(await encounters.get(e.id)).toMatchObject({ refused: true, data: { diagnosis: 'Malaria' } });

    network.mode = 'online';
    expect(await client.queue.discard(refused.map((o) => o.seq))).toBe(2);
    expect(client.queue.stats()).toMatchObject({ failed: 0, refused: 0, pending: 1 });
    // The visit the server has shows its copy again; the one it never had is gone from the device.
    expect(await encounters.get(e.id)).toMatchObject({
      pending: false,
      refused: false,
      data: { patientId: p.id, diagnosis: 'Fever' },
    });
    expect(await encounters.get(orphan.id)).toBeNull();
    // What was typed is still in the server's archive.
    const opIds = new Set(refused.map((o) => o.opId));
    const archived = (await client.rejections.fetch({ collection: 'encounters' })).filter((r) =>
      opIds.has(r.opId),
    );
    expect(archived.map((r) => r.data?.['diagnosis']).sort()).toEqual(['Cholera', 'Malaria']);
  });

  it('tells of a change a signed note refused: the note shows what was signed, until the change is dismissed', async () => {
    const client = await open(memoryStore(), new TestNetwork());
    const notes = client.collection('clinicalNotes');
    const p = await client.collection('patients').create({ name: 'Mphatso' });
    const e = await client.collection('encounters').create({ patientId: p.id, diagnosis: 'Cough' });
    const note = await notes.create({ encounterId: e.id, body: 'Cough for two weeks.' });
    await client.sync();
    // The nurse adds to the draft while the doctor, on another device, signs it as it stood.
    await notes.update(note.id, { body: 'Cough for two weeks. Sputum sample taken.' });
    const doctor = await open(memoryStore(), new TestNetwork(), { deviceId: 'doctor-1' });
    await doctor.sync();
    await doctor
      .collection('clinicalNotes')
      .update(note.id, { signatureHash: 'sig', signedAt: '2026-11-22T10:00:00Z' });
    expect((await doctor.sync()).pushed.applied).toBe(1);

    expect((await client.sync()).pushed).toMatchObject({ rejected: 1 });
    // The note shows what was signed, not the nurse's words; but it says her change did not go in.
    expect(await notes.get(note.id)).toMatchObject({
      pending: false,
      refused: true,
      data: { body: 'Cough for two weeks.', signatureHash: 'sig' },
    });
    expect(client.queue.stats()).toMatchObject({ refused: 1, failed: 0, waiting: 0 });
    const refused = client.queue.list().filter((o) => o.rejected === true);
    const archived = (await client.rejections.fetch({ collection: 'clinicalNotes' })).find(
      (r) => r.opId === refused[0]?.opId,
    );
    expect(archived).toMatchObject({ error: { code: 'IMMUTABLE' } });
    expect(archived?.data?.['body']).toBe('Cough for two weeks. Sputum sample taken.');

    expect(await client.queue.discard(refused.map((o) => o.seq))).toBe(1);
    expect(client.queue.stats().refused).toBe(0);
    expect(await notes.get(note.id)).toMatchObject({ refused: false, data: { signatureHash: 'sig' } });
  });

  it('keeps a refused change when a newer version arrived while its dismissal read the server', async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network);
    const encounters = client.collection('encounters');
    const p = await client.collection('patients').create({ name: 'Chisomo' });
    const e = await encounters.create({ patientId: p.id, diagnosis: 'Fever' });
    await client.sync();
    await encounters.update(e.id, { patientId: uuidv7(), diagnosis: 'Malaria' });
    await client.sync();
    const refused = client.queue.list().filter((o) => o.rejected === true);
    expect(refused).toHaveLength(1);

    // The dismissal's read of the server's copy is slow; meanwhile a colleague changes the visit
    // and this tablet pulls the newer version.
    const read = network.holdNext(`/v1/records/encounters/${e.id}`, 'answer');
    const dismissal = client.queue.discard(refused.map((o) => o.seq));
    await read.reached;
    const colleague = await open(memoryStore(), new TestNetwork(), { deviceId: 'other-4' });
    await colleague.sync();
    await colleague.collection('encounters').update(e.id, { notes: 'Referred to the district hospital' });
    await colleague.sync();
    await client.syncFromServer();
    read.release();
    // The copy read is older than what the tablet now holds: the refused change stays for now.
    expect(await dismissal).toBe(0);
    expect(client.queue.stats().refused).toBe(1);
    expect(await client.queue.discard(refused.map((o) => o.seq))).toBe(1);
    expect(await encounters.get(e.id)).toMatchObject({
      refused: false,
      data: { diagnosis: 'Fever', notes: 'Referred to the district hospital' },
    });
  });

  it('sends the ops behind a create the server refused, so they reach its archive too', async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network);
    const orphan = await client.collection('encounters').create({ patientId: uuidv7(), diagnosis: 'x' });
    await client.sync();
    expect(client.queue.list()[0]).toMatchObject({ status: 'failed', rejected: true });
    // Written afterwards, on the refused encounter: it cannot wait for a create that never goes.
    const note = await client
      .collection('clinicalNotes')
      .create({ encounterId: orphan.id, body: 'Seen at the river crossing' });
    const result = await client.sync();
    expect(result.pushed).toMatchObject({ rejected: 1 });
    expect(client.queue.stats().held).toBe(0);
    const failed = client.queue.list().find((o) => o.id === note.id);
    expect(failed).toMatchObject({ status: 'failed', lastError: { code: 'UNRESOLVED_REFERENCE' } });
    const archived = await client.rejections.fetch({ collection: 'clinicalNotes' });
    expect(archived.filter((r) => r.opId === failed?.opId).map((r) => r.data?.['body'])).toEqual([
      'Seen at the river crossing',
    ]);
  });

  it('sends an op whose reference exists nowhere: the server refuses it and keeps it in its archive', async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network);
    const p = await client.collection('patients').create({ name: 'Made and deleted' });
    await client.collection('encounters').create({ patientId: p.id });
    // Created and deleted before any sync: the patient never reaches the server...
    await client
      .collection('encounters')
      .delete((await client.collection('encounters').find())[0]?.id as string);
    const e2 = await client.collection('encounters').create({ patientId: p.id, diagnosis: 'Typed offline' });
    await client.collection('patients').delete(p.id);
    const result = await client.sync();
    expect(result.pushed).toMatchObject({ rejected: 1 });
    // ...nor anything about it; the encounter pointing at it is refused, kept here, failed...
    expect(network.pushes().flatMap((x) => x.ops.map((o) => o.id))).not.toContain(p.id);
    const failed = client.queue.list().find((o) => o.id === e2.id);
    expect(failed).toMatchObject({ status: 'failed', lastError: { code: 'UNRESOLVED_REFERENCE' } });
    expect((await client.collection('encounters').get(e2.id))?.data['diagnosis']).toBe('Typed offline');
    // ...and in the server's archive, with what was typed.
    const [archived] = await client.rejections.fetch({ recordId: e2.id });
    expect(archived).toMatchObject({ opId: failed?.opId, data: { diagnosis: 'Typed offline' } });
    expect(client.relationships.findOrphans().map((o) => o.id)).toContain(e2.id);
    expect(await client.relationships.resolveOrphans('delete')).toBe(1);
    expect(await client.collection('encounters').get(e2.id)).toBeNull();
    expect(client.queue.list().find((o) => o.id === e2.id)).toBeUndefined();
  });

  it('orphans: keep leaves them to the server, queue holds their ops until the parent is on the device', async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network);
    // An encounter for a patient the device does not hold (another device's, not pulled yet).
    const parentId = uuidv7();
    const e = await client.collection('encounters').create({ patientId: parentId });
    expect(client.relationships.findOrphans()).toEqual([
      {
        collection: 'encounters',
        id: e.id,
        field: 'patientId',
        missing: { collection: 'patients', id: parentId },
      },
    ]);
    expect(await client.relationships.resolveOrphans('keep')).toBe(1);
    expect(client.queue.list()[0]?.heldReason).toBeUndefined();
    expect(await client.relationships.resolveOrphans('queue')).toBe(1);
    await client.sync();
    expect(network.pushes().flatMap((p) => p.ops.map((o) => o.id))).not.toContain(e.id);
    expect(client.queue.list()[0]?.heldReason).toMatch(/waiting for the record it references/);
    // The parent arrives (made on another device); the held op then goes by itself.
    const other = await open(memoryStore(), new TestNetwork(), { deviceId: 'other-2' });
    await other.collection('patients').create({ name: 'Parent from elsewhere' }, { id: parentId });
    await other.sync();
    await client.sync();
    await client.sync();
    expect(client.queue.list().find((o) => o.id === e.id)?.status).toBe('done');
    expect(client.relationships.findOrphans()).toEqual([]);
  });

  it('a delete answered "duplicate" after a colleague\'s later edit brought the record back: the device shows it', async () => {
    const network = new TestNetwork();
    // Manual time: the lost answer's retry goes when the test says, not on a timer of its own.
    const tablet = await open(memoryStore(), network, { timers: new ManualTimers() });
    const patient = await tablet.collection('patients').create({ name: 'Chikondi Banda' });
    const form = await tablet
      .collection('intakeForms')
      .create({ patientId: patient.id, answers: { pain: 3 } });
    await tablet.sync();
    const colleague = await open(memoryStore(), new TestNetwork(), { deviceId: 'colleague-5' });
    await colleague.sync();

    // The tablet deletes the form; the server applies it, and the answer is lost.
    await tablet.collection('intakeForms').delete(form.id);
    network.loseNextAnswers(1);
    expect((await tablet.sync()).success).toBe(false);
    // The colleague, who had not seen the delete, edits the form later: last write wins, it is back.
    await colleague.collection('intakeForms').update(form.id, { answers: { pain: 5 } });
    expect((await colleague.sync()).success).toBe(true);
    // The tablet pulls the form beneath its own pending delete, then resends: "duplicate".
    await tablet.syncFromServer();
    expect((await tablet.sync()).success).toBe(true);
    expect(await tablet.collection('intakeForms').get(form.id)).toMatchObject({
      pending: false,
      data: { answers: { pain: 5 } },
    });
  });

  it('a cursor past tombstone retention (410) resyncs from scratch without losing pending ops', async () => {
    const network = new TestNetwork();
    const client = await open(memoryStore(), network);
    const p = await client.collection('patients').create({ name: 'Resync' });
    const gone = await client.collection('patients').create({ name: 'Deleted elsewhere' });
    await client.sync();
    // Another device deletes one; the server then purges tombstones past the device's cursor.
    const other = await open(memoryStore(), new TestNetwork(), { deviceId: 'other' });
    await other.sync();
    await other.collection('patients').delete(gone.id);
    await other.sync();
    await server.app.outpost.store.purgeTombstones(new Date(Date.now() + 60_000).toISOString());
    network.mode = 'offline';
    await client.collection('patients').update(p.id, { village: 'Kept while offline' });
    network.mode = 'online';
    const result = await client.syncFromServer();
    expect(result.success).toBe(true);
    expect(await client.collection('patients').get(gone.id)).toBeNull();
    expect((await client.collection('patients').get(p.id))?.data['village']).toBe('Kept while offline');
    expect(client.queue.stats().pending).toBe(1);
    await client.sync();
    expect(client.queue.stats().pending).toBe(0);
  });
});
