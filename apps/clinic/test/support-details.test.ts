// "Save details for support" on Sync details: a nurse whose changes will not go saves a file for
// whoever looks after the tablets. It says how the tablet syncs and which changes wait, by id and
// status, with the last log lines; nothing she typed about a patient.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, clinicSuite, registerPatient, setNetwork, signIn } from './clinic-fixture';

describe.runIf(chromiumAvailable())('details for support in the clinic app', () => {
  const suite = clinicSuite();

  it("saves the tablet's sync state and log as a file, with the change waiting by id and no patient's data", async () => {
    const context = await suite.browser.newContext({ acceptDownloads: true });
    try {
      const page = await context.newPage();
      await signIn(page, suite.clinic.url, 'nurse@clinic-a.test');
      await setNetwork(suite.clinic, page, false);
      await registerPatient(page, 'Thokozani Mwale', { Village: 'Chitipa' });
      await page.getByText('1 change waiting').waitFor();
      await page.getByRole('link', { name: 'Sync details' }).click();
      await page.getByText("no patient's name or anything typed about them").waitFor();

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Save details for support' }).click(),
      ]);
      expect(download.suggestedFilename()).toMatch(
        /^outpost-sync-details-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.json$/,
      );
      const text = readFileSync(await download.path(), 'utf8');
      const details = JSON.parse(text) as {
        schema: string;
        network: { online: boolean };
        queue: { waiting: number };
        outbox: Array<{ collection: string; type: string; status: string }>;
        log: Array<{ source: string; message: string }>;
      };
      expect(details.schema).toBe('field-clinic');
      expect(details.network.online).toBe(false);
      expect(details.queue.waiting).toBe(1);
      expect(details.outbox).toEqual([
        expect.objectContaining({ collection: 'patients', type: 'create', status: 'pending' }),
      ]);
      expect(details.log.map((l) => l.source)).toContain('NetworkMonitor');
      for (const typed of ['Thokozani', 'Mwale', 'Chitipa']) expect(text).not.toContain(typed);
    } finally {
      suite.clinic.cut(false);
      await context.close();
    }
  });
});
