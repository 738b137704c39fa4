// The header's "Last synced at": how old the records on the tablet may be. After a day offline
// it is what a clinician trusts to know whether they see a colleague's latest visit.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import {
  buildClinicApp,
  chromiumAvailable,
  launchChromium,
  signIn,
  startClinic,
  statusText,
} from './clinic-fixture';
import type { Clinic } from './clinic-fixture';

describe.runIf(chromiumAvailable())("the clinic app's last sync time", () => {
  let built: Awaited<ReturnType<typeof buildClinicApp>>;
  let clinic: Clinic;
  let browser: Browser;

  beforeAll(async () => {
    built = await buildClinicApp();
    clinic = await startClinic(built.dir);
    browser = await launchChromium();
  });
  // A test that fails offline must not leave the server cut for the next one.
  afterEach(() => clinic.cut(false));
  afterAll(async () => {
    await browser?.close();
    await clinic?.close();
    built?.remove();
  });

  it('still says when the device last synced after a reload with no network', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, clinic.url, 'nurse@clinic-a.test');
    const header = page.locator('.sync-state');
    const synced = (await page.getByText(/^Last synced at/).innerText()).trim();

    clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    // Opened again with no network (the app shell from the cache, as in the field).
    clinic.cut(false);
    await page.reload();
    clinic.cut(true);
    await statusText(page, 'Offline').waitFor();
    // The sync the app tries on opening has failed by now.
    await header.getByText(/did not finish/).waitFor();
    expect(await header.innerText()).toContain(synced);
    expect(await header.innerText()).not.toContain('Not synced yet');
    clinic.cut(false);
    await context.close();
  });
});
