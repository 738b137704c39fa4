// Seed 002's selective sync: a device that pulls only some collections. Its records name records
// of collections it never pulls; those are not orphans (seed 003), only records it does not hold.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { LocalStore, SyncClientOptions } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe('selective sync', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => server.close());

  const open = (
    network: TestNetwork,
    extra: Partial<SyncClientOptions> = {},
    store: LocalStore = memoryStore(),
  ) => openClient(server, 'nurse@clinic-a.test', store, network, extra);

  it('a pharmacy tablet that pulls only prescriptions keeps them through orphan handling, and sends its edits', async () => {
    const clinic = await open(new TestNetwork(), { deviceId: 'clinic-desk' });
    const patient = await clinic.collection('patients').create({ name: 'Amina K.' });
    const rx = await clinic
      .collection('prescriptions')
      .create({ patientId: patient.id, drug: 'Amoxicillin', dose: '250 mg' });
    expect((await clinic.sync()).success).toBe(true);

    const network = new TestNetwork();
    const pharmacy = await open(network, { deviceId: 'pharmacy-1', collections: ['prescriptions'] });
    expect((await pharmacy.sync()).success).toBe(true);
    expect(await pharmacy.collection('patients').get(patient.id)).toBeNull();
    await pharmacy.collection('prescriptions').update(rx.id, { dose: '500 mg' });

    // The patient is not on this tablet because it does not pull patients, not because it is gone.
    expect(pharmacy.relationships.findOrphans()).toEqual([]);
    expect(await pharmacy.relationships.resolveOrphans('queue')).toBe(0);
    expect(await pharmacy.relationships.resolveOrphans('delete')).toBe(0);
    expect(await pharmacy.collection('prescriptions').get(rx.id)).toMatchObject({
      data: { dose: '500 mg' },
      pending: true,
    });
    const result = await pharmacy.sync();
    expect(result.pushed).toMatchObject({ applied: 1, held: 0 });
    await clinic.sync();
    expect((await clinic.collection('prescriptions').get(rx.id))?.data['dose']).toBe('500 mg');
  });

  it('an empty list pulls nothing, rather than everything', async () => {
    const clinic = await open(new TestNetwork(), { deviceId: 'clinic-desk' });
    await clinic.collection('patients').create({ name: 'Chikondi Banda' });
    expect((await clinic.sync()).success).toBe(true);

    const network = new TestNetwork();
    const kiosk = await open(network, { deviceId: 'kiosk-1', collections: [] });
    const intake = await kiosk.collection('patients').create({ name: 'Walk-in' });
    const result = await kiosk.sync();
    expect(result).toMatchObject({ success: true, pulled: 0, pushed: { applied: 1 } });
    expect((await kiosk.collection('patients').find()).map((p) => p.id)).toEqual([intake.id]);
    expect(network.sent.filter((s) => s.path === '/v1/sync/pull')).toEqual([]);
  });

  it('refuses, before opening the store, a collection the schema does not have', async () => {
    const store = memoryStore();
    await expect(open(new TestNetwork(), { collections: ['patient'] }, store)).rejects.toThrow(/patient/);
    // Nothing was opened, so the same store opens at once with a good list.
    const fixed = await open(new TestNetwork(), { collections: ['patients'] }, store);
    expect((await fixed.sync()).success).toBe(true);
  });
});
