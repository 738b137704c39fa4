// An audit of the Outpost hub (seed 004's device API): what a clinic would notice when the hub and
// the central server meet concurrent edits, deletes, lost answers, a broken upstream, an expired
// cursor and limits the central server enforces. The hub runs on each dialect here (hub.test.ts
// runs it on SQLite only), in front of a central server on the other one when both are available.
import { afterEach, describe, expect, it } from 'vitest';
import { defineSchema, uuidv7 } from '@outpost/core';
import type { CollectionInput, Schema } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import type { HubOptions } from '../../src/index';
import { createStorage, dialects, password, startTestServer } from '../server-fixture';
import type { DialectName, Storage, TestServer } from '../server-fixture';
import { hlc, pullAll, push } from '../sync-client';
import { Link, hubScene } from './hub-fixture';

/**
 * Field-clinic on a central server upgraded before its hubs: a patient's phone must now be a
 * Malawian number, and the refusal quotes what was typed (as a validate hook may).
 */
function withPhoneRule(schema: Schema): Schema {
  const collections: Record<string, CollectionInput> = {};
  for (const [name, def] of Object.entries(schema.collections)) {
    collections[name] = {
      fields: def.fields,
      idStrategy: def.idStrategy,
      references: def.references,
      conflict: def.conflict,
      priority: def.priority,
      permissions: def.permissions,
      immutableWhen: def.isImmutable,
      lockedWhen: def.isLocked,
      hooks:
        name === 'patients'
          ? {
              validate: ({ data }) =>
                typeof data['phone'] === 'string' && !/^0\d{9}$/.test(data['phone'])
                  ? `phone ${data['phone']} is not a Malawian number`
                  : undefined,
            }
          : def.hooks,
    };
  }
  return defineSchema({ name: schema.name, collections });
}

/** Each dialect for the hub, in front of a central server on the other one where there are two. */
const pairs = (): Array<{ hubKind: DialectName; centralKind: DialectName }> => {
  const kinds = dialects();
  return kinds.map((hubKind) => ({
    hubKind,
    centralKind: kinds.find((k) => k !== hubKind) ?? hubKind,
  }));
};

describe.each(pairs())(
  'an Outpost hub on $hubKind relaying to a central server on $centralKind',
  ({ hubKind, centralKind }) => {
    const started: Array<{ server: TestServer; storage: Storage }> = [];
    let central: TestServer;
    let hub: TestServer;
    let hubStorage: Storage;
    let link: Link;

    const startCentral = async (server: Parameters<typeof startTestServer>[1] = {}) => {
      central = await startTestServer(centralKind, server);
      started.push({ server: central, storage: central.storage });
      return central.app.listen({ port: 0, host: '127.0.0.1' });
    };

    const hubOptions = (url: string, extra: Partial<HubOptions> = {}): HubOptions => ({
      url,
      accounts: [{ tenant: 'clinic-a', email: 'admin@clinic-a.test', password }],
      deviceId: 'hub-ntcheu',
      fetch: link.fetch,
      intervalMs: false,
      ...extra,
    });

    /** A fresh central server and a fresh hub in front of it, on a working link. */
    const setUp = async (
      options: { central?: Parameters<typeof startTestServer>[1]; hub?: Partial<HubOptions> } = {},
    ) => {
      const url = await startCentral(options.central);
      link = new Link();
      hubStorage = await createStorage(hubKind);
      hub = await startTestServer(hubKind, {
        storage: hubStorage,
        server: { hub: hubOptions(url, options.hub) },
      });
      started.push({ server: hub, storage: hubStorage });
      return url;
    };

    afterEach(async () => {
      for (const { server, storage } of started.splice(0).reverse()) {
        await server.close();
        await storage.destroy();
      }
    });

    const { run, pushOnly, pullOnly, status, onTablet, centrally, record, tabletView, centralView } =
      hubScene(() => ({ hub, central }));
    /** The hub's tablets and the central server hold the same live records with the same data. */
    const expectConverged = async () => {
      const [here, there] = [await tabletView(), await centralView()];
      expect([...here.keys()].sort()).toEqual([...there.keys()].sort());
      for (const [key, change] of there) expect(here.get(key)?.data, key).toEqual(change.data);
    };
    const centralConflicts = async (status: 'open' | 'resolved') => {
      const res = await central.request<{
        conflicts: Array<{ recordId: string; kind: string; outcome: string; client: { data: unknown } }>;
      }>({
        method: 'GET',
        url: `/v1/conflicts?status=${status}`,
        token: await central.token('admin@clinic-a.test'),
      });
      return res.body.conflicts;
    };

    it("keeps the tablet's edit on the hub when the central server merged it with a concurrent edit", async () => {
      await setUp();
      const patientId = uuidv7();
      const encounterId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Amina K.' } },
        { collection: 'encounters', type: 'create', id: encounterId, data: { patientId, diagnosis: 'Flu' } },
      ]);
      await run();
      // The central desk edits first; the tablet's edits are made later, before the hub has heard.
      await centrally([
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { phone: '0888' } },
        {
          collection: 'encounters',
          type: 'update',
          id: encounterId,
          baseVersion: 1,
          data: { notes: 'desk' },
        },
      ]);
      await onTablet([
        {
          collection: 'patients',
          type: 'update',
          id: patientId,
          baseVersion: 1,
          data: { village: 'Mchinji' },
        },
        {
          collection: 'encounters',
          type: 'update',
          id: encounterId,
          baseVersion: 1,
          data: { diagnosis: 'Malaria' },
        },
      ]);

      // Push alone (seed 004's POST /api/v1/sync/push): the pull comes later.
      const pushed = await pushOnly();
      // Both applied (merged, and won by the later time): successes, each told in the conflicts list.
      expect(pushed).toMatchObject({ success: true, push: { total: 2, success: 2, conflicts: 0 } });
      expect(pushed.conflicts.map((c) => c.resolution).sort()).toEqual(['ClientWins', 'Merged']);
      // The central server took both edits...
      expect((await record(central, 'patients', patientId))?.data).toMatchObject({ village: 'Mchinji' });
      expect((await record(central, 'encounters', encounterId))?.data).toMatchObject({
        diagnosis: 'Malaria',
      });
      // ...and the tablets of the hub still see what they typed: it did not vanish until a pull.
      const view = await tabletView();
      expect(view.get(`patients/${patientId}`)?.data).toMatchObject({ village: 'Mchinji' });
      expect(view.get(`encounters/${encounterId}`)?.data).toMatchObject({ diagnosis: 'Malaria' });
      expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0 });

      const after = await run();
      expect(after.push.total).toBe(0);
      await expectConverged();
      expect((await run()).push.total).toBe(0);
    });

    it('does not turn a later edit into a conflict after a lost answer was followed by a pull', async () => {
      await setUp();
      const patientId = uuidv7();
      const prescriptionId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Grace M.' } },
        {
          collection: 'prescriptions',
          type: 'create',
          id: prescriptionId,
          data: { patientId, drug: 'Amoxicillin', dose: '250mg' },
        },
      ]);
      await run();
      await onTablet([
        {
          collection: 'prescriptions',
          type: 'update',
          id: prescriptionId,
          baseVersion: 1,
          data: { dose: '500mg' },
        },
      ]);
      // The central server applies the new dose; its answer never reaches the hub.
      link.mode = 'lose-push-answer';
      expect((await run()).success).toBe(false);
      link.mode = 'up';
      // The pharmacist sets the frequency centrally, and the hub pulls (seed 004's pull alone).
      await centrally([
        {
          collection: 'prescriptions',
          type: 'update',
          id: prescriptionId,
          baseVersion: 2,
          data: { frequency: 'bd' },
        },
      ]);
      await pullOnly();
      // The lost push goes again: the central server answers it as a duplicate.
      const resent = await pushOnly();
      expect(resent).toMatchObject({ success: true, push: { total: 1, success: 1, conflicts: 0 } });

      // The nurse now sets the duration: nobody else touched the prescription since the hub heard.
      await onTablet([
        {
          collection: 'prescriptions',
          type: 'update',
          id: prescriptionId,
          baseVersion: 3,
          data: { durationDays: 7 },
        },
      ]);
      const next = await run();
      expect(next).toMatchObject({
        success: true,
        push: { total: 1, success: 1, conflicts: 0 },
        conflicts: [],
      });
      expect((await record(central, 'prescriptions', prescriptionId))?.data).toMatchObject({
        dose: '500mg',
        frequency: 'bd',
        durationDays: 7,
      });
      expect(await centralConflicts('open')).toEqual([]);
      await expectConverged();
    });

    // A pull does not advance the base of a change still waiting on the hub: the push that follows
    // tells the central server the version the change was made on, and its rules see the rival edit.
    it('does not silently overwrite a central edit of the same field when the hub pulled before it pushed', async () => {
      await setUp();
      const patientId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Chisomo B.' } },
      ]);
      await run();
      await onTablet([
        {
          collection: 'patients',
          type: 'update',
          id: patientId,
          baseVersion: 1,
          data: { village: 'Mchinji' },
        },
      ]);
      await centrally([
        {
          collection: 'patients',
          type: 'update',
          id: patientId,
          baseVersion: 1,
          data: { village: 'Dedza' },
        },
      ]);
      // Seed 004's pull, then its push (or a tablet's edit landing while a run pulls).
      await pullOnly();
      const pushed = await pushOnly();
      // Patients merge field by field; the same field changed on both sides waits for a person
      // (DESIGN.md): the central desk's 'Dedza' must not vanish without a conflict anywhere.
      expect(pushed.push.conflicts).toBe(1);
      expect((await centralConflicts('open')).map((c) => c.recordId)).toContain(patientId);
    });

    it('lets a later central edit of an encounter win over an earlier tablet edit, also when the hub pulled first', async () => {
      await setUp();
      const patientId = uuidv7();
      const encounterId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Esther P.' } },
        {
          collection: 'encounters',
          type: 'create',
          id: encounterId,
          data: { patientId, diagnosis: 'Flu' },
        },
      ]);
      await run();
      // The tablet's edit first (10:00), the central desk's later (10:05): seed 004, the later wins.
      await onTablet([
        {
          collection: 'encounters',
          type: 'update',
          id: encounterId,
          baseVersion: 1,
          data: { diagnosis: 'Cold' },
        },
      ]);
      await centrally([
        {
          collection: 'encounters',
          type: 'update',
          id: encounterId,
          baseVersion: 1,
          data: { diagnosis: 'Malaria' },
        },
      ]);
      await pullOnly();
      await pushOnly();
      expect((await record(central, 'encounters', encounterId))?.data).toMatchObject({
        diagnosis: 'Malaria',
      });
    });

    it('lets the later edit of an encounter win by when it was made, whichever side made it, when the hub pushes first', async () => {
      await setUp();
      const patientId = uuidv7();
      const early = uuidv7();
      const late = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Joseph N.' } },
        { collection: 'encounters', type: 'create', id: early, data: { patientId, diagnosis: 'Flu' } },
        { collection: 'encounters', type: 'create', id: late, data: { patientId, diagnosis: 'Flu' } },
      ]);
      await run();
      // `early`: the tablet edits before the desk; `late`: after it. The hub forwards both later still.
      await onTablet([
        { collection: 'encounters', type: 'update', id: early, baseVersion: 1, data: { diagnosis: 'Cold' } },
      ]);
      await centrally([
        {
          collection: 'encounters',
          type: 'update',
          id: early,
          baseVersion: 1,
          data: { diagnosis: 'Malaria' },
        },
        {
          collection: 'encounters',
          type: 'update',
          id: late,
          baseVersion: 1,
          data: { diagnosis: 'Malaria' },
        },
      ]);
      await onTablet([
        {
          collection: 'encounters',
          type: 'update',
          id: late,
          baseVersion: 1,
          data: { diagnosis: 'Typhoid' },
        },
      ]);
      const result = await run();
      // One edit lost to a later one (a conflict), the other won over an earlier one (a success).
      expect(result.push).toMatchObject({ total: 2, success: 1, conflicts: 1 });
      expect(result.conflicts.map((c) => c.resolution).sort()).toEqual(['ClientWins', 'ServerWins']);
      expect((await record(central, 'encounters', early))?.data).toMatchObject({ diagnosis: 'Malaria' });
      expect((await record(central, 'encounters', late))?.data).toMatchObject({ diagnosis: 'Typhoid' });
      await expectConverged();
      expect((await run()).push.total).toBe(0);
    });

    it('keeps the later central edit of an encounter when a second tablet brings an edit made in between', async () => {
      await setUp();
      const patientId = uuidv7();
      const encounterId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Kondwani S.' } },
        { collection: 'encounters', type: 'create', id: encounterId, data: { patientId, diagnosis: 'Flu' } },
      ]);
      await run();
      // 10:00 tablet 1, 10:02 tablet 2 (offline), 10:05 the central desk: the desk's is the latest.
      const [at1000, at1002, at1005] = [hlc(), hlc(), hlc()];
      await onTablet([
        {
          collection: 'encounters',
          type: 'update',
          id: encounterId,
          baseVersion: 1,
          data: { diagnosis: 'Cold' },
          hlc: at1000,
        },
      ]);
      await centrally([
        {
          collection: 'encounters',
          type: 'update',
          id: encounterId,
          baseVersion: 1,
          data: { diagnosis: 'Malaria' },
          hlc: at1005,
        },
      ]);
      const first = await run();
      expect(first.conflicts).toContainEqual(
        expect.objectContaining({ entityId: encounterId, resolution: 'ServerWins' }),
      );
      // Tablet 2 comes back to the clinic with its 10:02 edit, made on the version it had.
      await push(
        hub,
        await hub.token('nurse@clinic-a.test'),
        [
          {
            collection: 'encounters',
            type: 'update',
            id: encounterId,
            baseVersion: 1,
            data: { diagnosis: 'Typhoid' },
            hlc: at1002,
          },
        ],
        { clientId: 'tablet-2', deviceId: 'tablet-2' },
      );
      await run();
      expect((await record(central, 'encounters', encounterId))?.data).toMatchObject({
        diagnosis: 'Malaria',
      });
      await expectConverged();
    });

    it('relays deletes both ways and converges on delete against edit, with nothing bouncing back', async () => {
      await setUp();
      const ids = { a: uuidv7(), b: uuidv7(), c: uuidv7(), d: uuidv7() };
      await onTablet(
        Object.values(ids).map((id, i) => ({
          collection: 'patients',
          type: 'create' as const,
          id,
          data: { name: `Patient ${i}` },
        })),
      );
      await run();
      // a: deleted on a tablet. b: deleted centrally. c: deleted centrally while a tablet edits it.
      // d: deleted on a tablet while the central desk edits it.
      await onTablet([
        { collection: 'patients', type: 'delete', id: ids.a, baseVersion: 1 },
        { collection: 'patients', type: 'update', id: ids.c, baseVersion: 1, data: { village: 'Ntcheu' } },
        { collection: 'patients', type: 'delete', id: ids.d, baseVersion: 1 },
      ]);
      await centrally([
        { collection: 'patients', type: 'delete', id: ids.b, baseVersion: 1 },
        { collection: 'patients', type: 'delete', id: ids.c, baseVersion: 1 },
        { collection: 'patients', type: 'update', id: ids.d, baseVersion: 1, data: { phone: '0999' } },
      ]);
      const first = await run();
      expect(first.success).toBe(true);
      expect(await record(central, 'patients', ids.a)).toMatchObject({ deleted: true });
      const view = await tabletView();
      expect(view.has(`patients/${ids.a}`)).toBe(false);
      expect(view.has(`patients/${ids.b}`)).toBe(false);
      await expectConverged();
      // Whatever the rules decided, a second and third run exchange nothing.
      const second = await run();
      expect(second.push.total).toBe(0);
      expect(second.pull.applied).toBe(0);
      expect((await run()).push.total).toBe(0);
      expect(await status()).toMatchObject({ pending: 0, processing: 0 });
    });

    it('takes in an edit a tablet makes while a run is on its way to the central server', async () => {
      await setUp();
      const patientId = uuidv7();
      const other = uuidv7();
      await onTablet([{ collection: 'patients', type: 'create', id: patientId, data: { name: 'Mercy T.' } }]);
      await run();
      await onTablet([
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { village: 'Dowa' } },
      ]);
      // While the hub's push is on the wire, a nurse edits the same patient and adds another.
      link.duringPush = async () => {
        await onTablet([
          { collection: 'patients', type: 'update', id: patientId, baseVersion: 2, data: { phone: '0777' } },
          { collection: 'patients', type: 'create', id: other, data: { name: 'Ruth W.' } },
        ]);
      };
      const during = await run();
      expect(during.success).toBe(true);
      // Nothing typed is lost on the hub's tablets...
      expect((await tabletView()).get(`patients/${patientId}`)?.data).toMatchObject({
        village: 'Dowa',
        phone: '0777',
      });
      // ...and the next run sends the rest, once.
      const next = await run();
      expect(next.push).toMatchObject({ total: 2, success: 2, failed: 0, conflicts: 0 });
      expect(await record(central, 'patients', patientId)).toMatchObject({
        data: { name: 'Mercy T.', village: 'Dowa', phone: '0777' },
      });
      expect(await record(central, 'patients', other)).toMatchObject({ version: 1 });
      await expectConverged();
      expect((await run()).push.total).toBe(0);
    });

    it('splits a batch the central server refuses as too large, instead of sending it again forever', async () => {
      await setUp({ central: { server: { limits: { maxOpsPerPush: 2, rateLimitPerMinute: false } } } });
      const ids = [uuidv7(), uuidv7(), uuidv7(), uuidv7(), uuidv7()];
      await onTablet(
        ids.map((id, i) => ({ collection: 'patients', type: 'create', id, data: { name: `P${i}` } })),
      );
      const result = await run();
      expect(result).toMatchObject({ success: true, push: { total: 5, success: 5, failed: 0 } });
      for (const id of ids) expect(await record(central, 'patients', id)).toMatchObject({ version: 1 });
      expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0 });
    });

    it('survives an upstream that answers 500 or a proxy page, and applies everything once afterwards', async () => {
      await setUp();
      const patientId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Tiyamike L.' } },
      ]);
      link.fake = (url) =>
        url.includes('/v1/sync/')
          ? { status: 500, body: { error: { code: 'INTERNAL', message: 'boom' } } }
          : null;
      const broken = await run();
      expect(broken).toMatchObject({ success: false, error: { code: 'UPSTREAM_ERROR' } });
      link.fake = (url) =>
        url.includes('/v1/sync/') ? { status: 200, body: '<html>captive portal</html>' } : null;
      expect(await run()).toMatchObject({ success: false, error: { code: 'UPSTREAM_ERROR' } });
      // Answers that look like v1 but are not: a pull page with a record the hub cannot take.
      link.fake = (url) =>
        url.includes('/v1/sync/pull')
          ? {
              status: 200,
              body: { changes: [{ collection: 'patients', id: 'x' }], cursor: 'c', hasMore: false },
            }
          : null;
      expect(await status()).toMatchObject({ processing: 1 });
      const badPull = await run();
      // The push went through this time, once; the pull's garbage is an error, not a 5xx.
      expect(badPull).toMatchObject({
        success: false,
        push: { success: 1 },
        error: { code: 'UPSTREAM_ERROR' },
      });
      expect(await record(central, 'patients', patientId)).toMatchObject({ version: 1 });
      expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0, lastSyncAt: null });
      link.fake = null;
      expect(await run()).toMatchObject({ success: true, push: { total: 0 } });
      await expectConverged();
    });

    it('stops, with an error, an upstream whose pull never moves on instead of pulling forever', async () => {
      await setUp();
      await onTablet([{ collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Ruth W.' } }]);
      await run();
      const { cursor } = await pullAll(central, await central.token('admin@clinic-a.test'));
      link.pullsSent = 0;
      link.fake = (url) =>
        url.includes('/v1/sync/pull') ? { status: 200, body: { changes: [], cursor, hasMore: true } } : null;
      const stuck = await run();
      expect(stuck).toMatchObject({ success: false, error: { code: 'UPSTREAM_ERROR' } });
      expect(link.pullsSent).toBeLessThan(5);
      link.fake = null;
      expect((await run()).success).toBe(true);
    });

    it('drops on its tablets a record deleted centrally whose tombstone was purged before the hub pulled (CURSOR_EXPIRED)', async () => {
      await setUp();
      const kept = uuidv7();
      const gone = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: kept, data: { name: 'Kept' } },
        { collection: 'patients', type: 'create', id: gone, data: { name: 'Gone' } },
      ]);
      await run();
      await centrally([{ collection: 'patients', type: 'delete', id: gone, baseVersion: 1 }]);
      // The hub stays away longer than the central server keeps tombstones.
      await central.app.outpost.store.purgeTombstones(new Date(Date.now() + 60_000).toISOString());
      const result = await run();
      expect(result.success).toBe(true);
      const view = await tabletView();
      expect(view.has(`patients/${kept}`)).toBe(true);
      expect(view.has(`patients/${gone}`)).toBe(false);
      await expectConverged();
      expect((await run()).push.total).toBe(0);
    });

    it('finishes an exchange after a restart between the central server applying a push and the hub hearing of it', async () => {
      const url = await setUp();
      const patientId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Mphatso C.' } },
      ]);
      link.mode = 'lose-push-answer';
      await run();
      await hub.close();
      link.mode = 'up';
      hub = await startTestServer(hubKind, { storage: hubStorage, server: { hub: hubOptions(url) } });
      started.push({ server: hub, storage: hubStorage });
      // The tablet keeps editing after the restart; the central desk too.
      await onTablet([
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { village: 'Zomba' } },
      ]);
      await centrally([
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { phone: '0555' } },
      ]);
      const result = await run();
      expect(result.success).toBe(true);
      expect(await record(central, 'patients', patientId)).toMatchObject({
        data: { name: 'Mphatso C.', village: 'Zomba', phone: '0555' },
      });
      await expectConverged();
      expect((await run()).push.total).toBe(0);
      expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0 });
    });

    // Defect, not fixed (a design question, see the report): seed 004 says a queue item holds the
    // entity's type and id only, but an item in flight keeps the whole op, patient data included,
    // for as long as the link is down.
    it('keeps no patient data in its queue while an item waits for a lost answer', async () => {
      await setUp();
      await onTablet([
        { collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Chikondi Phiri' } },
      ]);
      link.mode = 'lose-push-answer';
      await run();
      const rows = await hub.app.outpost.store.db.selectFrom('hub_queue').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain('Chikondi');
    });

    it('keeps counting the attempts of a refused change while pulls bring news of its record, and stops at MaxRetries', async () => {
      await setUp({ central: { schema: withPhoneRule(fieldClinic) } });
      const patientId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Alinafe D.' } },
      ]);
      await run();
      // A number the central server's newer rule refuses: no later attempt settles it by itself.
      await onTablet([
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { phone: '12345' } },
      ]);
      const attempts: number[] = [];
      for (const village of ['Dedza', 'Salima', 'Mzimba', 'Nkhotakota', 'Karonga']) {
        // The central desk keeps editing the patient: every pull writes its news under the refused change.
        const version = (await record(central, 'patients', patientId))?.version ?? 0;
        await centrally([
          { collection: 'patients', type: 'update', id: patientId, baseVersion: version, data: { village } },
        ]);
        const result = await run();
        expect(result.pull.applied).toBe(1);
        attempts.push(result.push.total);
        expect(await status()).toMatchObject({ pending: 0, failed: 1 });
      }
      // Seed 004's MaxRetries (3): three attempts, then the item stays Failed, news or not.
      expect(attempts).toEqual([1, 1, 1, 0, 0]);
      const waiting = await hub.app.outpost.store.db
        .selectFrom('hub_queue')
        .selectAll()
        .where('status', '!=', 'Completed')
        .execute();
      expect(waiting).toEqual([expect.objectContaining({ status: 'Failed', retry_count: 3 })]);
      // Nothing typed is lost: the tablets see the refused phone beside the central village.
      expect((await tabletView()).get(`patients/${patientId}`)?.data).toMatchObject({
        phone: '12345',
        village: 'Karonga',
      });
      // A new edit of the record is a new change: it gets attempts of its own.
      const here = (await record(hub, 'patients', patientId))?.version ?? 0;
      await onTablet([
        {
          collection: 'patients',
          type: 'update',
          id: patientId,
          baseVersion: here,
          data: { phone: '0888123456' },
        },
      ]);
      expect(await status()).toMatchObject({ pending: 1, failed: 0 });
      expect(await run()).toMatchObject({ success: true, push: { total: 1, success: 1 } });
      await expectConverged();
    });

    it('resumes an interrupted resync from scratch (CURSOR_EXPIRED) after a restart, and still drops what the central server purged', async () => {
      const url = await setUp();
      const kept = [uuidv7(), uuidv7(), uuidv7(), uuidv7(), uuidv7()];
      const gone = uuidv7();
      await onTablet(
        [...kept, gone].map((id, i) => ({
          collection: 'patients',
          type: 'create' as const,
          id,
          data: { name: `Patient ${i}` },
        })),
      );
      await run();
      await centrally([{ collection: 'patients', type: 'delete', id: gone, baseVersion: 1 }]);
      // The hub stays away longer than the central server keeps tombstones.
      await central.app.outpost.store.purgeTombstones(new Date(Date.now() + 60_000).toISOString());
      // The resync reads pages of two; the link drops after its first page.
      link.pageSize = 2;
      link.pullsSent = 0;
      link.cutAfterPulls = 2;
      const cut = await run();
      expect(cut).toMatchObject({ success: false, error: { code: 'UPSTREAM_UNREACHABLE' } });
      expect(link.pullsSent).toBe(2);
      // The hub is restarted before the link comes back.
      await hub.close();
      link.mode = 'up';
      link.cutAfterPulls = null;
      hub = await startTestServer(hubKind, { storage: hubStorage, server: { hub: hubOptions(url) } });
      started.push({ server: hub, storage: hubStorage });
      link.pullsSent = 0;
      const resumed = await run();
      expect(resumed.success).toBe(true);
      // Resumed where it stopped (two pages for the three records left), not read again from the
      // start; and the record it never brought is deleted at its end.
      expect(link.pullsSent).toBe(2);
      expect(resumed.pull).toMatchObject({ total: 4, applied: 1 });
      const view = await tabletView();
      for (const id of kept) expect(view.has(`patients/${id}`)).toBe(true);
      expect(view.has(`patients/${gone}`)).toBe(false);
      await expectConverged();
      const after = await run();
      expect(after.pull.total).toBe(0);
      expect(after.push.total).toBe(0);
    });

    it("says the central server refused the hub's account, apart from an unreachable link, and keeps the queue", async () => {
      // The account belongs to another clinic upstream.
      const url = await setUp({
        hub: { accounts: [{ tenant: 'clinic-a', email: 'nurse@clinic-b.test', password }] },
      });
      const patientId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Tadala G.' } },
      ]);
      const wrongTenant = await run();
      expect(wrongTenant).toMatchObject({ success: false, error: { code: 'UPSTREAM_REFUSED' } });
      expect(wrongTenant.error?.message).toMatch(/nurse@clinic-b\.test.*clinic-b.*clinic-a/);
      // Nothing went up; nothing is pulled with an account that is not the clinic's either.
      expect(link.pushesSent).toBe(0);
      expect(link.pullsSent).toBe(0);
      expect(await status()).toMatchObject({
        processing: 1,
        failed: 0,
        lastError: { code: 'UPSTREAM_REFUSED' },
      });

      // The operator fixes the email but mistypes the password.
      const restart = async (account: { email: string; password: string }) => {
        await hub.close();
        hub = await startTestServer(hubKind, {
          storage: hubStorage,
          server: { hub: hubOptions(url, { accounts: [{ tenant: 'clinic-a', ...account }] }) },
        });
        started.push({ server: hub, storage: hubStorage });
      };
      await restart({ email: 'admin@clinic-a.test', password: 'not the password' });
      const badPassword = await run();
      expect(badPassword).toMatchObject({ success: false, error: { code: 'UPSTREAM_REFUSED' } });
      expect(badPassword.error?.message).toMatch(/admin@clinic-a\.test.*password/);
      expect((await status()).lastError).toMatchObject({ code: 'UPSTREAM_REFUSED' });
      expect(await record(central, 'patients', patientId)).toBeNull();

      await restart({ email: 'admin@clinic-a.test', password });
      expect(await run()).toMatchObject({ success: true, push: { total: 1, success: 1 } });
      expect(await record(central, 'patients', patientId)).toMatchObject({ data: { name: 'Tadala G.' } });
      expect(await status()).toMatchObject({ pending: 0, processing: 0, failed: 0, lastError: null });
    });

    it("keeps the central server's words out of its queue: a refusal is stored as its code and the fields it names", async () => {
      await setUp({ central: { schema: withPhoneRule(fieldClinic) } });
      const patientId = uuidv7();
      const otherId = uuidv7();
      await onTablet([
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Alinafe D.' } },
      ]);
      await run();
      // An edit of a patient the central server has, and a new patient: each with a phone it refuses.
      await onTablet([
        { collection: 'patients', type: 'update', id: patientId, baseVersion: 1, data: { phone: '12345' } },
        { collection: 'patients', type: 'create', id: otherId, data: { name: 'Kettie M.', phone: '54321' } },
      ]);
      const result = await run();
      expect(result.push).toMatchObject({ total: 2, failed: 2 });
      const rows = await hub.app.outpost.store.db
        .selectFrom('hub_queue')
        .selectAll()
        .where('status', '=', 'Failed')
        .orderBy('record_id')
        .execute();
      const byRecord = new Map(rows.map((r) => [r.record_id, r]));
      expect(rows.map((r) => r.error_code)).toEqual(['VALIDATION_FAILED', 'VALIDATION_FAILED']);
      // The central server's message quotes the phone typed; the hub's names the field alone.
      expect(byRecord.get(patientId)?.error_message).toBe('the upstream found the change to phone invalid');
      expect(byRecord.get(otherId)?.error_message).toBe('the upstream found the new patients record invalid');
      for (const typed of ['12345', '54321']) {
        expect(JSON.stringify(rows)).not.toContain(typed);
        expect(JSON.stringify(result)).not.toContain(typed);
        expect(JSON.stringify(await status())).not.toContain(typed);
      }
      const archive = await central.request<{ rejections: Array<{ error: { message: string } }> }>({
        method: 'GET',
        url: `/v1/rejections?recordId=${patientId}`,
        token: await central.token('admin@clinic-a.test'),
      });
      expect(archive.body.rejections[0]?.error.message).toContain('12345');
    });
  },
);
