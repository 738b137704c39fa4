// A tablet that only reads (a doctor looking up records on her rounds) syncs too: its pulls name
// the device, so the clinic's statistics list it with its last sync, rather than as a tablet that
// has not synced since its last change (and "Needs attention" as silent). Against a real server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deviceStatsResponseSchema } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

describe("a tablet that only reads, in the clinic's statistics", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => {
    await server.close();
  });

  async function devices() {
    const res = await fetch(`${server.url}/v1/sync/stats/devices`, {
      headers: { authorization: `Bearer ${await server.token('admin@clinic-a.test')}` },
    });
    return deviceStatsResponseSchema.parse(await res.json()).devices;
  }

  it('is listed with the time of its last sync, though it never sent a change', async () => {
    const network = new TestNetwork();
    const nurse = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      deviceId: 'registration-desk',
    });
    await nurse.collection('patients').create({ name: 'Mercy Phiri' });
    expect((await nurse.sync()).success).toBe(true);

    const doctor = await openClient(server, 'admin@clinic-a.test', memoryStore(), network, {
      deviceId: 'rounds-tablet',
    });
    const before = Date.now();
    expect((await doctor.sync()).success).toBe(true);
    expect((await doctor.collection('patients').find()).map((p) => p.data['name'])).toEqual(['Mercy Phiri']);
    const rounds = (await devices()).find((d) => d.deviceId === 'rounds-tablet');
    expect(rounds).toMatchObject({ email: 'admin@clinic-a.test', total: 0 });
    expect(Date.parse(rounds?.lastSyncAt ?? '')).toBeGreaterThanOrEqual(before - 1000);
  });
});
