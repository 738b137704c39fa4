// Seed 001's queue calls against a real server (decision 0052): a SmartDMV screen that queues
// `addOperation({ operation, entityType, data, tempId })` and takes one back with
// `removeOperation(seq)` gets what the collection's own create, update and delete give: the same
// checks, the record on the device at once, the op that reaches the server once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isOutpostError, makeTempId } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { memoryStore } from '../src/index';
import type { SyncClient } from '../src/index';
import { TestNetwork, closeClients, openClient, serverState, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

const vet = 'vet@vet-a.test';

afterEach(closeClients);

describe('queue.addOperation and queue.removeOperation, as seed 001 calls them', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(vetPractice);
  });
  afterAll(() => server.close());

  const tablet = (network = new TestNetwork()) =>
    openClient(server, vet, memoryStore(), network, {
      schema: vetPractice,
      deviceId: `vet-${Math.random()}`,
    });

  /** The code of the error a call threw. */
  async function refusal(call: Promise<unknown>): Promise<string> {
    const err: unknown = await call.then(
      () => null,
      (e: unknown) => e,
    );
    return isOutpostError(err) ? err.code : String(err);
  }

  it('queues a create under the app’s temp id, then an update and a delete naming the record, and the server applies each once', async () => {
    const client: SyncClient = await tablet();
    const ownerTemp = makeTempId('users');
    const owner = await client.queue.addOperation({
      operation: 'create',
      entityType: 'users',
      data: { name: 'Mr Banda' },
      tempId: ownerTemp,
    });
    expect(owner).toMatchObject({ type: 'create', collection: 'users', id: ownerTemp, status: 'pending' });
    const pet = await client.queue.addOperation({
      operation: 'create',
      entityType: 'pets',
      data: { name: 'Rex', ownerId: ownerTemp },
    });
    expect(pet?.id).toMatch(/^temp_/);
    const petId = pet?.id ?? '';
    // On the device at once, as a collection's create shows it.
    expect((await client.collection('pets').get(petId))?.data).toEqual({ name: 'Rex', ownerId: ownerTemp });
    expect(client.queue.stats().pending).toBe(2);

    expect((await client.sync()).success).toBe(true);
    const rex = (await client.collection('pets').find())[0];
    expect(rex?.id).toMatch(/^\d+$/);
    // The app still holds the temp ids it made: an update and a delete naming them reach the records.
    const renamed = await client.queue.addOperation({
      operation: 'update',
      entityType: 'pets',
      entityId: petId,
      data: { name: 'Rex II' },
    });
    expect(renamed).toMatchObject({ type: 'update', id: rex?.id, data: { name: 'Rex II' } });
    // The same values again change nothing: nothing is queued.
    expect(
      await client.queue.addOperation({
        operation: 'update',
        entityType: 'pets',
        entityId: petId,
        data: { name: 'Rex II' },
      }),
    ).toBeNull();
    const gone = await client.queue.addOperation({
      operation: 'delete',
      entityType: 'pets',
      entityId: petId,
    });
    expect(gone).toMatchObject({ type: 'delete', id: rex?.id });
    expect(await client.collection('pets').get(petId)).toBeNull();

    expect((await client.sync()).success).toBe(true);
    const onServer = await serverState(server, vet);
    expect(onServer.has(`pets/${rex?.id}`)).toBe(false);
    expect([...onServer.values()]).toContainEqual({ name: 'Mr Banda' });
  });

  it('refuses, with nothing queued, what the collection would refuse and what seed 001 leaves out', async () => {
    const client = await tablet();
    const refusals = await Promise.all([
      // SmartDMV's own temp ids are not the client's: the server numbers appointments from a create
      // naming a temp id of makeTempId's form.
      refusal(
        client.queue.addOperation({
          operation: 'create',
          entityType: 'appointments',
          data: { date: '2026-06-02T09:00:00.000Z', petId: '1' },
          tempId: 'temp_appt_12345',
        }),
      ),
      refusal(
        client.queue.addOperation({ operation: 'create', entityType: 'pets', data: { species: 'dog' } }),
      ),
      refusal(client.queue.addOperation({ operation: 'create', entityType: 'pets' })),
      refusal(client.queue.addOperation({ operation: 'update', entityType: 'pets', data: { name: 'Rex' } })),
      refusal(client.queue.addOperation({ operation: 'delete', entityType: 'invoices', entityId: '1' })),
      refusal(
        client.queue.addOperation({
          operation: 'upsert' as 'create',
          entityType: 'pets',
          data: { name: 'Rex' },
        }),
      ),
    ]);
    expect(refusals).toEqual([
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'NOT_FOUND',
      'VALIDATION_FAILED',
    ]);
    expect(client.queue.list()).toEqual([]);
  });

  it('removes an op by what it is: a change not sent is withdrawn, a refused one discarded, a delivered one cleared, a sent one kept', async () => {
    const network = new TestNetwork();
    const client = await tablet(network);
    const owner = await client.queue.addOperation({
      operation: 'create',
      entityType: 'users',
      data: { name: 'Ms Phiri' },
    });
    const ownerId = owner?.id ?? '';
    // Not sent: withdrawn, the record goes with it.
    const draft = await client.queue.addOperation({
      operation: 'create',
      entityType: 'pets',
      data: { name: 'Mimi', ownerId },
    });
    // A change that depends on the owner's create: the owner cannot go alone.
    expect(await refusal(client.queue.removeOperation(owner?.seq ?? 0))).toBe('CONFLICT');
    expect(await client.queue.removeOperation(draft?.seq ?? 0)).toBe(1);
    expect(await client.collection('pets').find()).toEqual([]);
    expect(await client.queue.removeOperation(draft?.seq ?? 0)).toBe(0);

    // Refused by the server for good (a pet of an owner that exists nowhere): discarded once read.
    const stray = await client.queue.addOperation({
      operation: 'create',
      entityType: 'pets',
      data: { name: 'Ghost', ownerId: '999999' },
    });
    expect((await client.sync()).success).toBe(true);
    const refused = client.queue.list().find((o) => o.seq === stray?.seq);
    expect(refused).toMatchObject({ rejected: true });
    expect(await client.queue.removeOperation(stray?.seq ?? 0)).toBe(1);

    // Delivered: cleared now rather than after a day.
    const delivered = client.queue.list().find((o) => o.seq === owner?.seq);
    expect(delivered?.status).toBe('done');
    expect(await client.queue.removeOperation(owner?.seq ?? 0)).toBe(1);
    expect(client.queue.list()).toEqual([]);

    // Sent without an answer: it may be on the server, and stays.
    const sent = await client.queue.addOperation({
      operation: 'update',
      entityType: 'users',
      entityId: ownerId,
      data: { name: 'Mrs Phiri' },
    });
    network.mode = 'lose-answers';
    expect((await client.sync()).success).toBe(false);
    network.mode = 'online';
    expect(await refusal(client.queue.removeOperation(sent?.seq ?? 0))).toBe('CONFLICT');
    expect(client.queue.list().map((o) => o.seq)).toEqual([sent?.seq]);
  });

  it('leaves a change in conflict to the person who settles it', async () => {
    const first = await tablet();
    const second = await tablet();
    const owner = await first.queue.addOperation({
      operation: 'create',
      entityType: 'users',
      data: { name: 'Mr Banda' },
    });
    const pet = await first.queue.addOperation({
      operation: 'create',
      entityType: 'pets',
      data: { name: 'Rex', ownerId: owner?.id ?? '' },
    });
    const visit = await first.queue.addOperation({
      operation: 'create',
      entityType: 'appointments',
      data: { date: '2026-06-02T09:00:00.000Z', petId: pet?.id ?? '' },
    });
    await first.queue.addOperation({
      operation: 'create',
      entityType: 'soapNotes',
      data: { appointmentId: visit?.id ?? '' },
    });
    expect((await first.sync()).success).toBe(true);
    expect((await second.sync()).success).toBe(true);
    const noteId = (await first.collection('soapNotes').find())[0]?.id ?? '';
    // Both vets write the plan: the same section of one note waits for a person (merge, then manual).
    await first.queue.addOperation({
      operation: 'update',
      entityType: 'soapNotes',
      entityId: noteId,
      data: { plan: 'Rest' },
    });
    const mine = await second.queue.addOperation({
      operation: 'update',
      entityType: 'soapNotes',
      entityId: noteId,
      data: { plan: 'Surgery' },
    });
    expect((await first.sync()).success).toBe(true);
    expect((await second.sync()).success).toBe(true);
    expect(second.queue.list().find((o) => o.seq === mine?.seq)?.status).toBe('conflict');
    expect(await refusal(second.queue.removeOperation(mine?.seq ?? 0))).toBe('CONFLICT');
    expect(second.conflicts.list({ status: 'open' })).toHaveLength(1);
  });
});
