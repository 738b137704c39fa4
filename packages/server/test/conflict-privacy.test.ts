// A conflict holds the record as the server had it. A role that may create records it may not read
// (an intake kiosk registers patients it cannot look up) must not learn a stored patient's record
// through a create that collided with it, and no one learns another user's conflict data by
// resending that user's opId.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collection, defineSchema, uuidv7 } from '@outpost/core';
import type { Conflict, PushOp, PushResponse } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { signToken } from './security/tokens';
import { hlc, opId } from './sync-client';

const clinic = defineSchema({
  name: 'kiosk-clinic',
  collections: {
    patients: collection({
      fields: z.object({ name: z.string().min(1), notes: z.string().optional() }),
      conflict: { strategy: 'merge', fallback: 'manual' },
      permissions: {
        admin: ['read', 'create', 'update', 'delete', 'resolve'],
        clinician: ['read', 'create', 'update'],
        kiosk: ['create'],
      },
    }),
  },
});

const secret = 'TB treatment, defaulted twice';

describe.each(dialects())('conflict data and read permission, on %s', (kind) => {
  let server: TestServer;
  const tokens: Record<'admin' | 'kiosk' | 'nurse1' | 'nurse2', string> = {
    admin: '',
    kiosk: '',
    nurse1: '',
    nurse2: '',
  };

  beforeAll(async () => {
    server = await startTestServer(kind, { schema: clinic });
    const sign = (sub: string, roles: string[]) => signToken({ sub, tenant: 'clinic-a', roles });
    tokens.admin = await sign('admin-1', ['admin']);
    tokens.kiosk = await sign('kiosk-1', ['kiosk']);
    tokens.nurse1 = await sign('nurse-1', ['clinician']);
    tokens.nurse2 = await sign('nurse-2', ['clinician']);
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  const push = (token: string, ops: PushOp[]) =>
    server.request<PushResponse>({
      method: 'POST',
      url: '/v1/sync/push',
      token,
      body: { clientId: 'c', deviceId: 'd', ops },
    });
  const create = (id: string, data: Record<string, unknown>): PushOp => ({
    opId: opId(),
    collection: 'patients',
    type: 'create',
    id,
    data,
    hlc: hlc(),
  });
  const listConflicts = (token: string) =>
    server.request<{ conflicts: Conflict[] }>({ method: 'GET', url: '/v1/conflicts', token });

  it('answers a create-only role’s colliding create without the stored record, and lists it only to resolvers', async () => {
    const id = uuidv7();
    expect((await push(tokens.admin, [create(id, { name: 'Thabo N.', notes: secret })])).status).toBe(200);
    expect(
      (await server.request({ method: 'GET', url: `/v1/records/patients/${id}`, token: tokens.kiosk }))
        .status,
    ).toBe(403);

    const op = create(id, { name: 'Someone else' });
    const first = await push(tokens.kiosk, [op]);
    expect(first.status).toBe(200);
    const [result] = first.body.results;
    // The kiosk is told its create met a record and waits for a person, with what it sent...
    expect(result).toMatchObject({
      status: 'conflict',
      conflict: { outcome: 'open', client: { data: { name: 'Someone else' } } },
    });
    // ...but not what the record holds.
    expect(result?.conflict?.server).toBeUndefined();
    expect(JSON.stringify(first.body)).not.toContain(secret);

    // Sent again, as after a lost answer: the same.
    const again = await push(tokens.kiosk, [op]);
    expect(again.body.results[0]).toMatchObject({ status: 'duplicate', originalStatus: 'conflict' });
    expect(JSON.stringify(again.body)).not.toContain(secret);

    // The archive shows it to those who resolve patients, with both versions; not to the kiosk.
    const conflictId = result?.conflict?.id ?? '';
    const kioskList = await listConflicts(tokens.kiosk);
    expect(kioskList.status).toBe(200);
    expect(kioskList.body.conflicts.map((c) => c.id)).not.toContain(conflictId);
    const kioskGet = await server.request({
      method: 'GET',
      url: `/v1/conflicts/${conflictId}`,
      token: tokens.kiosk,
    });
    expect(kioskGet.status).toBe(404);
    const adminList = await listConflicts(tokens.admin);
    expect(adminList.body.conflicts.find((c) => c.id === conflictId)?.server.data).toMatchObject({
      notes: secret,
    });
  });

  it('shows a clinician who may read the record their own conflict whole, and no one else’s through its opId', async () => {
    const id = uuidv7();
    await push(tokens.nurse1, [create(id, { name: 'Grace', notes: 'first visit' })]);
    const edit: PushOp = {
      opId: opId(),
      collection: 'patients',
      type: 'update',
      id,
      baseVersion: 1,
      data: { notes: 'nurse 1 typed this' },
      hlc: hlc(),
    };
    await push(tokens.nurse2, [
      {
        opId: opId(),
        collection: 'patients',
        type: 'update',
        id,
        baseVersion: 1,
        data: { notes: 'other' },
        hlc: hlc(),
      },
    ]);
    const own = await push(tokens.nurse1, [edit]);
    expect(own.body.results[0]).toMatchObject({
      status: 'conflict',
      conflict: { server: { data: { notes: 'other' } }, client: { data: { notes: 'nurse 1 typed this' } } },
    });
    // Nurse 1 resending it gets both versions back from the archive, as the first answer had them.
    const resent = await push(tokens.nurse1, [edit]);
    expect(resent.body.results[0]).toMatchObject({
      status: 'duplicate',
      conflict: { server: { data: { notes: 'other' } }, client: { data: { notes: 'nurse 1 typed this' } } },
    });
    // Another user who sends that opId learns its outcome, not what nurse 1 typed.
    const replayed = await push(tokens.nurse2, [edit]);
    expect(replayed.body.results[0]).toMatchObject({ status: 'duplicate', originalStatus: 'conflict' });
    expect(JSON.stringify(replayed.body)).not.toContain('nurse 1 typed this');
  });
});
