// A tablet shared by the clinic's staff: what one person signs out of stays closed in every tab.
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, clinicSuite, registerPatient, signIn } from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app on a shared tablet', () => {
  const suite = clinicSuite();

  it("does not open a person's records in a waiting tab once they signed out in the other", async () => {
    const context = await suite.browser.newContext();
    const first = await context.newPage();
    await signIn(first, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(first, 'Only for the nurse to see');

    // A second tab of the app, forgotten behind the first: it waits for the first to close.
    const second = await context.newPage();
    await second.goto(suite.clinic.url);
    await second.getByText('Outpost Clinic is open in another tab or window of this browser').waitFor();

    // The nurse signs out in the first tab and hands the tablet on.
    await first.getByRole('button', { name: 'Sign out', exact: true }).click();
    await first.getByRole('button', { name: 'Sign in' }).waitFor();
    // The waiting tab follows: it asks who is there rather than opening the nurse's records.
    const signInPage = second.getByRole('button', { name: 'Sign in' });
    const clinicScreen = second.getByRole('button', { name: 'New patient' });
    await signInPage.or(clinicScreen).waitFor({ timeout: 15_000 });
    expect(await second.getByText('Only for the nurse to see').count()).toBe(0);
    expect(await clinicScreen.count()).toBe(0);
    expect(await signInPage.isVisible()).toBe(true);
    await context.close();
  });
});
