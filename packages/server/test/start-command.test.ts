// `npm start` as a newcomer runs it: the field-clinic server with demo users and data on SQLite
// in the data folder, a dev secret kept across restarts.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './free-port';

const root = resolve(import.meta.dirname, '../../..');
const tlsDir = resolve(import.meta.dirname, 'fixtures/tls');
const tlsEnv = {
  OUTPOST_TLS_CERT: join(tlsDir, 'test-only-cert.pem'),
  OUTPOST_TLS_KEY: join(tlsDir, 'test-only-key.pem'),
};

/** GET over HTTPS, trusting only the test certificate, as a tablet given the clinic's certificate does. */
function getTrusting(url: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    httpsGet(url, { ca: readFileSync(tlsEnv.OUTPOST_TLS_CERT) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    }).on('error', fail);
  });
}

/** Waits for a start that must fail, and answers what it said. */
async function failedStart(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  return { code, output };
}

function spawnStart(dataDir: string, port: number, extraEnv: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli/start.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      OUTPOST_DATA: dataDir,
      LOG_LEVEL: 'warn',
      OUTPOST_JWT_SECRET: '',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function start(
  dataDir: string,
  port: number,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawnStart(dataDir, port, extraEnv);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!output.includes('is running on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'outpost-start-'));
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) await stop(c);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the clinic with demo sign-ins on SQLite, and keeps its secret and data across restarts', async () => {
    const port = await freePort();
    const first = await start(dataDir, port);
    children.push(first.child);
    const base = `http://127.0.0.1:${port}`;
    expect(first.output()).toContain('nurse@clinic-a.test');
    expect(await (await fetch(`${base}/v1/health`)).json()).toMatchObject({
      status: 'ok',
      database: 'sqlite',
    });
    expect((await fetch(`${base}/`)).status).toBe(200);

    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nurse@clinic-a.test', password: 'outpost-demo' }),
    });
    const { token } = (await login.json()) as { token: string };
    const pull = async () =>
      (await (
        await fetch(`${base}/v1/sync/pull`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as {
        changes: Array<{ id: string; version: number }>;
      };
    const before = await pull();
    expect(before.changes.map((c) => c.id)).toContain('demo-patient-amina');
    expect(first.output()).not.toContain('demo record was refused');

    // The demo veterinary practice has its own records, with ids the server gave and the
    // appointment's client derived from the pet's owner.
    const vetLogin = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'vet@vet-a.test', password: 'outpost-demo' }),
    });
    const vetToken = ((await vetLogin.json()) as { token: string }).token;
    const pullVet = async () =>
      (await (
        await fetch(`${base}/v1/sync/pull`, { headers: { authorization: `Bearer ${vetToken}` } })
      ).json()) as {
        changes: Array<{ collection: string; id: string; version: number; data: Record<string, unknown> }>;
      };
    const practice = await pullVet();
    const named = (collection: string, field: string, value: string) =>
      practice.changes.find((c) => c.collection === collection && c.data[field] === value);
    const tom = named('users', 'name', 'Tom Phiri');
    const bingu = named('pets', 'name', 'Bingu');
    const vaccination = named('appointments', 'title', 'Rabies vaccination');
    expect(tom?.id).toMatch(/^\d+$/); // the server's own sequence, as SmartDMV's ids are
    expect(bingu?.data['ownerId']).toBe(tom?.id);
    expect(vaccination?.data).toMatchObject({ petId: bingu?.id, clientId: tom?.id });
    expect(practice.changes.some((c) => c.collection === 'soapNotes')).toBe(true);
    expect(JSON.stringify(practice.changes)).not.toContain('temp_');
    // Nothing of the practice reaches the clinic's nurse, nor the other way round.
    expect(before.changes.some((c) => c.id === tom?.id)).toBe(false);
    expect(existsSync(join(dataDir, 'outpost.sqlite'))).toBe(true);
    expect(existsSync(join(dataDir, 'jwt-secret'))).toBe(true);
    await stop(first.child);

    const second = await start(dataDir, port);
    children.push(second.child);
    // Same token still accepted, demo data not seeded twice.
    const after = await pull();
    expect(after.changes).toEqual(before.changes);
    expect(await pullVet()).toEqual(practice);
    expect(second.output()).not.toContain('demo record was refused');
  });

  it('serves HTTPS with the certificate and key it is given, and refuses to start with only one of them', async () => {
    const port = await freePort();
    const served = await start(dataDir, port, tlsEnv);
    children.push(served.child);
    expect(served.output()).toContain(`is running on https://localhost:${port}`);
    const health = await getTrusting(`https://localhost:${port}/v1/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
    // The app's page comes over HTTPS too: the secure origin its service worker needs.
    expect((await getTrusting(`https://localhost:${port}/`)).status).toBe(200);
    // Plain HTTP gets no answer from it, so nothing goes unencrypted by mistake.
    await expect(fetch(`http://127.0.0.1:${port}/v1/health`)).rejects.toThrow();
    await stop(served.child);

    const onlyCert = await failedStart(
      spawnStart(dataDir, port, { OUTPOST_TLS_CERT: tlsEnv.OUTPOST_TLS_CERT }),
    );
    expect(onlyCert.code).toBe(1);
    expect(onlyCert.output).toContain('HTTPS needs both the certificate and its key');
    const missing = await failedStart(
      spawnStart(dataDir, port, { ...tlsEnv, OUTPOST_TLS_KEY: join(tlsDir, 'no-such-key.pem') }),
    );
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('OUTPOST_TLS_KEY: cannot read');
  });
});
