// The intake form's pregnancy question is answered by choosing, not typing: "No", "Yes",
// "Possibly", "Not applicable" read one way on every tablet, where free text read ten. An answer
// typed before the question had choices (an older app, another system) stays chosen as it was
// written, and saving the form keeps it.
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, clinicSuite, pushFromOffice, registerPatient, syncNow } from './clinic-fixture';

/** The pregnancy question's list, as the nurse reads it. */
const choices = ['Not answered', 'No', 'Yes', 'Possibly', 'Not applicable'];

describe.runIf(chromiumAvailable())('the intake form', () => {
  const suite = clinicSuite();

  /** The patient's intake form as the server holds it. */
  async function serverForm(patientId: string) {
    const { records } = await suite.clinic.app.outpost.store.pull('clinic-a', 0, 1000, ['intakeForms']);
    const row = records.find((r) => JSON.parse(r.dataJson).patientId === patientId);
    if (row === undefined) throw new Error(`no intake form for ${patientId}`);
    return { id: row.id, version: row.version, data: JSON.parse(row.dataJson) as Record<string, unknown> };
  }

  it('answers the pregnancy question from a list, and keeps an answer typed before there was one', async () => {
    const { page } = await suite.device('nurse@clinic-a.test');
    await registerPatient(page, 'Esther Phiri');
    const patientId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2] ?? '');
    const intake = page.getByRole('form', { name: 'Intake form' });
    const pregnant = intake.getByLabel('Pregnant or possibly pregnant');
    expect(await pregnant.locator('option').allInnerTexts()).toEqual(choices);
    await intake.getByLabel('Main complaint').fill('Dizziness');
    await pregnant.selectOption({ label: 'Possibly' });
    await intake.getByRole('button', { name: 'Save intake form' }).click();
    await syncNow(page);
    const saved = await serverForm(patientId);
    expect(saved.data.answers).toEqual({
      complaint: 'Dizziness',
      conditions: '',
      medications: '',
      pregnant: 'Possibly',
    });

    // Another system wrote the answer in its own words.
    expect(
      await pushFromOffice(suite.clinic, {
        type: 'update',
        collection: 'intakeForms',
        id: saved.id,
        baseVersion: saved.version,
        data: { answers: { ...(saved.data.answers as object), pregnant: 'unsure, last period 6 weeks ago' } },
      }),
    ).toBe('applied');
    await syncNow(page);
    await expect.poll(() => pregnant.inputValue()).toBe('unsure, last period 6 weeks ago');
    expect(await pregnant.locator('option').allInnerTexts()).toEqual([
      ...choices,
      'unsure, last period 6 weeks ago',
    ]);

    // Saving another answer keeps it.
    await intake.getByLabel('Main complaint').fill('Dizziness since Sunday');
    await intake.getByRole('button', { name: 'Save intake form' }).click();
    await syncNow(page);
    expect((await serverForm(patientId)).data.answers).toMatchObject({
      complaint: 'Dizziness since Sunday',
      pregnant: 'unsure, last period 6 weeks ago',
    });
  });
});
