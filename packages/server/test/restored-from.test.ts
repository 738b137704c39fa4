// A record given back to a restored server under a new number (decision 0051): every device that
// held a record the lost database numbered after the backup creates it again, naming that number
// (`restoredFrom`). The server creates it once, for the first; the creates of the others name that
// record (their temp ids map to it) and are settled against it, so the practice has it once.
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempId } from '@outpost/core';
import type { ErrorBody, PushResponse } from '@outpost/core';
import { vetPractice } from '@outpost/examples';
import { markRestored } from '../src/index';
import { dialects } from './server-fixture';
import type { DialectName, TestServer } from './server-fixture';
import { restoreHarness } from './restore-places';
import { pullAll, push } from './sync-client';

const owner = (name: string, restoredFrom?: string) => ({
  collection: 'users',
  type: 'create' as const,
  id: makeTempId('users'),
  data: { name },
  ...(restoredFrom !== undefined ? { restoredFrom } : {}),
});

describe.each(dialects())('records given back under a new number, on %s', (kind: DialectName) => {
  const { place, copyOf, serverOn, stop, cleanUp } = restoreHarness(kind, vetPractice);
  afterEach(cleanUp);

  /** A practice whose backup had owners 1 and 2; the lost database numbered 3 and 4 after it. */
  async function practice(restore: boolean): Promise<{ server: TestServer; vet: string }> {
    const live = await place();
    let server = await serverOn(live);
    const vet = await server.token('vet@vet-a.test');
    await push(server, vet, [owner('Ruth'), owner('Peter')]);
    await stop(server);
    if (!restore) {
      server = await serverOn(live);
      return { server, vet: await server.token('vet@vet-a.test') };
    }
    const backup = await copyOf(live);
    await markRestored(backup.target);
    server = await serverOn(backup);
    return { server, vet: await server.token('vet@vet-a.test') };
  }

  const owners = async (server: TestServer, vet: string) =>
    (await pullAll(server, vet)).changes
      .filter((c) => c.collection === 'users' && !c.deleted)
      .map((c) => [c.id, c.data?.['name']]);

  it('creates a lost number’s record once, whichever devices give it back, and maps the others’ temp ids to it', async () => {
    const { server, vet } = await practice(true);
    const first = owner('Grace', '3');
    const answered = await push(server, vet, [first], { clientId: 'tablet-1', deviceId: 'tablet-1' });
    expect(answered.results.map((r) => [r.status, r.id])).toEqual([['applied', '3']]);
    // A second tablet gives back the same record, and a third a record numbered 4 on the lost
    // database; a re-send of the first (its answer lost) is a duplicate as ever.
    const second = owner('Grace', '3');
    const again = await push(server, vet, [second, owner('Thoko', '4')], {
      clientId: 'tablet-2',
      deviceId: 'tablet-2',
    });
    expect(again.results.map((r) => [r.status, r.id])).toEqual([
      ['applied', '3'],
      ['applied', '4'],
    ]);
    expect(again.idMappings).toEqual(
      expect.arrayContaining([{ collection: 'users', tempId: second.id, id: '3' }]),
    );
    expect(await owners(server, vet)).toEqual([
      ['1', 'Ruth'],
      ['2', 'Peter'],
      ['3', 'Grace'],
      ['4', 'Thoko'],
    ]);
    // The second tablet's later changes naming its temp id reach that record.
    const named = await push(
      server,
      vet,
      [
        {
          collection: 'pets',
          type: 'create',
          id: makeTempId('pets'),
          data: { name: 'Rex', ownerId: second.id },
        },
      ],
      { clientId: 'tablet-2', deviceId: 'tablet-2' },
    );
    expect(named.results[0]?.status).toBe('applied');
    const pets = (await pullAll(server, vet)).changes.filter((c) => c.collection === 'pets');
    expect(pets.map((p) => p.data?.['ownerId'])).toEqual(['3']);
  });

  it('maps a temp id settled against a record given back before it, when its create is sent again too', async () => {
    const { server, vet } = await practice(true);
    await push(server, vet, [{ ...owner('Grace', '3'), data: { name: 'Grace', role: 'owner' } }], {
      clientId: 'tablet-1',
      deviceId: 'tablet-1',
    });
    // A second tablet gives back its older copy (without the role): settled against record 3 by
    // the users' rule, the first's later state standing. Its answer is lost, and it sends it again.
    const second = { ...owner('Grace', '3'), opId: 'op-second', hlc: '001000000000000-000000-tablet2' };
    const tablet2 = { clientId: 'tablet-2', deviceId: 'tablet-2' };
    const first = await push(server, vet, [second], tablet2);
    const again = await push(server, vet, [second], tablet2);
    expect(first.results.map((r) => [r.status, r.id])).toEqual([['conflict', '3']]);
    expect(again.results.map((r) => [r.status, r.originalStatus, r.id])).toEqual([
      ['duplicate', 'conflict', '3'],
    ]);
    // Told the record its temp id names either way: without it, the tablet would keep the record
    // under the temp id, beside record 3, with nothing left to send that could map it.
    for (const answer of [first, again]) {
      expect(answer.idMappings).toEqual(
        expect.arrayContaining([{ collection: 'users', tempId: second.id, id: '3' }]),
      );
    }
  });

  it('takes restoredFrom as a plain create where it names no number the lost database gave, and refuses one that is no number', async () => {
    const never = await practice(false);
    const plain = await push(never.server, never.vet, [owner('Grace', '3'), owner('Grace', '3')]);
    // Never restored: the hint means nothing, and each create is a record of its own.
    expect(plain.results.map((r) => r.id)).toEqual(['3', '4']);

    const { server, vet } = await practice(true);
    // 2 is the backup's own: no record was lost under it.
    const backupNumber = await push(server, vet, [owner('Someone', '2'), owner('Other', '2')]);
    expect(backupNumber.results.map((r) => r.id)).toEqual(['3', '4']);
    const res = await server.request<PushResponse & ErrorBody>({
      method: 'POST',
      url: '/v1/sync/push',
      token: vet,
      body: {
        clientId: 'tablet-1',
        deviceId: 'tablet-1',
        ops: [
          { opId: 'op-a', ...owner('Odd', '03') },
          { opId: 'op-b', ...owner('Odd', 'seven') },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r) => [r.status, r.error?.code])).toEqual([
      ['rejected', 'VALIDATION_FAILED'],
      ['rejected', 'VALIDATION_FAILED'],
    ]);
  });
});
