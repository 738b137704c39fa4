// Leaving a page while a form holds typing not yet saved asks first: a reload, closing the tab,
// another page of the app, the back button, signing out. With nothing unsaved, nothing is asked.
import { describe, expect, it } from 'vitest';
import type { Dialog, Page } from 'playwright-core';
import { chromiumAvailable, clinicSuite, registerPatient, signIn } from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app when leaving unsaved typing', () => {
  const suite = clinicSuite();

  /** Does `leave`, answers the question it raises with `answer`, and says what was asked. */
  async function asked(page: Page, answer: 'stay' | 'leave', leave: () => Promise<unknown>): Promise<Dialog> {
    const question = page.waitForEvent('dialog', { timeout: 5_000 });
    const leaving = leave();
    const dialog = await question;
    await (answer === 'stay' ? dialog.dismiss() : dialog.accept());
    await leaving;
    return dialog;
  }

  async function patientWithNotesTyped(
    name: string,
  ): Promise<{ page: Page; notes: ReturnType<Page['getByLabel']> }> {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, name);
    const notes = page.getByRole('form', { name: 'Patient details' }).getByLabel('Notes');
    await notes.fill('Wound dressed, review in 3 days');
    return { page, notes };
  }

  it("asks (the browser's beforeunload question) before the tab closes while a form holds unsaved typing", async () => {
    const { page, notes } = await patientWithNotesTyped('Kondwani Phiri');
    const dialog = await asked(page, 'stay', () => page.close({ runBeforeUnload: true }));
    expect(dialog.type()).toBe('beforeunload');
    expect(page.isClosed()).toBe(false);
    expect(await notes.inputValue()).toBe('Wound dressed, review in 3 days');

    // Saved, it closes without a question.
    await page.getByRole('form', { name: 'Patient details' }).getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved on this device').waitFor();
    const closed = page.waitForEvent('close', { timeout: 5_000 });
    page.once('dialog', (d) => void d.dismiss());
    await page.close({ runBeforeUnload: true });
    await closed;
    await page.context().close();
  });

  it('asks before another page of the app, the back button or signing out, and keeps the text when told to stay', async () => {
    const { page, notes } = await patientWithNotesTyped('Madalitso Banda');
    const patientsLink = page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Patients' });
    const heading = page.getByRole('heading', { level: 1, name: 'Madalitso Banda' });

    const dialog = await asked(page, 'stay', () => patientsLink.click());
    expect(dialog.type()).toBe('confirm');
    expect(dialog.message()).toContain('What you typed on this page is not saved');
    expect(await heading.isVisible()).toBe(true);
    expect(await notes.inputValue()).toBe('Wound dressed, review in 3 days');

    const address = page.url();
    await asked(page, 'stay', () => page.evaluate(() => history.back()));
    await heading.waitFor();
    expect(page.url()).toBe(address);
    expect(await notes.inputValue()).toBe('Wound dressed, review in 3 days');

    await asked(page, 'stay', () => page.getByRole('button', { name: 'Sign out', exact: true }).click());
    expect(await notes.inputValue()).toBe('Wound dressed, review in 3 days');

    // Told to leave, it leaves.
    await asked(page, 'leave', () => patientsLink.click());
    await page.getByRole('button', { name: 'New patient' }).waitFor();
    await page.context().close();
  });

  it('moves on without a question once the typing is saved', async () => {
    const { page } = await patientWithNotesTyped('Chisomo Tembo');
    const questions: string[] = [];
    page.on('dialog', (d) => {
      questions.push(d.message());
      void d.dismiss();
    });
    await page.getByRole('form', { name: 'Patient details' }).getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved on this device').waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Patients' }).click();
    await page.getByRole('button', { name: 'New patient' }).waitFor();
    // A new patient saved opens their page at once.
    await registerPatient(page, 'Grace Mwale');
    expect(questions).toEqual([]);
    await page.context().close();
  });
});
