// WatermelonDB's own synchronize(), unmodified, against the Outpost server: real devices (the
// @nozbe/watermelondb package on LokiJS in Node) over a real loopback port, on SQLite and PostgreSQL.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tableSchema } from '@nozbe/watermelondb';
import type { Change, Conflict, ConflictListResponse, RecordResponse } from '@outpost/core';
import { dialects } from '../server-fixture';
import { pullAll, push } from '../sync-client';
import { captureConsole, fieldClinicTables } from './watermelon/device';
import type { ConsoleCapture, Device, Row } from './watermelon/device';
import { nextMillisecond, startDeviceServer } from './watermelon/devices-fixture';
import { encountersGrantedLater } from './watermelon/read-access';
import type { DeviceServer } from './watermelon/devices-fixture';

describe.each(dialects())('WatermelonDB synchronize() against Outpost on %s', (kind) => {
  let env: DeviceServer;
  let output: ConsoleCapture;
  let token: string;

  beforeAll(async () => {
    env = await startDeviceServer(kind);
    token = await env.server.token('nurse@clinic-a.test');
  });
  afterAll(async () => {
    await env.close();
  });
  beforeEach(() => {
    output = captureConsole();
  });
  afterEach(() => {
    output.restore();
    // WatermelonDB reports every protocol problem it notices (a created record it already has, an
    // updated one it lacks, a timestamp going back) as a "[Sync]" line.
    expect(output.syncWarnings()).toEqual([]);
  });

  async function record(collection: string, id: string): Promise<RecordResponse> {
    const res = await env.server.request<RecordResponse>({
      method: 'GET',
      url: `/v1/records/${collection}/${id}`,
      token,
    });
    expect(res.status).toBe(200);
    return res.body;
  }

  async function conflictsOf(id: string): Promise<Conflict[]> {
    const admin = await env.server.token('admin@clinic-a.test');
    const res = await env.server.request<ConflictListResponse>({
      method: 'GET',
      url: `/v1/conflicts?recordId=${id}`,
      token: admin,
    });
    expect(res.status).toBe(200);
    return res.body.conflicts;
  }

  /** Two devices that both hold one patient, synced. */
  async function twoDevicesWithPatient(columns: Record<string, unknown> = {}) {
    const a = await env.device();
    const b = await env.device();
    const id = await a.create('patients', { name: 'Amina K.', ...columns });
    await a.sync();
    await b.sync();
    expect(await b.find('patients', id)).toMatchObject({ name: 'Amina K.' });
    return { a, b, id };
  }

  const dataOf = (row: Row | null) => {
    if (!row) return null;
    const { id: _id, created_at: _c, updated_at: _u, ...data } = row;
    return data;
  };

  it("a device's records reach v1 pull, and v1 changes reach the device", async () => {
    const a = await env.device();
    const patientId = await a.create('patients', {
      name: 'Chikondi B.',
      village: 'Ntcheu',
      allergies: JSON.stringify(['penicillin']),
    });
    await a.sync();

    const { changes } = await pullAll(env.server, token);
    const pulled = changes.find((c: Change) => c.id === patientId);
    expect(pulled?.data).toEqual({ name: 'Chikondi B.', village: 'Ntcheu', allergies: ['penicillin'] });

    await push(env.server, token, [
      { collection: 'patients', type: 'update', id: patientId, data: { phone: '+265 999 1234' } },
      {
        collection: 'encounters',
        type: 'create',
        id: 'enc-from-v1',
        data: { patientId, diagnosis: 'malaria', vitals: { temperature: 38.5, bp: '120/80' } },
      },
    ]);
    await a.sync();
    expect(await a.find('patients', patientId)).toMatchObject({
      name: 'Chikondi B.',
      village: 'Ntcheu',
      phone: '+265 999 1234',
      allergies: '["penicillin"]',
    });
    const encounter = await a.find('encounters', 'enc-from-v1');
    expect(encounter).toMatchObject({ patientId, diagnosis: 'malaria' });
    expect(JSON.parse(String(encounter?.['vitals']))).toEqual({ temperature: 38.5, bp: '120/80' });

    // Another clinic's device, signed in with its own token, receives none of it.
    const elsewhere = await env.device('nurse@clinic-b.test');
    await elsewhere.sync();
    expect(await elsewhere.all('patients')).toEqual([]);
    expect(await elsewhere.all('encounters')).toEqual([]);
  });

  it('a device whose schema has a column the server does not know cannot sync it, and nothing is stored', async () => {
    const tables = fieldClinicTables.map((t) =>
      t.name === 'patients'
        ? tableSchema({
            name: 'patients',
            columns: [...t.columnArray, { name: 'bloodGroup', type: 'string' }],
          })
        : t,
    );
    const a = await env.device('nurse@clinic-a.test', { tables });
    const kept = await a.create('patients', { name: 'Kept locally', bloodGroup: 'O+' });
    await expect(a.sync()).rejects.toThrow(/unknown fields for patients: bloodGroup/);
    const res = await env.server.request({ method: 'GET', url: `/v1/records/patients/${kept}`, token });
    expect(res.status).toBe(404);
    expect(await a.find('patients', kept)).toMatchObject({ bloodGroup: 'O+' });
  });

  it('offline edits to different columns on two devices both survive, on both devices', async () => {
    const { a, b, id } = await twoDevicesWithPatient();
    await b.update('patients', id, { phone: '+265 888 0000' });
    await nextMillisecond();
    await a.update('patients', id, { village: 'Dedza' });

    await a.sync();
    await b.sync();
    await a.sync();

    const expected = { name: 'Amina K.', village: 'Dedza', phone: '+265 888 0000' };
    expect(dataOf(await a.find('patients', id))).toMatchObject(expected);
    expect(dataOf(await b.find('patients', id))).toMatchObject(expected);
    expect((await record('patients', id)).data).toEqual(expected);
  });

  it("the same column edited offline on two devices is settled by the collection's rule, and both converge", async () => {
    // Patients merge field by field; the same field changed on both sides waits for a person.
    const { a, b, id } = await twoDevicesWithPatient({ village: 'Ntcheu' });
    await b.update('patients', id, { village: 'Balaka' });
    await nextMillisecond();
    await a.update('patients', id, { village: 'Dedza' });

    await a.sync();
    await b.sync(); // B's older edit meets A's newer one: held for a person, the server keeps Dedza
    await b.sync(); // ...and B gets the server's value back
    await a.sync();

    expect((await record('patients', id)).data).toEqual({ name: 'Amina K.', village: 'Dedza' });
    expect(await a.find('patients', id)).toMatchObject({ village: 'Dedza' });
    expect(await b.find('patients', id)).toMatchObject({ village: 'Dedza' });
    const [conflict, ...others] = await conflictsOf(id);
    expect(others).toEqual([]);
    expect(conflict).toMatchObject({
      kind: 'timestamp',
      fields: ['village'],
      strategy: 'manual',
      outcome: 'open',
      client: { data: { village: 'Balaka' } },
      server: { data: { village: 'Dedza' } },
    });
  });

  it('the same column of a last-write-wins record: the later edit wins even when it synced first', async () => {
    const { a, b, id: patientId } = await twoDevicesWithPatient();
    const encounterId = await a.create('encounters', { patientId, diagnosis: 'fever' });
    await a.sync();
    await b.sync();
    await a.update('encounters', encounterId, { diagnosis: 'malaria' });
    await nextMillisecond();
    await b.update('encounters', encounterId, { diagnosis: 'typhoid' });

    await b.sync();
    await a.sync(); // A's edit is older than the stored one: the server's version stands
    await a.sync();

    expect((await record('encounters', encounterId)).data).toMatchObject({ diagnosis: 'typhoid' });
    expect(await a.find('encounters', encounterId)).toMatchObject({ diagnosis: 'typhoid' });
    expect(await b.find('encounters', encounterId)).toMatchObject({ diagnosis: 'typhoid' });
    expect(await conflictsOf(encounterId)).toMatchObject([
      { strategy: 'last-write-wins', outcome: 'server-won', client: { data: { diagnosis: 'malaria' } } },
    ]);
  });

  it('a deletion against an offline edit ends deleted on both devices, whichever syncs first', async () => {
    // The deleting device syncs first: the other device's pull removes its edited copy.
    const first = await twoDevicesWithPatient();
    await first.a.remove('patients', first.id);
    await first.b.update('patients', first.id, { village: 'Mzimba' });
    await first.a.sync();
    await first.b.sync();
    await first.a.sync();
    expect(await first.a.find('patients', first.id)).toBeNull();
    expect(await first.b.find('patients', first.id)).toBeNull();
    expect((await record('patients', first.id)).deleted).toBe(true);

    // The editing device syncs first: the deletion, pushed after, removes the edited record.
    const second = await twoDevicesWithPatient();
    await second.a.remove('patients', second.id);
    await second.b.update('patients', second.id, { village: 'Mzimba' });
    await second.b.sync();
    await second.a.sync();
    await second.b.sync();
    expect(await second.a.find('patients', second.id)).toBeNull();
    expect(await second.b.find('patients', second.id)).toBeNull();
    expect((await record('patients', second.id)).deleted).toBe(true);
  });

  it("a push between another device's pull and push is refused whole; the retry merges", async () => {
    const { a, b, id } = await twoDevicesWithPatient();
    await a.update('patients', id, { village: 'Dedza' });
    await b.update('patients', id, { phone: '+265 777 1111' });

    // B pulls; before B pushes, A syncs its change of the same record.
    const refused = b.sync({ beforeApply: () => a.sync() });
    await expect(refused).rejects.toThrow(/"code":"CONFLICT"/);
    expect((await record('patients', id)).data).toEqual({ name: 'Amina K.', village: 'Dedza' });

    await b.sync();
    await a.sync();
    const expected = { name: 'Amina K.', village: 'Dedza', phone: '+265 777 1111' };
    expect((await record('patients', id)).data).toEqual(expected);
    expect(dataOf(await a.find('patients', id))).toMatchObject(expected);
    expect(dataOf(await b.find('patients', id))).toMatchObject(expected);
  });

  it('a record created, synced, then deleted offline never comes back to life', async () => {
    const a = await env.device();
    const id = await a.create('patients', { name: 'Temporary' });
    await a.sync();
    await a.remove('patients', id);
    await a.sync();
    // The trap: WatermelonDB pulled again from before its own push, so its creation came back...
    expect(a.pulled.at(-1)?.['patients']).toMatchObject({ created: [], updated: [{ id }] });
    // ...and its deletion still went out, because the record came back as `updated`.
    expect(a.pushed.at(-1)?.['patients']?.deleted).toEqual([id]);
    await a.sync();

    expect(await a.find('patients', id)).toBeNull();
    expect((await record('patients', id)).deleted).toBe(true);
    const b = await env.device();
    await b.sync();
    expect(await b.find('patients', id)).toBeNull();
  });

  it('a nurse allowed to read visits only since her last sync gets the older visits on her next one', async () => {
    const access = encountersGrantedLater();
    const clinic = await startDeviceServer(kind, { schema: access.schema });
    try {
      const admin = await clinic.server.token('admin@clinic-a.test');
      const patientId = 'grace00000000001';
      await push(clinic.server, admin, [
        { collection: 'patients', type: 'create', id: patientId, data: { name: 'Grace M.' } },
        {
          collection: 'encounters',
          type: 'create',
          id: 'visit00000000001',
          data: { patientId, diagnosis: 'malaria' },
        },
        { collection: 'patients', type: 'create', id: 'later00000000001', data: { name: 'Later P.' } },
      ]);
      const tablet = await clinic.device();
      await tablet.sync();
      expect((await tablet.all('patients')).map((r) => r.id).sort()).toEqual([patientId, 'later00000000001']);
      expect(await tablet.all('encounters')).toEqual([]);

      access.grantEncounters();
      await tablet.sync();
      expect(await tablet.find('encounters', 'visit00000000001')).toMatchObject({
        patientId,
        diagnosis: 'malaria',
      });
    } finally {
      await clinic.close();
    }
  });

  it("a change to a signed note is refused by the note's own rule, and the device gets the signed note back", async () => {
    const { a, id: patientId } = await twoDevicesWithPatient();
    const encounterId = await a.create('encounters', { patientId });
    const noteId = await a.create('clinicalNotes', { encounterId, body: 'Fever for two days.' });
    await a.sync();
    await push(env.server, token, [
      { collection: 'clinicalNotes', type: 'update', id: noteId, data: { signatureHash: 'sig-1' } },
    ]);
    await a.update('clinicalNotes', noteId, { body: 'Fever for three days.' });

    await a.sync();
    await a.sync();

    expect((await record('clinicalNotes', noteId)).data).toEqual({
      encounterId,
      body: 'Fever for two days.',
      signatureHash: 'sig-1',
    });
    expect(await a.find('clinicalNotes', noteId)).toMatchObject({
      body: 'Fever for two days.',
      signatureHash: 'sig-1',
    });
    expect(await conflictsOf(noteId)).toMatchObject([
      { kind: 'immutable', outcome: 'rejected', client: { data: { body: 'Fever for three days.' } } },
    ]);
  });

  it('three devices working offline over several rounds converge on the server state', async () => {
    const devices: Device[] = [await env.device(), await env.device(), await env.device()];
    const patients: string[] = [];
    for (const [n, d] of devices.entries())
      patients.push(await d.create('patients', { name: `Patient ${n}` }));
    for (const d of devices) await d.sync();
    for (const d of devices) await d.sync();

    for (let round = 0; round < 3; round++) {
      for (const [n, d] of devices.entries()) {
        const patientId = patients[(n + round) % patients.length] ?? '';
        if (await d.find('patients', patientId)) {
          await d.update('patients', patientId, { notes: `round ${round} by device ${n}` });
          await d.create('encounters', { patientId, diagnosis: `visit ${round}.${n}` });
        }
        const fresh = await d.create('patients', { name: `New ${round}.${n}` });
        if (round === 1 && n === 2) await d.remove('patients', fresh);
        if (round === 2 && n === 0) await d.remove('patients', patients[2] ?? '');
        await nextMillisecond();
      }
      // Each round syncs in a different order, some devices twice.
      const order = [devices[round % 3], devices[(round + 2) % 3], devices[round % 3]];
      for (const d of order) await d?.sync();
    }
    for (const d of devices) await d.sync();
    for (const d of devices) await d.sync();

    const truth = new Map<string, Change>();
    for (const c of (await pullAll(env.server, token)).changes) {
      if (['patients', 'encounters'].includes(c.collection) && !c.deleted) truth.set(c.id, c);
    }
    for (const d of devices) {
      const rows = [...(await d.all('patients')), ...(await d.all('encounters'))];
      expect(rows.map((r) => r.id).sort()).toEqual([...truth.keys()].sort());
      for (const row of rows) {
        const filled = Object.entries(dataOf(row) ?? {}).filter(([, v]) => v !== null);
        // Arrays and objects live in WatermelonDB's string columns as JSON.
        const expected = Object.entries(truth.get(row.id)?.data ?? {}).map(([k, v]) => [
          k,
          typeof v === 'object' ? JSON.stringify(v) : v,
        ]);
        expect(Object.fromEntries(filled), row.id).toEqual(Object.fromEntries(expected));
      }
    }
  });
});
