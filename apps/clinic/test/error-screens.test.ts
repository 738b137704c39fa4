// Whatever goes wrong while a screen is drawn, the app says so and offers a way on: never a blank
// page, and never a screen the person cannot sign out of.
import { openHeader, readHeader } from '../../../packages/client/src/crypto/crypto-header';
import type { CryptoHeader } from '../../../packages/client/src/crypto/crypto-header';
import { sealValue, unsealValue } from '../../../packages/client/src/crypto/sealed-value';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  openLockedRecords,
  registerPatient,
  serviceWorkerReady,
  signIn,
  submitSignIn,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app when a screen cannot be shown', () => {
  const suite = clinicSuite();

  /** The header every page keeps: its navigation and "Sign out". */
  async function headerStillThere(page: Page): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out', exact: true }).isVisible()).toBe(true);
  }

  it('answers an address with broken %-encoding with "Page not found", not a blank screen', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await serviceWorkerReady(page);
    // A link cut short in a message: the service worker opens the app at that address.
    await page.goto(`${suite.clinic.url}/patients/%E0`);
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await headerStillThere(page);
    await page.getByRole('main').getByRole('link', { name: 'All patients' }).click();
    await page.getByRole('button', { name: 'New patient' }).waitFor();
    await context.close();
  });

  it('answers such an address with "Page not found" on a device without the app’s service worker', async () => {
    // A first visit, or a browser that keeps no service worker: the server answers with the app.
    const context = await suite.browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    const response = await page.goto(`${suite.clinic.url}/patients/%E0`);
    expect(response?.fromServiceWorker()).toBe(false);
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await headerStillThere(page);
    await context.close();
  });

  it('shows a message and a way back when a page fails to draw, with the header still usable', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    // The failure is the page's own: the test expects it, and only it.
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Tiyamike Phiri');
    await page.getByRole('button', { name: 'New encounter' }).click();
    await page.getByLabel('Diagnosis').fill('Malaria');
    await page.getByRole('button', { name: 'Save encounter' }).click();
    // Synced, so no later write of the device's own replaces what the test puts in its place.
    await page
      .getByRole('heading', { level: 3, name: /Malaria/ })
      .filter({ hasNotText: 'Not yet synced' })
      .waitFor({ timeout: 20_000 });
    await page.getByText('No changes waiting').waitFor();
    // Offline from here: the pull that follows the push (or one at reload) would otherwise bring the
    // server's copy back over the damaged one before the screen draws it.
    await serviceWorkerReady(page);
    await context.setOffline(true);

    // A record on the device that the screens cannot draw (as one kept by an older version of the
    // app could be): the diagnosis is an object, not text. The records are encrypted (decision
    // 0054), so the test opens the encounter with the nurse's key, changes it and seals it again,
    // as only a device holding her key could.
    type Row = { collection: string; id: string; data: unknown };
    const read = await page.evaluate(async () => {
      const session = JSON.parse(localStorage.getItem('outpost.session') ?? '{}') as {
        tenant: string;
        userId: string;
      };
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open(`outpost-${session.tenant}-${session.userId}`);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const all = <T>(table: string) =>
        new Promise<T[]>((resolve) => {
          const request = db.transaction(table).objectStore(table).getAll();
          request.onsuccess = () => resolve(request.result as T[]);
        });
      const records = await all<Row>('records');
      const meta = await all<{ key: string; value: unknown }>('meta');
      db.close();
      return {
        encounter: records.find((r) => r.collection === 'encounters'),
        header: meta.find((m) => m.key === 'outpost.crypto')?.value,
      };
    });
    if (read.encounter === undefined) throw new Error('no encounter stored');
    const { recordsKey } = (await suite.clinic.login('nurse@clinic-a.test')) as unknown as {
      recordsKey: string;
    };
    const key = await openHeader(recordsKey, readHeader({ 'outpost.crypto': read.header }) as CryptoHeader);
    const place = {
      path: 'the encounter',
      context: `record\u0000${read.encounter.collection}\u0000${read.encounter.id}`,
    };
    const data = (await unsealValue(key, read.encounter.data, place)) as Record<string, unknown>;
    data['diagnosis'] = { code: 'B54', text: 'Malaria' };
    const damaged: Row = { ...read.encounter, data: await sealValue(key, data, place) };
    await page.evaluate(async (row) => {
      const session = JSON.parse(localStorage.getItem('outpost.session') ?? '{}') as {
        tenant: string;
        userId: string;
      };
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open(`outpost-${session.tenant}-${session.userId}`);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const records = db.transaction('records', 'readwrite').objectStore('records');
      await new Promise((resolve) => (records.put(row).onsuccess = resolve));
      db.close();
    }, damaged);
    // Reloaded offline: her password opens the records.
    await page.reload();
    await openLockedRecords(page);

    await page.getByText('This page could not be shown').waitFor();
    await headerStillThere(page);
    expect(pageErrors).toEqual([]);
    // The way back: the patient list still opens, from the message or from the header.
    await page.getByRole('main').getByRole('link', { name: 'All patients' }).click();
    await page.getByRole('link', { name: 'Tiyamike Phiri' }).waitFor();
    await context.close();
  });

  it('offers "Sign out" when the device\'s records cannot be opened, and opens the next person\'s', async () => {
    const context = await suite.browser.newContext();
    // The browser refuses to open one person's database (a full disk, a damaged profile).
    await context.addInitScript(() => {
      const open = IDBFactory.prototype.open;
      IDBFactory.prototype.open = function (name: string, version?: number) {
        if (name === localStorage.getItem('test.unopenable'))
          throw new DOMException('Internal error opening backing store', 'UnknownError');
        return version === undefined ? open.call(this, name) : open.call(this, name, version);
      };
    });
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await page.evaluate(() => {
      const session = JSON.parse(localStorage.getItem('outpost.session') ?? '{}') as {
        tenant: string;
        userId: string;
      };
      localStorage.setItem('test.unopenable', `outpost-${session.tenant}-${session.userId}`);
    });
    await page.reload();
    await page.getByText('This device’s records could not be opened').waitFor();

    // The nurse hands the tablet on: the midwife signs in and works.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await submitSignIn(page, 'midwife@clinic-a.test');
    await page.getByRole('button', { name: 'New patient' }).waitFor();
    expect(await page.getByText('could not be opened').count()).toBe(0);
    await context.close();
  });
});
