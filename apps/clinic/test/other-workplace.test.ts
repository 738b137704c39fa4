// An account of another kind of workplace on the same server (the demo's veterinary practice) is
// told at sign-in that the clinic app does not show its records, and nothing of it stays on the
// tablet: no session, no offline sign-in. The next person signs in as usual.
import { describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  clinicSuite,
  password,
  setNetwork,
  signIn,
  statusText,
  storedSession,
  submitSignIn,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app and an account of another workplace', () => {
  const suite = clinicSuite();

  it('tells a vet the app shows field-clinic records only, keeps nothing of the sign-in, and lets the nurse in', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    try {
      await page.goto(suite.clinic.url);
      // The server offers its demo accounts: the clinic's, not the practice's.
      const hint = page.getByText(/^Demo accounts:/);
      await hint.waitFor();
      expect(await hint.textContent()).toBe(
        `Demo accounts: nurse@clinic-a.test (clinician), midwife@clinic-a.test (clinician), admin@clinic-a.test (administrator); password “${password}”.`,
      );
      const signInAs = (email: string) => submitSignIn(page, email);
      await signInAs('vet@vet-a.test');
      await page
        .getByText(
          'vet@vet-a.test belongs to vet-a, whose records follow the vet-practice schema: Outpost Clinic shows field-clinic records only.',
        )
        .waitFor();
      expect(await page.getByRole('button', { name: 'New patient' }).count()).toBe(0);
      expect(await storedSession(page)).toBeNull();
      expect(await page.evaluate(() => localStorage.getItem('outpost.session'))).toBeNull();
      // The session the server opened was ended there at once.
      const trail = await suite.clinic.app.outpost.store.auditEvents('vet-a', 100);
      expect(trail.filter((e) => e.action === 'logout').map((e) => e.outcome)).toEqual(['ok']);

      // Nothing lets the vet in offline either: no verifier was kept.
      await setNetwork(suite.clinic, page, false);
      await signInAs('vet@vet-a.test');
      await page.getByText(/has not signed in on this device .* needs the network/).waitFor();
      await setNetwork(suite.clinic, page, true);

      await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
      await statusText(page, 'Online').waitFor();
      await page.getByRole('button', { name: 'New patient' }).waitFor();
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });
});
