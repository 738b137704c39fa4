// A patient page for an id this tablet does not hold (a link opened before a sync brought the
// patient) asks the server (useFetchedRecord, decision 0027): "not found" only when the server says
// so; offline, "not on this device", and asked again by itself when the network returns.
import { describe, it } from 'vitest';
import {
  chromiumAvailable,
  clinicSuite,
  openLockedRecords,
  screenshot,
  serviceWorkerReady,
  signIn,
  statusText,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app on a patient this tablet does not hold', () => {
  const suite = clinicSuite();

  it('says not found only when the server says so, and offline asks again when the network returns', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await serviceWorkerReady(page);

    await page.goto(`${suite.clinic.url}/patients/${crypto.randomUUID()}`);
    await page.getByRole('heading', { level: 1, name: 'Patient not found' }).waitFor();
    await page.getByText('Neither this device nor the server holds a patient with that id.').waitFor();

    // Offline, another link: the patient may exist, so the page does not say otherwise.
    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    // A link opened with no network: the app opens afresh, and her password opens her records.
    await page.goto(`${suite.clinic.url}/patients/${crypto.randomUUID()}`);
    await openLockedRecords(page);
    await statusText(page, 'Offline').waitFor();
    await page.getByRole('heading', { level: 1, name: 'Patient not on this device' }).waitFor();
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('heading', { level: 1, name: 'Patient not on this device' }).waitFor();
    await screenshot(page, 'patient-not-on-device-offline');

    // The network returns: the page asks again by itself.
    suite.clinic.cut(false);
    await context.setOffline(false);
    await statusText(page, 'Online').waitFor({ timeout: 25_000 });
    await page.getByRole('heading', { level: 1, name: 'Patient not found' }).waitFor({ timeout: 10_000 });
    await context.close();
  });
});
