// What a tablet does when its clinic's server is restored from a backup older than its last sync
// (docs/server.md, "Backups and restore"; decision 0050). The restored server refuses the cursor it
// never issued (410, `reason: 'restored'`), also once the clinic's positions have passed it, and
// the tablet reads everything again. What it held that the server lost goes back as new ops: the
// patients it registered since the backup, its edits since, its deletions it still keeps, weighed
// by the clinic's conflict rules against what was done on the restored server meanwhile. Restored
// without the data folder's jwt-secret, its saved cursor is refused (400), and it reads everything
// again rather than fail every sync.
import { afterEach, describe, expect, it } from 'vitest';
import { restoredClinic } from './restored-clinic';
import type { Cleanups, ClinicOptions } from './restored-clinic';

describe('a tablet whose server was restored from an older backup', () => {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** The clinic of restored-clinic.ts: a server and a tablet that synced two patients. */
  const clinic = (options: ClinicOptions = {}) => restoredClinic(cleanups, options);

  it('told 410, reads everything again and gives the server back the patient it registered since and its edit since', async () => {
    const c = await clinic();
    await c.backup();
    // After the backup the tablet registers a patient and edits another; the server acknowledges both.
    const grace = await c.patients.create({ name: 'Grace' });
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    expect((await c.tablet.sync()).success).toBe(true);
    const acknowledged = c.tablet.queue.list().filter((o) => o.status === 'done');
    expect(acknowledged).toHaveLength(4);
    // Then an edit it has not sent yet.
    await c.patients.update(c.joseph.id, { phone: '+265 99 123 4567' });

    await c.restore();
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Its push carried the lost database's cursor: refused whole, then the waiting edit went
    // without one; the re-read from the start, then the pull after what it gave back.
    expect(c.pushes[0]).toBe(410);
    expect(c.pulls).toEqual([200, 200]);
    expect(result.restored).toEqual({ resent: 2 });
    // The waiting edit, then Grace and Amina's edit as new ops: the acknowledged ones never again.
    expect(c.pushed).toHaveLength(3);
    for (const opId of c.pushed) expect(acknowledged.map((o) => o.opId)).not.toContain(opId);

    // The restored server has all of it again, and the tablet shows what it showed.
    const server = await c.onServer();
    expect(server.get(grace.id)).toEqual({ name: 'Grace' });
    expect(server.get(c.amina.id)).toEqual({ name: 'Amina', village: 'Mzuzu' });
    expect(server.get(c.joseph.id)).toMatchObject({ phone: '+265 99 123 4567' });
    expect((await c.patients.get(grace.id))?.data).toEqual({ name: 'Grace' });
    expect((await c.patients.get(c.amina.id))?.data).toEqual({ name: 'Amina', village: 'Mzuzu' });
    expect(c.tablet.queue.stats().pending).toBe(0);
    expect(await c.openConflicts()).toEqual([]);

    // And the next sync goes on from the new cursor, with nothing more to give back.
    c.pulls.length = 0;
    c.pushed.length = 0;
    const next = await c.sync();
    expect(next.restored).toBeUndefined();
    expect(c.pulls).toEqual([200]);
    expect(c.pushed).toEqual([]);

    // The give-back is kept to be told until someone reads it: through later syncs, and in the
    // store, for an app opened after a sync it did not run (its service worker's).
    expect(c.tablet.restoreReport).toEqual({ resent: 2, files: 0, renumbered: [], at: result.finishedAt });
    await c.tablet.close();
    const reopened = await c.openTablet();
    expect(reopened.restoreReport).toMatchObject({ resent: 2 });
    await reopened.dismissRestoreReport();
    expect(reopened.restoreReport).toBeNull();
    await reopened.close();
    expect((await c.openTablet()).restoreReport).toBeNull();
  });

  it('told even once the clinic’s positions have passed its cursor (edits of another device took them there)', async () => {
    const c = await clinic();
    await c.backup();
    const grace = await c.patients.create({ name: 'Grace' });
    const thoko = await c.patients.create({ name: 'Thoko' });
    expect((await c.tablet.sync()).success).toBe(true);
    // Two edits waiting on the tablet.
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    await c.patients.update(c.joseph.id, { village: 'Dedza' });

    await c.restore();
    // The office's changes on the restored server take the clinic past the tablet's cursor.
    await c.officePush({
      collection: 'patients',
      type: 'update',
      id: c.amina.id,
      data: { phone: '1' },
      baseVersion: 1,
    });
    const chifundo = await c.createOnServer({ name: 'Chifundo' });
    await c.officePush({
      collection: 'patients',
      type: 'update',
      id: c.joseph.id,
      data: { phone: '2' },
      baseVersion: 1,
    });
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Refused all the same, at its push: the cursor was issued before the restore.
    expect(c.pushes[0]).toBe(410);
    expect(c.pulls).toEqual([200, 200]);
    expect(result.restored).toEqual({ resent: 2 });
    const server = await c.onServer();
    expect([...server.keys()].sort()).toEqual([c.amina.id, c.joseph.id, grace.id, thoko.id, chifundo].sort());
    expect(server.get(thoko.id)).toEqual({ name: 'Thoko' });
    expect(server.get(c.amina.id)).toEqual({ name: 'Amina', village: 'Mzuzu', phone: '1' });
    expect((await c.patients.get(grace.id))?.data).toEqual({ name: 'Grace' });
    expect((await c.patients.get(chifundo))?.data).toEqual({ name: 'Chifundo' });
  });

  it('gives back a patient registered after the backup with the edit made offline since, and a visit recorded for her', async () => {
    const c = await clinic();
    await c.backup();
    const grace = await c.patients.create({ name: 'Grace' });
    expect((await c.tablet.sync()).success).toBe(true);
    // Not sent when the server was restored: an edit of Grace and a visit for her. Sent before
    // the re-read, both would be refused for good: the restored server has no Grace.
    await c.patients.update(grace.id, { village: 'Mzuzu' });
    const visit = await c.tablet
      .collection('encounters')
      .create({ patientId: grace.id, diagnosis: 'malaria' });

    await c.restore();
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Nothing went before the re-read: the push refused for its cursor, then one push after it.
    expect(c.pushes).toEqual([410, 200]);
    const server = await c.onServer();
    expect(server.get(grace.id)).toEqual({ name: 'Grace', village: 'Mzuzu' });
    expect(server.get(visit.id)).toEqual({ patientId: grace.id, diagnosis: 'malaria' });
    expect(c.tablet.queue.stats().refused).toBe(0);
    expect(c.tablet.queue.stats().pending).toBe(0);
    expect((await c.tablet.collection('encounters').get(visit.id))?.pending).toBe(false);
  });

  it('gives back an edit acknowledged after the backup though another edit of the record waited unsent', async () => {
    const c = await clinic();
    await c.backup();
    // After the backup: Amina's village, acknowledged; then her phone, not sent when the server
    // was restored. The push waits for the re-read, which brings Amina with the phone waiting.
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    expect((await c.tablet.sync()).success).toBe(true);
    await c.patients.update(c.amina.id, { phone: '+265 99 000 1111' });

    await c.restore();
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Refused for its cursor; after the re-read, the village the lost database had, then the phone.
    expect(c.pushes).toEqual([410, 200, 200]);
    expect(result.restored).toEqual({ resent: 1 });
    const mine = { name: 'Amina', village: 'Mzuzu', phone: '+265 99 000 1111' };
    expect((await c.onServer()).get(c.amina.id)).toEqual(mine);
    expect((await c.patients.get(c.amina.id))?.data).toEqual(mine);
    expect(c.tablet.queue.stats().pending).toBe(0);
  });

  it('weighs an edit that waited through the restore against the office’s later edit of the same field', async () => {
    const c = await clinic();
    await c.backup();
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    expect((await c.tablet.sync()).success).toBe(true);
    await c.patients.update(c.amina.id, { phone: '+265 99 000 1111' });

    await c.restore();
    // The office changes Amina's phone on the restored server: version 2 there, the number the
    // lost database had given the village, on which the waiting phone was made. Sent on that
    // number, the phone would apply over the office's as if made after it.
    await c.officePush({
      collection: 'patients',
      type: 'update',
      id: c.amina.id,
      data: { phone: '+265 1 555' },
      baseVersion: 1,
    });
    expect((await c.sync()).success).toBe(true);
    // The village goes back; both changed the phone, which waits for a person, the office's kept
    // until then and the tablet's in the conflict. Not written over the office's as if made on it.
    expect((await c.onServer()).get(c.amina.id)).toEqual({
      name: 'Amina',
      village: 'Mzuzu',
      phone: '+265 1 555',
    });
    const open = (await c.openConflicts()) as Array<{
      recordId: string;
      fields: string[];
      client: { data: Record<string, unknown> };
    }>;
    expect(open.map((o) => [o.recordId, o.fields])).toEqual([[c.amina.id, ['phone']]]);
    expect(open[0]?.client.data).toEqual({ phone: '+265 99 000 1111' });
  });

  it('weighs what it gives back against what the clinic did on the restored server meanwhile', async () => {
    const c = await clinic();
    const chikondi = await c.patients.create({ name: 'Chikondi' });
    const esther = await c.patients.create({ name: 'Esther' });
    expect((await c.tablet.sync()).success).toBe(true);
    await c.backup();
    // After the backup the tablet deletes Joseph, edits Amina's village and Chikondi's phone, and
    // registers Grace; the server acknowledges all of it.
    await c.patients.delete(c.joseph.id);
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    await c.patients.update(chikondi.id, { phone: '+265 88 000 1111' });
    await c.patients.update(esther.id, { village: 'Salima' });
    const grace = await c.patients.create({ name: 'Grace' });
    expect((await c.tablet.sync()).success).toBe(true);

    await c.restore();
    // On the restored server, before the tablet syncs, the office changes Amina's phone (another
    // field), Chikondi's phone too (the same field, later), and deletes Esther.
    await c.officePush({
      collection: 'patients',
      type: 'update',
      id: c.amina.id,
      data: { phone: '+265 1 555' },
      baseVersion: 1,
    });
    await c.officePush({
      collection: 'patients',
      type: 'update',
      id: chikondi.id,
      data: { phone: '+265 2 777' },
      baseVersion: 1,
    });
    await c.officePush({ collection: 'patients', type: 'delete', id: esther.id, baseVersion: 1 });

    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    expect(c.pulls[0]).toBe(410);
    const server = await c.onServer();
    // Joseph is deleted again: the tablet still kept its delete (keepCompletedMs: a day).
    expect(server.has(c.joseph.id)).toBe(false);
    expect(await c.patients.get(c.joseph.id)).toBeNull();
    // Amina: the tablet's village and the office's phone, merged by the patients' rule.
    expect(server.get(c.amina.id)).toEqual({ name: 'Amina', village: 'Mzuzu', phone: '+265 1 555' });
    expect((await c.patients.get(c.amina.id))?.data).toEqual({
      name: 'Amina',
      village: 'Mzuzu',
      phone: '+265 1 555',
    });
    // Chikondi: both changed the phone; the patients' rule sends that to a person to settle, and
    // neither value is lost: the server keeps the office's until then.
    const open = await c.openConflicts();
    expect(open.map((o) => o.recordId)).toEqual([chikondi.id]);
    expect(server.get(chikondi.id)).toEqual({ name: 'Chikondi', phone: '+265 2 777' });
    // Esther, deleted on the restored server after the tablet's edit: she stays deleted.
    expect(server.has(esther.id)).toBe(false);
    expect(await c.patients.get(esther.id)).toBeNull();
    expect(server.get(grace.id)).toEqual({ name: 'Grace' });
  });

  it('cut short after a page, goes on after a restart and still gives back what the first page found', async () => {
    const c = await clinic({ pullLimit: 2 });
    for (const name of ['Chisomo', 'Dalitso', 'Esther']) await c.patients.create({ name });
    expect((await c.tablet.sync()).success).toBe(true);
    await c.backup();
    const grace = await c.patients.create({ name: 'Grace' });
    await c.patients.update(c.amina.id, { village: 'Mzuzu' });
    expect((await c.tablet.sync()).success).toBe(true);

    await c.restore();
    // The tablet leaves the clinic's wifi after the re-read's first page (Amina and Joseph).
    c.hooks.afterPull = (status) => {
      if (status === 200) c.network.mode = 'offline';
    };
    const cut = await c.sync();
    expect(cut.success).toBe(false);
    expect(c.pulls).toEqual([410, 200]);
    // Nothing went: the tablet shows what it showed, Amina's village now a change waiting to go back.
    expect((await c.patients.get(grace.id))?.data).toEqual({ name: 'Grace' });
    expect(await c.patients.get(c.amina.id)).toMatchObject({ data: { village: 'Mzuzu' }, pending: true });

    // The app is closed and opened again; back online, the re-read goes on where it stopped.
    await c.tablet.close();
    delete c.hooks.afterPull;
    c.network.mode = 'online';
    const reopened = await c.openTablet();
    const result = await reopened.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    expect(result.restored).toEqual({ resent: 2 });
    const server = await c.onServer();
    expect(server.get(grace.id)).toEqual({ name: 'Grace' });
    expect(server.get(c.amina.id)).toEqual({ name: 'Amina', village: 'Mzuzu' });
    expect(server.size).toBe(6);
    expect(reopened.queue.stats().pending).toBe(0);
  });

  it('restored without its jwt-secret: the saved cursor is refused, and the tablet reads everything again', async () => {
    const c = await clinic();
    await c.backup();
    // A patient of the clinic's that only the restored server will hold.
    await c.restore('another-secret-another-secret-another');
    const fromOffice = await c.createOnServer({ name: 'Chisomo' });
    const result = await c.sync();
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    // Refused once (400: signed with the other secret), then read from the start.
    expect(c.pulls).toEqual([400, 200]);
    expect((await c.patients.get(fromOffice))?.data).toEqual({ name: 'Chisomo' });
    expect((await c.patients.get(c.amina.id))?.data).toEqual({ name: 'Amina' });
    // And the next sync goes on from the new cursor, refused no more.
    c.pulls.length = 0;
    expect((await c.sync()).success).toBe(true);
    expect(c.pulls).toEqual([200]);
  });
});
