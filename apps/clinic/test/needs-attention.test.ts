// The Statistics page tells a coordinator which devices need attention (decision 0036), above
// the table of figures: a tablet that has not synced for days is named with its owner, and a
// clinic whose devices all sync reads as such.
import { renameSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromiumAvailable, clinicSuite, screenshot, signIn } from './clinic-fixture';

const day = 24 * 60 * 60 * 1000;

describe.runIf(chromiumAvailable())("the statistics page's Needs attention", () => {
  const suite = clinicSuite();

  it('names a tablet silent for five days with its owner, and says so when every device syncs', async () => {
    // The nurse's tablet sends a change made ten minutes ago: a healthy clinic.
    await suite.clinic.pushPatientFrom('nurse@clinic-a.test', 'tablet-nurse-01', {
      madeAgoMs: 10 * 60 * 1000,
    });

    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'admin@clinic-a.test');
    await page.getByRole('link', { name: 'Statistics' }).click();
    const attention = page.getByRole('region', { name: 'Needs attention' });
    await attention.getByText('All devices are syncing normally.').waitFor();
    const table = page.getByRole('table', { name: 'Devices' });
    await expect
      .poll(() => table.getByRole('row').filter({ hasText: 'tablet-nurse-01' }).innerText())
      .toContain('10 minutes');

    // Closed, so that no sync of the administrator's own device meets the server's clock moved.
    await context.close();

    // The midwife's tablet last synced five days (and an hour) ago, as the server's clock then said.
    await suite.clinic.pushPatientFrom('midwife@clinic-a.test', 'midwife-tablet-3f2a9c71', {
      serverNow: Date.now() - 5 * day - 60 * 60 * 1000,
    });

    const again = await suite.browser.newContext();
    const admin = await again.newPage();
    await signIn(admin, suite.clinic.url, 'admin@clinic-a.test');
    await admin.getByRole('link', { name: 'Statistics' }).click();
    const needs = admin.getByRole('region', { name: 'Needs attention' });
    const item = needs.getByRole('listitem').filter({ hasText: 'midwife@clinic-a.test' });
    await item.waitFor();
    expect(await item.innerText()).toMatch(
      /^Check\s+midwife@clinic-a\.test, device midwife-tablet-3…: has not synced for 5 days \(last sync .+ UTC\)/i,
    );
    // Only her tablet: the nurse's and the administrator's own device are syncing.
    expect(await needs.getByRole('listitem').count()).toBe(1);
    expect(await needs.getByText('All devices are syncing normally.').count()).toBe(0);
    await screenshot(admin, 'statistics-needs-attention');
    await again.close();
  });

  it('takes a broken tablet out of use, so it is no longer listed as silent, and puts it back', async () => {
    // A tablet that broke nine days ago, after its last sync.
    await suite.clinic.pushPatientFrom('midwife@clinic-a.test', 'broken-tablet-5d0e77a1', {
      serverNow: Date.now() - 9 * day,
    });
    // A tablet held upright.
    const context = await suite.browser.newContext({ viewport: { width: 768, height: 1024 } });
    const admin = await context.newPage();
    await signIn(admin, suite.clinic.url, 'admin@clinic-a.test');
    await admin.getByRole('link', { name: 'Statistics' }).click();
    const needs = admin.getByRole('region', { name: 'Needs attention' });
    const broken = needs.getByRole('listitem').filter({ hasText: 'broken-tablet-5d…' });
    await broken.waitFor();
    expect(await broken.innerText()).toMatch(
      /^Urgent\s+midwife@clinic-a\.test, device broken-tablet-5d…: has not synced for 9 days/i,
    );

    // "Out of use" first says what it means; "Cancel" leaves it as it was.
    const row = admin
      .getByRole('table', { name: 'Devices' })
      .getByRole('row')
      .filter({ hasText: 'broken-tablet' });
    await row.getByRole('button', { name: 'broken-tablet-5d0e77a1 out of use' }).click();
    const asking = row.getByRole('group', { name: 'Take broken-tablet-5d0e77a1 out of use' });
    expect(await asking.innerText()).toContain('Anything recorded on it and never sent stays only on it.');
    await asking.getByRole('button', { name: 'Cancel' }).click();
    expect(await broken.count()).toBe(1);
    await row.getByRole('button', { name: 'broken-tablet-5d0e77a1 out of use' }).click();
    await asking.getByRole('button', { name: 'Take out of use' }).click();
    await row.getByText(/Out of use since \d{4}-\d{2}-\d{2} \d{2}:\d{2}/).waitFor();
    await expect.poll(() => broken.count()).toBe(0);
    // The devices table is wider than the tablet: it scrolls within itself, the page never sideways.
    expect(await admin.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(admin, 'statistics-device-out-of-use');

    // The server keeps it: read again, the tablet is still out of use and still not listed.
    await admin.reload();
    await admin.getByRole('table', { name: 'Devices' }).waitFor();
    await row.getByRole('button', { name: 'broken-tablet-5d0e77a1 in use again' }).waitFor();
    expect(await broken.count()).toBe(0);

    // Put back in use, it is listed again.
    await row.getByRole('button', { name: 'broken-tablet-5d0e77a1 in use again' }).click();
    await broken.waitFor();
    expect(await row.getByText('Out of use since').count()).toBe(0);
    await context.close();
  });

  it('tells the administrator when the server last backed up, and plainly when its backups fail', async () => {
    const schedule = suite.clinic.app.outpost.backups;
    if (!schedule) throw new Error('the clinic server takes no backups');
    const folder = suite.clinic.backupFolder;
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signIn(page, suite.clinic.url, 'admin@clinic-a.test');
    await page.getByRole('link', { name: 'Statistics' }).click();
    const backups = page.getByRole('region', { name: 'Backups' });
    await backups
      .getByText('No backup has been taken yet. Every 24 hours, the newest 3 kept, not encrypted.')
      .waitFor();

    expect((await schedule.runNow()).ok).toBe(true);
    const asked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/v1/admin/backups') asked.push(r.url());
    });
    await page.reload();
    await backups
      .getByText(/^Last backup under a minute ago \(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)\. Every 24 hours/)
      .waitFor();
    expect(await backups.getByRole('alert').count()).toBe(0);
    // The header's notice and this section asked together: the server answered once.
    expect(asked).toHaveLength(1);

    // The USB stick is pulled out: the next backup fails, and the page says so, and what to look at.
    renameSync(folder, `${folder}-away`);
    try {
      expect((await schedule.runNow()).ok).toBe(false);
      await page.reload();
      const alert = backups.getByRole('alert');
      await alert.waitFor();
      const said = await alert.innerText();
      expect(said).toMatch(/^URGENT Backups have failed since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC:/);
      expect(said).toContain('Is the USB stick or backup disk plugged in');
      expect(said).toContain('The last good backup was taken under a minute ago');
      expect(said).not.toContain(folder);
      await screenshot(page, 'statistics-backups-failing');
      // Every page's header says so too, with the way to Statistics.
      await page.getByRole('link', { name: 'Patients' }).click();
      const notice = page.getByRole('banner').getByRole('alert').filter({ hasText: 'backups have failed' });
      await notice.waitFor();
      expect(await notice.innerText()).toMatch(
        /^The server’s backups have failed since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\. See Statistics$/,
      );
      await notice.getByRole('link', { name: 'See Statistics' }).click();
      await backups.getByRole('alert').waitFor();
    } finally {
      renameSync(`${folder}-away`, folder);
    }
    expect((await schedule.runNow()).ok).toBe(true);
    await page.reload();
    await backups.getByText(/^Last backup under a minute ago/).waitFor();
    expect(await backups.getByRole('alert').count()).toBe(0);
    expect(await page.getByRole('banner').getByText('backups have failed').count()).toBe(0);
    await context.close();
  });
});
