// The header between the browser saying the network changed and the server's answer: a clinician
// sees that the tablet is checking, not a stale "Online" or "Offline".
import { describe, it } from 'vitest';
import { chromiumAvailable, clinicSuite, signIn, statusText } from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic header while the connection is checked', () => {
  const suite = clinicSuite();

  it('says "Checking connection…" from the browser\'s online event until the server answers', async () => {
    // No service worker: the page's own requests are the ones the test holds back.
    const context = await suite.browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');

    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/v1/health', async (route) => {
      await held;
      await route.continue();
    });
    // A link coming back as the browser reports it; the server's answer is still on its way.
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    const header = page.locator('.sync-state');
    await header
      .getByRole('status')
      .filter({ hasText: /^Checking connection…$/ })
      .waitFor();

    release();
    await statusText(page, 'Online').waitFor();
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await context.close();
  });
});
