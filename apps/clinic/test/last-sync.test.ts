// The header's "Last synced at": how old the records on the tablet may be. After a day offline
// it is what a clinician trusts to know whether they see a colleague's latest visit.
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumAvailable, clinicSuite, serviceWorkerReady, signIn, statusText } from './clinic-fixture';

describe.runIf(chromiumAvailable())("the clinic app's last sync time", () => {
  const suite = clinicSuite();

  // A test that fails offline must not leave the server cut for the next one.
  afterEach(() => suite.clinic.cut(false));

  it('still says when the device last synced after a reload with no network', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    const header = page.locator('.sync-state');
    const synced = (await page.getByText(/^Last synced at/).innerText()).trim();
    // The shell must be in the service worker's cache before the network goes, as on a tablet
    // used once online: on a busy machine it may still be installing.
    await serviceWorkerReady(page);

    suite.clinic.cut(true);
    await context.setOffline(true);
    await statusText(page, 'Offline').waitFor();
    // Opened again with no network (the app shell from the cache, as in the field).
    suite.clinic.cut(false);
    await page.reload();
    suite.clinic.cut(true);
    await statusText(page, 'Offline').waitFor();
    // The sync the app tries on opening has failed by now.
    await header.getByText(/did not finish/).waitFor();
    expect(await header.innerText()).toContain(synced);
    expect(await header.innerText()).not.toContain('Not synced yet');
    suite.clinic.cut(false);
    await context.close();
  });
});
