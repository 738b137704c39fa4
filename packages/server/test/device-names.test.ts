// The names a clinic gives its devices (decision 0056): GET /v1/device-names for anyone signed in
// to the clinic, PUT /v1/device-names by a person for a device she has synced on and by an
// administrator for any device of the clinic; one name per device, no two devices of a clinic named
// alike, audited, per clinic, kept across a restart. On SQLite files and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditResponseSchema, deviceNamesResponseSchema, uuidv7 } from '@outpost/core';
import type { DeviceNamesResponse } from '@outpost/core';
import { createStorage, dialects, startTestServer } from './server-fixture';
import type { TestServer } from './server-fixture';
import { fingerprint } from './security/fingerprint';
import { push } from './sync-client';

const url = '/v1/device-names';

/** A pull from the device: the server then knows it as one the caller syncs on. */
async function syncOn(server: TestServer, token: string, deviceId: string): Promise<void> {
  const res = await server.request({ method: 'GET', url: `/v1/sync/pull?deviceId=${deviceId}`, token });
  expect(res.status).toBe(200);
}

describe.each(dialects())('device names on %s', (kind) => {
  let server: TestServer;
  let clock = Date.parse('2026-03-02T09:00:00.000Z');
  let admin: string;
  let nurse: string;
  let nurseId: string;
  let nurseB: string;

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { now: () => new Date(clock) } });
    admin = await server.token('admin@clinic-a.test');
    nurse = await server.token('nurse@clinic-a.test');
    nurseB = await server.token('nurse@clinic-b.test');
    nurseId = (await server.app.outpost.store.findUserByEmail('nurse@clinic-a.test'))?.id ?? '';
    // The nurse syncs on two tablets (a push from one, a pull on the other); the administrator on
    // the office's computer; clinic-b's nurse on a tablet whose id is also used in clinic-a.
    await push(
      server,
      nurse,
      [{ collection: 'patients', type: 'create', id: uuidv7(), data: { name: 'Ama' } }],
      {
        deviceId: 'ward-tablet',
      },
    );
    await syncOn(server, nurse, 'outreach-tablet');
    await syncOn(server, admin, 'office-pc');
    await syncOn(server, nurseB, 'ward-tablet');
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  async function names(token = nurse): Promise<DeviceNamesResponse> {
    const res = await server.request({ method: 'GET', url, token });
    expect(res.status).toBe(200);
    return deviceNamesResponseSchema.parse(res.body);
  }

  async function put(body: unknown, token = nurse) {
    return server.request({ method: 'PUT', url, token, body });
  }

  it('lists no names before anyone names a device', async () => {
    expect(await names()).toEqual({ devices: [] });
  });

  it('lets a nurse name the devices she syncs on, and everyone of the clinic reads the names', async () => {
    clock = Date.parse('2026-03-02T09:10:00.000Z');
    const res = await put({ deviceId: 'ward-tablet', name: '  Ward 2 tablet ' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deviceId: 'ward-tablet', name: 'Ward 2 tablet' });
    // A device she only pulled on is hers to name as well.
    expect((await put({ deviceId: 'outreach-tablet', name: 'Outreach van' })).status).toBe(200);
    const expected = {
      devices: [
        {
          deviceId: 'outreach-tablet',
          name: 'Outreach van',
          namedAt: '2026-03-02T09:10:00.000Z',
          namedBy: nurseId,
          namedByEmail: 'nurse@clinic-a.test',
        },
        {
          deviceId: 'ward-tablet',
          name: 'Ward 2 tablet',
          namedAt: '2026-03-02T09:10:00.000Z',
          namedBy: nurseId,
          namedByEmail: 'nurse@clinic-a.test',
        },
      ],
    };
    expect(await names()).toEqual(expected);
    expect(await names(admin)).toEqual(expected);
  });

  it("shows a clinician the names of the devices she syncs on, an administrator every device's", async () => {
    await syncOn(server, admin, 'kiosk');
    expect((await put({ deviceId: 'kiosk', name: 'Waiting room kiosk' }, admin)).status).toBe(200);
    expect((await names(admin)).devices.map((d) => d.deviceId)).toEqual([
      'outreach-tablet',
      'kiosk',
      'ward-tablet',
    ]);
    expect((await names()).devices.map((d) => d.deviceId)).toEqual(['outreach-tablet', 'ward-tablet']);
    // Once she syncs on the kiosk, its name is hers to read.
    await syncOn(server, nurse, 'kiosk');
    expect((await names()).devices.map((d) => d.deviceId)).toEqual([
      'outreach-tablet',
      'kiosk',
      'ward-tablet',
    ]);
    expect((await put({ deviceId: 'kiosk', name: null }, admin)).status).toBe(200);
  });

  it('tells anyone the name of the device she asks from, as on a shared tablet', async () => {
    // The front desk's computer, named by the administrator, is not one the nurse syncs on…
    await syncOn(server, admin, 'front-desk');
    expect((await put({ deviceId: 'front-desk', name: 'Front desk' }, admin)).status).toBe(200);
    expect((await names()).devices.map((d) => d.deviceId)).not.toContain('front-desk');
    // …but asking from it, she is told its name, and that one more only.
    const res = await server.request({ method: 'GET', url: `${url}?deviceId=front-desk`, token: nurse });
    expect(res.status).toBe(200);
    expect(deviceNamesResponseSchema.parse(res.body).devices.map((d) => [d.deviceId, d.name])).toEqual([
      ['front-desk', 'Front desk'],
      ['outreach-tablet', 'Outreach van'],
      ['ward-tablet', 'Ward 2 tablet'],
    ]);
    // A device id that is not one is refused in words.
    const bad = await server.request({
      method: 'GET',
      url: `${url}?deviceId=${'d'.repeat(129)}`,
      token: nurse,
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    expect((await put({ deviceId: 'front-desk', name: null }, admin)).status).toBe(200);
  });

  it('refuses a nurse naming a device only colleagues sync on (403), and changes nothing', async () => {
    const before = await fingerprint(server.app.outpost.store);
    const res = await put({ deviceId: 'office-pc', name: 'Mine now' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: {
        code: 'FORBIDDEN',
        message: 'you may name a device you sync on, or a new one; an administrator names the others',
      },
    });
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
  });

  it('lets a nurse name a new tablet before its first sync, and shows her its name', async () => {
    expect((await put({ deviceId: 'new-tablet', name: 'Spare tablet' })).status).toBe(200);
    expect((await names()).devices.map((d) => [d.deviceId, d.name])).toContainEqual([
      'new-tablet',
      'Spare tablet',
    ]);
    // Once the administrator's own device syncs there, it is no longer new: hers to rename still
    // only if she syncs on it.
    await syncOn(server, admin, 'new-tablet');
    expect((await put({ deviceId: 'new-tablet', name: 'Spare tablet 2' })).status).toBe(403);
    expect((await put({ deviceId: 'new-tablet', name: null }, admin)).status).toBe(200);
    expect((await names()).devices.map((d) => d.deviceId)).toEqual(['outreach-tablet', 'ward-tablet']);
  });

  it('lets an administrator rename any device of the clinic, and not one it has never seen (404)', async () => {
    clock = Date.parse('2026-03-02T09:20:00.000Z');
    expect(
      (await put({ deviceId: 'ward-tablet', name: 'Ward 2 tablet (charging shelf)' }, admin)).status,
    ).toBe(200);
    expect((await put({ deviceId: 'office-pc', name: 'Office computer' }, admin)).status).toBe(200);
    expect((await names(admin)).devices.map((d) => [d.deviceId, d.name, d.namedByEmail])).toEqual([
      ['office-pc', 'Office computer', 'admin@clinic-a.test'],
      ['outreach-tablet', 'Outreach van', 'nurse@clinic-a.test'],
      ['ward-tablet', 'Ward 2 tablet (charging shelf)', 'admin@clinic-a.test'],
    ]);
    const before = await fingerprint(server.app.outpost.store);
    const res = await put({ deviceId: 'never-seen', name: 'Spare tablet' }, admin);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: { code: 'NOT_FOUND', message: 'no device of this clinic has synced with this id' },
    });
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
  });

  it('refuses a name another device of the clinic has, whatever its case (409), and keeps both', async () => {
    const before = await fingerprint(server.app.outpost.store);
    for (const name of [
      'Office computer',
      'OFFICE COMPUTER',
      ' office computer ',
      'Office computer'.normalize('NFD'),
    ]) {
      const res = await put({ deviceId: 'outreach-tablet', name });
      expect(res.status, name).toBe(409);
      expect(res.body).toMatchObject({
        error: {
          code: 'CONFLICT',
          message: expect.stringContaining('another device of this clinic is already named'),
        },
      });
    }
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    // The device's own name in other letters is no clash: it is renamed.
    expect((await put({ deviceId: 'outreach-tablet', name: 'OUTREACH VAN' })).status).toBe(200);
    expect((await names()).devices.find((d) => d.deviceId === 'outreach-tablet')?.name).toBe('OUTREACH VAN');
  });

  it('names two devices alike at the same moment for one of them only', async () => {
    const [first, second] = await Promise.all([
      put({ deviceId: 'outreach-tablet', name: 'Spare tablet' }),
      put({ deviceId: 'ward-tablet', name: 'Spare tablet' }),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    expect((await names()).devices.filter((d) => d.name === 'Spare tablet')).toHaveLength(1);
    // Back to names the tests below expect.
    for (const [deviceId, name] of [
      ['outreach-tablet', 'Outreach van'],
      ['ward-tablet', 'Ward 2 tablet'],
    ] as const)
      expect((await put({ deviceId, name }, admin)).status).toBe(200);
  });

  it('removes a name on name: null; removing it again changes nothing', async () => {
    expect((await put({ deviceId: 'office-pc', name: null }, admin)).body).toEqual({
      deviceId: 'office-pc',
      name: null,
    });
    expect((await names()).devices.map((d) => d.deviceId)).toEqual(['outreach-tablet', 'ward-tablet']);
    const before = await fingerprint(server.app.outpost.store);
    expect((await put({ deviceId: 'office-pc', name: null }, admin)).status).toBe(200);
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    // Its name is free for another device.
    expect((await put({ deviceId: 'ward-tablet', name: 'Office computer' })).status).toBe(200);
    expect((await put({ deviceId: 'ward-tablet', name: 'Ward 2 tablet' })).status).toBe(200);
  });

  it('refuses bad input with 400 and a message in words, and stores nothing', async () => {
    const before = await fingerprint(server.app.outpost.store);
    const bad: Array<[string, unknown, string]> = [
      ['an empty name', { deviceId: 'ward-tablet', name: '' }, 'name is empty'],
      ['spaces only', { deviceId: 'ward-tablet', name: '   ' }, 'name is empty'],
      [
        '61 characters',
        { deviceId: 'ward-tablet', name: 'x'.repeat(61) },
        'name must be at most 60 characters',
      ],
      ['two lines', { deviceId: 'ward-tablet', name: 'Ward 2\ntablet' }, 'name must be on one line'],
      ['a tab', { deviceId: 'ward-tablet', name: 'Ward\t2' }, 'name must be on one line'],
      [
        'half a character',
        { deviceId: 'ward-tablet', name: 'Ward \ud800' },
        'name may not hold half of a character',
      ],
      ['a number', { deviceId: 'ward-tablet', name: 2 }, 'name must be text, or null to remove the name'],
      ['no name', { deviceId: 'ward-tablet' }, 'name must be text, or null to remove the name'],
      ['no device', { name: 'Ward 2 tablet' }, 'deviceId must be text'],
      ['an empty device', { deviceId: '', name: 'Ward 2 tablet' }, 'deviceId is empty'],
      [
        'a long device id',
        { deviceId: 'd'.repeat(129), name: 'Ward 2 tablet' },
        'deviceId must be at most 128',
      ],
      [
        'another clinic named',
        { deviceId: 'ward-tablet', name: 'Ward 2 tablet', tenant: 'clinic-b' },
        'the request takes deviceId and name only, not tenant',
      ],
      ['a list', ['ward-tablet'], 'send { "deviceId": "…", "name": "Ward 2 tablet" }'],
    ];
    for (const [what, body, message] of bad) {
      const res = await put(body);
      expect(res.status, what).toBe(400);
      expect(res.body, what).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
      expect((res.body as { error: { message: string } }).error.message, what).toContain(message);
    }
    for (const [what, payload, contentType, status] of [
      ['malformed JSON', '{"deviceId": "ward-tablet", "name": "W', 'application/json', 400],
      ['an empty body', '', 'application/json', 400],
      [
        'a prototype key',
        '{"deviceId": "ward-tablet", "name": "W", "__proto__": {}}',
        'application/json',
        400,
      ],
      ['a form', 'name=W', 'application/x-www-form-urlencoded', 415],
    ] as const) {
      const res = await server.app.inject({
        method: 'PUT',
        url,
        headers: { authorization: `Bearer ${nurse}`, 'content-type': contentType },
        payload,
      });
      expect(res.statusCode, what).toBe(status);
      expect(JSON.parse(res.body), what).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }
    expect(await fingerprint(server.app.outpost.store)).toEqual(before);
    // Signed in with no token: 401, as every route.
    expect((await server.request({ method: 'GET', url })).status).toBe(401);
    expect(
      (await server.request({ method: 'PUT', url, body: { deviceId: 'ward-tablet', name: 'X' } })).status,
    ).toBe(401);
  });

  it("keeps each clinic's apart: clinic-b names its own tablet of the same id, and sees none of clinic-a's", async () => {
    const untouched = await fingerprint(server.app.outpost.store, 'clinic-a');
    expect(await names(nurseB)).toEqual({ devices: [] });
    // The same id and the same name as clinic-a's: another clinic's tablet, another clinic's name.
    const res = await put({ deviceId: 'ward-tablet', name: 'Ward 2 tablet' }, nurseB);
    expect(res.status).toBe(200);
    expect((await names(nurseB)).devices.map((d) => [d.deviceId, d.name])).toEqual([
      ['ward-tablet', 'Ward 2 tablet'],
    ]);
    // An id only clinic-a syncs on is a new tablet to clinic-b: named there, clinic-a's untouched.
    expect((await put({ deviceId: 'outreach-tablet', name: 'Taken over' }, nurseB)).status).toBe(200);
    expect((await names(nurseB)).devices.map((d) => d.name)).toEqual(['Taken over', 'Ward 2 tablet']);
    expect(await fingerprint(server.app.outpost.store, 'clinic-a')).toEqual(untouched);
    expect((await names()).devices.map((d) => d.name)).toEqual(['Outreach van', 'Ward 2 tablet']);
  });

  it('audits each naming: who, when, which device, and whether it was named, renamed or unnamed', async () => {
    clock = Date.parse('2026-03-02T11:00:00.000Z');
    expect((await put({ deviceId: 'office-pc', name: 'Front desk' }, admin)).status).toBe(200);
    clock = Date.parse('2026-03-02T11:05:00.000Z');
    expect((await put({ deviceId: 'office-pc', name: 'Front desk PC' }, admin)).status).toBe(200);
    clock = Date.parse('2026-03-02T11:10:00.000Z');
    expect((await put({ deviceId: 'office-pc', name: null }, admin)).status).toBe(200);
    // Nothing changed, nothing refused into the trail as a naming.
    expect((await put({ deviceId: 'office-pc', name: null }, admin)).status).toBe(200);
    expect((await put({ deviceId: 'office-pc', name: 'Outreach van' }, admin)).status).toBe(409);

    const res = await server.request({
      method: 'GET',
      url: '/v1/audit?action=device-named&from=2026-03-02T10:30:00Z',
      token: admin,
    });
    expect(res.status).toBe(200);
    const { events } = auditResponseSchema.parse(res.body);
    expect(events.map((e) => [e.at, e.email, e.action, e.recordId, e.outcome])).toEqual([
      ['2026-03-02T11:10:00.000Z', 'admin@clinic-a.test', 'device-named', 'office-pc', 'unnamed'],
      ['2026-03-02T11:05:00.000Z', 'admin@clinic-a.test', 'device-named', 'office-pc', 'renamed'],
      ['2026-03-02T11:00:00.000Z', 'admin@clinic-a.test', 'device-named', 'office-pc', 'named'],
    ]);
    // The name itself is not in the trail: a name may be a person's ("Dr. Banda's tablet").
    expect(JSON.stringify(events)).not.toContain('Front desk');
  });

  it('keeps the names across a restart on the same data', async () => {
    const storage = await createStorage(kind);
    try {
      const first = await startTestServer(kind, { storage });
      const token = await first.token('nurse@clinic-a.test');
      await syncOn(first, token, 'ward-tablet');
      expect(
        (
          await first.request({
            method: 'PUT',
            url,
            token,
            body: { deviceId: 'ward-tablet', name: 'Ward 2 tablet' },
          })
        ).status,
      ).toBe(200);
      await first.close();

      const second = await startTestServer(kind, { storage });
      const res = await second.request({ method: 'GET', url, token });
      expect(res.status).toBe(200);
      expect(deviceNamesResponseSchema.parse(res.body).devices.map((d) => [d.deviceId, d.name])).toEqual([
        ['ward-tablet', 'Ward 2 tablet'],
      ]);
      await second.close();
    } finally {
      await storage.destroy();
    }
  });
});
