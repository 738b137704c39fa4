// The schema's permissions applied on the device (seed 003's permission-aware storage and
// `useOfflinePermissions`): with the person's roles known, a change their role may not make is
// refused at the write, with the server's own words, and never waits in the outbox for days to be
// refused at the next sync. Against a real server, which applies the same rule from the same schema.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ForbiddenError, collection, defineSchema } from '@outpost/core';
import type { Action } from '@outpost/core';
import { createSyncClient, memoryStore } from '../src/index';
import { TestNetwork, closeClients, openClient, startServer } from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

/** A clinic where clinicians register and update patients, and only admins prescribe or delete. */
const desk = defineSchema({
  name: 'desk',
  collections: {
    patients: collection({
      fields: z.object({ name: z.string() }),
      permissions: { clinician: ['read', 'create', 'update'], admin: ['read', 'create', 'update', 'delete'] },
    }),
    prescriptions: collection({
      fields: z.object({ patientId: z.string(), drug: z.string() }),
      references: { patientId: 'patients' },
      permissions: { clinician: ['read'], admin: ['read', 'create', 'update', 'delete', 'resolve'] },
    }),
  },
});

const nurse = 'nurse@clinic-a.test'; // clinician
const admin = 'admin@clinic-a.test'; // admin
const actions: readonly Action[] = ['read', 'create', 'update', 'delete', 'resolve', 'override'];

let server: TestServer;
beforeAll(async () => {
  server = await startServer(desk);
});
afterAll(async () => server.close());

async function deviceOf(email: string, roles?: readonly string[] | null) {
  const network = new TestNetwork();
  const client = await openClient(server, email, memoryStore(), network, {
    schema: desk,
    ...(roles !== undefined ? { roles } : {}),
  });
  return { client, network };
}

async function refusal(write: Promise<unknown>): Promise<ForbiddenError> {
  const error: unknown = await write.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ForbiddenError);
  return error as ForbiddenError;
}

describe("the schema's permissions on the device", () => {
  it("refuses at once a change the nurse's role may not make, storing nothing and sending nothing; the rest goes", async () => {
    const { client, network } = await deviceOf(nurse, ['clinician']);
    const patient = await client.collection('patients').create({ name: 'Grace Banda' });

    const prescribing = await refusal(
      client.collection('prescriptions').create({ patientId: patient.id, drug: 'amoxicillin' }),
    );
    expect(prescribing).toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
      message: 'your role may not create prescriptions',
      details: { collection: 'prescriptions', action: 'create' },
    });
    const deleting = await refusal(client.collection('patients').delete(patient.id));
    expect(deleting.message).toBe('your role may not delete patients');

    await client.collection('patients').update(patient.id, { name: 'Grace N. Banda' });
    // Only what the role may do is on the device: the patient, her create and update.
    expect(await client.collection('prescriptions').find()).toEqual([]);
    expect((await client.collection('patients').get(patient.id))?.data).toEqual({ name: 'Grace N. Banda' });
    expect(client.queue.list().map((o) => `${o.type} ${o.collection}`)).toEqual([
      'create patients',
      'update patients',
    ]);

    const result = await client.sync();
    expect(result.pushed).toMatchObject({ applied: 1, rejected: 0 });
    const sent = network.pushes().flatMap((p) => p.ops as Array<{ collection: string }>);
    expect(sent.map((o) => o.collection)).toEqual(['patients']);
  });

  it('says what the server would: the same change taken with no roles known is refused at the next sync in the same words', async () => {
    const { client } = await deviceOf(nurse);
    expect(client.roles).toBeNull();
    const patient = await client.collection('patients').create({ name: 'Daniel Phiri' });
    // Nothing known of the roles: taken here, as before, and refused by the server later.
    await client.collection('prescriptions').create({ patientId: patient.id, drug: 'amoxicillin' });
    const result = await client.sync();
    expect(result.pushed).toMatchObject({ applied: 1, rejected: 1 });
    const refused = client.queue.list().find((o) => o.collection === 'prescriptions');
    expect(refused?.lastError).toMatchObject({
      code: 'FORBIDDEN',
      message: 'your role may not create prescriptions',
    });
  });

  it("`can` answers the schema's permissions for the roles, with no network", async () => {
    const { client, network } = await deviceOf(nurse, ['clinician']);
    network.mode = 'offline';
    for (const name of desk.collectionNames) {
      for (const action of actions) {
        expect(client.can(name, action), `${name} ${action}`).toBe(desk.can(['clinician'], name, action));
      }
    }
    expect(client.can('prescriptions', 'read')).toBe(true);
    expect(client.can('prescriptions', 'create')).toBe(false);
    expect(client.can('invoices', 'read')).toBe(false);
  });

  it('setRoles changes what is checked (roles read again at a refresh), and tells `roles` only of a change', async () => {
    const { client } = await deviceOf(admin, ['clinician']);
    const told: Array<readonly string[] | null> = [];
    client.on('roles', (roles) => told.push(roles));
    const patient = await client.collection('patients').create({ name: 'Ruth Mwale' });
    await refusal(client.collection('prescriptions').create({ patientId: patient.id, drug: 'zinc' }));

    client.setRoles(['admin', 'clinician']);
    client.setRoles(['clinician', 'admin']); // the same roles: nothing to tell
    expect(told).toEqual([['admin', 'clinician']]);
    expect(client.roles).toEqual(['admin', 'clinician']);
    await client.collection('prescriptions').create({ patientId: patient.id, drug: 'zinc' });
    expect((await client.sync()).pushed).toMatchObject({ applied: 2, rejected: 0 });

    // Null: nothing checked here, every action allowed as far as the device knows.
    client.setRoles(null);
    expect(told.at(-1)).toBeNull();
    expect(client.can('patients', 'override')).toBe(true);

    // A mistaken value is refused where it is made and changes nothing.
    for (const bad of [[''], 'admin', [42]]) {
      expect(() => client.setRoles(bad as unknown as string[])).toThrow(/roles must be an array/);
    }
    expect(client.roles).toBeNull();
  });

  it('refuses a client opened with roles that are not role names', async () => {
    const opening = createSyncClient({
      schema: desk,
      url: server.url,
      store: memoryStore(),
      deviceId: 'tablet-9',
      roles: 'clinician' as unknown as string[],
      probeIntervalMs: false,
      autoSync: false,
    });
    await expect(opening).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
