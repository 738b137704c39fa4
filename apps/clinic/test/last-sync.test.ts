// The header's "Last synced at": how old the records on the tablet may be. After a day offline
// it is what a clinician trusts to know whether they see a colleague's latest visit. The client
// keeps that time in the device's store (`queue.stats().lastSyncAt`): the app keeps none of its
// own. And since when the oldest change not sent yet has waited: unsent work getting old.
import { afterEach, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  deviceDatabase,
  openLockedRecords,
  password,
  registerPatient,
  screenshot,
  serviceWorkerReady,
  signIn,
  statusText,
  storedLastSync,
  timeOfDay,
} from './clinic-fixture';

/** The keys the page keeps in localStorage that hold a sync time of the app's own. */
function syncTimeKeys(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Object.keys(localStorage).filter((key) => key.startsWith('outpost.lastSynced.')),
  );
}

/** When each change still to reach the server was made (ISO), from the outbox in the device's store. */
function waitingSinceInStore(page: Page, database: string): Promise<string[]> {
  return page.evaluate(
    (name) =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const all = db.transaction('outbox').objectStore('outbox').getAll();
          all.onsuccess = () => {
            db.close();
            const ops = all.result as { status: string; rejected?: boolean; createdAt: string }[];
            resolve(
              ops
                .filter(
                  (o) =>
                    ['pending', 'in-flight'].includes(o.status) || (o.status === 'failed' && !o.rejected),
                )
                .map((o) => o.createdAt)
                .sort(),
            );
          };
          all.onerror = () => reject(all.error);
        };
      }),
    database,
  );
}

describe.runIf(chromiumAvailable())("the clinic app's sync times", () => {
  const suite = clinicSuite();

  // A test that fails offline must not leave the server cut for the next one.
  afterEach(() => suite.clinic.cut(false));

  /** The network goes, and the page knows it. */
  async function goOffline(context: BrowserContext, page: Page): Promise<void> {
    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
  }

  /**
   * Opened again with no network (the app shell from the service worker's cache, as in the field):
   * the nurse's password opens her encrypted records.
   */
  async function reloadOffline(page: Page): Promise<void> {
    suite.clinic.cut(false);
    await page.reload();
    suite.clinic.cut(true);
    await openLockedRecords(page);
    await statusText(page, 'Offline').waitFor();
  }

  it('still says when the device last synced after a reload with no network', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    const header = page.locator('.sync-state');
    const synced = (await page.getByText(/^Last synced at/).innerText()).trim();
    // The shell must be in the service worker's cache before the network goes, as on a tablet
    // used once online: on a busy machine it may still be installing.
    await serviceWorkerReady(page);

    await goOffline(context, page);
    await reloadOffline(page);
    // The sync the app tries on opening has failed by now.
    await header.getByText(/did not finish/).waitFor();
    expect(await header.innerText()).toContain(synced);
    expect(await header.innerText()).not.toContain('Not synced yet');
    suite.clinic.cut(false);
    await context.close();
  });

  it("says the time the client keeps in the device's store, after a reload offline too, keeping none of its own", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    const database = await deviceDatabase(page);
    const header = page.locator('.sync-state');
    await serviceWorkerReady(page);

    // Offline nothing syncs, so the store's time stays put while the header is read.
    await goOffline(context, page);
    const stored = await storedLastSync(page, database);
    expect(stored).not.toBeNull();
    const at = await timeOfDay(page, stored ?? '');
    await header.getByText(`Last synced at ${at}`).waitFor();
    // One source for the time: the store, not a copy of the app's in localStorage.
    expect(await syncTimeKeys(page)).toEqual([]);

    await reloadOffline(page);
    await header.getByText(/did not finish/).waitFor();
    expect(await header.innerText()).toMatch(new RegExp(`^Last synced at ${at}; the sync at`, 'm'));
    expect(await storedLastSync(page, database)).toBe(stored);
    expect(await syncTimeKeys(page)).toEqual([]);
    suite.clinic.cut(false);
    await context.close();
  });

  it('shows the time the previous version kept on a tablet updated from it, until its first sync', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'midwife@clinic-a.test');
    const database = await deviceDatabase(page);
    const person = database.replace(/^outpost-clinic-a-/, 'clinic-a/');
    await serviceWorkerReady(page);
    // The tablet as the previous version left it: its own time (yesterday's), and a store without
    // one. The store is changed by the service worker once no tab holds it.
    const yesterday = new Date(Date.now() - 24 * 60 * 60 * 1000).toISOString();
    await page.evaluate(({ key, at }) => localStorage.setItem(key, at), {
      key: `outpost.lastSynced.${person}`,
      at: yesterday,
    });
    const keep = await context.newPage();
    await page.close();
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
    const held = () =>
      worker.evaluate(async () => {
        const { held } = await navigator.locks.query();
        return (held ?? []).filter((lock) => lock.name?.startsWith('outpost-store:')).length;
      });
    await expect.poll(held, { timeout: 10_000 }).toBe(0);
    await worker.evaluate(
      (name) =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const transaction = db.transaction('meta', 'readwrite');
            transaction.objectStore('meta').delete('sync.lastSyncedAt');
            transaction.oncomplete = () => {
              db.close();
              resolve();
            };
            transaction.onerror = () => reject(transaction.error);
          };
        }),
      database,
    );
    expect(await storedLastSync(worker, database)).toBeNull();

    // Opened offline: the header says yesterday's time, with its date, not "Not synced yet".
    suite.clinic.cut(true);
    await context.setOffline(true);
    const updated = await context.newPage();
    updated.setDefaultTimeout(15_000);
    await updated.goto(suite.clinic.url);
    await openLockedRecords(updated, password);
    const header = updated.locator('.sync-state');
    await header.getByText(/did not finish/).waitFor();
    const then = await updated.evaluate(
      (iso) =>
        new Date(iso).toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' }) +
        ' at ' +
        new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
      yesterday,
    );
    expect(await header.innerText()).toContain(`Last synced on ${then};`);

    // Its first sync: the store's time from then on, and the previous version's is gone.
    suite.clinic.cut(false);
    await context.setOffline(false);
    await statusText(updated, 'Online').waitFor({ timeout: 25_000 });
    await expect.poll(() => storedLastSync(updated, database), { timeout: 20_000 }).not.toBeNull();
    const stored = await storedLastSync(updated, database);
    await header.getByText(`Last synced at ${await timeOfDay(updated, stored ?? '')}`).waitFor();
    await expect.poll(() => syncTimeKeys(updated)).toEqual([]);
    await keep.close();
    await context.close();
  });

  it('says since when a change made offline has waited, and no longer once it is sent', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'admin@clinic-a.test');
    const database = await deviceDatabase(page);
    const header = page.locator('.sync-state');
    expect(await header.getByText(/Oldest change waiting/).count()).toBe(0);

    await goOffline(context, page);
    await registerPatient(page, 'Alinafe Kumwenda', { Village: 'Nkhata Bay' });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
    await registerPatient(page, 'Yamikani Phiri', { Village: 'Nkhata Bay' });
    await header.getByText('2 changes waiting').waitFor();
    const made = await waitingSinceInStore(page, database);
    expect(made).toHaveLength(2);
    const oldest = await timeOfDay(page, made[0] ?? '');
    await header.getByText(`Oldest change waiting since ${oldest}`).waitFor();

    await page.getByRole('link', { name: 'Sync details' }).click();
    const waiting = page.getByRole('region', { name: 'Changes waiting to be sent' });
    await waiting.getByText(`2 changes waiting, the oldest since ${oldest}.`).waitFor();
    await screenshot(page, 'changes-waiting-since');

    // Back online, the changes go: no age to tell any more.
    suite.clinic.cut(false);
    await context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await page.getByRole('banner').getByRole('button', { name: 'Sync now' }).click();
    await header.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    await waiting.getByText('Nothing on this tablet waits to be sent.').waitFor();
    expect(await header.getByText(/Oldest change waiting/).count()).toBe(0);
    expect(await waiting.getByText(/\d+ changes? waiting/).count()).toBe(0);
    await context.close();
  });
});
