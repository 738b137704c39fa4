// Browser-test fixture: the clinic app built by Vite into a temp folder, served with the API by a
// real sync server on a SQLite file, driven in the machine's Chromium through playwright-core.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, BrowserContextOptions, Page, Worker } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { formatHlc } from '@outpost/core';
import { fieldClinic, vetPractice } from '@outpost/examples';
import {
  backupSqlite,
  createSyncServer,
  ensureUsers,
  openSqlite,
  serveDemoAccounts,
  serveStaticApp,
} from '@outpost/server';

export const chromiumPath = '/usr/bin/chromium';
export const password = 'clinic-test-password';
export const users = [
  { email: 'nurse@clinic-a.test', tenant: 'clinic-a', roles: ['clinician'] },
  { email: 'midwife@clinic-a.test', tenant: 'clinic-a', roles: ['clinician'] },
  { email: 'admin@clinic-a.test', tenant: 'clinic-a', roles: ['admin'] },
  // A veterinary practice on the same server, as `npm start` runs one: not the app's records.
  { email: 'vet@vet-a.test', tenant: 'vet-a', roles: ['clinician'] },
] as const;

const run = promisify(execFile);
const appRoot = fileURLToPath(new URL('..', import.meta.url));
const screenshotDir = fileURLToPath(new URL('../../../.screenshots/', import.meta.url));

/**
 * Whether these tests can run here. Without Chromium they are skipped on a developer's machine
 * and fail in CI (CI=true), where .ci/run installs it.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(chromiumPath)) return true;
  if (process.env['CI'] === 'true')
    throw new Error(`CI=true but ${chromiumPath} is missing: .ci/run installs Debian's chromium package`);
  return false;
}

/**
 * Builds the app as `npm start` serves it, into a folder of its own. In a child process: the
 * build must see NODE_ENV=production (a production React and the service worker registration),
 * while this test process runs with NODE_ENV=test.
 */
export async function buildClinicApp(): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-clinic-app-'));
  const vite = fileURLToPath(new URL('../../../node_modules/vite/bin/vite.js', import.meta.url));
  await run(process.execPath, [vite, 'build', '--logLevel', 'warn', '--outDir', dir, '--emptyOutDir'], {
    cwd: appRoot,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Clinic {
  url: string;
  readonly app: FastifyInstance;
  /** Takes the clinic's backup into `file`, as `npm run backup` does, while the server runs. */
  backup(file: string): Promise<void>;
  /**
   * Restores the backup in `file` as docs/server.md says: the server stopped, its database replaced
   * by the backup, started again on the same address.
   */
  restore(file: string): Promise<void>;
  /**
   * Makes the server unreachable (every connection is dropped unanswered) or reachable again.
   * Chromium's offline emulation does not cover service-worker fetches, so a test that wants to
   * prove the app opens from the worker's cache also cuts the server.
   */
  cut(unreachable: boolean): void;
  /** Answers every push 503 (a proxy in front of a server down for maintenance), or not. */
  failPushes(failing: boolean): void;
  /** How many pushes were answered 503 so far. */
  readonly pushesFailed: number;
  /**
   * Runs the server's clock `ms` ahead of real time (0 puts it back), as if that much time had
   * passed: tokens it issued before may have expired.
   */
  setClockAhead(ms: number): void;
  /**
   * One new patient pushed from `deviceId` as `email`, while the server's clock says `serverNow`
   * (default now: a device last heard from then), made `madeAgoMs` before it by the device's clock
   * (default 0: how long the change took to arrive). Throws unless the server applied it.
   */
  pushPatientFrom(
    email: string,
    deviceId: string,
    at?: { serverNow?: number; madeAgoMs?: number },
  ): Promise<void>;
  token(email: string): Promise<string>;
  /** The folder of the server's scheduled backups. */
  backupFolder: string;
  /** What the server's login answers `email` (the previous version of the app kept part of it). */
  login(email: string): Promise<LoginAnswer>;
  /**
   * The server loses `email`'s records key, as a server restored from a backup taken before her
   * first sign-in has none, and makes another at a login: answers that new key (decision 0054).
   */
  newRecordsKey(email: string): Promise<string>;
  /** Sends `refreshToken` to POST /v1/auth/refresh, as a device would, and answers the status. */
  refresh(refreshToken: string): Promise<number>;
  /** Ends the session of `refreshToken` (POST /v1/auth/logout), as a sign-out elsewhere would. */
  logout(refreshToken: string): Promise<void>;
  close(): Promise<void>;
}

/** The server's answer to a login. */
export interface LoginAnswer {
  token: string;
  expiresAt: string;
  refreshToken?: string;
  user: { id: string; tenant: string; roles: string[] };
  recordsKey?: string;
}

export async function startClinic(appDir: string): Promise<Clinic> {
  const dataDir = mkdtempSync(join(tmpdir(), 'outpost-clinic-data-'));
  const database = join(dataDir, 'outpost.sqlite');
  // The server's scheduled backups, as `npm start` with OUTPOST_BACKUP_DIR takes them; due a day
  // after the start, so only a test that asks (`app.outpost.backups.runNow()`) takes one.
  const backupDir = join(dataDir, 'backups');
  mkdirSync(backupDir);
  const day = 24 * 60 * 60 * 1000;
  let clockAheadMs = 0;
  let unreachable = false;
  let pushesFail = false;
  let pushesFailed = 0;
  /** The server on the data folder's database, listening on `port` (0: any free one). */
  const serve = async (port: number): Promise<{ app: FastifyInstance; url: string }> => {
    const app = await createSyncServer({
      schema: fieldClinic,
      tenantSchemas: { 'vet-a': vetPractice },
      database: await openSqlite(database),
      auth: { jwtSecret: 'clinic-browser-test-secret-0123456789' },
      limits: { rateLimitPerMinute: false },
      now: () => new Date(Date.now() + clockAheadMs),
      backups: { database, folder: backupDir, everyMs: day, keep: 3, firstDelayMs: day },
    });
    app.addHook('onRequest', async (request, reply) => {
      if (unreachable) request.raw.socket.destroy();
      else if (pushesFail && request.url === '/v1/sync/push') {
        pushesFailed += 1;
        await reply.code(503).send({ error: { code: 'INTERNAL', message: 'down for maintenance' } });
      }
    });
    await serveStaticApp(app, { root: appDir });
    // As `npm start` does while it creates demo users: the sign-in page offers the clinic's.
    serveDemoAccounts(app, {
      password,
      accounts: users
        .filter((u) => u.tenant === 'clinic-a')
        .map((u) => ({ email: u.email, tenant: u.tenant, roles: [...u.roles] })),
    });
    await ensureUsers(
      app.outpost.store,
      users.map((u) => ({ ...u, password })),
    );
    return { app, url: await app.listen({ port, host: '127.0.0.1' }) };
  };
  let { app, url } = await serve(0);
  const login = async (email: string): Promise<LoginAnswer> => {
    const res = await fetch(`${url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    return (await res.json()) as LoginAnswer;
  };
  return {
    url,
    backupFolder: backupDir,
    get app() {
      return app;
    },
    async backup(file) {
      await backupSqlite({ database, destination: file });
    },
    async restore(file) {
      const port = (app.server.address() as AddressInfo).port;
      await app.close();
      rmSync(`${database}-wal`, { force: true });
      rmSync(`${database}-shm`, { force: true });
      copyFileSync(file, database);
      ({ app, url } = await serve(port));
    },
    cut: (value) => {
      unreachable = value;
    },
    failPushes: (value) => {
      pushesFail = value;
    },
    get pushesFailed() {
      return pushesFailed;
    },
    setClockAhead: (ms) => {
      clockAheadMs = ms;
    },
    async pushPatientFrom(email, deviceId, { serverNow = Date.now(), madeAgoMs = 0 } = {}) {
      clockAheadMs = serverNow - Date.now();
      try {
        // Signed in at that time too: a token of today is not yet valid on a clock days behind.
        const { token } = await login(email);
        const res = await fetch(`${url}/v1/sync/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            clientId: `client-${deviceId}`,
            deviceId,
            ops: [
              {
                opId: crypto.randomUUID(),
                collection: 'patients',
                type: 'create',
                id: crypto.randomUUID(),
                data: { name: `Patient from ${deviceId}` },
                hlc: formatHlc({ ms: serverNow - madeAgoMs, counter: 0, node: deviceId }),
              },
            ],
          }),
        });
        const body = (await res.json()) as { results?: Array<{ status: string }> };
        const statuses = (body.results ?? []).map((r) => r.status);
        if (statuses.join() !== 'applied')
          throw new Error(`the push from ${deviceId} was not applied: ${JSON.stringify(body)}`);
      } finally {
        clockAheadMs = 0;
      }
    },
    token: async (email) => (await login(email)).token,
    login,
    async newRecordsKey(email) {
      await app.outpost.store.db
        .updateTable('users')
        .set({ records_key: null })
        .where('email', '=', email)
        .execute();
      const { recordsKey } = await login(email);
      if (recordsKey === undefined) throw new Error(`the login of ${email} gave no records key`);
      return recordsKey;
    },
    async refresh(refreshToken) {
      const res = await fetch(`${url}/v1/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken }),
      });
      await res.body?.cancel();
      return res.status;
    },
    async logout(refreshToken) {
      const res = await fetch(`${url}/v1/auth/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken }),
      });
      if (res.status !== 204) throw new Error(`logout answered ${res.status}`);
    },
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** What a suite of the app's tests runs against, ready from its first test to its last. */
export interface ClinicSuite {
  readonly clinic: Clinic;
  readonly browser: Browser;
  /**
   * A tablet of its own (a browser context) with `email` signed in; closed after the suite's tests.
   * `options` as Playwright's `newContext` takes them (`acceptDownloads`, ...).
   */
  device(email: string, options?: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>;
}

/**
 * Builds the app, starts its server and launches Chromium before the calling suite's tests, and
 * ends them after its own afterAll hooks (which may still close browser contexts). Call it in the
 * suite's describe block.
 */
export function clinicSuite(): ClinicSuite {
  let built: Awaited<ReturnType<typeof buildClinicApp>> | undefined;
  let clinic: Clinic | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    built = await buildClinicApp();
    clinic = await startClinic(built.dir);
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await browser?.close();
    await clinic?.close();
    built?.remove();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the suite's ${what} is not started: use it inside a test`);
    return value;
  };
  const suite: ClinicSuite = {
    get clinic() {
      return ready(clinic, 'server');
    },
    get browser() {
      return ready(browser, 'browser');
    },
    async device(email, options = {}) {
      const context = await suite.browser.newContext(options);
      contexts.push(context);
      const page = await context.newPage();
      await signIn(page, suite.clinic.url, email);
      return { context, page };
    },
  };
  return suite;
}

/**
 * One op pushed by clinic A's administrator from the office computer (not a tablet of the test);
 * resolves its status.
 */
export async function pushFromOffice(
  clinic: Clinic,
  op: Record<string, unknown>,
): Promise<string | undefined> {
  const res = await fetch(`${clinic.url}/v1/sync/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await clinic.token('admin@clinic-a.test')}`,
    },
    body: JSON.stringify({
      clientId: 'office',
      deviceId: 'office-pc',
      ops: [{ opId: crypto.randomUUID(), ...op }],
    }),
  });
  return ((await res.json()) as { results: Array<{ status: string }> }).results[0]?.status;
}

/** Presses "Sync now" and waits until nothing waits and the button can be pressed again. */
export async function syncNow(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sync now' }).click();
  await page.getByText('No changes waiting').waitFor();
  await page.getByRole('button', { name: 'Sync now' }).and(page.locator(':enabled')).waitFor();
}

/** The nurse and the midwife of clinic A, each signed in on a tablet (a browser context) of her own. */
export async function nurseAndMidwife(
  suite: ClinicSuite,
): Promise<{ nurse: Page; midwife: Page; close(): Promise<void> }> {
  const nurseContext = await suite.browser.newContext();
  const nurse = await nurseContext.newPage();
  await signIn(nurse, suite.clinic.url, 'nurse@clinic-a.test');
  const midwifeContext = await suite.browser.newContext();
  const midwife = await midwifeContext.newPage();
  await signIn(midwife, suite.clinic.url, 'midwife@clinic-a.test');
  const close = async () => {
    await nurseContext.close();
    await midwifeContext.close();
  };
  return { nurse, midwife, close };
}

/** Registers a patient, records a visit (diagnosis Pneumonia) and saves a draft note with `text`. */
export async function patientWithDraftNote(page: Page, name: string, text: string): Promise<void> {
  await registerPatient(page, name);
  await page.getByRole('button', { name: 'New encounter' }).click();
  await page.getByLabel('Diagnosis').fill('Pneumonia');
  await page.getByRole('button', { name: 'Save encounter' }).click();
  await page.getByRole('button', { name: 'New note' }).click();
  await page.getByLabel('Clinical note').fill(text);
  await page.getByRole('button', { name: 'Save draft' }).click();
}

/** Registers a patient through the New patient form (`fields` by label) and waits for their page. */
export async function registerPatient(
  page: Page,
  name: string,
  fields: Readonly<Record<string, string>> = {},
): Promise<void> {
  await page.getByRole('button', { name: 'New patient' }).click();
  const form = page.getByRole('form', { name: 'New patient' });
  await form.getByLabel('Name').fill(name);
  for (const [label, value] of Object.entries(fields)) await form.getByLabel(label).fill(value);
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

/** Fills the sign-in form the page shows (the demo password unless `typed`) and presses "Sign in". */
export async function submitSignIn(page: Page, email: string, typed: string = password): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(typed);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in through the sign-in page and waits until the device's first sync has finished. */
export async function signIn(page: Page, url: string, email: string): Promise<void> {
  // A step that cannot happen fails in seconds, naming the element it waited for.
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error(`[${email}] page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[${email}] console: ${m.text()}`);
  });
  await page.goto(url);
  await submitSignIn(page, email);
  await statusText(page, 'Online').waitFor();
  await page.getByText(/^Last synced at/).waitFor();
}

/**
 * Cuts the tablet off the network, or gives it back: the server drops the page's connections and
 * the browser says offline, as a tablet out of reach does.
 */
export async function setNetwork(clinic: Clinic, page: Page, up: boolean): Promise<void> {
  clinic.cut(!up);
  await page.context().setOffline(!up);
}

/** The sync state the header always shows: "Online" or "Offline". */
export function statusText(page: Page, text: 'Online' | 'Offline') {
  return page.getByRole('status').filter({ hasText: new RegExp(`^${text}$`) });
}

/** Saves a screenshot of the page for a person to look at (the folder is git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Waits until the service worker controls the page and has precached the app shell. */
export async function serviceWorkerReady(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller)
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve));
  });
}

/**
 * The sign-in the tabs and the service worker share (`current` in the `outpost-clinic-worker-session`
 * database: tokens, whose records, device id), read in a page of the app or its worker; null when
 * nobody is signed in.
 */
export function storedSession(where: Page | Worker): Promise<StoredSignIn | null> {
  const read = () =>
    new Promise<StoredSignIn | null>((resolve, reject) => {
      const open = indexedDB.open('outpost-clinic-worker-session');
      // Not there yet: reading must not create it, or the app could not make its table.
      open.onupgradeneeded = () => open.transaction?.abort();
      open.onerror = () => resolve(null);
      open.onsuccess = () => {
        const db = open.result;
        const get = db.transaction('session').objectStore('session').get('current');
        get.onsuccess = () => {
          db.close();
          resolve((get.result as StoredSignIn | undefined) ?? null);
        };
        get.onerror = () => reject(get.error);
      };
    });
  // Narrowed for the type checker: a page's and a worker's evaluate take the same function.
  return 'goto' in where ? where.evaluate(read) : where.evaluate(read);
}

/** What `storedSession` reads: the fields the tests look at. */
export interface StoredSignIn {
  token: string;
  expiresAt: string;
  refreshToken?: string;
  refreshExpiresAt?: string;
  tenant: string;
  userId: string;
  deviceId: string;
  email?: string;
}

/** The signed-in person's device database (`outpost-<tenant>-<user id>`), from the session the page keeps. */
export function deviceDatabase(page: Page): Promise<string> {
  return page.evaluate(() => {
    const session = JSON.parse(localStorage.getItem('outpost.session') ?? 'null') as {
      tenant: string;
      userId: string;
    } | null;
    if (session === null) throw new Error('nobody is signed in on this page');
    return `outpost-${session.tenant}-${session.userId}`;
  });
}

/**
 * When the device last synced as a whole, as the client keeps it in its store (`sync.lastSyncedAt`
 * in the `meta` table, what `queue.stats().lastSyncAt` reads), read from IndexedDB in a page of the
 * app or its service worker; null when the store has none.
 */
export function storedLastSync(where: Page | Worker, database: string): Promise<string | null> {
  const read = (name: string) =>
    new Promise<string | null>((resolve, reject) => {
      const open = indexedDB.open(name);
      // Not there: reading must not create it.
      open.onupgradeneeded = () => open.transaction?.abort();
      open.onerror = () => resolve(null);
      open.onsuccess = () => {
        const db = open.result;
        const get = db.transaction('meta').objectStore('meta').get('sync.lastSyncedAt');
        get.onsuccess = () => {
          db.close();
          const row = get.result as { value?: unknown } | undefined;
          resolve(typeof row?.value === 'string' ? row.value : null);
        };
        get.onerror = () => reject(get.error);
      };
    });
  // Narrowed for the type checker: a page's and a worker's evaluate take the same function.
  return 'goto' in where ? where.evaluate(read, database) : where.evaluate(read, database);
}

/** "14:02": a time (ISO) as the app writes a time of day, in the page's locale and time zone. */
export function timeOfDay(page: Page, iso: string): Promise<string> {
  return page.evaluate(
    (at) => new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    iso,
  );
}

/**
 * Opens the person's encrypted records where the app asks for the password to open them (decision
 * 0054): a reload or a new tab with no network, or with a session the server refused.
 */
export async function openLockedRecords(page: Page, typed: string = password): Promise<void> {
  const locked = page.getByRole('dialog', { name: 'Your records on this device are locked' });
  await locked.getByLabel('Enter your password to open them').fill(typed);
  await locked.getByRole('button', { name: 'Unlock' }).click();
  await locked.waitFor({ state: 'detached' });
}
