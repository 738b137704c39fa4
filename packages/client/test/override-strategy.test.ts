// A change sent with its own conflict rule (`{ strategy: 'client-wins' }`, seed 000's "Client-Wins
// (Emergency)", decision 0031), against a real server: honoured for a role allowed to override the
// collection, the collection's own rule for any other, kept with the op across a restart, and kept
// apart from edits made without it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { fieldClinic } from '@outpost/examples';
import { encryptedStore, indexedDbStore, memoryStore } from '../src/index';
import type { LocalStore, SyncClient } from '../src/index';
import {
  TestNetwork,
  closeClient,
  closeClients,
  openClient,
  serverState,
  startServer,
} from './client-fixture';
import type { TestServer } from './client-fixture';

afterEach(closeClients);

const nurse = 'nurse@clinic-a.test'; // clinician: read, create, update, delete
const admin = 'admin@clinic-a.test'; // admin: also resolve and override

let server: TestServer;
beforeAll(async () => {
  server = await startServer(fieldClinic);
});
afterAll(async () => server.close());

/** The ops a device pushed, with the strategy each carried (absent: none). */
function pushedOps(network: TestNetwork): Array<{ type: string; data?: unknown; strategy?: string }> {
  return network.pushes().flatMap((p) => p.ops as Array<{ type: string; data?: unknown; strategy?: string }>);
}

/**
 * A patient both tablets hold at version 1 (allergic to penicillin); then the nurse's tablet clears
 * the allergies by mistake and syncs (version 2). Tablet B has not pulled since: its change is made
 * on version 1, and meets the nurse's on the server.
 */
async function twoTablets(
  bEmail: string,
  name: string,
  bStore: LocalStore = memoryStore(),
): Promise<{ a: SyncClient; b: SyncClient; id: string; bNetwork: TestNetwork }> {
  const a = await openClient(server, nurse, memoryStore(), new TestNetwork(), { deviceId: 'tablet-a' });
  const bNetwork = new TestNetwork();
  const b = await openClient(server, bEmail, bStore, bNetwork, { deviceId: 'tablet-b' });
  const p = await a.collection('patients').create({ name, allergies: ['penicillin'], phone: '0888 100 200' });
  expect((await a.sync()).success).toBe(true);
  expect((await b.sync()).success).toBe(true);
  expect((await b.collection('patients').get(p.id))?.version).toBe(1);
  await a.collection('patients').update(p.id, { allergies: [] });
  expect((await a.sync()).pushed.applied).toBe(1);
  return { a, b, id: p.id, bNetwork };
}

async function allergiesOnServer(id: string): Promise<unknown> {
  return (await serverState(server, admin)).get(`patients/${id}`)?.allergies;
}

describe("a change sent with { strategy: 'client-wins' }", () => {
  it('wins for a role allowed to override: the server takes it, and both tablets show it after they sync', async () => {
    const { a, b, id, bNetwork } = await twoTablets(admin, 'Override Honoured');
    // The admin, in an emergency, puts the allergy back and says "my change wins".
    const shown = await b
      .collection('patients')
      .update(id, { allergies: ['penicillin', 'latex'] }, { strategy: 'client-wins' });
    expect(shown.data.allergies).toEqual(['penicillin', 'latex']);

    const result = await b.sync();
    expect(pushedOps(bNetwork).filter((o) => o.type === 'update')).toEqual([
      expect.objectContaining({ data: { allergies: ['penicillin', 'latex'] }, strategy: 'client-wins' }),
    ]);
    expect(result.pushed).toMatchObject({ applied: 1, conflicts: 0, rejected: 0 });
    expect(await allergiesOnServer(id)).toEqual(['penicillin', 'latex']);

    const onB = await b.collection('patients').get(id);
    expect(onB).toMatchObject({ pending: false, awaitingReview: false, refused: false });
    expect(onB?.data.allergies).toEqual(['penicillin', 'latex']);
    // The conflict is kept, settled by the rule the admin asked for.
    expect(b.conflicts.list().filter((c) => c.recordId === id)).toEqual([
      expect.objectContaining({
        summary: expect.objectContaining({ outcome: 'client-won', strategy: 'client-wins' }),
      }),
    ]);

    await a.sync();
    const onA = await a.collection('patients').get(id);
    expect(onA?.data.allergies).toEqual(['penicillin', 'latex']);
    expect(onA?.pending).toBe(false);
  });

  it("follows the collection's own rule for a role not allowed to override: the change waits for review, and no tablet shows it as won", async () => {
    const { a, b, id, bNetwork } = await twoTablets(nurse, 'Override Ignored');
    await b
      .collection('patients')
      .update(id, { allergies: ['penicillin', 'latex'] }, { strategy: 'client-wins' });

    const result = await b.sync();
    // Sent as asked: the server decides who may override, and ignores the rule for this role.
    expect(pushedOps(bNetwork).filter((o) => o.type === 'update')).toEqual([
      expect.objectContaining({ strategy: 'client-wins' }),
    ]);
    expect(result.pushed).toMatchObject({ applied: 0, conflicts: 1, rejected: 0 });
    // Patients merge field by field, and the same field changed on both sides waits for a person.
    expect(await allergiesOnServer(id)).toEqual([]);

    const onB = await b.collection('patients').get(id);
    expect(onB?.data.allergies).toEqual([]);
    expect(onB).toMatchObject({ awaitingReview: true, pending: false });
    const open = b.conflicts.list({ status: 'open' }).filter((c) => c.recordId === id);
    expect(open).toEqual([
      expect.objectContaining({
        summary: expect.objectContaining({
          outcome: 'open',
          strategy: 'manual',
          fields: ['allergies'],
          client: { data: { allergies: ['penicillin', 'latex'] } },
        }),
      }),
    ]);

    await a.sync();
    expect((await a.collection('patients').get(id))?.data.allergies).toEqual([]);
  });

  it("deletes over a colleague's edit for a role allowed to override, and both tablets see it gone", async () => {
    const { a, b, id, bNetwork } = await twoTablets(admin, 'Override Delete');
    await b.collection('patients').delete(id, { strategy: 'client-wins' });
    const result = await b.sync();
    expect(pushedOps(bNetwork).filter((o) => o.type === 'delete')).toEqual([
      expect.objectContaining({ strategy: 'client-wins' }),
    ]);
    expect(result.pushed).toMatchObject({ applied: 1, conflicts: 0 });
    expect((await serverState(server, admin)).has(`patients/${id}`)).toBe(false);
    expect(await b.collection('patients').get(id)).toBeNull();
    await a.sync();
    expect(await a.collection('patients').get(id)).toBeNull();
  });

  it('is stored with the change: a tablet closed before the sync sends it when reopened (encrypted IndexedDB)', async () => {
    const indexedDB = new IDBFactory();
    const openStore = () =>
      encryptedStore(indexedDbStore({ name: 'override-reopen', indexedDB, IDBKeyRange }), {
        passphrase: 'correct horse battery staple',
        iterations: 1_000,
      });
    const { b, id } = await twoTablets(admin, 'Override Reopened', openStore());
    await b
      .collection('patients')
      .update(id, { allergies: ['penicillin', 'latex'] }, { strategy: 'client-wins' });
    await closeClient(b);

    const network = new TestNetwork();
    const again = await openClient(server, admin, openStore(), network, { deviceId: 'tablet-b' });
    expect(again.queue.stats().pending).toBe(1);
    const result = await again.sync();
    expect(pushedOps(network)).toEqual([
      expect.objectContaining({ type: 'update', strategy: 'client-wins' }),
    ]);
    expect(result.pushed).toMatchObject({ applied: 1, conflicts: 0 });
    expect(await allergiesOnServer(id)).toEqual(['penicillin', 'latex']);
    expect((await again.collection('patients').get(id))?.data.allergies).toEqual(['penicillin', 'latex']);
  });

  it('is not folded into an edit made without it: each goes with its own rule, and only the override wins', async () => {
    const a = await openClient(server, nurse, memoryStore(), new TestNetwork(), { deviceId: 'tablet-a' });
    const bNetwork = new TestNetwork();
    const b = await openClient(server, admin, memoryStore(), bNetwork, { deviceId: 'tablet-b' });
    const p = await a.collection('patients').create({ name: 'Override Apart', allergies: ['penicillin'] });
    await a.sync();
    await b.sync();
    // The nurse changes the phone and clears the allergies (version 2)...
    await a.collection('patients').update(p.id, { phone: '0888 111 111', allergies: [] });
    await a.sync();
    // ...while the admin, on version 1, types a phone number as usual, then corrects the allergy
    // with "my change wins". Only the allergy was meant to override.
    await b.collection('patients').update(p.id, { phone: '0999 222 222' });
    await b
      .collection('patients')
      .update(p.id, { allergies: ['penicillin', 'latex'] }, { strategy: 'client-wins' });

    const result = await b.sync();
    const updates = pushedOps(bNetwork).filter((o) => o.type === 'update');
    expect(updates).toHaveLength(2);
    expect(updates[0]).toEqual(expect.objectContaining({ data: { phone: '0999 222 222' } }));
    expect(updates[0]).not.toHaveProperty('strategy');
    expect(updates[1]).toEqual(
      expect.objectContaining({ data: { allergies: ['penicillin', 'latex'] }, strategy: 'client-wins' }),
    );
    expect(result.pushed).toMatchObject({ applied: 1, conflicts: 1 });

    // The phone waits for review under the collection's rule; the allergy went in.
    const onServer = (await serverState(server, admin)).get(`patients/${p.id}`);
    expect(onServer).toMatchObject({ phone: '0888 111 111', allergies: ['penicillin', 'latex'] });
    const onB = await b.collection('patients').get(p.id);
    expect(onB?.data).toMatchObject({ phone: '0888 111 111', allergies: ['penicillin', 'latex'] });
    expect(onB?.awaitingReview).toBe(true);
    const conflicts = b.conflicts.list().filter((c) => c.recordId === p.id);
    expect(conflicts.map((c) => [c.summary.fields, c.summary.strategy, c.summary.outcome])).toEqual([
      [['phone'], 'manual', 'open'],
      [['allergies'], 'client-wins', 'client-won'],
    ]);
    await a.sync();
    expect((await a.collection('patients').get(p.id))?.data.allergies).toEqual(['penicillin', 'latex']);
  });

  it('refuses on the device a strategy the server does not know, and queues nothing', async () => {
    const client = await openClient(server, admin, memoryStore(), new TestNetwork(), {
      deviceId: 'tablet-c',
    });
    const p = await client.collection('patients').create({ name: 'Override Unknown' });
    const before = client.queue.stats().total;
    await expect(
      client.collection('patients').update(p.id, { phone: '1' }, { strategy: 'admin-wins' as never }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      client.collection('patients').delete(p.id, { strategy: 'admin-wins' as never }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(client.queue.stats().total).toBe(before);
    expect((await client.collection('patients').get(p.id))?.data).toEqual({ name: 'Override Unknown' });
  });
});
