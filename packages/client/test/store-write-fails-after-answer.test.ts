// When the local write that records a push's answer fails (a full disk, an aborted IndexedDB
// transaction), the ops of that batch go again at the next push under their opIds and are settled
// by the server's duplicate answer: the tablet never keeps showing an old dose over a newer one.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { LocalStore, WriteBatch } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('a local write failing after the push was answered', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  it('settles the answered op at the next sync, in the same session', async () => {
    const inner = memoryStore();
    let failNextAnswerWrite = false;
    const store: LocalStore = {
      kind: 'flaky',
      load: () => inner.load(),
      clear: () => inner.clear(),
      close: () => inner.close(),
      commit: async (batch: WriteBatch) => {
        // The write of the push's outcomes (ops marked done) fails once, as a full disk makes it.
        if (failNextAnswerWrite && batch.putOps?.some((o) => o.status === 'done')) {
          failNextAnswerWrite = false;
          throw new Error('QuotaExceededError: the disk is full');
        }
        return inner.commit(batch);
      },
    };
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', store, network);
    const patient = await client.collection('patients').create({ name: 'Limbani' });
    const rx = await client
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Amoxicillin', dose: '250 mg' });
    expect((await client.sync()).success).toBe(true);

    await client.collection('prescriptions').update(rx.id, { dose: '500 mg' });
    failNextAnswerWrite = true;
    expect((await client.sync()).success).toBe(false);

    // The disk has room again. The next sync, automatic, settles the op; a person's "Sync now" too.
    expect((await client.sync()).success).toBe(true);
    expect(client.queue.stats().inFlight).toBe(0);
    expect(await client.collection('prescriptions').get(rx.id)).toMatchObject({
      data: { dose: '500 mg' },
      pending: false,
    });
    await client.sync({ manual: true });

    // The nurse corrects the dose again; it goes on the next sync.
    await client.collection('prescriptions').update(rx.id, { dose: '750 mg' });
    expect((await client.sync()).success).toBe(true);

    // What the server (and every colleague) holds.
    const admin = await openClient(server, 'admin@clinic-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'desk',
    });
    await admin.sync();
    const onServer = (await admin.collection('prescriptions').get(rx.id))?.data['dose'];
    expect(onServer).toBe('750 mg');
    expect(await client.collection('prescriptions').get(rx.id)).toMatchObject({
      data: { dose: '750 mg' },
      pending: false,
    });
    expect(client.queue.stats().inFlight).toBe(0);
  });
});
