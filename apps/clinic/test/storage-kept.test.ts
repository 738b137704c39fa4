// A browser may clear a site's data when the device runs short of space ("best-effort" storage),
// and with it a tablet's changes not yet sent. Once someone signs in, the app asks for persistent
// storage, and Sync details says whether the data is kept for good and how much space it takes.
// Headless Chromium refuses persist() (no installed app, no engagement), so the browser's answer
// is set before the app loads where a test needs one; one test takes the browser's own answer.
import { afterEach, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  screenshot,
  signIn,
  statusText,
  submitSignIn,
} from './clinic-fixture';

/** How the fake storage manager answers `persist()`: yes, no, or never (a question left open). */
type Answer = 'grant' | 'refuse' | 'never';

/**
 * Replaces the page's `navigator.storage` answers before the app loads: `persist()` as told,
 * `persisted()` true once granted, and `estimate()` a fixed usage and quota. Each call the app
 * makes is recorded in `window.storageCalls`.
 */
async function browserAnswers(context: BrowserContext, answer: Answer): Promise<void> {
  await context.addInitScript((answer: Answer) => {
    const calls: string[] = [];
    (window as unknown as { storageCalls: string[] }).storageCalls = calls;
    let kept = false;
    const storage = navigator.storage;
    storage.persisted = () => {
      calls.push('persisted');
      return Promise.resolve(kept);
    };
    storage.persist = () => {
      calls.push('persist');
      if (answer === 'never') return new Promise<boolean>(() => {});
      kept = answer === 'grant';
      return Promise.resolve(kept);
    };
    storage.estimate = () => Promise.resolve({ usage: 3_500_000, quota: 2_000_000_000 });
  }, answer);
}

/** Records the app's calls to the browser's own storage manager, leaving its answers as they are. */
async function browserCallsRecorded(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const calls: string[] = [];
    (window as unknown as { storageCalls: string[] }).storageCalls = calls;
    const storage = navigator.storage;
    const persisted = storage.persisted.bind(storage);
    const persist = storage.persist.bind(storage);
    storage.persisted = () => {
      calls.push('persisted');
      return persisted();
    };
    storage.persist = () => {
      calls.push('persist');
      return persist();
    };
  });
}

function storageCalls(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as { storageCalls: string[] }).storageCalls]);
}

/** Signs in on the page already showing the sign-in form, and waits for the first sync. */
async function signInHere(page: Page, email: string): Promise<void> {
  await submitSignIn(page, email);
  await statusText(page, 'Online').waitFor();
  await page.getByText(/^Last synced at/).waitFor();
}

/** The Sync details page's part on the tablet's storage. */
function storageSection(page: Page) {
  return page.getByRole('region', { name: 'Storage on this tablet' });
}

async function openSyncDetails(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Sync details' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sync details' }).waitFor();
}

describe.runIf(chromiumAvailable())("the clinic app's storage on the tablet", () => {
  const suite = clinicSuite();
  const contexts: BrowserContext[] = [];
  async function tablet(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await suite.browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    return { context, page };
  }
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  it('asks the browser to keep its data for good once someone signs in, and says it is kept when granted', async () => {
    const { context, page } = await tablet();
    await browserAnswers(context, 'grant');
    await page.goto(suite.clinic.url);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    // Nobody signed in yet: nothing of theirs to keep, nothing asked.
    expect(await storageCalls(page)).toEqual([]);

    await signInHere(page, 'nurse@clinic-a.test');
    // Asked once, after looking whether it already is.
    await expect.poll(() => storageCalls(page)).toEqual(['persisted', 'persist']);
    expect(await page.evaluate(() => navigator.storage.persisted())).toBe(true);

    await openSyncDetails(page);
    const section = storageSection(page);
    await section
      .getByText('Kept for good: the browser will not clear this app’s data to free space.')
      .waitFor();
    expect(await section.innerText()).toContain(
      'Space used: 3.5 MB of about 2 GB the browser allows this app.',
    );
    expect(await section.innerText()).not.toContain('may clear');
    await screenshot(page, 'storage-kept');
  });

  it('says the data may be cleared, and what to do, when the browser refuses', async () => {
    const { context, page } = await tablet();
    await browserAnswers(context, 'refuse');
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await expect.poll(() => storageCalls(page)).toEqual(['persisted', 'persist']);
    expect(await page.evaluate(() => navigator.storage.persisted())).toBe(false);

    await openSyncDetails(page);
    const section = storageSection(page);
    await section.getByText(/^May be cleared by the browser/).waitFor();
    expect(await section.innerText()).toContain(
      'This browser may clear this app’s data when the tablet runs short of space, changes not yet sent ' +
        'included: install the app or keep it open, and sync often.',
    );
    expect(await section.innerText()).toContain(
      'Space used: 3.5 MB of about 2 GB the browser allows this app.',
    );
    await screenshot(page, 'storage-may-be-cleared');
  });

  it("shows the browser's own answer: headless Chromium's, whichever it is", async () => {
    const { context, page } = await tablet();
    await browserCallsRecorded(context);
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await expect.poll(() => storageCalls(page)).toContain('persist');
    const kept = await page.evaluate(() => navigator.storage.persisted());

    await openSyncDetails(page);
    const section = storageSection(page);
    await section.getByText(kept ? /^Kept for good/ : /^May be cleared by the browser/).waitFor();
    expect(await section.innerText()).toMatch(
      /Space used: [\d.]+ (bytes?|KB|MB|GB) of about [\d.]+ (KB|MB|GB|TB) the browser allows this app\./,
    );
  });

  it('holds nothing up while the browser has not answered, and shows nothing where it has no storage manager', async () => {
    // The question left open (a browser asking the person, who has not answered yet).
    const waiting = await tablet();
    await browserAnswers(waiting.context, 'never');
    await signIn(waiting.page, suite.clinic.url, 'nurse@clinic-a.test');
    await openSyncDetails(waiting.page);
    await storageSection(waiting.page)
      .getByText(/^May be cleared by the browser/)
      .waitFor();

    // No navigator.storage (an insecure origin, an older browser): the app works, and says nothing of it.
    const none = await tablet();
    await none.context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'storage', { get: () => undefined, configurable: true });
    });
    await signIn(none.page, suite.clinic.url, 'midwife@clinic-a.test');
    expect(await none.page.evaluate(() => 'storage' in navigator && navigator.storage !== undefined)).toBe(
      false,
    );
    await openSyncDetails(none.page);
    await none.page.getByRole('heading', { name: 'Changes waiting to be sent' }).waitFor();
    expect(await storageSection(none.page).count()).toBe(0);
    expect(await none.page.getByText(/Space used|Kept for good|May be cleared/).count()).toBe(0);
  });
});
