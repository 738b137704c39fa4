// `npm start` as a clinic's hub: the OUTPOST_UPSTREAM_* variables make it relay its clinic to a
// central Outpost server (here a real one on a loopback port), and a partial setting stops it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPassword, fieldClinicDemoRecords } from '@outpost/examples';
import { password, startTestServer } from '../server-fixture';
import type { TestServer } from '../server-fixture';
import { freePort } from '../free-port';

const root = resolve(import.meta.dirname, '../../../..');

function startCommand(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli/start.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', OUTPOST_JWT_SECRET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

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
    if (hub && hub.exitCode === null) {
      const exited = new Promise((r) => hub?.once('exit', r));
      hub.kill('SIGTERM');
      await exited;
    }
    await central.close();
    await central.storage.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops with the missing variables named when only the upstream URL is set', async () => {
    const { child, output } = startCommand({
      PORT: '0',
      OUTPOST_DATA: dataDir,
      OUTPOST_UPSTREAM_URL: centralUrl,
    });
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code).toBe(1);
    expect(output()).toContain(
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
    const deadline = Date.now() + 30_000;
    while (!started.output().includes('is running on')) {
      if (hub.exitCode !== null || Date.now() > deadline)
        throw new Error(`hub did not start:\n${started.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
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
