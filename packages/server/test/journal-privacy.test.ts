// The op journal is the audit of push ops, and keeps no record contents (docs/server.md). An op
// refused for what its data said gets a message that may repeat it; the journal keeps the code, the
// rejection archive the rest, and a resend by its sender gets the first answer whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@outpost/core';
import type { PushOp } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { signToken } from './security/tokens';
import { hlc, opId, push } from './sync-client';

describe.each(dialects())('what the op journal keeps of a refused op, on %s', (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { tenantSchemas: { 'vet-a': vetPractice } } });
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function journalAndAudit(tenant: string): Promise<string> {
    const { store } = server.app.outpost;
    return JSON.stringify([await store.opLog(tenant), await store.auditEvents(tenant)]);
  }

  it('a validate hook’s message repeating the data: not in the journal, whole in the answer and its resend', async () => {
    const vet = await server.token('vet@vet-a.test');
    const owner = `temp_${Date.now()}_a1b2c3_users`;
    const pet = `temp_${Date.now()}_d4e5f6_pets`;
    // A vet types free text into the appointment's date field.
    const typed = 'Bella euthanasia consult, owner Jane Mokoena';
    const ops: PushOp[] = [
      {
        opId: opId(),
        hlc: hlc(),
        collection: 'users',
        type: 'create',
        id: owner,
        data: { name: 'Jane M.', role: 'CLIENT' },
      },
      {
        opId: opId(),
        hlc: hlc(),
        collection: 'pets',
        type: 'create',
        id: pet,
        data: { name: 'Bella', ownerId: owner },
      },
      {
        opId: opId(),
        hlc: hlc(),
        collection: 'appointments',
        type: 'create',
        id: `temp_${Date.now()}_0a0b0c_appointments`,
        data: { petId: pet, date: typed },
      },
    ];
    const send = (token: string) =>
      server.request<{ results: Array<{ status: string; error?: { code: string; message: string } }> }>({
        method: 'POST',
        url: '/v1/sync/push',
        token,
        body: { clientId: 'c1', deviceId: 'd1', ops },
      });
    const first = await send(vet);
    expect(first.body.results.map((r) => r.status)).toEqual(['applied', 'applied', 'rejected']);
    const refusal = first.body.results[2]?.error;
    expect(refusal?.message).toContain(typed);

    expect(await journalAndAudit('vet-a')).not.toContain('euthanasia');
    // The vet's device resends after a lost answer: the same refusal, word for word.
    const again = await send(vet);
    expect(again.body.results[2]).toMatchObject({
      status: 'duplicate',
      originalStatus: 'rejected',
      error: refusal,
    });
    // Anyone else sending that opId learns the code, not what the vet typed.
    const other = await signToken({ sub: 'someone-else', tenant: 'vet-a', roles: ['clinician'] });
    const replayed = await send(other);
    expect(replayed.body.results[2]).toMatchObject({ status: 'duplicate', error: { code: refusal?.code } });
    expect(JSON.stringify(replayed.body)).not.toContain('euthanasia');
  });

  it('a reference field holding text that is no id: not in the journal', async () => {
    const nurse = await server.token('nurse@clinic-a.test');
    // A device that put the patient's name where the patient's id belongs.
    const res = await push(server, nurse, [
      {
        collection: 'encounters',
        type: 'create',
        id: uuidv7(),
        data: { patientId: 'Zanele Dlamini, HIV+', diagnosis: 'x' },
      },
    ]);
    expect(res.results[0]?.status).toBe('rejected');
    expect(await journalAndAudit('clinic-a')).not.toContain('Zanele');
    // The rejection archive keeps it all, for the device to show and a person to act on.
    const archived = await server.app.outpost.store.listRejections(
      'clinic-a',
      { opId: res.results[0]?.opId },
      { userId: '', resolvable: ['encounters'], readable: ['encounters'] },
      { limit: 10 },
    );
    expect(JSON.stringify(archived)).toContain('Zanele');
  });
});
