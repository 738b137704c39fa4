// "Sync automatically" on Sync details (decision 0034): a nurse on a costly mobile plan turns it
// off, and her changes stay on the tablet until she presses "Sync now"; the choice is hers, kept
// on the tablet across reloads; turned on again, what waits goes at once.
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  registerPatient,
  screenshot,
  signIn,
  submitSignIn,
} from './clinic-fixture';

const quietMs = 3_000;

describe.runIf(chromiumAvailable())('"Sync automatically" in the clinic app', () => {
  const suite = clinicSuite();

  async function patientsNamed(name: string) {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    return records.filter((r) => (JSON.parse(r.dataJson) as { name?: string }).name === name);
  }

  /** Every request the page makes to the sync API, as paths. */
  function syncCalls(page: Page): string[] {
    const calls: string[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/v1/sync/')) calls.push(path);
    });
    return calls;
  }

  const theSwitch = (page: Page) => page.getByRole('switch', { name: 'Sync automatically' });
  const offInHeader = (page: Page) => page.locator('.sync-state').getByText('Automatic sync off');

  it('keeps a change made online waiting until "Sync now" while it is off, across a reload, and sends it once on again', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await page.getByRole('link', { name: 'Sync details' }).click();
    // On by default.
    expect(await theSwitch(page).isChecked()).toBe(true);
    expect(await offInHeader(page).count()).toBe(0);

    await theSwitch(page).uncheck();
    await offInHeader(page).waitFor();
    await screenshot(page, 'auto-sync-off');
    const calls = syncCalls(page);

    // Online, she registers a patient: nothing is sent by itself.
    await page.getByRole('link', { name: 'Patients' }).click();
    await registerPatient(page, 'Kondwani Banda');
    await page.getByText('1 change waiting').waitFor();
    await page.waitForTimeout(quietMs);
    expect(calls.filter((path) => path === '/v1/sync/push')).toEqual([]);
    expect(await patientsNamed('Kondwani Banda')).toHaveLength(0);

    // A reload keeps her choice: no sync as the app opens, and still nothing sent.
    await page.reload();
    await offInHeader(page).waitFor();
    await page.getByText('1 change waiting').waitFor();
    await page.waitForTimeout(quietMs);
    expect(calls.filter((path) => path === '/v1/sync/push')).toEqual([]);
    expect(await patientsNamed('Kondwani Banda')).toHaveLength(0);
    await page.getByRole('link', { name: 'Sync details' }).click();
    expect(await theSwitch(page).isChecked()).toBe(false);

    // "Sync now" sends it.
    await page.getByRole('button', { name: 'Sync now' }).first().click();
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    expect(await patientsNamed('Kondwani Banda')).toHaveLength(1);

    // Another change waits again; turned on, the tablet sends it at once.
    await page.getByRole('link', { name: 'Patients' }).click();
    await registerPatient(page, 'Thandiwe Mbewe');
    await page.getByText('1 change waiting').waitFor();
    await page.waitForTimeout(1_000);
    expect(await patientsNamed('Thandiwe Mbewe')).toHaveLength(0);
    await page.getByRole('link', { name: 'Sync details' }).click();
    await theSwitch(page).check();
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    expect(await patientsNamed('Thandiwe Mbewe')).toHaveLength(1);
    expect(await offInHeader(page).count()).toBe(0);

    // On again after a reload too.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Sync details' }).waitFor();
    expect(await theSwitch(page).isChecked()).toBe(true);
    await context.close();
  });

  it("is each person's own choice on a shared tablet", async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await page.getByRole('link', { name: 'Sync details' }).click();
    await theSwitch(page).uncheck();
    await offInHeader(page).waitFor();

    // The midwife takes the tablet over: hers is on.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await submitSignIn(page, 'midwife@clinic-a.test');
    await page.getByText(/^Last synced at/).waitFor();
    await page.getByRole('link', { name: 'Sync details' }).click();
    expect(await theSwitch(page).isChecked()).toBe(true);
    expect(await offInHeader(page).count()).toBe(0);

    // The nurse again: hers is still off.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await submitSignIn(page, 'nurse@clinic-a.test');
    await offInHeader(page).waitFor();
    await page.getByRole('link', { name: 'Sync details' }).click();
    expect(await theSwitch(page).isChecked()).toBe(false);
    await context.close();
  });
});
