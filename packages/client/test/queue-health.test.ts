// Seed 004's queue size rule as the client reports it: how many changes wait for the server, read
// as ok, warning or critical, over a day of work made offline and then synced to a real server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fieldClinic } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { SyncClient } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

async function createPatients(client: SyncClient, count: number, from: number): Promise<void> {
  const patients = client.collection('patients');
  for (let i = 0; i < count; i++) await patients.create({ name: `Patient ${from + i}` });
}

describe("the queue's health (seed 004: < 100 fine, 100-500 warning, > 500 critical)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(fieldClinic);
  });
  afterAll(async () => {
    await server.close();
  });

  it('rises with the changes made offline and falls once the server has them', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network, {
      retry: { baseMs: 60_000, maxMs: 60_000 },
      random: () => 0,
    });
    network.mode = 'offline';
    await createPatients(client, 99, 0);
    expect(client.queue.stats()).toMatchObject({ waiting: 99, health: 'ok' });
    await createPatients(client, 1, 99);
    expect(client.queue.stats()).toMatchObject({ waiting: 100, health: 'warning' });

    // A sync that cannot reach the server leaves every change waiting.
    expect((await client.sync()).success).toBe(false);
    expect(client.queue.stats()).toMatchObject({ waiting: 100, health: 'warning' });
    await createPatients(client, 400, 100);
    expect(client.queue.stats()).toMatchObject({ waiting: 500, health: 'warning' });
    await createPatients(client, 1, 500);
    expect(client.queue.stats()).toMatchObject({ waiting: 501, health: 'critical' });

    // The server acknowledges them all: they stay in the outbox as done, and no longer count.
    network.mode = 'online';
    expect((await client.sync()).success).toBe(true);
    expect(client.queue.stats()).toMatchObject({ total: 501, completed: 501, waiting: 0, health: 'ok' });
  });

  it('does not count changes the server refused: no sync sends them again', async () => {
    const network = new TestNetwork();
    const client = await openClient(server, 'nurse@clinic-a.test', memoryStore(), network);
    // Encounters of a patient that exists nowhere: the server refuses each for good.
    const encounters = client.collection('encounters');
    for (let i = 0; i < 100; i++) await encounters.create({ patientId: `nobody-${i}`, diagnosis: 'malaria' });
    expect(client.queue.stats()).toMatchObject({ waiting: 100, health: 'warning' });
    await client.sync();
    expect(client.queue.stats()).toMatchObject({ refused: 100, waiting: 0, health: 'ok' });
  });
});
