// One server, two products: each tenant's data follows its own schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempId, uuidv7 } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { pull, push } from './sync-client';

describe.each(dialects())('a schema per tenant on %s', (kind) => {
  let server: TestServer;
  let nurse: string;
  let vet: string;

  beforeAll(async () => {
    // The default schema is field-clinic; the veterinary practice runs vet-practice.
    server = await startTestServer(kind, { server: { tenantSchemas: { 'vet-a': vetPractice } } });
    nurse = await server.token('nurse@clinic-a.test');
    vet = await server.token('vet@vet-a.test');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  it('applies each tenant’s own collections and rules, and refuses the other product’s', async () => {
    const owner = makeTempId('users');
    const pet = makeTempId('pets');
    const vetPush = await push(server, vet, [
      { collection: 'users', type: 'create', id: owner, data: { name: 'Grace', role: 'CLIENT' } },
      { collection: 'pets', type: 'create', id: pet, data: { name: 'Rex', ownerId: owner } },
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Not a vet record' } },
    ]);
    expect(vetPush.results.map((r) => r.status)).toEqual(['applied', 'applied', 'rejected']);
    expect(vetPush.results[2]?.error?.code).toBe('UNKNOWN_COLLECTION');
    expect(vetPush.idMappings).toHaveLength(2);

    const nursePush = await push(server, nurse, [
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Amina K.' } },
      { collection: 'pets', type: 'create', id: makeTempId('pets'), data: { name: 'Rex', ownerId: '1' } },
    ]);
    expect(nursePush.results.map((r) => r.error?.code ?? r.status)).toEqual([
      'applied',
      'UNKNOWN_COLLECTION',
    ]);

    const vetPull = await pull(server, vet);
    expect(new Set(vetPull.changes.map((c) => c.collection))).toEqual(new Set(['users', 'pets']));
    const nursePull = await pull(server, nurse);
    expect(new Set(nursePull.changes.map((c) => c.collection))).toEqual(new Set(['patients']));
    const wrong = await server.request({
      method: 'GET',
      url: '/v1/sync/pull?collections=patients',
      token: vet,
    });
    expect(wrong.status).toBe(400);
    const record = await server.request({
      method: 'GET',
      url: `/v1/records/pets/${vetPush.results[1]?.id}`,
      token: vet,
    });
    expect(record.body).toMatchObject({ data: { name: 'Rex', ownerId: vetPush.results[0]?.id } });
  });
});
