// `npm start` as a newcomer runs it: the field-clinic server with demo users and data on SQLite
// in the data folder, a dev secret kept across restarts.
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptFile, isEncryptedBackup, newBackupKey } from '../src/storage/backup-encryption';
import { checkBackup } from '../src/storage/sqlite-backup';
import { freePort } from './free-port';
import { exitCode, spawnStartCommand, stopCommand, untilRunning } from './start-command-process';
import type { StartCommand } from './start-command-process';

const tlsDir = resolve(import.meta.dirname, 'fixtures/tls');
const tlsEnv = {
  OUTPOST_TLS_CERT: join(tlsDir, 'test-only-cert.pem'),
  OUTPOST_TLS_KEY: join(tlsDir, 'test-only-key.pem'),
};

/**
 * GET over HTTPS on a new connection, trusting only the test certificate (or `ca`), as a tablet
 * given the clinic's certificate does.
 */
function getTrusting(
  url: string,
  ca: Buffer = readFileSync(tlsEnv.OUTPOST_TLS_CERT),
): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    httpsGet(url, { ca, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    }).on('error', fail);
  });
}

function start(dataDir: string, port: number, extraEnv: Record<string, string> = {}): StartCommand {
  return spawnStartCommand({ PORT: String(port), OUTPOST_DATA: dataDir, ...extraEnv });
}

async function started(dataDir: string, port: number, extraEnv: Record<string, string> = {}) {
  const command = start(dataDir, port, extraEnv);
  await untilRunning(command);
  return command;
}

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'outpost-start-'));
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) await stopCommand(c);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the clinic with demo sign-ins on SQLite, and keeps its secret and data across restarts', async () => {
    const port = await freePort();
    const first = await started(dataDir, port);
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
    // The device the demo records came from is named, so the Statistics page says what it is.
    const adminToken = (
      (await (
        await fetch(`${base}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'admin@clinic-a.test', password: 'outpost-demo' }),
        })
      ).json()) as { token: string }
    ).token;
    const deviceNames = async () =>
      (await (
        await fetch(`${base}/v1/device-names`, { headers: { authorization: `Bearer ${adminToken}` } })
      ).json()) as { devices: Array<{ deviceId: string; name: string; namedAt: string }> };
    const demoNamed = await deviceNames();
    expect(demoNamed.devices.map((d) => [d.deviceId, d.name])).toEqual([
      ['demo-seed', 'Demo data (seeded at start)'],
    ]);
    // And out of use (decision 0057): no tablet, so "Needs attention" never lists it as silent.
    const demoDevice = async () =>
      (
        (await (
          await fetch(`${base}/v1/sync/stats/devices`, { headers: { authorization: `Bearer ${adminToken}` } })
        ).json()) as {
          devices: Array<{ deviceId: string; lastSyncAt: string; outOfUseSince: string | null }>;
        }
      ).devices.find((d) => d.deviceId === 'demo-seed');
    const firstSeeding = await demoDevice();
    expect(firstSeeding?.outOfUseSince).toEqual(expect.any(String));
    expect(firstSeeding!.outOfUseSince! >= firstSeeding!.lastSyncAt).toBe(true);
    // What the app's sign-in page offers: the accounts of tenants on the clinic's schema.
    const offered = (await (await fetch(`${base}/v1/demo-accounts`)).json()) as {
      password: string;
      accounts: Array<{ email: string }>;
    };
    expect(offered.password).toBe('outpost-demo');
    expect(offered.accounts.map((a) => a.email)).toEqual([
      'nurse@clinic-a.test',
      'admin@clinic-a.test',
      'nurse@clinic-b.test',
    ]);

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
    await stopCommand(first.child);

    const second = await started(dataDir, port);
    children.push(second.child);
    // Same token still accepted, demo data not seeded twice.
    const after = await pull();
    expect(after.changes).toEqual(before.changes);
    expect(await pullVet()).toEqual(practice);
    expect(second.output()).not.toContain('demo record was refused');
    // Named once: the second start left the name as the first gave it.
    expect(await deviceNames()).toEqual(demoNamed);
    // Its seeding synced again, and took it out of use again.
    const secondSeeding = await demoDevice();
    expect(secondSeeding!.lastSyncAt > firstSeeding!.lastSyncAt).toBe(true);
    expect(secondSeeding!.outOfUseSince! >= secondSeeding!.lastSyncAt).toBe(true);
  });

  it('with OUTPOST_DEMO=0 creates no demo user and offers no demo account', async () => {
    const port = await freePort();
    const ownData = mkdtempSync(join(tmpdir(), 'outpost-start-nodemo-'));
    try {
      const served = await started(ownData, port, { OUTPOST_DEMO: '0' });
      children.push(served.child);
      const base = `http://127.0.0.1:${port}`;
      const offered = await fetch(`${base}/v1/demo-accounts`);
      expect(offered.status).toBe(404);
      await offered.body?.cancel();
      const login = await fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'nurse@clinic-a.test', password: 'outpost-demo' }),
      });
      expect(login.status).toBe(401);
      await stopCommand(served.child);
    } finally {
      rmSync(ownData, { recursive: true, force: true });
    }
  });

  it("with OUTPOST_ADMIN_* and OUTPOST_DEMO=0 creates the clinic's first administrator, who adds a person; a restart leaves them as they are; one variable alone stops it", async () => {
    const port = await freePort();
    const ownData = mkdtempSync(join(tmpdir(), 'outpost-start-admin-'));
    const base = `http://127.0.0.1:${port}`;
    const adminEnv = {
      OUTPOST_DEMO: '0',
      OUTPOST_ADMIN_EMAIL: 'Head@Hillside.test',
      OUTPOST_ADMIN_PASSWORD: 'hillside first password',
      OUTPOST_ADMIN_TENANT: 'hillside',
    };
    const signIn = (email: string, password: string) =>
      fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
    try {
      const first = await started(ownData, port, adminEnv);
      children.push(first.child);
      expect(first.output()).toContain('Created the administrator head@hillside.test of hillside');
      expect(first.output()).not.toContain('hillside first password');
      const login = await signIn('head@hillside.test', 'hillside first password');
      expect(login.status).toBe(200);
      const { token, user } = (await login.json()) as {
        token: string;
        user: { tenant: string; roles: string[] };
      };
      expect(user).toMatchObject({ tenant: 'hillside', roles: ['admin'] });
      const added = await fetch(`${base}/v1/admin/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          email: 'nurse@hillside.test',
          password: 'nurse first password',
          roles: ['clinician'],
        }),
      });
      expect(added.status).toBe(201);
      await added.body?.cancel();
      expect((await signIn('nurse@hillside.test', 'nurse first password')).status).toBe(200);
      await stopCommand(first.child);

      // Started again with another password in the variable: the administrator is left as they are.
      const second = await started(ownData, port, {
        ...adminEnv,
        OUTPOST_ADMIN_PASSWORD: 'another password now',
      });
      children.push(second.child);
      expect(second.output()).toContain('head@hillside.test (OUTPOST_ADMIN_EMAIL) already signs in');
      expect((await signIn('head@hillside.test', 'hillside first password')).status).toBe(200);
      expect((await signIn('head@hillside.test', 'another password now')).status).toBe(401);
      await stopCommand(second.child);

      const alone = start(ownData, port, { OUTPOST_DEMO: '0', OUTPOST_ADMIN_EMAIL: 'head@hillside.test' });
      expect(await exitCode(alone)).toBe(1);
      expect(alone.output()).toContain('set all three');
      expect(alone.output()).toContain('missing: OUTPOST_ADMIN_PASSWORD, OUTPOST_ADMIN_TENANT');
      const short = start(ownData, port, { ...adminEnv, OUTPOST_ADMIN_PASSWORD: 'short' });
      expect(await exitCode(short)).toBe(1);
      expect(short.output()).toContain('OUTPOST_ADMIN_PASSWORD: password must be at least 12 characters');
      // Long enough, but the clinic's own name (decision 0053): refused before anything starts.
      const guessable = start(ownData, port, { ...adminEnv, OUTPOST_ADMIN_PASSWORD: 'hillside2026' });
      expect(await exitCode(guessable)).toBe(1);
      expect(guessable.output()).toContain('OUTPOST_ADMIN_PASSWORD: password is too easy to guess');
    } finally {
      rmSync(ownData, { recursive: true, force: true });
    }
  });

  it('serves HTTPS with the certificate and key it is given, and refuses to start with only one of them', async () => {
    const port = await freePort();
    const served = await started(dataDir, port, tlsEnv);
    children.push(served.child);
    expect(served.output()).toContain(`is running on https://localhost:${port}`);
    const health = await getTrusting(`https://localhost:${port}/v1/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
    // The app's page comes over HTTPS too: the secure origin its service worker needs.
    expect((await getTrusting(`https://localhost:${port}/`)).status).toBe(200);
    // Plain HTTP gets no answer from it, so nothing goes unencrypted by mistake.
    await expect(fetch(`http://127.0.0.1:${port}/v1/health`)).rejects.toThrow();
    await stopCommand(served.child);

    const onlyCert = start(dataDir, port, { OUTPOST_TLS_CERT: tlsEnv.OUTPOST_TLS_CERT });
    expect(await exitCode(onlyCert)).toBe(1);
    expect(onlyCert.output()).toContain('HTTPS needs both the certificate and its key');
    const missing = start(dataDir, port, { ...tlsEnv, OUTPOST_TLS_KEY: join(tlsDir, 'no-such-key.pem') });
    expect(await exitCode(missing)).toBe(1);
    expect(missing.output()).toContain('OUTPOST_TLS_KEY: cannot read');
  });

  it('takes a renewed certificate on SIGHUP without a restart, and keeps the one in use when the new files are wrong', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'outpost-tls-'));
    const files = { OUTPOST_TLS_CERT: join(dir, 'cert.pem'), OUTPOST_TLS_KEY: join(dir, 'key.pem') };
    const first = readFileSync(tlsEnv.OUTPOST_TLS_CERT);
    const renewed = readFileSync(join(tlsDir, 'test-only-renewed-cert.pem'));
    const put = (cert: string, key: string) => {
      copyFileSync(join(tlsDir, cert), files.OUTPOST_TLS_CERT);
      copyFileSync(join(tlsDir, key), files.OUTPOST_TLS_KEY);
    };
    const said = async (text: string) => {
      await expect.poll(() => served.output(), { timeout: 10_000 }).toContain(text);
    };
    put('test-only-cert.pem', 'test-only-key.pem');
    const served = await started(dataDir, port, files);
    children.push(served.child);
    try {
      const health = `https://localhost:${port}/v1/health`;
      expect((await getTrusting(health, first)).status).toBe(200);
      await expect(getTrusting(health, renewed)).rejects.toThrow();

      // A renewal half done: the new certificate beside the old key. Refused, the old one serves on.
      put('test-only-renewed-cert.pem', 'test-only-key.pem');
      served.child.kill('SIGHUP');
      await said('HTTPS certificate not reloaded, the one in use stays');
      expect((await getTrusting(health, first)).status).toBe(200);
      // Files gone: the same.
      rmSync(files.OUTPOST_TLS_KEY);
      served.child.kill('SIGHUP');
      await said('OUTPOST_TLS_KEY: cannot read');
      expect((await getTrusting(health, first)).status).toBe(200);

      // Both renewed: new connections get the new certificate, from the same process.
      put('test-only-renewed-cert.pem', 'test-only-renewed-key.pem');
      served.child.kill('SIGHUP');
      await said(`HTTPS certificate reloaded from ${files.OUTPOST_TLS_CERT}`);
      expect((await getTrusting(health, renewed)).status).toBe(200);
      await expect(getTrusting(health, first)).rejects.toThrow();
      expect(served.child.exitCode).toBeNull();
    } finally {
      await stopCommand(served.child);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes scheduled backups into OUTPOST_BACKUP_DIR while it runs, encrypted to OUTPOST_BACKUP_RECIPIENTS, and says so at the start', async () => {
    const port = await freePort();
    const ownData = mkdtempSync(join(tmpdir(), 'outpost-start-backups-'));
    const backupDir = mkdtempSync(join(tmpdir(), 'outpost-start-backup-dir-'));
    const opened = mkdtempSync(join(tmpdir(), 'outpost-start-backup-opened-'));
    const key = await newBackupKey();
    const ours = () =>
      readdirSync(backupDir).filter((n) => /^outpost-\d{4}-\d{2}-\d{2}T\d{6}Z\.sqlite\.age$/.test(n));
    try {
      // 0.001 h is 3.6 s, and the first backup of an empty folder is due after one interval at most.
      const served = await started(ownData, port, {
        OUTPOST_BACKUP_DIR: backupDir,
        OUTPOST_BACKUP_EVERY_HOURS: '0.001',
        OUTPOST_BACKUP_KEEP: '2',
        OUTPOST_BACKUP_RECIPIENTS: key.recipient,
      });
      children.push(served.child);
      expect(served.output()).toContain(
        `Backups every 0.001 h into ${backupDir} (outpost-<UTC time>.sqlite.age, the newest 2 kept), encrypted to the public key of OUTPOST_BACKUP_RECIPIENTS.`,
      );
      await expect.poll(() => ours().length, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
      await stopCommand(served.child);
      // Stopped, it let a backup under way finish: nothing half written is left, here or beside the database.
      expect(readdirSync(backupDir)).toEqual(ours());
      expect(readdirSync(ownData).filter((n) => n.includes('incomplete'))).toEqual([]);
      expect(ours().length).toBeLessThanOrEqual(2);
      const newest = join(backupDir, ours().sort().at(-1) ?? '');
      expect(isEncryptedBackup(newest)).toBe(true);
      const database = join(opened, 'outpost.sqlite');
      await decryptFile(newest, database, [key.identity]);
      // The demo records, seeded before the server listened.
      expect(checkBackup(database).records).toBeGreaterThan(0);
    } finally {
      rmSync(ownData, { recursive: true, force: true });
      rmSync(backupDir, { recursive: true, force: true });
      rmSync(opened, { recursive: true, force: true });
    }
  });

  it('says how to have scheduled backups when OUTPOST_BACKUP_DIR is unset, and refuses to start with a bad backup setting', async () => {
    const port = await freePort();
    const ownData = mkdtempSync(join(tmpdir(), 'outpost-start-backup-bad-'));
    const missing = join(ownData, 'usb-stick-not-mounted');
    try {
      const refused = async (env: Record<string, string>, line: string) => {
        const command = start(ownData, port, env);
        expect(await exitCode(command)).toBe(1);
        expect(command.output().trim().split('\n')).toEqual([line]);
      };
      await refused(
        { OUTPOST_BACKUP_DIR: ownData, OUTPOST_BACKUP_EVERY_HOURS: 'daily' },
        'OUTPOST_BACKUP_EVERY_HOURS: expected hours above 0, such as 24 or 0.5, got "daily"',
      );
      await refused(
        { OUTPOST_BACKUP_DIR: ownData, OUTPOST_BACKUP_EVERY_HOURS: '0' },
        'OUTPOST_BACKUP_EVERY_HOURS: expected hours above 0, such as 24 or 0.5, got "0"',
      );
      await refused(
        { OUTPOST_BACKUP_DIR: ownData, OUTPOST_BACKUP_KEEP: '0' },
        'OUTPOST_BACKUP_KEEP: expected a whole number of backups from 1, got "0"',
      );
      await refused(
        { OUTPOST_BACKUP_DIR: ownData, OUTPOST_BACKUP_RECIPIENTS: 'age1typo' },
        'OUTPOST_BACKUP_RECIPIENTS: "age1typo" is not an age public key (age1...)',
      );
      await refused(
        { OUTPOST_BACKUP_DIR: missing },
        `OUTPOST_BACKUP_DIR: the folder ${missing} does not exist (it is not made for you: is the disk mounted?)`,
      );
      expect(existsSync(missing)).toBe(false);
      await refused(
        { OUTPOST_BACKUP_DIR: ownData, DATABASE_URL: 'postgres://clinic:secret@db.invalid/outpost' },
        'OUTPOST_BACKUP_DIR: scheduled backups copy the SQLite database, and DATABASE_URL names PostgreSQL: schedule pg_dump instead (docs/server.md, "Backups and restore")',
      );

      const served = await started(ownData, port);
      children.push(served.child);
      expect(served.output()).toContain(
        'No scheduled backups: set OUTPOST_BACKUP_DIR to a folder to have them, or run `npm run backup -- <file>`.',
      );
      await stopCommand(served.child);
    } finally {
      rmSync(ownData, { recursive: true, force: true });
    }
  });
});
