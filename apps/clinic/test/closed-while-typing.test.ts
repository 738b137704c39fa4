// A colleague signs the draft note, or locks the intake form, that a clinician is typing in: the
// form can no longer take the text, so the app keeps it on screen, says it was not saved, and
// offers what can still be done with it.
import { describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  clinicSuite,
  nurseAndMidwife,
  patientWithDraftNote,
  registerPatient,
  syncNow,
} from './clinic-fixture';

describe.runIf(chromiumAvailable())('the clinic app when a form is closed while someone types in it', () => {
  const suite = clinicSuite();

  async function notesOnServer(): Promise<Array<Record<string, unknown>>> {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['clinicalNotes']);
    return records.map((r) => JSON.parse(r.dataJson) as Record<string, unknown>);
  }

  it('keeps the text of a draft note signed elsewhere meanwhile, and keeps it as a new draft in one click', async () => {
    const { nurse, midwife, close } = await nurseAndMidwife(suite);
    await patientWithDraftNote(nurse, 'Chimwemwe Mbewe', 'Crackles on the left');
    // The draft on the server, and on the midwife's tablet by her own sync: the live stream would
    // bring it too, but a slow machine may take longer than the test waits.
    await nurse.getByText('No changes waiting').waitFor({ timeout: 20_000 });
    await syncNow(midwife);

    // The midwife has the draft open on her tablet; the nurse goes on writing it on hers.
    await midwife.getByRole('link', { name: 'Chimwemwe Mbewe' }).click();
    const theirs = midwife.getByRole('form', { name: 'Draft note' });
    await theirs.waitFor({ timeout: 20_000 });
    const typed = 'Crackles on the left base, SpO2 93%, started amoxicillin';
    await nurse.getByRole('form', { name: 'Draft note' }).getByLabel('Draft note').fill(typed);

    // The midwife signs it as it stood; the signature reaches the nurse's screen.
    await theirs.getByRole('button', { name: 'Sign note' }).click();
    const signed = nurse.getByRole('figure', { name: 'Signed note' });
    await signed.waitFor({ timeout: 20_000 });
    expect(await signed.locator('blockquote').innerText()).toBe('Crackles on the left');

    // What the nurse typed is still there, with why it was not saved.
    const notice = nurse.getByRole('alert').filter({ hasText: 'signed on another device' });
    await notice.waitFor();
    expect(await notice.innerText()).toContain('What you typed was not saved');
    expect(await notice.getByRole('textbox').inputValue()).toBe(typed);

    await notice.getByRole('button', { name: 'Keep as a new draft note' }).click();
    const kept = nurse.getByRole('form', { name: 'Draft note' });
    await kept.waitFor();
    expect(await kept.getByLabel('Draft note').inputValue()).toBe(typed);
    expect(await notice.count()).toBe(0);
    await expect
      .poll(async () => (await notesOnServer()).map((n) => n['body']), { timeout: 20_000 })
      .toContain(typed);
    await close();
  });

  it('keeps the answers being typed in an intake form locked elsewhere meanwhile, and says so', async () => {
    const { nurse, midwife, close } = await nurseAndMidwife(suite);
    await registerPatient(nurse, 'Thokozani Gondwe');
    const intake = nurse.getByRole('form', { name: 'Intake form' });
    await intake.getByLabel('Main complaint').fill('Headache');
    await intake.getByRole('button', { name: 'Save intake form' }).click();
    await nurse
      .getByRole('heading', { name: 'Intake form' })
      .filter({ hasNotText: 'Not yet synced' })
      .waitFor({ timeout: 20_000 });

    await syncNow(midwife);
    await midwife.getByRole('link', { name: 'Thokozani Gondwe' }).click();
    const theirs = midwife.getByRole('form', { name: 'Intake form' });
    await theirs.getByLabel('Main complaint').and(midwife.locator('[value="Headache"]')).waitFor({
      timeout: 20_000,
    });
    await intake.getByLabel('Current medications').fill('Paracetamol 500 mg');

    await theirs.getByRole('button', { name: 'Lock intake form' }).click();
    await nurse.getByText('Locked', { exact: true }).waitFor({ timeout: 20_000 });

    const notice = nurse.getByRole('alert').filter({ hasText: 'locked on another device' });
    await notice.waitFor();
    expect(await notice.innerText()).toContain('What you typed was not saved');
    expect(await notice.innerText()).toContain('Current medications');
    expect(await notice.getByRole('textbox', { name: 'Current medications' }).inputValue()).toBe(
      'Paracetamol 500 mg',
    );
    // Read, and copied where it belongs: the nurse dismisses it.
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    expect(await notice.count()).toBe(0);
    await close();
  });
});
