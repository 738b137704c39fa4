// Withdrawing a change in a real browser: offline, a nurse edits the wrong patient, takes the edit
// back on Sync details after a plain-words confirmation, sees the old value, and once online the
// server still holds the old value: the edit never reached it. A visit saved offline goes with its
// photo, which the confirmation names. A change already sent offers none.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  registerPatient,
  screenshot,
  signIn,
  statusText,
} from './clinic-fixture';

// A 1x1 PNG.
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

const confirmation =
  'Withdraw this change? It will not be sent, and what you typed is removed from this tablet.';

describe.runIf(chromiumAvailable())('withdrawing a change not yet sent, in the clinic app', () => {
  const suite = clinicSuite();

  const details = (page: Page) => page.getByRole('form', { name: 'Patient details' });
  const waitingTable = (page: Page) => page.getByRole('table', { name: 'Changes waiting to be sent' });

  /** The patient as the server holds it, read from its store. */
  async function onServer(name: string) {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    const found = records.find((r) => (JSON.parse(r.dataJson) as { name?: string }).name === name);
    return found && { version: found.version, data: JSON.parse(found.dataJson) as Record<string, unknown> };
  }

  /** How many files and chunks the tablet's file database holds (`<name>-files`, beside the records'). */
  function filesOnTablet(page: Page): Promise<{ files: number; chunks: number }> {
    return page.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name ?? '');
      const name = names.find((n) => n.endsWith('-files'));
      if (name === undefined) return { files: 0, chunks: 0 };
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const count = (store: string) =>
        new Promise<number>((resolve, reject) => {
          const req = db.transaction(store).objectStore(store).count();
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      const counts = { files: await count('files'), chunks: await count('chunks') };
      db.close();
      return counts;
    });
  }

  async function openPatient(page: Page, name: string): Promise<void> {
    await page.getByRole('link', { name: 'Patients', exact: true }).click();
    await page.getByLabel('Search patients').fill(name);
    await page.getByRole('link', { name }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  }

  it('takes back an edit made offline: the old value shows, and after syncing the server holds it', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Lucy Phiri', { Village: 'Thyolo' });
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    expect(await onServer('Lucy Phiri')).toEqual({
      version: 1,
      data: { name: 'Lucy Phiri', village: 'Thyolo' },
    });

    // Offline, the nurse changes the village: meant for another patient.
    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    await details(page).getByLabel('Village').fill('Mulanje');
    await details(page).getByRole('button', { name: 'Save' }).click();
    await page.getByText('1 change waiting').waitFor();

    // Sync details lists it, with what was typed and "Withdraw".
    await page.getByRole('link', { name: 'Sync details' }).click();
    const row = waitingTable(page).getByRole('row').filter({ hasText: 'Edit of patient: Lucy Phiri' });
    await row.waitFor();
    expect(await row.innerText()).toMatch(/village: Mulanje[\s\S]*Waiting to be sent/);
    await screenshot(page, '10-waiting-changes');

    // A confirmation in plain words; "Cancel" keeps the change.
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await row.getByRole('button', { name: 'Withdraw' }).click();
    await expect.poll(() => asked).toEqual([confirmation]);
    expect(await row.count()).toBe(1);
    // The header's count (the page says it too, with the change's age).
    expect(await page.getByRole('banner').getByText('1 change waiting').isVisible()).toBe(true);

    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await row.getByRole('button', { name: 'Withdraw' }).click();
    await page.getByText('The change was withdrawn.').waitFor();
    await page.getByText('Nothing on this tablet waits to be sent.').waitFor();
    await page.getByText('No changes waiting').waitFor();
    expect(asked).toEqual([confirmation, confirmation]);

    // The patient shows the village as it was, synced.
    await openPatient(page, 'Lucy Phiri');
    expect(await details(page).getByLabel('Village').inputValue()).toBe('Thyolo');
    expect(await page.getByText('Not yet synced').count()).toBe(0);

    // Online again. The next sync (a later edit of the phone makes one) sends only that edit: the
    // server holds the old village with the new phone.
    suite.clinic.cut(false);
    await context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await details(page).getByLabel('Phone').fill('+265 999 555 111');
    await details(page).getByRole('button', { name: 'Save' }).click();
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await onServer('Lucy Phiri'))?.data['phone']).toBe('+265 999 555 111');
    expect(await onServer('Lucy Phiri')).toEqual({
      version: 2,
      data: { name: 'Lucy Phiri', village: 'Thyolo', phone: '+265 999 555 111' },
    });
    expect(await details(page).getByLabel('Village').inputValue()).toBe('Thyolo');
    await context.close();
  });

  it('takes a visit registered offline with its photo: the confirmation names the photo, and both leave the tablet', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Grace Tembo');
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });

    // Offline, a visit with a wound photo is saved for the wrong patient.
    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    await page.getByRole('button', { name: 'New encounter' }).click();
    await page.getByLabel('Diagnosis').fill('Burn, right hand');
    await page.getByRole('button', { name: 'Save encounter' }).click();
    const encounter = page.getByRole('listitem').filter({
      has: page.getByRole('heading', { level: 3, name: /Burn, right hand/ }),
    });
    await encounter.getByLabel('Attach photo').setInputFiles({
      name: 'burn.png',
      mimeType: 'image/png',
      buffer: png,
    });
    await encounter
      .getByRole('listitem')
      .filter({ hasText: 'burn.png' })
      .getByText('Waiting to upload')
      .waitFor();
    await page.getByText('1 change and 1 photo waiting').waitFor();
    expect(await filesOnTablet(page)).toEqual({ files: 1, chunks: 1 });

    await page.getByRole('link', { name: 'Sync details' }).click();
    const row = waitingTable(page).getByRole('row').filter({ hasText: 'New visit: Burn, right hand' });
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await row.getByRole('button', { name: 'Withdraw' }).click();
    await page.getByText('The change and 1 photo were withdrawn.').waitFor();
    expect(asked).toEqual([
      'Withdraw this change and 1 photo (burn.png)? It will not be sent, and what you typed is removed from ' +
        'this tablet. The photo belongs to a record that goes with the change: removed from this tablet too, ' +
        'and not uploaded.',
    ]);
    await page.getByText('Nothing on this tablet waits to be sent.').waitFor();
    await page.getByText('No changes waiting').waitFor();
    // The photo's bytes and description are gone from the tablet's file database.
    await expect.poll(() => filesOnTablet(page)).toEqual({ files: 0, chunks: 0 });

    // The patient shows no visit.
    await openPatient(page, 'Grace Tembo');
    await page.getByRole('button', { name: 'New encounter' }).waitFor();
    expect(await page.getByRole('heading', { level: 3, name: /Burn, right hand/ }).count()).toBe(0);
    expect(await page.getByText('burn.png').count()).toBe(0);

    // Online again: the server never hears of the visit or its photo.
    suite.clinic.cut(false);
    await context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await page.getByRole('banner').getByRole('button', { name: 'Sync now' }).click();
    await page.getByText(/^Last synced at/).waitFor();
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['encounters']);
    expect(records.filter((r) => r.dataJson.includes('Burn, right hand'))).toEqual([]);
    expect(await filesOnTablet(page)).toEqual({ files: 0, chunks: 0 });
    await context.close();
  });

  it('offers no "Withdraw" for a change that has been sent: the server may already have it', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Daniel Mwale', { Village: 'Rumphi' });
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });

    // The push goes out and fails (a proxy answering 503): the change has left the tablet.
    suite.clinic.failPushes(true);
    await details(page).getByLabel('Village').fill('Chitipa');
    await details(page).getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => suite.clinic.pushesFailed).toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Sync details' }).click();
    const row = waitingTable(page).getByRole('row').filter({ hasText: 'Edit of patient: Daniel Mwale' });
    await row.getByText('Sent, no answer yet: it may already be on the server').waitFor();
    expect(await row.getByRole('button', { name: 'Withdraw' }).count()).toBe(0);

    suite.clinic.failPushes(false);
    await page.getByRole('banner').getByRole('button', { name: 'Sync now' }).click();
    await page.getByText('Nothing on this tablet waits to be sent.').waitFor({ timeout: 20_000 });
    expect((await onServer('Daniel Mwale'))?.data).toMatchObject({ village: 'Chitipa' });
    await context.close();
  });
});
