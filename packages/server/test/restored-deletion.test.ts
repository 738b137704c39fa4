// A deletion given back to a restored server (decisions 0050 and 0051, "Deletions"): a record the
// lost database created after the backup and deleted since is unknown to the restored server, and
// a colleague's tablet still holding it gives it back. The deleting tablet's give-back delete is
// kept as a tombstone, so that create meets the deletion and is settled by the collection's rule,
// whichever tablet comes first. A delete of an unknown record not marked so keeps today's answer.
import { afterEach, describe, expect, it } from 'vitest';
import { HlcClock, makeTempId, uuidv7 } from '@outpost/core';
import type { PushOp, Schema } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import { markRestored } from '../src/index';
import { dialects } from './server-fixture';
import type { DialectName, TestEmail, TestServer } from './server-fixture';
import { restoreHarness } from './restore-places';
import { pullAll, push } from './sync-client';

// The colleague's copy was written before the deletion: its HLC is the older one.
const colleague = new HlcClock({ node: 'tablet-2' });
const earlier = colleague.tick();
const deleter = new HlcClock({ node: 'tablet-1', now: () => Date.now() + 60_000 });
const later = deleter.tick();
const tablet1 = { clientId: 'tablet-1', deviceId: 'tablet-1' };
const tablet2 = { clientId: 'tablet-2', deviceId: 'tablet-2' };

describe.each(dialects())('deletions given back to a restored server, on %s', (kind: DialectName) => {
  const { place, copyOf, serverOn, stop, cleanUp } = restoreHarness(kind);
  afterEach(cleanUp);

  /**
   * A server whose database is a copy of one that had `before` pushed, marked restored (or not):
   * the backup's last numbers are those `before` made.
   */
  async function restoredAfter(
    schema: Schema,
    email: TestEmail,
    before: Array<Pick<PushOp, 'collection' | 'type' | 'id'> & Partial<PushOp>>,
    restore = true,
  ): Promise<{ server: TestServer; token: string }> {
    const live = await place();
    const first = await serverOn(live, schema);
    await push(first, await first.token(email), before);
    await stop(first);
    const storage = restore ? await copyOf(live) : live;
    if (restore) await markRestored(storage.target);
    const server = await serverOn(storage, schema);
    return { server, token: await server.token(email) };
  }

  const stateOf = async (server: TestServer, token: string, collection: string, id: string) =>
    (await pullAll(server, token)).changes
      .filter((c) => c.collection === collection && c.id === id)
      .map((c) => ({ deleted: c.deleted, version: c.version }));

  describe('where devices make the ids', () => {
    const patientId = uuidv7();
    const patient = {
      collection: 'patients',
      type: 'create' as const,
      id: patientId,
      data: { name: 'Amina' },
    };
    const visitId = uuidv7();
    const giveBackDelete = {
      opId: 'op-delete',
      collection: 'encounters',
      type: 'delete' as const,
      id: visitId,
      hlc: later,
      givenBack: true as const,
    };
    const giveBackCreate = {
      collection: 'encounters',
      type: 'create' as const,
      id: visitId,
      data: { patientId, diagnosis: 'malaria' },
      hlc: earlier,
    };

    it('keeps a deletion of a record it never had as a tombstone, which a colleague’s create then meets', async () => {
      const { server, token } = await restoredAfter(fieldClinic, 'nurse@clinic-a.test', [patient]);
      const deleted = await push(server, token, [giveBackDelete], tablet1);
      expect(deleted.results.map((r) => [r.status, r.id, r.version])).toEqual([['applied', visitId, 1]]);
      expect(await stateOf(server, token, 'encounters', visitId)).toEqual([{ deleted: true, version: 1 }]);

      // The colleague's tablet gives back its older copy: a create over the tombstone, settled by
      // the encounters' rule (last write wins): the deletion, made later, stands.
      const created = await push(server, token, [giveBackCreate], tablet2);
      expect(created.results.map((r) => [r.status, r.conflict?.kind, r.conflict?.outcome])).toEqual([
        ['conflict', 'delete-update', 'server-won'],
      ]);
      expect(await stateOf(server, token, 'encounters', visitId)).toEqual([{ deleted: true, version: 1 }]);

      // The deleting tablet's answer lost, it sends the delete again: answered as the first time.
      const again = await push(server, token, [giveBackDelete], tablet1);
      expect(again.results.map((r) => [r.status, r.originalStatus, r.id, r.version])).toEqual([
        ['duplicate', 'applied', visitId, 1],
      ]);
    });

    it('weighs a deletion given back after the colleague’s create by the rule, and keeps the plain answer to a delete not given back', async () => {
      const { server, token } = await restoredAfter(fieldClinic, 'nurse@clinic-a.test', [patient]);
      expect((await push(server, token, [giveBackCreate], tablet2)).results[0]?.status).toBe('applied');
      const deleted = await push(server, token, [giveBackDelete], tablet1);
      expect(deleted.results.map((r) => [r.status, r.version])).toEqual([['applied', 2]]);
      expect(await stateOf(server, token, 'encounters', visitId)).toEqual([{ deleted: true, version: 2 }]);

      // A delete of a record the server does not have, not marked as given back: refused as ever.
      const plain = await push(server, token, [{ collection: 'encounters', type: 'delete', id: uuidv7() }]);
      expect(plain.results.map((r) => [r.status, r.error?.code])).toEqual([['rejected', 'NOT_FOUND']]);
    });

    it('refuses a deletion marked as given back where the database is no restore', async () => {
      const { server, token } = await restoredAfter(fieldClinic, 'nurse@clinic-a.test', [patient], false);
      const deleted = await push(server, token, [{ ...giveBackDelete, opId: 'op-never' }], tablet1);
      expect(deleted.results.map((r) => [r.status, r.error?.code])).toEqual([['rejected', 'NOT_FOUND']]);
      expect(await stateOf(server, token, 'encounters', visitId)).toEqual([]);
    });
  });

  describe('where the server numbers the records', () => {
    // The backup had owners 1 and 2; the lost database numbered 3 after it.
    const owners = ['Ruth', 'Peter'].map((name) => ({
      collection: 'users',
      type: 'create' as const,
      id: makeTempId('users'),
      data: { name },
    }));
    const restored = () => restoredAfter(vetPractice, 'vet@vet-a.test', owners);
    const deleteLost = (restoredFrom: string) => ({
      opId: `op-delete-${restoredFrom}`,
      collection: 'users',
      type: 'delete' as const,
      id: makeTempId('users'),
      hlc: later,
      restoredFrom,
    });
    const createLost = () => ({
      collection: 'users',
      type: 'create' as const,
      id: makeTempId('users'),
      data: { name: 'Grace' },
      hlc: earlier,
      restoredFrom: '3',
    });

    it('keeps the deletion of a lost number as a tombstone under a new number, to which a colleague’s create of it maps', async () => {
      const { server, token } = await restored();
      const del = deleteLost('3');
      const deleted = await push(server, token, [del], tablet1);
      expect(deleted.results.map((r) => [r.status, r.id, r.version])).toEqual([['applied', '3', 1]]);
      expect(deleted.idMappings).toEqual([{ collection: 'users', tempId: del.id, id: '3' }]);
      expect(await stateOf(server, token, 'users', '3')).toEqual([{ deleted: true, version: 1 }]);

      // The colleague's create naming the same lost number meets the tombstone: the deletion,
      // made later, stands (users: last write wins), and its temp id names that record.
      const create = createLost();
      const created = await push(server, token, [create], tablet2);
      expect(created.results.map((r) => [r.status, r.id, r.conflict?.kind, r.conflict?.outcome])).toEqual([
        ['conflict', '3', 'delete-update', 'server-won'],
      ]);
      expect(created.idMappings).toEqual(
        expect.arrayContaining([{ collection: 'users', tempId: create.id, id: '3' }]),
      );
      expect(await stateOf(server, token, 'users', '3')).toEqual([{ deleted: true, version: 1 }]);

      // The next owner the practice registers takes the next number, not the tombstone's.
      const next = await push(server, token, [{ ...createLost(), restoredFrom: undefined }]);
      expect(next.results.map((r) => [r.status, r.id])).toEqual([['applied', '4']]);

      // The deleting tablet's answer lost: the resend is answered the same, mapping included.
      const again = await push(server, token, [del], tablet1);
      expect(again.results.map((r) => [r.status, r.originalStatus, r.id])).toEqual([
        ['duplicate', 'applied', '3'],
      ]);
      expect(again.idMappings).toEqual([{ collection: 'users', tempId: del.id, id: '3' }]);
    });

    it('deletes the record a colleague gave back first, and refuses a deletion naming no lost number', async () => {
      const { server, token } = await restored();
      const created = await push(server, token, [createLost()], tablet2);
      expect(created.results.map((r) => [r.status, r.id])).toEqual([['applied', '3']]);
      const del = deleteLost('3');
      const deleted = await push(server, token, [del], tablet1);
      expect(deleted.results.map((r) => [r.status, r.id, r.version])).toEqual([['applied', '3', 2]]);
      expect(deleted.idMappings).toEqual([{ collection: 'users', tempId: del.id, id: '3' }]);
      expect(await stateOf(server, token, 'users', '3')).toEqual([{ deleted: true, version: 2 }]);

      // 2 is the backup's own number, and a server number is never kept as a tombstone by
      // `givenBack` alone: the restored server hands those numbers out again.
      const refused = await push(
        server,
        token,
        [deleteLost('2'), { collection: 'users', type: 'delete', id: '9', givenBack: true }],
        tablet1,
      );
      expect(refused.results.map((r) => [r.status, r.error?.code])).toEqual([
        ['rejected', 'UNRESOLVED_REFERENCE'],
        ['rejected', 'NOT_FOUND'],
      ]);
    });
  });
});
