// Seed 002's delta sync ("only changes are transmitted") and field merge, from the device's side:
// a form saved whole must not send again, as a change, a field the person left as it was.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('an update sends only the fields it changes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  const open = (network: TestNetwork, deviceId: string) =>
    openClient(server, 'nurse@clinic-a.test', memoryStore(), network, { deviceId });

  it("a form saved whole does not undo a colleague's edit of a field the person left alone", async () => {
    const netA = new TestNetwork();
    const netB = new TestNetwork();
    const a = await open(netA, 'tablet-a');
    const b = await open(netB, 'tablet-b');
    const patient = await a.collection('patients').create({ name: 'Amina K.', village: 'Ntcheu' });
    const visit = await a
      .collection('encounters')
      .create({ patientId: patient.id, diagnosis: 'Malaria', notes: 'Fever' });
    await a.sync();
    await b.sync();

    // The colleague corrects the diagnosis and the village; tablet A has not pulled since.
    await b.collection('encounters').update(visit.id, { diagnosis: 'Typhoid' });
    await b.collection('patients').update(patient.id, { village: 'Dedza' });
    expect((await b.sync()).success).toBe(true);

    // Tablet A saves its forms whole: only the notes and the phone were typed.
    netA.sent.length = 0;
    await a.collection('encounters').update(visit.id, { diagnosis: 'Malaria', notes: 'Fever, 3 days' });
    await a.collection('patients').update(patient.id, { village: 'Ntcheu', phone: '0999 111' });
    const result = await a.sync();
    expect(result.success).toBe(true);
    // The colleague's diagnosis stands (encounters: last write wins), and so does their village
    // (patients merge): neither waits for review, and both devices show the same.
    await b.sync();
    for (const device of [a, b]) {
      expect((await device.collection('encounters').get(visit.id))?.data).toMatchObject({
        diagnosis: 'Typhoid',
        notes: 'Fever, 3 days',
      });
      expect(await device.collection('patients').get(patient.id)).toMatchObject({
        awaitingReview: false,
        data: { name: 'Amina K.', village: 'Dedza', phone: '0999 111' },
      });
    }
    expect(result.pushed.conflicts).toBe(0);
    expect(a.conflicts.list({ status: 'open' })).toEqual([]);
    expect(netA.pushes().flatMap((p) => p.ops.map((o) => o.data))).toEqual([
      { notes: 'Fever, 3 days' },
      { phone: '0999 111' },
    ]);

    // A form saved with nothing typed queues nothing.
    await a.collection('patients').update(patient.id, { name: 'Amina K.', village: 'Dedza' });
    expect(a.queue.stats().pending).toBe(0);
  });
});
