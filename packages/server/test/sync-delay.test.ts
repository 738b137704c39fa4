// How long a device's changes took to reach the server, and its recent failures, in
// GET /v1/sync/stats/devices (decision 0036): from each journaled op's HLC as the device sent it
// (when its clock says the change was made) and its arrival, over the last week of arrivals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceStatsResponseSchema, formatHlc, uuidv7 } from '@outpost/core';
import type { DeviceStats, PushOp, PushResponse } from '@outpost/core';
import { dialects, startTestServer } from './server-fixture';
import type { TestEmail, TestServer } from './server-fixture';
import { opId } from './sync-client';

const hour = 60 * 60 * 1000;
const day = 24 * hour;

describe.each(dialects())('delays and recent figures per device on %s', (kind) => {
  let server: TestServer;
  /** The server's clock: each test sets it. */
  let clock = Date.parse('2025-03-10T12:00:00.000Z');

  beforeAll(async () => {
    server = await startTestServer(kind, { server: { now: () => new Date(clock) } });
  });
  afterAll(async () => {
    await server.close();
    await server.storage.destroy();
  });

  /** Pushes ops from `deviceId`, each made (by the device's clock) `madeAgoMs` before the server's now. */
  async function pushMade(
    email: TestEmail,
    deviceId: string,
    madeAgoMs: readonly (number | null)[],
    op: (i: number) => Partial<PushOp> = () => ({}),
  ): Promise<PushResponse> {
    const res = await server.request<PushResponse>({
      method: 'POST',
      url: '/v1/sync/push',
      token: await server.tokenNow(email),
      body: {
        clientId: `client-${deviceId}`,
        deviceId,
        ops: madeAgoMs.map((ago, i) => ({
          opId: opId(),
          collection: 'patients',
          type: 'create',
          id: uuidv7(),
          data: { name: `Patient ${i}` },
          ...(ago === null ? {} : { hlc: formatHlc({ ms: clock - ago, counter: i, node: deviceId }) }),
          ...op(i),
        })),
      },
    });
    expect(res.status).toBe(200);
    return res.body;
  }

  async function devices(email: TestEmail = 'admin@clinic-a.test') {
    const res = await server.request({
      method: 'GET',
      url: '/v1/sync/stats/devices',
      token: await server.tokenNow(email),
    });
    expect(res.status).toBe(200);
    const parsed = deviceStatsResponseSchema.parse(res.body);
    const byDevice = (deviceId: string): DeviceStats => {
      const found = parsed.devices.find((d) => d.deviceId === deviceId);
      if (!found) throw new Error(`no figures for ${deviceId}`);
      return found;
    };
    return { ...parsed, byDevice };
  }

  it('shows ops made two days before they arrive as a delay of two days', async () => {
    clock = Date.parse('2025-03-10T12:00:00.000Z');
    // Made on a field trip two days ago (a few minutes apart), sent on the return.
    await pushMade('nurse@clinic-a.test', 'tablet-field', [
      2 * day + 10 * 60_000,
      2 * day,
      2 * day - 10 * 60_000,
    ]);
    const figures = await devices();
    expect(figures.asOf).toBe('2025-03-10T12:00:00.000Z');
    expect(figures.recentSince).toBe('2025-03-03T12:00:00.000Z');
    expect(figures.byDevice('tablet-field')).toMatchObject({
      recent: { total: 3, failed: 0, conflicts: 0 },
      delay: { medianMs: 2 * day, maxMs: 2 * day + 10 * 60_000, measured: 3 },
    });
  });

  it('counts a clock running ahead of the server as no delay, never a negative one', async () => {
    clock = Date.parse('2025-03-10T13:00:00.000Z');
    // Three hours ahead (the HLC is taken), and two days ahead (the record gets the server's HLC,
    // the journal keeps the one sent).
    const answer = await pushMade('nurse@clinic-a.test', 'tablet-fast', [-3 * hour, -2 * day]);
    expect(answer.results.map((r) => r.status)).toEqual(['applied', 'applied']);
    expect((await devices()).byDevice('tablet-fast').delay).toEqual({ medianMs: 0, maxMs: 0, measured: 2 });
    // One op on time and one from ahead: the median of 0 and 0 stays 0, the maximum is the real wait.
    await pushMade('nurse@clinic-a.test', 'tablet-fast', [-hour, 4 * hour]);
    expect((await devices()).byDevice('tablet-fast').delay).toEqual({
      medianMs: 0,
      maxMs: 4 * hour,
      measured: 4,
    });
  });

  it('takes the median over odd and even counts, and leaves out ops sent without an HLC', async () => {
    clock = Date.parse('2025-03-10T14:00:00.000Z');
    await pushMade('nurse@clinic-a.test', 'tablet-odd', [hour, 10 * hour, 2 * hour, null]);
    expect((await devices()).byDevice('tablet-odd')).toMatchObject({
      recent: { total: 4 },
      delay: { medianMs: 2 * hour, maxMs: 10 * hour, measured: 3 },
    });
    await pushMade('nurse@clinic-a.test', 'tablet-even', [hour, 3 * hour, 5 * hour, 11 * hour]);
    expect((await devices()).byDevice('tablet-even').delay).toEqual({
      medianMs: 4 * hour,
      maxMs: 11 * hour,
      measured: 4,
    });
    await pushMade('nurse@clinic-a.test', 'tablet-none', [null, null]);
    expect((await devices()).byDevice('tablet-none')).toMatchObject({ recent: { total: 2 }, delay: null });
  });

  it('measures a resent op once', async () => {
    clock = Date.parse('2025-03-10T15:00:00.000Z');
    const token = await server.tokenNow('nurse@clinic-a.test');
    const op = {
      opId: opId(),
      collection: 'patients',
      type: 'create',
      id: uuidv7(),
      data: { name: 'Resent' },
      hlc: formatHlc({ ms: clock - 6 * hour, counter: 0, node: 'tablet-resend' }),
    };
    const body = { clientId: 'client-resend', deviceId: 'tablet-resend', ops: [op] };
    await server.request({ method: 'POST', url: '/v1/sync/push', token, body });
    clock += 3 * hour;
    const again = await server.request<PushResponse>({ method: 'POST', url: '/v1/sync/push', token, body });
    expect(again.body.results[0]?.status).toBe('duplicate');
    expect((await devices()).byDevice('tablet-resend')).toMatchObject({
      recent: { total: 1 },
      delay: { medianMs: 6 * hour, maxMs: 6 * hour, measured: 1 },
    });
  });

  it('judges only the last week of arrivals, failures and conflicts included', async () => {
    // Ten days before: an op that failed and one with a long delay, both outside the window by now.
    clock = Date.parse('2025-03-20T09:00:00.000Z');
    await pushMade('nurse@clinic-a.test', 'tablet-week', [3 * day, 0], (i) => (i === 0 ? {} : { data: {} }));
    clock += 10 * day;
    // This week: four ops, one refused for good (a patient needs a name), one meeting a conflict.
    const created = uuidv7();
    const answer = await pushMade('nurse@clinic-a.test', 'tablet-week', [hour, hour, hour, hour], (i) =>
      i === 0
        ? { data: {} }
        : i === 1
          ? { id: created }
          : i === 2
            ? { type: 'update', id: created, baseVersion: 1, data: { village: 'A' } }
            : { type: 'update', id: created, baseVersion: 1, data: { village: 'B' } },
    );
    expect(answer.results.map((r) => r.status)).toEqual(['rejected', 'applied', 'applied', 'conflict']);
    const week = (await devices()).byDevice('tablet-week');
    expect(week).toMatchObject({
      // All time: six ops, two failed; this week: four, one failed, one conflict.
      total: 6,
      failed: 2,
      recent: { total: 4, failed: 1, conflicts: 1 },
      delay: { medianMs: hour, maxMs: hour, measured: 4 },
    });
    // A device with nothing this week reads zero, and no delay.
    expect((await devices()).byDevice('tablet-field')).toMatchObject({
      recent: { total: 0, failed: 0, conflicts: 0 },
      delay: null,
    });
  });

  it('keeps to the caller clinic and still parses in the shape PROTOCOL.md documents', async () => {
    clock = Date.parse('2025-04-01T09:00:00.000Z');
    await pushMade('vet@vet-a.test', 'vet-tablet', [day]);
    const vet = await devices('admin@vet-a.test');
    expect(vet.devices.map((d) => d.deviceId)).toEqual(['vet-tablet']);
    const clinic = await devices();
    expect(clinic.devices.map((d) => d.deviceId)).not.toContain('vet-tablet');
    // A server before these fields: the documented shape alone.
    const documented = {
      devices: [
        {
          userId: 'u1',
          email: null,
          deviceId: 'd1',
          lastSyncAt: null,
          openConflicts: 0,
          total: 0,
          pending: 0,
          synced: 0,
          failed: 0,
          conflicts: 0,
          syncRate: '100.00%',
        },
      ],
    };
    expect(deviceStatsResponseSchema.parse(documented)).toEqual(documented);
  });
});
