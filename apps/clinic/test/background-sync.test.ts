// Background Sync with the app's tab closed: a nurse registers a patient offline and closes the
// app; when the network returns, the browser wakes the service worker, which syncs the device by
// itself, renewing an access token that expired meanwhile with the refresh token the tabs share.
// With the tab open it leaves the records to the tab (and syncs itself at once if the tab is closed
// before answering); signed out, refused by the server, or with "Sync automatically" off, it sends
// nothing. Its sync shows in "Last synced" of a tab opened later (its client keeps the time in the
// store the tab opens); a tab online with the server failing asks for a wake-up too; a tab opened
// during the worker's sync says what it waits for. The event is fired as the browser fires it,
// through the DevTools protocol.
import { describe, expect, it } from 'vitest';
import type { BrowserContext, Page, Worker } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  deviceDatabase,
  openLockedRecords,
  registerPatient,
  screenshot,
  serviceWorkerReady,
  signIn,
  statusText,
  storedLastSync,
  storedSession,
  timeOfDay,
} from './clinic-fixture';

/** The API calls made in `context`, by the app's pages and by its service worker, as paths. */
function apiCalls(context: BrowserContext): { page: string[]; worker: string[] } {
  const calls = { page: [] as string[], worker: [] as string[] };
  context.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (!path.startsWith('/v1/')) return;
    (request.serviceWorker() === null ? calls.page : calls.worker).push(path);
  });
  // What the worker says when something goes wrong, for whoever reads a failed run.
  context.on('console', (message) => {
    if (message.page() === null && ['error', 'warning'].includes(message.type()))
      console.error(`[worker] ${message.text()}`);
  });
  return calls;
}

/**
 * Fires the Background Sync event the app registers ('outpost-sync') at the app's service worker,
 * as the browser does when a connection returns. Through a page that is not the app's: the
 * DevTools protocol reaches the browser context's service workers from any of its pages.
 */
async function backgroundSync(through: Page, url: string): Promise<() => Promise<void>> {
  const cdp = await through.context().newCDPSession(through);
  const scope = `${url}/`;
  const registered = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r) => r.scopeURL === scope && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registered;
  return async () => {
    await cdp.send('ServiceWorker.dispatchSyncEvent', {
      origin: new URL(url).origin,
      registrationId,
      tag: 'outpost-sync',
      lastChance: false,
    });
  };
}

/** The Background Sync registrations the page's service worker holds. */
function syncTags(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const sync = (registration as unknown as { sync?: { getTags(): Promise<string[]> } }).sync;
    return sync ? sync.getTags() : [];
  });
}

/** The "Sync automatically" choices kept on the tablet for the worker (`autoSync:<person>`): false when off. */
function autoSyncKept(page: Page): Promise<unknown[]> {
  return page.evaluate(
    () =>
      new Promise<unknown[]>((resolve, reject) => {
        const open = indexedDB.open('outpost-clinic-worker-session');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const read = db
            .transaction('session')
            .objectStore('session')
            .getAll(IDBKeyRange.bound('autoSync:', 'autoSync:\uffff'));
          read.onsuccess = () => {
            db.close();
            resolve(read.result);
          };
          read.onerror = () => reject(read.error);
        };
      }),
  );
}

/** The app's service worker in `context`, once it runs. */
async function serviceWorkerOf(context: BrowserContext): Promise<Worker> {
  return context.serviceWorkers()[0] ?? context.waitForEvent('serviceworker');
}

/**
 * Waits until no one holds the device's database: a closed tab's hold goes once the browser has
 * torn the page down, a moment after the tab closes (a wake-up before that finds the records held
 * and is left for the browser's next one, minutes later), and the worker's once its sync is over.
 */
async function recordsLetGo(context: BrowserContext): Promise<void> {
  const worker = await serviceWorkerOf(context);
  const held = () =>
    worker.evaluate(async () => {
      const { held } = await navigator.locks.query();
      return (held ?? []).filter((lock) => lock.name?.startsWith('outpost-store:')).length;
    });
  await expect.poll(held, { timeout: 10_000 }).toBe(0);
}

const quietMs = 3_000;
const hour = 60 * 60 * 1000;
const day = 24 * hour;

describe.runIf(chromiumAvailable())('Background Sync in the clinic app', () => {
  const suite = clinicSuite();

  async function patientsNamed(name: string) {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    return records.filter((r) => (JSON.parse(r.dataJson) as { name?: string }).name === name);
  }

  /** The nurse signed in on a tablet, with a blank page that keeps the browser going once the app's tab is closed. */
  async function nurseTablet() {
    const context = await suite.browser.newContext();
    const calls = apiCalls(context);
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await serviceWorkerReady(page);
    const blank = await context.newPage();
    const fireSync = await backgroundSync(blank, suite.clinic.url);
    return { context, calls, page, blank, fireSync };
  }

  /** The network goes; the nurse registers a patient, and the app asks the browser for a Background Sync. */
  async function registerOffline(context: BrowserContext, page: Page, name: string): Promise<void> {
    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    await registerPatient(page, name, { Village: 'Mzimba' });
    await page.getByText('1 change waiting').waitFor();
    await expect.poll(() => syncTags(page), { timeout: 10_000 }).toContain('outpost-sync');
  }

  /** The network returns (the browser may now fire the registered sync by itself, too). */
  async function networkBack(context: BrowserContext): Promise<void> {
    suite.clinic.cut(false);
    await context.setOffline(false);
  }

  it('sends a patient registered offline when Background Sync wakes the worker, with the app closed', async () => {
    const { context, calls, page, fireSync } = await nurseTablet();
    await registerOffline(context, page, 'Esnart Chirwa');

    // The nurse closes the app; nothing has left the tablet.
    await page.close();
    await recordsLetGo(context);
    expect(await patientsNamed('Esnart Chirwa')).toHaveLength(0);

    await networkBack(context);
    await fireSync();
    await expect.poll(() => patientsNamed('Esnart Chirwa'), { timeout: 20_000 }).toHaveLength(1);
    // The worker sent it (the browser may tell of its request a moment after the server has it):
    // no page of the app was opened again.
    await expect.poll(() => calls.worker, { timeout: 10_000 }).toContain('/v1/sync/push');
    expect(context.pages().map((p) => p.url())).toEqual(['about:blank']);

    // Opened again, the app finds it sent, and nothing is sent twice.
    const reopened = await context.newPage();
    await reopened.goto(suite.clinic.url);
    await reopened.getByRole('link', { name: 'Esnart Chirwa' }).waitFor();
    await reopened.getByText('No changes waiting').waitFor();
    expect(await patientsNamed('Esnart Chirwa')).toHaveLength(1);
    await context.close();
  });

  it('sends it with the records key kept under the other key a server hands (a restored server, a hub), once the password opened them', async () => {
    const email = 'midwife@clinic-a.test';
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, email);
    await serviceWorkerReady(page);
    const fireSync = await backgroundSync(await context.newPage(), suite.clinic.url);
    // The server's copy of her key is gone, as on a server restored from a backup older than it:
    // her next login makes another, which does not open the records on this tablet.
    await suite.clinic.newRecordsKey(email);
    await page.reload();
    await openLockedRecords(page);

    await registerOffline(context, page, 'Chimwemwe Under Another Key');
    await page.close();
    await recordsLetGo(context);
    await networkBack(context);
    await fireSync();
    // The worker opens the records with the key kept under the server's, and sends the patient.
    await expect
      .poll(() => patientsNamed('Chimwemwe Under Another Key'), { timeout: 20_000 })
      .toHaveLength(1);
    await context.close();
  });

  it('asks an open tab of the app to sync and leaves the records to it; once the tab is closed it syncs them itself', async () => {
    const { context, calls, page, fireSync } = await nurseTablet();
    await page.evaluate(() => {
      const heard: unknown[] = [];
      (window as unknown as { heardFromWorker: unknown[] }).heardFromWorker = heard;
      navigator.serviceWorker.addEventListener('message', (event) => heard.push(event.data));
    });
    const heard = () =>
      page.evaluate(() => (window as unknown as { heardFromWorker: unknown[] }).heardFromWorker);

    const pulledBefore = calls.page.filter((path) => path === '/v1/sync/pull').length;
    await fireSync();
    await expect.poll(heard, { timeout: 10_000 }).toEqual([{ type: 'outpost-sync' }]);
    // The tab syncs; the worker, finding the tab, leaves the records to it and calls nothing itself.
    await expect
      .poll(() => calls.page.filter((path) => path === '/v1/sync/pull').length, { timeout: 10_000 })
      .toBeGreaterThan(pulledBefore);
    await page.waitForTimeout(quietMs);
    expect(calls.worker).toEqual([]);

    // The tab is closed: the next wake-up syncs in the worker.
    await page.close();
    await recordsLetGo(context);
    await fireSync();
    await expect.poll(() => calls.worker, { timeout: 20_000 }).toContain('/v1/sync/pull');
    await context.close();
  });

  it('sends nothing once the nurse signed out: the sign-in the worker shares with the tabs goes with it', async () => {
    const { context, calls, page, blank, fireSync } = await nurseTablet();
    // Signing in kept what the worker needs, where it reads it: the tokens, whose records, this tablet's id.
    expect(await storedSession(page)).toMatchObject({
      token: expect.any(String),
      expiresAt: expect.any(String),
      refreshToken: expect.any(String),
      tenant: 'clinic-a',
      userId: expect.any(String),
      deviceId: expect.stringMatching(/^browser-/),
    });
    await registerOffline(context, page, 'Thoko Mwale');

    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await expect.poll(() => storedSession(page)).toBeNull();
    await page.close();

    await networkBack(context);
    await fireSync();
    await blank.waitForTimeout(quietMs);
    expect(calls.worker).toEqual([]);
    expect(await patientsNamed('Thoko Mwale')).toHaveLength(0);

    // The change waited on the tablet for her next sign-in, which sends it.
    const again = await context.newPage();
    await signIn(again, suite.clinic.url, 'nurse@clinic-a.test');
    await again.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    expect(await patientsNamed('Thoko Mwale')).toHaveLength(1);
    await context.close();
  });

  it('renews an access token that expired meanwhile and sends the change, with the app closed', async () => {
    const { context, calls, page, fireSync } = await nurseTablet();
    const before = await storedSession(page);
    await registerOffline(context, page, 'Alinafe Kachingwe');
    await page.close();
    await recordsLetGo(context);
    // Three days pass: the server no longer takes her access token (12 hours), though the tablet's
    // clock has not reached its expiry (a tablet's clock is not the server's); her refresh token
    // (30 days) it still takes.
    suite.clinic.setClockAhead(3 * day);
    try {
      await networkBack(context);
      await fireSync();
      await expect.poll(() => patientsNamed('Alinafe Kachingwe'), { timeout: 20_000 }).toHaveLength(1);
      // The worker renewed the token itself, with nobody there to type a password...
      expect(calls.worker).toContain('/v1/auth/refresh');
      expect(calls.page).not.toContain('/v1/auth/refresh');
      // ...and stored the new pair where the tabs read it.
      const after = await storedSession(await serviceWorkerOf(context));
      expect(after?.token).not.toBe(before?.token);
      expect(after?.refreshToken).toEqual(expect.any(String));
      expect(after?.refreshToken).not.toBe(before?.refreshToken);

      // Opened again, the app is signed in with the worker's token, and asks for nothing.
      const reopened = await context.newPage();
      reopened.setDefaultTimeout(15_000);
      await reopened.goto(suite.clinic.url);
      await reopened.getByRole('link', { name: 'Alinafe Kachingwe' }).waitFor();
      await reopened.getByText('No changes waiting').waitFor();
      await statusText(reopened, 'Online').waitFor();
      await reopened.waitForTimeout(quietMs);
      expect(await reopened.getByRole('form', { name: 'Sign in again' }).count()).toBe(0);
      expect(await patientsNamed('Alinafe Kachingwe')).toHaveLength(1);
    } finally {
      suite.clinic.setClockAhead(0);
      await context.close();
    }
  });

  it('stops once the server refuses to renew the sign-in, and the change goes after the nurse signs in again', async () => {
    const { context, calls, page, fireSync } = await nurseTablet();
    // Her session is ended elsewhere (its refresh token revoked, as a sign-out with it does).
    await suite.clinic.logout((await storedSession(page))?.refreshToken ?? '');
    await registerOffline(context, page, 'Chifundo Banda');
    await page.close();
    await recordsLetGo(context);
    // 13 hours pass on the server: her access token has expired there too.
    suite.clinic.setClockAhead(13 * hour);
    try {
      await networkBack(context);
      await fireSync();
      // One try, refused, and the refresh too: the session is kept without its refresh token, which
      // nothing sends again.
      await expect.poll(() => calls.worker, { timeout: 20_000 }).toContain('/v1/auth/refresh');
      const worker = await serviceWorkerOf(context);
      await expect
        .poll(async () => {
          const stored = await storedSession(worker);
          return stored !== null && stored.refreshToken === undefined;
        })
        .toBe(true);
      const refreshes = () => calls.worker.filter((path) => path === '/v1/auth/refresh').length;
      const refreshedBefore = refreshes();
      await fireSync();
      await context.pages()[0]?.waitForTimeout(quietMs);
      expect(refreshes()).toBe(refreshedBefore);
      expect(await patientsNamed('Chifundo Banda')).toHaveLength(0);

      // The app asks for her password, to open her records (the server gives their key to no ended
      // session); the server checks it, which signs her in again, sends the change and stores a
      // session that renews itself again.
      const reopened = await context.newPage();
      reopened.setDefaultTimeout(15_000);
      await reopened.goto(suite.clinic.url);
      await reopened.getByText('the server no longer accepts this sign-in').waitFor();
      await openLockedRecords(reopened);
      await reopened.getByText('No changes waiting').waitFor({ timeout: 20_000 });
      expect(await patientsNamed('Chifundo Banda')).toHaveLength(1);
      expect(await storedSession(reopened)).toMatchObject({
        tenant: 'clinic-a',
        token: expect.any(String),
        refreshToken: expect.any(String),
      });
    } finally {
      suite.clinic.cut(false);
      suite.clinic.setClockAhead(0);
      await context.close();
    }
  });

  it('sends nothing by itself with "Sync automatically" off, even when Background Sync wakes it', async () => {
    const { context, calls, page, fireSync } = await nurseTablet();
    // Offline, a change is made, and the browser is asked for a wake-up; then the nurse turns
    // automatic sync off (a costly mobile plan) and closes the app.
    try {
      await registerOffline(context, page, 'Madalitso Tembo');
      await page.getByRole('link', { name: 'Sync details' }).click();
      await page.getByRole('switch', { name: 'Sync automatically' }).uncheck();
      await page.locator('.sync-state').getByText('Automatic sync off').waitFor();
      // Kept where the worker reads it, beside the sign-in, before she closes the app.
      await expect.poll(() => autoSyncKept(page)).toEqual([false]);
      await page.close();
      await recordsLetGo(context);

      // The network returns and the browser wakes the worker for the registration made before.
      await networkBack(context);
      await fireSync();
      await context.pages()[0]?.waitForTimeout(quietMs);
      expect(calls.worker).toEqual([]);
      expect(await patientsNamed('Madalitso Tembo')).toHaveLength(0);

      // Opened again, the change waits for her "Sync now", which sends it.
      const reopened = await context.newPage();
      reopened.setDefaultTimeout(15_000);
      await reopened.goto(suite.clinic.url);
      await reopened.locator('.sync-state').getByText('Automatic sync off').waitFor();
      await reopened.getByText('1 change waiting').waitFor();
      await reopened.getByRole('button', { name: 'Sync now' }).first().click();
      await reopened.getByText('No changes waiting').waitFor({ timeout: 20_000 });
      expect(await patientsNamed('Madalitso Tembo')).toHaveLength(1);
    } finally {
      await networkBack(context);
      await context.close();
    }
  });

  it('says "Last synced" with the worker\'s sync in a tab opened offline after it, from the store they share', async () => {
    const { context, page, fireSync } = await nurseTablet();
    const person = `clinic-a/${(await storedSession(page))?.userId}`;
    const database = await deviceDatabase(page);
    await registerOffline(context, page, 'Tiyamike Gondwe');
    // The tab's own sync, at sign-in, is in the store.
    const tabSynced = await storedLastSync(page, database);
    expect(tabSynced).not.toBeNull();
    // The previous version of the app kept its own time, yesterday's here: the store's wins over it.
    // (Written in, as the test cannot wait a day; the syncs of this test are today.)
    const yesterday = new Date(Date.now() - 24 * 60 * 60 * 1000).toISOString();
    await page.evaluate(({ key, at }) => localStorage.setItem(key, at), {
      key: `outpost.lastSynced.${person}`,
      at: yesterday,
    });
    await page.close();
    await recordsLetGo(context);

    await networkBack(context);
    await fireSync();
    await expect.poll(() => patientsNamed('Tiyamike Gondwe'), { timeout: 20_000 }).toHaveLength(1);
    // The worker has finished (its pull too) once it lets the records go.
    await recordsLetGo(context);
    // Its client kept the time of its sync in the device's store, later than the tab's.
    const workerSynced = await storedLastSync(await serviceWorkerOf(context), database);
    expect(Date.parse(workerSynced ?? '')).toBeGreaterThan(Date.parse(tabSynced ?? ''));

    // The network goes again, and the nurse opens the app: her records are as of the worker's sync.
    suite.clinic.cut(true);
    await context.setOffline(true);
    try {
      const reopened = await context.newPage();
      reopened.setDefaultTimeout(15_000);
      await reopened.goto(suite.clinic.url);
      await openLockedRecords(reopened);
      const header = reopened.locator('.sync-state');
      // The sync the app tries on opening has failed by now.
      await header.getByText(/did not finish/).waitFor();
      // A time of today, not yesterday's date...
      expect(await header.innerText()).toMatch(/Last synced at [^;]+; the sync at/);
      await screenshot(reopened, 'last-synced-by-worker');
      // ...the very time the worker's client kept when its sync ended.
      expect(await header.innerText()).toContain(
        `Last synced at ${await timeOfDay(reopened, workerSynced ?? '')};`,
      );
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });

  it('registers a wake-up when the server refuses pushes while online, and the worker sends the change once the tab is closed', async () => {
    const { context, calls, page, fireSync } = await nurseTablet();
    suite.clinic.failPushes(true);
    try {
      // Online, the server down for maintenance: the change stays on the tablet.
      await registerPatient(page, 'Mphatso Phiri', { Village: 'Dowa' });
      await page
        .locator('.sync-state')
        .getByText(/did not finish/)
        .waitFor();
      await statusText(page, 'Online').waitFor();
      expect(suite.clinic.pushesFailed).toBeGreaterThan(0);
      // The nurse may close the app any moment now: the browser is asked to wake the worker.
      await expect.poll(() => syncTags(page), { timeout: 10_000 }).toContain('outpost-sync');

      await page.close();
      await recordsLetGo(context);
      expect(await patientsNamed('Mphatso Phiri')).toHaveLength(0);

      // The maintenance ends; the browser's next wake-up finds no tab, and the worker sends it.
      suite.clinic.failPushes(false);
      await fireSync();
      await expect.poll(() => patientsNamed('Mphatso Phiri'), { timeout: 20_000 }).toHaveLength(1);
      await expect.poll(() => calls.worker, { timeout: 10_000 }).toContain('/v1/sync/push');
      expect(context.pages().map((p) => p.url())).toEqual(['about:blank']);
    } finally {
      suite.clinic.failPushes(false);
      await context.close();
    }
  });

  it('syncs by itself at once when the tab it asked to sync is closed before answering', async () => {
    const { context, calls, page, fireSync } = await nurseTablet();
    await registerOffline(context, page, 'Chikondi Banda');
    // The tab's pushes hang (a link that stalls): asked by the worker, it cannot answer in time.
    let endTest = () => {};
    const testOver = new Promise<void>((resolve) => (endTest = resolve));
    await context.route('**/v1/sync/push', async (route) => {
      if (route.request().serviceWorker() !== null) return route.continue();
      await testOver;
      await route.continue().catch(() => {});
    });
    await page.evaluate(() => {
      navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
        if ((event.data as { type?: string } | null)?.type === 'outpost-sync')
          document.body.dataset.askedToSync = 'yes';
      });
    });
    await networkBack(context);
    const firing = fireSync();
    try {
      // The worker found the records held by the tab, and asked it; the nurse closes the app.
      await page.locator('body[data-asked-to-sync="yes"]').waitFor();
      await page.close();
      // The worker sees the tab let the records go and sends the change: not after the half
      // minute it gives a page to answer, by when the browser may have stopped it.
      await expect.poll(() => patientsNamed('Chikondi Banda'), { timeout: 15_000 }).toHaveLength(1);
      await expect.poll(() => calls.worker, { timeout: 5_000 }).toContain('/v1/sync/push');
      await firing;
    } finally {
      endTest();
      await firing.catch(() => {});
      await context.unrouteAll({ behavior: 'ignoreErrors' });
      await context.close();
    }
  });

  it("tells a tab opened during the worker's sync that a background sync is finishing, and opens it once the changes have gone", async () => {
    const { context, page, fireSync } = await nurseTablet();
    await registerOffline(context, page, 'Kondwani Mbewe');
    await page.close();
    await recordsLetGo(context);

    // The worker's push is held until the test lets it go, its pull for good: a slow link.
    let releasePush = () => {};
    const pushHeld = new Promise<void>((resolve) => (releasePush = resolve));
    let endTest = () => {};
    const testOver = new Promise<void>((resolve) => (endTest = resolve));
    let workerPushes = () => {};
    const workerPushing = new Promise<void>((resolve) => (workerPushes = resolve));
    await context.route(/\/v1\/sync\/(push|pull)/, async (route) => {
      const request = route.request();
      if (request.serviceWorker() === null) return route.continue();
      if (new URL(request.url()).pathname === '/v1/sync/push') {
        workerPushes();
        await pushHeld;
      } else await testOver;
      // The worker may have given the request up meanwhile.
      await route.continue().catch(() => {});
    });
    // The network returns with the route in place: the browser may fire the registered sync by itself now.
    await networkBack(context);
    const firing = fireSync();
    try {
      await workerPushing;
      const tab = await context.newPage();
      tab.setDefaultTimeout(15_000);
      await tab.goto(suite.clinic.url);
      // Not "open in another tab": there is none to close.
      await tab.getByText('Finishing a sync started in the background').waitFor();
      expect(await tab.getByText('open in another tab').count()).toBe(0);
      await screenshot(tab, 'background-sync-finishing');

      // The push goes through; the worker lets the tab have the records rather than pull first.
      releasePush();
      await tab.getByRole('link', { name: 'Kondwani Mbewe' }).waitFor();
      await tab.getByText('No changes waiting').waitFor();
      expect(await patientsNamed('Kondwani Mbewe')).toHaveLength(1);
    } finally {
      releasePush();
      endTest();
      await firing.catch(() => {});
      await context.unrouteAll({ behavior: 'ignoreErrors' });
      await context.close();
    }
  });
});
