// A vet practice whose server is restored from a backup (decision 0051). Its records are numbered by
// the server: the restored one numbers from where the backup left off, so it hands out again the
// numbers the lost database gave after the backup, to other records. The tablet must neither write
// its appointment over the one the front desk booked under the same number since, nor lose it: the
// restored server refuses the tablet's push for its old cursor, says the backup's last numbers, and
// the tablet gives back what it numbered after them as new records, its SOAP note still on its
// appointment.
import { afterEach, describe, expect, it } from 'vitest';
import { vetPractice } from '@outpost/examples';
import { makeTempId } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import type { SyncClient } from '../src/index';
import { TestNetwork } from './client-fixture';
import { restoredPractice, syncAfterRestart } from './restored-practice';
import type { Cleanups } from './restored-practice';

const secret = 'restored-vet-practice-test-secret';
const vet = 'vet@vet-a.test';

/** A practice's server and a vet's tablet; `backup()` and `restore()` as docs/server.md says. */
async function practice(cleanups: Cleanups) {
  const p = await restoredPractice(cleanups, {
    schema: vetPractice,
    users: [{ email: vet, tenant: 'vet-a', roles: ['clinician'] }],
    signedIn: vet,
    jwtSecret: secret,
  });

  const network = new TestNetwork();
  // Each push's answer, and the ops of those the server took.
  const pushes: number[] = [];
  const pushed: Array<{ collection: string; type: string; id: string; data?: RecordData }> = [];
  const tablet: SyncClient = await p.tablet({
    deviceId: 'vet-tablet',
    fetch: async (input, init) => {
      const res = await network.fetch(input, init);
      if (new URL(String(input)).pathname === '/v1/sync/push') {
        pushes.push(res.status);
        const body = network.sent.at(-1)?.body as { ops: typeof pushed };
        if (res.ok) pushed.push(...body.ops);
      }
      return res;
    },
  });

  return {
    tablet,
    /** A colleague's tablet in the same practice. */
    colleague: (deviceId: string): Promise<SyncClient> => p.tablet({ deviceId }),
    pushes,
    pushed,
    /** A change the front desk's computer makes on the server now; answers the record's number. */
    frontDesk: (op: Record<string, unknown>): Promise<string> => p.officePush(op, 'front-desk'),
    backup: p.backup,
    async restore() {
      await p.restore();
      pushes.length = 0;
      pushed.length = 0;
    },
    /** The tablet's sync; a first try that met the connection kept alive to the stopped server is tried again. */
    sync: () => syncAfterRestart(tablet),
    /** The conflicts the practice has to review. */
    openConflicts: (): Promise<unknown[]> => p.openConflicts(),
    /** A collection as a pull from the start sees it, by number (deleted ones left out). */
    async onServer(collection: string): Promise<Map<string, RecordData>> {
      return new Map((await p.onServer(collection)).map((r) => [r.id, r.data]));
    },
  };
}

describe('a vet practice whose server was restored from an older backup', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('gives back the appointment and note it numbered after the backup under new numbers, never over the records given those numbers since', async () => {
    const p = await practice(cleanups);
    const { tablet } = p;
    const owners = tablet.collection('users');
    const pets = tablet.collection('pets');
    const appointments = tablet.collection('appointments');
    const notes = tablet.collection('soapNotes');
    // Monday: Mr Banda, his dog Rex and a check-up, numbered 1 each; then the backup.
    const banda = await owners.create({ name: 'Mr Banda' });
    const rex = await pets.create({ name: 'Rex', species: 'dog', ownerId: banda.id });
    await appointments.create({ date: '2026-06-02T09:00:00.000Z', petId: rex.id });
    expect((await p.sync()).success).toBe(true);
    const ids = async (c: typeof pets) => (await c.find()).map((r) => r.id);
    expect([await ids(owners), await ids(pets), await ids(appointments)]).toEqual([['1'], ['1'], ['1']]);
    await p.backup();

    // Tuesday, after the backup: the vet books Rex's vaccines (appointment 2) and writes its SOAP
    // note (note 1), and moves the check-up's time; the server acknowledges all of it.
    await appointments.create({ date: '2026-06-03T10:00:00.000Z', petId: '1', title: 'Vaccines' });
    expect((await p.sync()).success).toBe(true);
    expect((await appointments.find()).find((r) => r.data.title === 'Vaccines')?.id).toBe('2');
    await notes.create({ appointmentId: '2', subjective: 'Due for rabies booster' });
    await appointments.update('1', { date: '2026-06-02T11:30:00.000Z' });
    expect((await p.sync()).success).toBe(true);
    expect(await ids(notes)).toEqual(['1']);
    // Then a plan she has not sent yet.
    await notes.update('1', { plan: 'Booster given, next in a year' });

    await p.restore();
    // On the restored server, before the tablet syncs, the front desk registers Ms Phiri's cat
    // and books it: the restored server numbers that appointment 2, the number of Rex's vaccines.
    const phiri = await p.frontDesk({
      collection: 'users',
      type: 'create',
      id: makeTempId('users'),
      data: { name: 'Ms Phiri' },
    });
    const cat = await p.frontDesk({
      collection: 'pets',
      type: 'create',
      id: makeTempId('pets'),
      data: { name: 'Mimi', species: 'cat', ownerId: phiri },
    });
    const mimiVisit = await p.frontDesk({
      collection: 'appointments',
      type: 'create',
      id: makeTempId('appointments'),
      data: { date: '2026-06-04T08:00:00.000Z', petId: cat, title: 'Spaying' },
    });
    expect(mimiVisit).toBe('2');

    const result = await p.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Refused whole for its old cursor: the waiting plan never reached the restored server under
    // note 1's number before the tablet knew.
    expect(p.pushes[0]).toBe(410);
    // The vaccines and their note as new records, and the check-up's new time on appointment 1;
    // the vet is told the new numbers: appointment 2 of her notes is appointment 3 now.
    expect(result.restored?.resent).toBe(3);

    const onServer = await p.onServer('appointments');
    // Ms Phiri's cat keeps appointment 2, untouched.
    expect(onServer.get('2')).toMatchObject({
      petId: cat,
      title: 'Spaying',
      date: '2026-06-04T08:00:00.000Z',
    });
    expect(onServer.get('1')).toMatchObject({ petId: '1', date: '2026-06-02T11:30:00.000Z' });
    const given = [...onServer].find(([, d]) => d.title === 'Vaccines');
    expect(given?.[0]).toBe('3');
    expect(given?.[1]).toMatchObject({ petId: '1', date: '2026-06-03T10:00:00.000Z', clientId: '1' });
    // The note, with the plan typed offline, on the vaccines' new number.
    const serverNotes = await p.onServer('soapNotes');
    expect([...serverNotes.values()]).toEqual([
      {
        appointmentId: '3',
        subjective: 'Due for rabies booster',
        plan: 'Booster given, next in a year',
      },
    ]);
    const [noteId] = [...serverNotes.keys()];
    expect(result.restored?.renumbered).toEqual(
      expect.arrayContaining([
        { collection: 'appointments', from: '2', to: '3' },
        { collection: 'soapNotes', from: '1', to: noteId },
      ]),
    );
    expect(result.restored?.renumbered).toHaveLength(2);
    // Nothing the tablet pushed named a number the restored server had given to another record.
    for (const op of p.pushed) {
      expect(op.type === 'create' || op.id === '1', JSON.stringify(op)).toBe(true);
    }

    // The tablet shows both appointments, each under the server's number, and its note on its own.
    expect((await appointments.get('2'))?.data).toMatchObject({ title: 'Spaying', petId: cat });
    expect((await appointments.get('3'))?.data).toMatchObject({ title: 'Vaccines', petId: '1' });
    const noteHeld = await notes.find();
    expect(noteHeld).toHaveLength(1);
    expect(noteHeld[0]?.data).toMatchObject({ appointmentId: '3', plan: 'Booster given, next in a year' });
    expect(tablet.queue.stats().pending).toBe(0);

    // And the next sync has nothing more to give back.
    const next = await p.sync();
    expect(next.restored).toBeUndefined();
    expect(p.pushes.at(-1)).toBe(200);
  });

  it('gives back once an appointment two tablets held, and a colleague’s note on it lands on that one', async () => {
    const p = await practice(cleanups);
    const one = p.tablet;
    const two = await p.colleague('vet-tablet-2');
    const owner = await one.collection('users').create({ name: 'Mr Banda' });
    await one.collection('pets').create({ name: 'Rex', species: 'dog', ownerId: owner.id });
    for (const t of [one, two]) expect((await t.sync()).success).toBe(true);
    await p.backup();

    // After the backup the first tablet books Rex's vaccines (appointment 1); the second pulls it
    // and, offline since, writes a SOAP note on it.
    await one
      .collection('appointments')
      .create({ date: '2026-06-03T10:00:00.000Z', petId: '1', title: 'Vaccines' });
    for (const t of [one, two]) expect((await t.sync()).success).toBe(true);
    const held = await two.collection('appointments').find();
    expect(held.map((a) => [a.id, a.data.title])).toEqual([['1', 'Vaccines']]);
    await two.collection('soapNotes').create({ appointmentId: '1', subjective: 'Nervous' });

    await p.restore();
    // The front desk books Mimi on the restored server: appointment 1 again.
    const cat = await p.frontDesk({
      collection: 'pets',
      type: 'create',
      id: makeTempId('pets'),
      data: { name: 'Mimi', species: 'cat', ownerId: '1' },
    });
    const mimiVisit = await p.frontDesk({
      collection: 'appointments',
      type: 'create',
      id: makeTempId('appointments'),
      data: { date: '2026-06-04T08:00:00.000Z', petId: cat, title: 'Spaying' },
    });
    expect(mimiVisit).toBe('1');
    // What each tablet's syncs told its vet of new numbers.
    const told = new Map<SyncClient, unknown[]>([
      [one, []],
      [two, []],
    ]);
    for (const t of [two, one, two, one]) {
      const result = await t.sync();
      expect(result.success, JSON.stringify(result.error)).toBe(true);
      told.get(t)?.push(...(result.restored?.renumbered ?? []));
    }

    // Rex's vaccines once, under a new number; the note on it; Mimi's visit untouched.
    const appointments = await p.onServer('appointments');
    const vaccines = [...appointments].filter(([, a]) => a.title === 'Vaccines');
    expect(vaccines).toHaveLength(1);
    const [vaccinesId] = vaccines[0] ?? [];
    expect(vaccinesId).toBe('2');
    // Each tablet held the vaccines as appointment 1, and each is told once it is 2 now.
    for (const t of [one, two])
      expect(told.get(t)).toEqual([{ collection: 'appointments', from: '1', to: '2' }]);
    expect(appointments.get('1')).toMatchObject({ title: 'Spaying', petId: cat });
    expect([...(await p.onServer('soapNotes')).values()]).toEqual([
      { appointmentId: '2', subjective: 'Nervous' },
    ]);
    // Both tablets show the practice as the server has it.
    for (const t of [one, two]) {
      const shown = (await t.collection('appointments').find()).map((a) => [a.id, a.data.title]).sort();
      expect(shown).toEqual([
        ['1', 'Spaying'],
        ['2', 'Vaccines'],
      ]);
      expect(t.queue.stats().pending).toBe(0);
    }
    expect(await p.openConflicts()).toEqual([]);
  });

  // Decision 0051, "Deletions": the restored server never had an appointment numbered after the
  // backup, so the tablet that deleted it gives its deletion back naming the lost number, kept as a
  // tombstone under a new number; the colleague's tablet, still holding the appointment, gives it
  // back naming the same number and meets the deletion, settled by the appointments' rule (last
  // write wins: the deletion, made later, stands). Whichever tablet syncs first.
  it.each([
    ['the deleting tablet', true],
    ['the colleague’s tablet', false],
  ])(
    'keeps deleted an appointment numbered after the backup, deleted on one tablet and held by another, when %s syncs first',
    async (_first, deleterFirst) => {
      const p = await practice(cleanups);
      const one = p.tablet;
      const two = await p.colleague('vet-tablet-2');
      const owner = await one.collection('users').create({ name: 'Mr Banda' });
      await one.collection('pets').create({ name: 'Rex', species: 'dog', ownerId: owner.id });
      for (const t of [one, two]) expect((await t.sync()).success).toBe(true);
      await p.backup();

      // After the backup the second tablet books Rex's vaccines (appointment 1), booked on the
      // wrong day; the first pulls it and deletes it, and the server acknowledges the deletion.
      // The second tablet has not synced since.
      await two
        .collection('appointments')
        .create({ date: '2026-06-03T10:00:00.000Z', petId: '1', title: 'Vaccines' });
      for (const t of [two, one]) expect((await t.sync()).success).toBe(true);
      await one.collection('appointments').delete('1');
      expect((await one.sync()).success).toBe(true);

      await p.restore();
      // The front desk books Mimi on the restored server: appointment 1 again.
      const cat = await p.frontDesk({
        collection: 'pets',
        type: 'create',
        id: makeTempId('pets'),
        data: { name: 'Mimi', species: 'cat', ownerId: '1' },
      });
      const mimiVisit = await p.frontDesk({
        collection: 'appointments',
        type: 'create',
        id: makeTempId('appointments'),
        data: { date: '2026-06-04T08:00:00.000Z', petId: cat, title: 'Spaying' },
      });
      expect(mimiVisit).toBe('1');
      for (const t of deleterFirst ? [one, two, one, two] : [two, one, two, one]) {
        const result = await t.sync();
        expect(result.success, JSON.stringify(result.error)).toBe(true);
        expect(result.pushed.rejected).toBe(0);
      }

      // Rex's vaccines stay deleted; Mimi's visit untouched, and shown so on both tablets.
      const appointments = await p.onServer('appointments');
      expect([...appointments].map(([id, a]) => [id, a.title])).toEqual([['1', 'Spaying']]);
      for (const t of [one, two]) {
        const shown = (await t.collection('appointments').find()).map((a) => [a.id, a.data.title]);
        expect(shown).toEqual([['1', 'Spaying']]);
        expect(t.queue.stats().pending).toBe(0);
      }
      expect(await p.openConflicts()).toEqual([]);
    },
  );
});
