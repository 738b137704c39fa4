// `npm start` as a clinic's hub: the OUTPOST_UPSTREAM_* variables make it relay its clinic to a
// central Outpost server (here a real one on a loopback port), and a partial setting stops it.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPassword, fieldClinicDemoRecords } from '@outpost/examples';
import { password, startTestServer } from '../server-fixture';
import type { TestServer } from '../server-fixture';
import { freePort } from '../free-port';
import {
  exitCode,
  spawnStartCommand as startCommand,
  stopCommand,
  untilRunning,
} from '../start-command-process';

describe('npm start as a hub', () => {
  let central: TestServer;
  let centralUrl: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'outpost-hub-start-'));
  let hub: ChildProcess | null = null;

  beforeAll(async () => {
    central = await startTestServer('sqlite');
    centralUrl = await central.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    if (hub) await stopCommand(hub);
    await central.close();
    await central.storage.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops with the missing variables named when only the upstream URL is set', async () => {
    const refused = startCommand({
      PORT: '0',
      OUTPOST_DATA: dataDir,
      OUTPOST_UPSTREAM_URL: centralUrl,
    });
    expect(await exitCode(refused)).toBe(1);
    expect(refused.output()).toContain(
      'set OUTPOST_UPSTREAM_TENANT, OUTPOST_UPSTREAM_EMAIL and OUTPOST_UPSTREAM_PASSWORD',
    );
    expect(existsSync(join(dataDir, 'outpost.sqlite'))).toBe(false);
  });

  it("relays the clinic's records to the central server when a nurse presses sync", async () => {
    const port = await freePort();
    const started = startCommand({
      PORT: String(port),
      OUTPOST_DATA: dataDir,
      OUTPOST_UPSTREAM_URL: centralUrl,
      OUTPOST_UPSTREAM_TENANT: 'clinic-a',
      OUTPOST_UPSTREAM_EMAIL: 'admin@clinic-a.test',
      OUTPOST_UPSTREAM_PASSWORD: password,
      OUTPOST_HUB_SYNC_INTERVAL_MS: '0',
    });
    hub = started.child;
    await untilRunning(started);
    expect(started.output()).toContain(`A hub for clinic-a: it syncs with ${centralUrl}.`);
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nurse@clinic-a.test', password: demoPassword }),
    });
    const { token } = (await login.json()) as { token: string };
    const run = await fetch(`${base}/api/v1/sync/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(run.status).toBe(200);
    const body = (await run.json()) as { success: boolean; push: { total: number; success: number } };
    // The hub's demo patients and visits now stand on the central server.
    expect(body.success).toBe(true);
    expect(body.push.success).toBe(fieldClinicDemoRecords.length);
    const first = fieldClinicDemoRecords[0];
    if (!first) throw new Error('no demo records');
    const stored = await central.request({
      method: 'GET',
      url: `/v1/records/${first.collection}/${first.id}`,
      token: await central.token('admin@clinic-a.test'),
    });
    expect(stored.status).toBe(200);
  });
});
