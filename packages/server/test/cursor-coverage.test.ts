// A cursor names the collections it read. A pull that reads more than that (a role given read
// access, a selective sync widened) must not go on from it as if it had read them: records of those
// collections stored before the cursor would never reach the device.
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collection, defineSchema, uuidv7 } from '@outpost/core';
import type { Action } from '@outpost/core';
import { createStorage, dialects, startTestServer } from './server-fixture';
import type { Storage, TestServer } from './server-fixture';
import { signToken } from './security/tokens';
import { pull, pullAll, push } from './sync-client';

const all: readonly Action[] = ['read', 'create', 'update', 'delete'];

/** Patients for every clinician; invoices for billing staff alone; visits for both. */
const collections = {
  patients: collection({
    fields: z.object({ name: z.string() }),
    permissions: { clinician: all, billing: all },
  }),
  invoices: collection({
    fields: z.object({ amount: z.number() }),
    permissions: { billing: all },
  }),
};
const clinic = defineSchema({ name: 'coverage', collections });
/** The same clinic after an upgrade that added a collection. */
const upgraded = defineSchema({
  name: 'coverage',
  collections: {
    ...collections,
    referrals: collection({
      fields: z.object({ to: z.string() }),
      permissions: { clinician: all, billing: all },
    }),
  },
});

/** Tokens of one user of clinic-a, as their identity provider signs them before and after a role change. */
const as = (roles: string[]) => signToken({ sub: 'user-7', tenant: 'clinic-a', roles });

interface Expired {
  error: { code: string; details: { collections: string[] } };
}

describe.each(dialects())('pull cursors and the collections they read, on %s', (kind) => {
  let storage: Storage | undefined;
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    await storage?.destroy();
    server = undefined;
    storage = undefined;
  });

  async function start(schema = clinic): Promise<TestServer> {
    storage ??= await createStorage(kind);
    server = await startTestServer(kind, { storage, schema });
    return server;
  }

  function pullFrom(s: TestServer, token: string, cursor: string) {
    return s.request<Expired>({ method: 'GET', url: `/v1/sync/pull?cursor=${cursor}`, token });
  }

  it('sends a clinician given billing access back to the start, where the older invoices come', async () => {
    const s = await start();
    const billing = await as(['billing']);
    const clinician = await as(['clinician']);
    const invoice = uuidv7();
    await push(s, billing, [{ collection: 'invoices', type: 'create', id: invoice, data: { amount: 40 } }]);
    const patient = uuidv7();
    await push(s, clinician, [
      { collection: 'patients', type: 'create', id: patient, data: { name: 'Amina' } },
    ]);

    const before = await pullAll(s, clinician);
    expect(before.changes.map((c) => c.id)).toEqual([patient]);

    // The same person, now also billing: going on from the cursor would skip the invoice for good.
    const promoted = await as(['clinician', 'billing']);
    const res = await pullFrom(s, promoted, before.cursor);
    expect(res.status).toBe(410);
    expect(res.body.error).toMatchObject({ code: 'CURSOR_EXPIRED', details: { collections: ['invoices'] } });

    // From the start, as the client then does, the invoice comes with the patient.
    const again = await pullAll(s, promoted);
    expect(new Set(again.changes.map((c) => c.id))).toEqual(new Set([patient, invoice]));
  });

  it('goes on from the cursor when the collection gained holds nothing older than it', async () => {
    const s = await start();
    const clinician = await as(['clinician']);
    await push(s, clinician, [
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Joseph' } },
    ]);
    const before = await pullAll(s, clinician);

    const promoted = await as(['clinician', 'billing']);
    const invoice = uuidv7();
    await push(s, promoted, [{ collection: 'invoices', type: 'create', id: invoice, data: { amount: 12 } }]);
    const after = await pullAll(s, promoted, { cursor: before.cursor });
    expect(after.changes.map((c) => c.id)).toEqual([invoice]);
  });

  it('goes on from the cursor after an upgrade adds a collection, and delivers its records', async () => {
    const first = await start();
    const clinician = await as(['clinician']);
    await push(first, clinician, [
      { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Grace' } },
    ]);
    const before = await pullAll(first, clinician);
    await first.close();

    const s = await start(upgraded);
    const referral = uuidv7();
    await push(s, clinician, [
      { collection: 'referrals', type: 'create', id: referral, data: { to: 'Zomba' } },
    ]);
    const after = await pullAll(s, clinician, { cursor: before.cursor });
    expect(after.changes.map((c) => c.id)).toEqual([referral]);
  });

  it('goes on for a role that lost a collection, without its records, and starts over when it returns', async () => {
    const s = await start();
    const billing = await as(['billing']);
    const start0 = await pullAll(s, billing);
    const invoice = uuidv7();
    await push(s, billing, [{ collection: 'invoices', type: 'create', id: invoice, data: { amount: 7 } }]);

    // Billing taken away: the pull goes on, and the invoice written since is not sent.
    const demoted = await as(['clinician']);
    const patient = uuidv7();
    await push(s, demoted, [
      { collection: 'patients', type: 'create', id: patient, data: { name: 'Thoko' } },
    ]);
    const without = await pullAll(s, demoted, { cursor: start0.cursor });
    expect(without.changes.map((c) => c.id)).toEqual([patient]);

    // Given back, the cursor that read without it passed the invoice by: from the start.
    const res = await pullFrom(s, billing, without.cursor);
    expect(res.status).toBe(410);
    expect(res.body.error.details.collections).toEqual(['invoices']);
  });

  it('answers a role that may read nothing with a cursor it can come back with', async () => {
    const s = await start();
    const nobody = await as(['visitor']);
    const empty = await pull(s, nobody);
    expect(empty.changes).toEqual([]);
    expect((await pull(s, nobody, { cursor: empty.cursor })).changes).toEqual([]);
  });
});
