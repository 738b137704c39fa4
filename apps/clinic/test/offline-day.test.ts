// An offline day in a real browser: a clinician records a visit with no network, reloads the app
// with no network (the service worker opens it, IndexedDB still holds the work), and everything
// reaches the server once the network is back, where a colleague's device then sees it.
import { describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  clinicSuite,
  nurseAndMidwife,
  openLockedRecords,
  password,
  registerPatient,
  screenshot,
  serviceWorkerReady,
  signIn,
  statusText,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app through an offline day', () => {
  const suite = clinicSuite();

  it('keeps a visit recorded offline through a reload and syncs it when the network returns', async () => {
    const nurseContext = await suite.browser.newContext();
    const page = await nurseContext.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await screenshot(page, '01-patients-list');
    await serviceWorkerReady(page);

    // The network goes: the browser reports offline and the server cannot be reached at all.
    suite.clinic.cut(true);
    await nurseContext.setOffline(true);
    await statusText(page, 'Offline').waitFor();

    await registerPatient(page, 'Grace Banda', { Village: 'Chikwawa' });

    await page.getByRole('button', { name: 'New encounter' }).click();
    await page.getByLabel('Diagnosis').fill('Uncomplicated malaria');
    await page.getByRole('button', { name: 'Save encounter' }).click();
    await page.getByRole('heading', { level: 3, name: /Uncomplicated malaria/ }).waitFor();

    await page.getByRole('button', { name: 'New prescription' }).click();
    await page.getByLabel('Drug').fill('Artemether-lumefantrine');
    await page.getByLabel('Dose', { exact: true }).fill('4 tablets');
    await page.getByLabel('Frequency').fill('twice daily');
    await page.getByRole('button', { name: 'Save prescription' }).click();
    await page.getByRole('cell', { name: 'Artemether-lumefantrine' }).waitFor();
    await page.getByText('3 changes waiting').waitFor();
    const patientUrl = page.url();

    // A reload with no network: the app shell comes from the service worker, the records from
    // IndexedDB, opened with the nurse's password (they are encrypted, and the server is out of reach).
    await page.reload();
    await openLockedRecords(page);
    await statusText(page, 'Offline').waitFor();
    await page.getByRole('heading', { level: 1, name: 'Grace Banda' }).waitFor();
    await page.getByRole('heading', { level: 3, name: /Uncomplicated malaria/ }).waitFor();
    await page.getByRole('cell', { name: 'Artemether-lumefantrine' }).waitFor();
    expect(await page.getByText('3 changes waiting').isVisible()).toBe(true);
    expect(page.url()).toBe(patientUrl);
    await screenshot(page, '02-patient-offline-after-reload');
    expect(await suite.clinic.app.outpost.store.pull('clinic-a', 0, 100, ['patients'])).toMatchObject({
      records: [],
    });

    // The network returns: the app notices (by the browser's event or its next probe of the
    // server, at most 10 s later) and syncs by itself.
    suite.clinic.cut(false);
    await nurseContext.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    const onServer = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 100, [
      'patients',
      'encounters',
      'prescriptions',
    ]);
    expect(onServer.records.map((r) => [r.collection, JSON.parse(r.dataJson)])).toEqual(
      expect.arrayContaining([
        ['patients', { name: 'Grace Banda', village: 'Chikwawa' }],
        ['encounters', expect.objectContaining({ diagnosis: 'Uncomplicated malaria' })],
        ['prescriptions', expect.objectContaining({ drug: 'Artemether-lumefantrine', dose: '4 tablets' })],
      ]),
    );
    expect(onServer.records).toHaveLength(3);

    // A colleague on another device of the same clinic sees the visit.
    const midwifeContext = await suite.browser.newContext();
    const colleague = await midwifeContext.newPage();
    await signIn(colleague, suite.clinic.url, 'midwife@clinic-a.test');
    await colleague.getByLabel('Search patients').fill('grace');
    await colleague.getByRole('link', { name: 'Grace Banda' }).click();
    await colleague.getByRole('heading', { level: 3, name: /Uncomplicated malaria/ }).waitFor();
    await colleague.getByRole('cell', { name: 'Artemether-lumefantrine' }).waitFor();
    await screenshot(colleague, '03-patient-on-colleague-device');
    await nurseContext.close();
    await midwifeContext.close();
  });

  it("shows a colleague's new patient and visit on an open screen within moments, with no Sync now", async () => {
    const { nurse, midwife, close } = await nurseAndMidwife(suite);

    // The midwife registers a patient; the nurse's list, open all along, shows him. Its timed sync
    // is a minute away: only the server's notice can bring him this soon.
    await registerPatient(midwife, 'Kondwani Mbewe', { Village: 'Salima' });
    await nurse.getByRole('link', { name: 'Kondwani Mbewe' }).waitFor({ timeout: 10_000 });

    // The nurse opens him; the midwife records a visit, and it appears on the nurse's screen.
    await nurse.getByRole('link', { name: 'Kondwani Mbewe' }).click();
    await nurse.getByRole('heading', { level: 1, name: 'Kondwani Mbewe' }).waitFor();
    await midwife.getByRole('button', { name: 'New encounter' }).click();
    const visit = midwife.getByRole('form', { name: 'New encounter' });
    await visit.getByLabel('Diagnosis').fill('Hypertension, first reading');
    await visit.getByRole('button', { name: 'Save encounter' }).click();
    await nurse
      .getByRole('heading', { level: 3, name: /Hypertension, first reading/ })
      .waitFor({ timeout: 10_000 });
    await close();
  });

  it("opens the device's records in one tab at a time: a second tab waits for the first to close", async () => {
    const context = await suite.browser.newContext();
    const first = await context.newPage();
    await signIn(first, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(first, 'Written in the first tab');

    // Two tabs on one outbox would number their changes alike: the second waits, and says why.
    const second = await context.newPage();
    await second.goto(suite.clinic.url);
    await second.getByText('Outpost Clinic is open in another tab or window of this browser').waitFor();
    expect(await second.getByRole('button', { name: 'New patient' }).count()).toBe(0);

    await first.close();
    await second.getByRole('link', { name: 'Written in the first tab' }).waitFor();
    await second.getByRole('button', { name: 'New patient' }).waitFor();
    await context.close();
  });

  it('keeps a change the server kept failing to take, and sends it when the nurse presses "Sync now"', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    const syncNow = page.getByRole('button', { name: 'Sync now' });

    // The link is up but the server is down for maintenance: every push is answered 503.
    suite.clinic.failPushes(true);
    await registerPatient(page, 'Chimwemwe Phiri');
    await page.getByText('1 change waiting').waitFor();

    // After its retry limit the tablet stops trying by itself; the change still waits, and says so.
    const stopped = page.getByText('1 stopped after repeated failures');
    // Each press is one more failed send; the check waits for that sync to end, since a press on
    // a stopped change sends it again.
    for (let press = 0; press < 12 && !(await stopped.isVisible()); press++) {
      const failedBefore = suite.clinic.pushesFailed;
      await syncNow.and(page.locator(':enabled')).click();
      await expect.poll(() => suite.clinic.pushesFailed).toBeGreaterThan(failedBefore);
      await syncNow.and(page.locator(':enabled')).waitFor();
    }
    await stopped.waitFor();
    expect(await page.getByText('1 change waiting').isVisible()).toBe(true);
    await screenshot(page, '08-stopped-after-repeated-failures');

    // Maintenance ends; the nurse presses "Sync now", and the change goes.
    suite.clinic.failPushes(false);
    await syncNow.and(page.locator(':enabled')).click();
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    const onServer = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    expect(onServer.records.filter((r) => JSON.parse(r.dataJson).name === 'Chimwemwe Phiri')).toHaveLength(1);
    await context.close();
  });
  it('asks for the password again when the sign-in ended during months offline, and then sends what waited', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');

    // Offline for months: the nurse registers a patient; meanwhile her sign-in reaches the 90 days
    // after which the server renews it no more (days alone renew it with no password).
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    await registerPatient(page, 'Tamara Gondwe');
    await page.getByText('1 change waiting').waitFor();
    suite.clinic.setClockAhead(91 * 24 * 60 * 60 * 1000);
    try {
      // Back online, the server refuses the old token and its refresh token: the header says so and
      // keeps the change.
      await context.setOffline(false);
      await statusText(page, 'Online').waitFor({ timeout: 25_000 });
      const again = page.getByRole('form', { name: 'Sign in again' });
      await again.getByText('has expired').waitFor();
      expect(await again.innerText()).toContain(
        'The change waiting stays on this device until you sign in again.',
      );
      expect(await page.getByText('1 change waiting').isVisible()).toBe(true);
      await screenshot(page, '10-sign-in-again');

      // A wrong password is refused, and nothing changes.
      await again.getByLabel('Password for nurse@clinic-a.test').fill('not-the-password');
      await again.getByRole('button', { name: 'Sign in again' }).click();
      await again.getByRole('alert').filter({ hasNotText: 'has expired' }).waitFor();
      expect(await page.getByText('1 change waiting').isVisible()).toBe(true);

      // The right one: the same screen, the same records, and the change goes.
      await again.getByLabel('Password for nurse@clinic-a.test').fill(password);
      await again.getByRole('button', { name: 'Sign in again' }).click();
      await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
      expect(await again.count()).toBe(0);
      await page.getByRole('heading', { level: 1, name: 'Tamara Gondwe' }).waitFor();
      const onServer = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
      expect(onServer.records.filter((r) => JSON.parse(r.dataJson).name === 'Tamara Gondwe')).toHaveLength(1);
    } finally {
      suite.clinic.setClockAhead(0);
      await context.close();
    }
  });
});
