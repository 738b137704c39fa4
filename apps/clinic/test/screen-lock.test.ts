// The screen lock (decision 0048): a tablet left on a ward's desk stops showing the patient after
// the minutes without use the clinic chose (10 by default), a reload included, and opens again
// only with the person's password: checked on the tablet, or by the server when the tablet cannot,
// with what she was typing still there. An administrator sets the minutes, or never, on People;
// each tablet applies it from its next sync. Time is moved by Playwright's clock, not waited for.
import { describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  password,
  registerPatient,
  screenshot,
  setNetwork,
  signIn,
  statusText,
  submitSignIn,
  syncNow,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app locking itself after a while without use', () => {
  const suite = clinicSuite();

  /** A tablet of its own whose clock the test moves, with `email` signed in. */
  async function tabletWithClock(email: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await suite.browser.newContext();
    // Before any page loads: the app's timers and Date are the clock's from the start.
    await context.clock.install();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, email);
    return { context, page };
  }

  const lockOf = (page: Page) => page.getByRole('dialog', { name: 'Locked' });

  /**
   * The lock is all there is to see: the dialog with who is signed in and the password asked for,
   * opaque over the spot where `covered` was, and the keyboard in the dialog, not the app.
   */
  async function seesOnlyTheLock(page: Page, covered: string): Promise<void> {
    const lock = lockOf(page);
    await lock.waitFor();
    await lock.getByText('nurse@clinic-a.test', { exact: true }).waitFor();
    await lock.getByLabel('Enter your password to continue').waitFor();
    const onTop = await page.evaluate((text) => {
      const under = Array.from(document.querySelectorAll('h1')).find((h) => h.textContent === text);
      if (under === undefined) return 'not on the page';
      // Where she would see it, had she scrolled back up to it.
      under.scrollIntoView({ block: 'center' });
      const box = under.getBoundingClientRect();
      const top = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
      return top?.closest('[role="dialog"]') ? 'the lock' : (top?.textContent ?? 'nothing');
    }, covered);
    expect(onTop).toBe('the lock');
    expect(await page.getByRole('heading', { level: 1, name: covered }).isVisible()).toBe(false);
    expect(await page.evaluate(() => document.activeElement?.closest('[role="dialog"]') !== null)).toBe(true);
  }

  async function unlockWith(page: Page, typed: string): Promise<void> {
    const lock = lockOf(page);
    await lock.getByLabel('Enter your password to continue').fill(typed);
    await lock.getByRole('button', { name: 'Unlock' }).click();
  }

  /** Nothing appears for a moment of real time: the app had its chance to lock. */
  async function staysOpen(page: Page): Promise<void> {
    await page.waitForTimeout(300);
    expect(await lockOf(page).count()).toBe(0);
  }

  async function notesSaying(body: string) {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['clinicalNotes']);
    return records.filter((r) => (JSON.parse(r.dataJson) as { body?: string }).body === body);
  }

  it("hides a nurse's patient after 10 minutes without use, through a reload, and gives her typing back with her password", async () => {
    const { context, page } = await tabletWithClock('nurse@clinic-a.test');
    try {
      await registerPatient(page, 'Grace Phiri');
      await page.getByRole('button', { name: 'New encounter' }).click();
      await page.getByLabel('Diagnosis').fill('Pneumonia');
      await page.getByRole('button', { name: 'Save encounter' }).click();
      await page.getByRole('button', { name: 'New note' }).click();
      const note = page.getByRole('form', { name: 'New note' }).getByLabel('Clinical note');
      await note.pressSequentially('Cough for three days');

      // Typing is use: nine minutes, a few more words, nine minutes again, and it is still open.
      await page.clock.fastForward('09:00');
      await note.pressSequentially(', no fever');
      await page.clock.fastForward('09:00');
      await staysOpen(page);

      // Left on the desk: ten minutes after her last key, the patient is hidden.
      await page.clock.fastForward('01:10');
      await seesOnlyTheLock(page, 'Grace Phiri');
      // What is typed now goes to the lock, not into her note.
      await page.keyboard.type('x');
      await screenshot(page, 'screen-lock');

      // A wrong password is refused, on the tablet, saying how many tries are left.
      await unlockWith(page, 'not-her-password');
      await lockOf(page)
        .getByText(/^Wrong password\. 4 tries left/)
        .waitFor();
      // Hers opens it, and her note is there as she left it, and saves.
      await unlockWith(page, password);
      await lockOf(page).waitFor({ state: 'detached' });
      expect(await note.inputValue()).toBe('Cough for three days, no fever');
      await page.getByRole('form', { name: 'New note' }).getByRole('button', { name: 'Save draft' }).click();
      await page.getByRole('form', { name: 'Draft note' }).waitFor();
      await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
      expect(await notesSaying('Cough for three days, no fever')).toHaveLength(1);

      // Locked again, a reload opens locked: the records never show.
      await page.clock.fastForward('10:10');
      await seesOnlyTheLock(page, 'Grace Phiri');
      await page.reload();
      await seesOnlyTheLock(page, 'Grace Phiri');

      // With no network, the tablet checks her password itself.
      await setNetwork(suite.clinic, page, false);
      await unlockWith(page, password);
      await lockOf(page).waitFor({ state: 'detached' });
      await statusText(page, 'Offline').waitFor();
      await page.getByRole('heading', { level: 1, name: 'Grace Phiri' }).waitFor();

      // Five wrong passwords use up what the tablet can check; with no network, nothing else can:
      // the lock says so and offers only "Sign out".
      await page.clock.fastForward('10:10');
      await seesOnlyTheLock(page, 'Grace Phiri');
      for (const left of ['4 tries left', '3 tries left', '2 tries left', '1 try left']) {
        await unlockWith(page, `guess, ${left}`);
        await lockOf(page)
          .getByText(new RegExp(`^Wrong password\\. ${left}`))
          .waitFor();
      }
      await unlockWith(page, 'one guess too many');
      await lockOf(page)
        .getByText(/^Unlocking needs the network/)
        .waitFor();
      expect(await lockOf(page).getByRole('textbox').count()).toBe(0);
      expect(await lockOf(page).getByRole('button').allInnerTexts()).toEqual(['Sign out']);
      await screenshot(page, 'screen-lock-needs-network');

      // The network back, the server checks it: a wrong one in its words, hers unlocks.
      await setNetwork(suite.clinic, page, true);
      await unlockWith(page, 'still not hers');
      await lockOf(page).getByText('Not unlocked: email or password is wrong').waitFor();
      await unlockWith(page, password);
      await lockOf(page).waitFor({ state: 'detached' });
      await page.getByRole('heading', { level: 1, name: 'Grace Phiri' }).waitFor();

      // Another person takes the tablet: "Sign out" on the lock, and her sign-in is not locked by
      // the time the tablet sat idle before.
      await page.clock.fastForward('10:10');
      await lockOf(page).getByRole('button', { name: 'Sign out' }).click();
      await submitSignIn(page, 'midwife@clinic-a.test');
      await page.getByText(/^Last synced at/).waitFor();
      await staysOpen(page);
      expect(await page.getByText('midwife@clinic-a.test', { exact: false }).count()).toBeGreaterThan(0);
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });

  it('an administrator sets 2 minutes, then never: a tablet follows from its next sync; a clinician has no form', async () => {
    const adminContext = await suite.browser.newContext();
    const { context: nurseContext, page: nurse } = await tabletWithClock('nurse@clinic-a.test');
    try {
      const admin = await adminContext.newPage();
      await signIn(admin, suite.clinic.url, 'admin@clinic-a.test');
      await admin.getByRole('link', { name: 'People' }).click();
      const section = admin.getByRole('region', { name: 'Screen lock' });
      await section
        .getByText('Tablets lock after 10 minutes without use (the default).', { exact: true })
        .waitFor();
      const form = section.getByRole('form', { name: 'Change the screen lock' });
      const minutes = form.getByLabel('Minutes without use');
      expect(await minutes.inputValue()).toBe('10');

      // The server judges the minutes, and its refusal is shown in its words.
      await minutes.fill('0');
      await form.getByRole('button', { name: 'Save' }).click();
      await form.getByText('Not saved: the screen lock must be at least 1 minute').waitFor();
      await minutes.fill('2');
      await form.getByRole('button', { name: 'Save' }).click();
      await form
        .getByText(/^Saved\. Tablets lock after 2 minutes without use, set by admin@clinic-a\.test/)
        .waitFor();
      await section
        .getByText(/^Tablets lock after 2 minutes without use, set by admin@clinic-a\.test on .+ UTC\.$/)
        .waitFor();
      await screenshot(admin, 'people-screen-lock');

      // The nurse's tablet learns it at its next sync, and locks two minutes after her last touch.
      await nurse.getByRole('link', { name: 'Patients' }).click();
      await syncNow(nurse);
      await expect.poll(() => keptMinutes(nurse)).toBe(2);
      await nurse.clock.fastForward('01:30');
      await staysOpen(nurse);
      await nurse.clock.fastForward('00:40');
      await lockOf(nurse).waitFor();

      // Never: a tablet kept by one person. The locked tablet goes on syncing (every minute) and
      // learns it, but stays locked until her password.
      await form.getByLabel('Never lock').check();
      await form.getByRole('button', { name: 'Save' }).click();
      await section.getByText(/^Tablets never lock, set by admin@clinic-a\.test on .+ UTC\.$/).waitFor();
      await nurse.clock.fastForward('01:05');
      await expect.poll(() => keptMinutes(nurse), { timeout: 10_000 }).toBeNull();
      expect(await lockOf(nurse).count()).toBe(1);
      await unlockWith(nurse, password);
      await lockOf(nurse).waitFor({ state: 'detached' });
      await nurse.clock.fastForward('01:00:00');
      await staysOpen(nurse);
      await nurse.getByRole('button', { name: 'New patient' }).click();
      await nurse.getByRole('form', { name: 'New patient' }).waitFor();

      // Back to the default; offline, the page says the setting is the server's.
      await form.getByRole('button', { name: 'Back to the default' }).click();
      await section
        .getByText('Tablets lock after 10 minutes without use (the default).', { exact: true })
        .waitFor();
      await setNetwork(suite.clinic, admin, false);
      await section.getByText('The screen lock is set on the server: connect to change it.').waitFor();
      expect(await form.count()).toBe(0);
      await setNetwork(suite.clinic, admin, true);

      // The audit log says who changed it, in words.
      await admin.getByRole('link', { name: 'Audit log' }).click();
      const log = admin.getByRole('table', { name: 'Audit events' });
      await log.getByText('Screen lock back to the default', { exact: true }).waitFor();
      await log.getByText('Screen lock turned off: tablets never lock', { exact: true }).waitFor();
      expect(await log.getByText('Screen lock changed', { exact: true }).count()).toBe(1);

      // A clinician has no People link, and the address shows no screen lock to change.
      expect(await nurse.getByRole('link', { name: 'People' }).count()).toBe(0);
      await nurse.goto(`${suite.clinic.url}/people`);
      await nurse.getByText('The clinic’s people are managed by its administrators.').waitFor();
      expect(await nurse.getByRole('region', { name: 'Screen lock' }).count()).toBe(0);
    } finally {
      suite.clinic.cut(false);
      await adminContext.close();
      await nurseContext.close();
    }
  });

  /** The minutes the tablet keeps for its clinic (null: never), as it applies them offline too. */
  function keptMinutes(page: Page): Promise<number | null | undefined> {
    return page.evaluate(() => {
      const kept = JSON.parse(localStorage.getItem('outpost.clinic-settings.clinic-a') ?? '{}') as {
        screenLock?: { afterMinutes: number | null };
      };
      return kept.screenLock?.afterMinutes;
    });
  }
});
