// A push batch the server refuses as too large (413) is sent again in smaller batches, down to one
// op: changes each small enough on their own reach the server, and one too large alone is refused,
// kept and shown while the ops behind it go on.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('push batch larger than the server takes (413)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic); // default body limit: 10 MB
  });
  afterAll(async () => server.close());

  it('valid intake forms, each well under the limit, reach the server after "Sync now"', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network);
    const patient = await client.collection('patients').create({ name: 'Chisomo' });
    expect((await client.sync()).success).toBe(true);

    // A day of intake forms, each with a ~1 MB photo of the wound in its answers (valid data:
    // `answers` is a free record). Together they exceed 10 MB; any one alone is fine.
    const photo = 'data:image/jpeg;base64,' + 'A'.repeat(1_000_000);
    const forms: string[] = [];
    for (let i = 0; i < 12; i++) {
      const f = await client
        .collection('intakeForms')
        .create({ patientId: patient.id, answers: { photo, visit: i } });
      forms.push(f.id);
    }
    // Split into smaller batches by the sync itself, without a person asking.
    expect((await client.sync()).success).toBe(true);
    expect((await client.sync({ manual: true })).success).toBe(true);

    // What the server holds, read by another device.
    const other = await openClient(server, 'admin@clinic-a.test', memoryStore(), new TestNetwork(), {
      deviceId: 'desk',
    });
    await other.sync();
    const onServer = (await other.collection('intakeForms').find()).length;
    expect(onServer).toBe(forms.length);
    expect(client.queue.stats().waiting).toBe(0);
  });

  it('refuses one op too large on its own, shows it refused, and sends the ops behind it', async () => {
    const small = await startServer(fieldClinic, { bodyLimitBytes: 200_000 });
    try {
      const network = new TestNetwork();
      const client = await openClient(small, 'nurse@clinic-a.test', memoryStore(), network);
      const patient = await client.collection('patients').create({ name: 'Chisomo' });
      const huge = await client
        .collection('intakeForms')
        .create({ patientId: patient.id, answers: { photo: 'A'.repeat(300_000) } });
      const after = await client
        .collection('intakeForms')
        .create({ patientId: patient.id, answers: { pain: 2 } });
      const result = await client.sync();
      expect(result.pushed.rejected).toBe(1);

      // The too-large form stays on the tablet, said to be refused, with what was typed.
      const shown = await client.collection('intakeForms').get(huge.id);
      expect(shown).toMatchObject({ refused: true });
      expect(shown?.data['answers']).toMatchObject({ photo: 'A'.repeat(300_000) });
      const refused = client.queue.list().find((o) => o.id === huge.id);
      expect(refused).toMatchObject({
        status: 'failed',
        rejected: true,
        lastError: { code: 'PAYLOAD_TOO_LARGE' },
      });
      // Everything else reached the server.
      expect(await client.collection('patients').get(patient.id)).toMatchObject({ pending: false });
      expect(await client.collection('intakeForms').get(after.id)).toMatchObject({ pending: false });
      expect(client.queue.stats()).toMatchObject({ waiting: 0, refused: 1 });
    } finally {
      await closeClients();
      await small.close();
    }
  });
});
