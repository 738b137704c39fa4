// What a clinician is typing stays in the form while syncs change the record under it: their own
// earlier save being confirmed, or a colleague's change arriving by the live stream.
import { afterEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  chromiumAvailable,
  clinicSuite,
  nurseAndMidwife,
  patientWithDraftNote,
  registerPatient,
  signIn,
  statusText,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app keeps what is typed in a form', () => {
  const suite = clinicSuite();

  // A test that fails offline must not leave the server cut for the next one.
  afterEach(() => suite.clinic.cut(false));

  async function patientOnServer(name: string): Promise<Record<string, unknown> | undefined> {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['patients']);
    return records
      .map((r) => JSON.parse(r.dataJson) as Record<string, unknown>)
      .find((data) => data['name'] === name);
  }

  async function goOffline(page: Page, offline: boolean): Promise<void> {
    suite.clinic.cut(offline);
    await page.context().setOffline(offline);
    await statusText(page, offline ? 'Offline' : 'Online').waitFor({ timeout: 25_000 });
  }

  it('keeps a field being typed while the save before it is confirmed by the server', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Esnart Chirwa');
    await page.getByText('Synced, version 1').waitFor({ timeout: 20_000 });

    // Offline, the nurse saves the phone number, then starts on the notes.
    await goOffline(page, true);
    const details = page.getByRole('form', { name: 'Patient details' });
    await details.getByLabel('Phone').fill('0999 123 456');
    await details.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Changes not yet synced').waitFor();
    await details.getByText('Saved on this device').waitFor();
    await details.getByLabel('Notes').fill('Cough for two weeks, no fever');
    // The notes are not saved yet, and the form no longer says "Saved".
    expect(await details.getByText('Saved on this device').count()).toBe(0);

    // The network returns and the saved phone number reaches the server.
    await goOffline(page, false);
    await page.getByText('Synced, version 2').waitFor({ timeout: 20_000 });
    expect(await details.getByLabel('Notes').inputValue()).toBe('Cough for two weeks, no fever');
    expect(await details.getByLabel('Phone').inputValue()).toBe('0999 123 456');

    await details.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Synced, version 3').waitFor({ timeout: 20_000 });
    expect(await patientOnServer('Esnart Chirwa')).toMatchObject({
      phone: '0999 123 456',
      notes: 'Cough for two weeks, no fever',
    });
    await context.close();
  });

  it("keeps a field being typed when a colleague's change to the patient arrives, and shows that change", async () => {
    const { nurse, midwife, close } = await nurseAndMidwife(suite);

    await registerPatient(nurse, 'Joseph Tembo', { Village: 'Mchinji' });
    await nurse.getByText('Synced, version 1').waitFor({ timeout: 20_000 });
    const details = nurse.getByRole('form', { name: 'Patient details' });
    await details.getByLabel('Notes').fill('Allergic reaction to penicillin in 2019');

    // Meanwhile the midwife corrects his village; the live stream brings it to the nurse's screen.
    await midwife.getByRole('link', { name: 'Joseph Tembo' }).click();
    const theirs = midwife.getByRole('form', { name: 'Patient details' });
    await theirs.getByLabel('Village').fill('Kasungu');
    await theirs.getByRole('button', { name: 'Save' }).click();
    await nurse.getByText('Synced, version 2').waitFor({ timeout: 20_000 });

    expect(await details.getByLabel('Village').inputValue()).toBe('Kasungu');
    expect(await details.getByLabel('Notes').inputValue()).toBe('Allergic reaction to penicillin in 2019');
    await details.getByRole('button', { name: 'Save' }).click();
    await nurse.getByText('Synced, version 3').waitFor({ timeout: 20_000 });
    expect(await patientOnServer('Joseph Tembo')).toMatchObject({
      village: 'Kasungu',
      notes: 'Allergic reaction to penicillin in 2019',
    });
    await close();
  });

  it('says so when a colleague changed the very field being typed, and keeps what was typed', async () => {
    const { nurse, midwife, close } = await nurseAndMidwife(suite);

    await registerPatient(nurse, 'Alinafe Zulu', { Phone: '0888 000 111' });
    await nurse.getByText('Synced, version 1').waitFor({ timeout: 20_000 });
    const details = nurse.getByRole('form', { name: 'Patient details' });
    await details.getByLabel('Phone').fill('0888 000 222');

    await midwife.getByRole('link', { name: 'Alinafe Zulu' }).click();
    const theirs = midwife.getByRole('form', { name: 'Patient details' });
    await theirs.getByLabel('Phone').fill('0888 000 333');
    await theirs.getByRole('button', { name: 'Save' }).click();
    await nurse.getByText('Synced, version 2').waitFor({ timeout: 20_000 });

    expect(await details.getByLabel('Phone').inputValue()).toBe('0888 000 222');
    expect(await details.getByRole('status').innerText()).toBe(
      'Changed on another device while you were typing: Phone (now “0888 000 333”). What you typed is kept; saving it replaces that change.',
    );
    // Saving settles it: the nurse's number goes, and the notice with it.
    await details.getByRole('button', { name: 'Save' }).click();
    await nurse.getByText('Synced, version 3').waitFor({ timeout: 20_000 });
    expect(await details.getByText('Changed on another device').count()).toBe(0);
    expect(await patientOnServer('Alinafe Zulu')).toMatchObject({ phone: '0888 000 222' });
    await close();
  });

  it('keeps a draft note being written when a colleague edits the same draft', async () => {
    const { nurse, midwife, close } = await nurseAndMidwife(suite);

    await patientWithDraftNote(nurse, 'Yamikani Banda', 'Crackles on the left');
    const draft = nurse.getByRole('form', { name: 'Draft note' });
    await draft.getByLabel('Draft note').fill('Crackles on the left base, SpO2 93%');

    // The midwife adds to the same draft on her tablet; it reaches the nurse's screen.
    await midwife.getByRole('link', { name: 'Yamikani Banda' }).click();
    const theirs = midwife.getByRole('form', { name: 'Draft note' });
    await theirs.getByLabel('Draft note').fill('Crackles on the left; started amoxicillin');
    await theirs.getByRole('button', { name: 'Save draft' }).click();
    // Her draft arrives: either the form says so beside the nurse's text, or it took the nurse's text.
    const notice = draft.getByText('Changed on another device while you were typing');
    const ours = 'Crackles on the left base, SpO2 93%';
    await expect
      .poll(
        async () =>
          (await notice.count()) > 0 || (await draft.getByLabel('Draft note').inputValue()) !== ours,
        {
          timeout: 20_000,
        },
      )
      .toBe(true);
    expect(await draft.getByLabel('Draft note').inputValue()).toBe(ours);
    expect(await notice.isVisible()).toBe(true);
    await close();
  });

  it('keeps intake answers being typed while the save before them is confirmed', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
    await registerPatient(page, 'Mercy Lungu');
    await page.getByText('Synced, version 1').waitFor({ timeout: 20_000 });

    await goOffline(page, true);
    const intake = page.getByRole('form', { name: 'Intake form' });
    await intake.getByLabel('Main complaint').fill('Headache');
    await intake.getByRole('button', { name: 'Save intake form' }).click();
    await page.getByText('1 change waiting').waitFor();
    await intake.getByLabel('Current medications').fill('Paracetamol 500 mg');

    await goOffline(page, false);
    await page.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    // The form's "Not yet synced" badge goes once the save is confirmed.
    await page
      .getByRole('heading', { name: 'Intake form' })
      .filter({ hasNotText: 'Not yet synced' })
      .waitFor({ timeout: 20_000 });
    expect(await intake.getByLabel('Current medications').inputValue()).toBe('Paracetamol 500 mg');
    expect(await intake.getByLabel('Main complaint').inputValue()).toBe('Headache');
    await context.close();
  });
});
