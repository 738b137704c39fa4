// Withdrawing a change in a real browser: offline, a nurse edits the wrong patient, takes the edit
// back on Sync details after a plain-words confirmation, sees the old value, and once online the
// server still holds the old value: the edit never reached it. A change already sent offers none.
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
    expect(await page.getByText('1 change waiting').isVisible()).toBe(true);

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
