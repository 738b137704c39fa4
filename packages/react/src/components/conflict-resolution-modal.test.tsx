// @vitest-environment happy-dom
import { act, useState } from 'react';
import type { LocalConflict } from '@outpost/client';
import { OutpostError } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { afterEach, describe, expect, it } from 'vitest';
import { aminaId, openScriptedClient, patientConflict } from '../../test/conflict-scenarios';
import { scriptedServer } from '../../test/scripted-server';
import { button, dialog, diffRow, key, press, queryButton, radio } from '../../test/dom';
import { acting, cleanup, render } from '../../test/react-fixture';
import {
  ConflictList,
  ConflictResolutionModal,
  DeviceNamingProvider,
  useRecord,
  useSyncEngine,
} from '../index';
import { formatTime } from './conflict-labels';

afterEach(cleanup);

type Patient = { name: string; village?: string; phone?: string; notes?: string };

/** A page with the first conflict's dialog behind a button, and Amina's record as the device shows it. */
function Desk() {
  const { conflicts } = useSyncEngine();
  const [open, setOpen] = useState(false);
  const amina = useRecord<Patient>('patients', aminaId);
  return (
    <div>
      <button onClick={() => setOpen(true)}>Open conflict</button>
      <p>
        Record: {amina?.data.village}, {amina?.data.phone ?? 'no phone'}, {amina?.data.notes ?? 'no notes'}
      </p>
      <ConflictResolutionModal conflict={conflicts[0] ?? null} open={open} onDismiss={() => setOpen(false)} />
    </div>
  );
}

/** A choice the app's `onResolve` was called with, and how to settle or refuse it. */
interface Call {
  args: [string, RecordData?];
  settle(): void;
  refuse(err: unknown): void;
}

/**
 * An app written to seed 003's props: the dialog is rendered only while the app has a conflict to
 * show, without `open`, and the app settles the conflict itself in `onResolve`.
 */
function SeedDesk({ calls }: { calls: Call[] }) {
  const { conflicts } = useSyncEngine();
  const [shown, setShown] = useState<LocalConflict | null>(null);
  return (
    <div>
      <button onClick={() => setShown(conflicts[0] ?? null)}>Open conflict</button>
      {shown && (
        <ConflictResolutionModal
          conflict={shown}
          onResolve={(...args) =>
            new Promise<void>((settle, refuse) => calls.push({ args, settle: () => settle(), refuse }))
          }
          onDismiss={() => setShown(null)}
        />
      )}
    </div>
  );
}

/**
 * Amina's conflict, then another device moves her once more (to Balaka) before anyone settles it;
 * the dialog is open and "Keep local" was confirmed: the server refuses it for the edit made since.
 */
async function keepLocalAfterEditSince() {
  const { client, server } = await patientConflict();
  server.put('patients', aminaId, { name: 'Amina K.', village: 'Balaka', notes: 'asthma' });
  const view = await render(client, <Desk />);
  await press(button(view.container, 'Open conflict'));
  await press(button(box(), 'Keep local'));
  await acting(async () => button(box(), 'Confirm').click());
  return { client, server, view };
}

/**
 * Amina's conflict, then another tablet deletes her record (a duplicate, say) before anyone settles
 * it; the dialog is open and "Keep local" was confirmed: the server refuses it, as it would bring
 * the record back.
 */
async function keepLocalAfterDeleteSince() {
  const { client, server } = await patientConflict();
  const tablet = await openScriptedClient(server);
  await tablet.sync();
  await tablet.collection('patients').delete(aminaId);
  await tablet.sync();
  const view = await render(client, <Desk />);
  await press(button(view.container, 'Open conflict'));
  await press(button(box(), 'Keep local'));
  await acting(async () => button(box(), 'Confirm').click());
  return { client, server, view };
}

function box(): HTMLElement {
  const found = dialog();
  if (!found) throw new Error('no dialog open');
  return found;
}

describe('ConflictResolutionModal', () => {
  it('is a labelled modal dialog showing both versions field by field', async () => {
    const { client } = await patientConflict();
    const view = await render(client, <Desk />);
    expect(dialog()).toBeNull();
    await press(button(view.container, 'Open conflict'));

    expect(box().getAttribute('aria-modal')).toBe('true');
    const title = document.getElementById(box().getAttribute('aria-labelledby') ?? '');
    expect(title?.textContent).toBe('Conflict on patients “Amina K.”');
    expect(diffRow(box(), 'village').status).toBe('changed');
    expect(diffRow(box(), 'phone').status).toBe('added');
    expect(diffRow(box(), 'notes').status).toBe('removed');
    for (const label of ['Keep local', 'Use server', 'Merge', 'Close']) {
      expect(button(box(), label).type).toBe('button');
    }
  });

  it('names the device that sent the change, when an administrator settles a conflict another tablet raised', async () => {
    // The scripted server files every conflict as raised on tablet "t"; this device is the office PC.
    const { client } = await patientConflict({ deviceId: 'office-pc' });
    await acting(() => client.conflicts.refresh());
    const view = await render(client, <Desk />);
    await press(button(view.container, 'Open conflict'));
    const header = box().querySelector('thead')?.textContent ?? '';
    expect(header).toContain('Local (device t)');
    expect(header).not.toContain('this device');
    expect(box().querySelector('caption')?.textContent).toContain('The version from device t');
  });

  it('names that device as the app names it, given a DeviceNamingProvider', async () => {
    const { client } = await patientConflict({ deviceId: 'office-pc' });
    await acting(() => client.conflicts.refresh());
    const named = (id: string) => (id === 't' ? 'Ward 2 tablet' : `device ${id}`);
    const view = await render(
      client,
      <DeviceNamingProvider name={named}>
        <Desk />
      </DeviceNamingProvider>,
    );
    await press(button(view.container, 'Open conflict'));
    expect(box().querySelector('thead')?.textContent).toContain('Local (Ward 2 tablet)');
    expect(box().querySelector('caption')?.textContent).toContain('The version from Ward 2 tablet');
  });

  it('merges the fields as chosen once confirmed, and the record shows the merged values', async () => {
    const { client, server } = await patientConflict();
    const view = await render(client, <Desk />);
    expect(view.text()).toContain('Record: Mangochi, no phone, asthma');
    await press(button(view.container, 'Open conflict'));

    await act(async () => radio(box(), 'village', 'Keep local').click());
    await act(async () => radio(box(), 'phone', 'Use server').click());
    await act(async () => radio(box(), 'notes', 'Use server').click());
    await press(button(box(), 'Merge'));
    // Nothing is sent before the confirmation, which shows the record as it will read.
    expect(server.resolves).toHaveLength(0);
    expect(box().textContent).toContain('Merge: the record will read');
    expect(box().querySelector('dl')?.textContent).toBe('nameAmina K.villageNtcheunotesasthmaphone(cleared)');
    expect(document.activeElement).toBe(button(box(), 'Confirm'));

    await acting(async () => button(box(), 'Confirm').click());
    expect(server.resolves).toEqual([
      {
        id: 'conflict-1',
        request: {
          strategy: 'merge',
          mergedData: { name: 'Amina K.', village: 'Ntcheu', notes: 'asthma', phone: null },
          onlyOpen: true,
        },
      },
    ]);
    expect(server.data('patients', aminaId)).toEqual({
      name: 'Amina K.',
      village: 'Ntcheu',
      notes: 'asthma',
    });
    expect(view.text()).toContain('Record: Ntcheu, no phone, asthma');
    expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: merged.');
    expect(client.conflicts.list({ status: 'open' })).toHaveLength(0);
  });

  it('goes back from the confirmation without resolving', async () => {
    const { client, server } = await patientConflict();
    const view = await render(client, <Desk />);
    await press(button(view.container, 'Open conflict'));
    await press(button(box(), 'Use server'));
    expect(box().textContent).toContain("The server's version stays");
    await press(button(box(), 'Back'));
    expect(queryButton(box(), 'Confirm')).toBeNull();
    expect(button(box(), 'Merge')).toBeDefined();
    expect(server.resolves).toHaveLength(0);
  });

  it('keeps the local version, then Undo takes the resolution back and the conflict is open again', async () => {
    const { client, server } = await patientConflict();
    const view = await render(client, <Desk />);
    await press(button(view.container, 'Open conflict'));
    await press(button(box(), 'Keep local'));
    await acting(async () => button(box(), 'Confirm').click());
    expect(server.resolves).toEqual([
      { id: 'conflict-1', request: { strategy: 'client-wins', onlyOpen: true } },
    ]);
    expect(view.text()).toContain('Record: Ntcheu, 0999 123 456, no notes');
    expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: local version kept.');
    expect(document.activeElement).toBe(button(box(), 'Undo'));

    await acting(async () => button(box(), 'Undo').click());
    expect(server.undos).toEqual(['conflict-1']);
    expect(view.text()).toContain('Record: Mangochi, no phone, asthma');
    expect(client.conflicts.list({ status: 'open' })).toHaveLength(1);
    expect(queryButton(box(), 'Undo')).toBeNull();
    expect(button(box(), 'Keep local')).toBeDefined();
  });

  it('no longer offers Undo once someone else settled the conflict again, which Undo would take back', async () => {
    const { client, server } = await patientConflict();
    const view = await render(client, <Desk />);
    await press(button(view.container, 'Open conflict'));
    await press(button(box(), 'Keep local'));
    await acting(async () => button(box(), 'Confirm').click());
    expect(button(box(), 'Undo')).toBeDefined();

    // Another administrator changes their mind a moment later; the archive brings it here.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await server.transport.resolveConflict('conflict-1', { strategy: 'server-wins' });
    await acting(() => client.conflicts.refresh());
    expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: server version kept.');
    expect(queryButton(box(), 'Undo')).toBeNull();
    expect(document.activeElement).toBe(button(box(), 'Close'));
  });

  it('does not overrule a colleague who settled the conflict while it was open here, and says so', async () => {
    const { client, server } = await patientConflict();
    const view = await render(client, <Desk />);
    await press(button(view.container, 'Open conflict'));
    await press(button(box(), 'Keep local'));
    // While the nurse reads the confirmation, an administrator on another device keeps the server's
    // version; this device has not heard of it.
    const colleague = await server.transport.resolveConflict('conflict-1', { strategy: 'server-wins' });
    await acting(async () => button(box(), 'Confirm').click());

    // Sent for an open conflict only, so refused: the colleague's choice stands.
    expect(server.resolves.at(-1)).toEqual({
      id: 'conflict-1',
      request: { strategy: 'client-wins', onlyOpen: true },
    });
    expect(server.data('patients', aminaId)).toEqual({
      name: 'Amina K.',
      village: 'Mangochi',
      notes: 'asthma',
    });
    expect(view.text()).toContain('Record: Mangochi, no phone, asthma');
    expect(box().querySelector('[role="alert"]')?.textContent).toBe(
      'Not applied: a colleague (or another device) settled this conflict while it was open here ' +
        `(server version kept, ${formatTime(colleague.conflict.resolvedAt ?? '')}). Your choice was not ` +
        'sent over theirs, so nothing was overwritten. Review how it was settled below; to change the ' +
        'record now, edit it.',
    );
    // How it was settled, to review: the outcome, both versions and the record as it stands; nothing
    // left to choose, and no Undo, as the resolution is not this person's.
    expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: server version kept.');
    expect(box().textContent).toContain('“Now” shows the record as that settlement left it.');
    expect(diffRow(box(), 'village')).toMatchObject({ local: 'Ntcheu', server: 'Mangochi', now: 'Mangochi' });
    for (const label of ['Keep local', 'Use server', 'Merge', 'Confirm', 'Undo'])
      expect(queryButton(box(), label)).toBeNull();
    expect(document.activeElement).toBe(button(box(), 'Close'));
    expect(client.conflicts.list({ status: 'open' })).toHaveLength(0);
  });

  it("says in its own words, not the server's, why a choice over an edit made since was not applied", async () => {
    await keepLocalAfterEditSince();
    const said = box().querySelector('[role="alert"]')?.textContent;
    // What happened and what to do, from the refusal's code and details.
    expect(said).toBe(
      'Not applied: someone changed village after this conflict, and that choice would overwrite that ' +
        'change. Nothing was changed. Choose again below, with the record as it stands now.',
    );
    // Not the server's message, which names the record by id and the choice by its wire name.
    expect(said).not.toContain(aminaId);
    expect(said).not.toContain('client-wins');
  });

  it('after a choice refused for an edit made since, offers the value now and merges keeping it', async () => {
    const { server, view } = await keepLocalAfterEditSince();
    // Keeping the local version would overwrite Balaka, which nobody chose against: refused.
    expect(box().querySelector('[role="alert"]')?.textContent).toContain(
      'Not applied: someone changed village after this conflict',
    );
    expect(server.data('patients', aminaId)).toEqual({
      name: 'Amina K.',
      village: 'Balaka',
      notes: 'asthma',
    });
    expect(box().textContent).toContain('Changed after this conflict: village.');
    expect(diffRow(box(), 'village')).toMatchObject({ local: 'Ntcheu', server: 'Mangochi', now: 'Balaka' });
    expect(radio(box(), 'village', 'Keep current').checked).toBe(true);

    await press(button(box(), 'Merge'));
    expect(box().querySelector('dl')?.textContent).toBe(
      'nameAmina K.villageBalakanotes(cleared)phone0999 123 456',
    );
    await acting(async () => button(box(), 'Confirm').click());
    expect(server.resolves.at(-1)).toEqual({
      id: 'conflict-1',
      request: {
        strategy: 'merge',
        mergedData: { name: 'Amina K.', village: 'Balaka', notes: null, phone: '0999 123 456' },
        onlyOpen: true,
      },
    });
    expect(server.data('patients', aminaId)).toEqual({
      name: 'Amina K.',
      village: 'Balaka',
      phone: '0999 123 456',
    });
    expect(view.text()).toContain('Record: Balaka, 0999 123 456, no notes');
    expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: merged.');
  });

  it('offers only the value now for a field edited since the conflict: any other would be refused again', async () => {
    const { server } = await keepLocalAfterEditSince();

    const choices = (field: string) =>
      Array.from(box().querySelectorAll(`[role="radiogroup"][aria-label="${field}"] label`)).map((l) =>
        l.textContent?.trim(),
      );
    // Balaka stays whatever is chosen for village: the server refuses to overwrite it.
    expect(choices('village')).toEqual(['Keep current']);
    expect(choices('phone')).toEqual(['Keep local', 'Use server', 'Keep current']);
    // Keeping the local version would put Ntcheu over Balaka: refused again, so not offered.
    expect(button(box(), 'Keep local').disabled).toBe(true);
    expect(box().textContent).toContain('“Keep local” would overwrite them, so it is unavailable.');
    expect(box().textContent).toContain(
      'no resolution may overwrite them (to change one, edit the record itself)',
    );

    await press(button(box(), 'Merge'));
    await acting(async () => button(box(), 'Confirm').click());
    expect(server.resolves).toHaveLength(2);
    expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: merged.');
  });

  it('after a choice refused because the record was deleted since, says so and offers only "Use server"', async () => {
    const { client, server } = await keepLocalAfterDeleteSince();
    expect(box().querySelector('[role="alert"]')?.textContent).toBe(
      'Not applied: this record was deleted after this conflict, and that choice would bring it back.',
    );
    expect(server.resolves).toHaveLength(1);
    expect(server.data('patients', aminaId)).toBeNull();
    // Back to the choice, in plain words, with the record now shown gone.
    expect(queryButton(box(), 'Confirm')).toBeNull();
    expect(box().textContent).toContain('Deleted since: someone deleted this record after this conflict.');
    expect(box().textContent).toContain(
      '“Keep local” and “Merge” would bring it back, so they are unavailable.',
    );
    expect(diffRow(box(), 'village')).toMatchObject({ local: 'Ntcheu', server: 'Mangochi', now: '—absent' });
    // Both would be refused again; no field choice either, as only a merge would use it.
    expect(button(box(), 'Keep local').disabled).toBe(true);
    expect(button(box(), 'Merge').disabled).toBe(true);
    expect(box().querySelector('input[type="radio"]')).toBeNull();
    expect(document.activeElement).toBe(button(box(), 'Use server'));

    await press(button(box(), 'Use server'));
    expect(box().querySelector('h3')?.textContent).toBe('Use server: the record stays deleted');
    expect(box().textContent).toContain('The record stays deleted, as it was deleted after this conflict');
    await acting(async () => button(box(), 'Confirm').click());
    expect(server.resolves.at(-1)).toEqual({
      id: 'conflict-1',
      request: { strategy: 'server-wins', onlyOpen: true },
    });
    expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: server version kept.');
    expect(box().querySelector('[role="alert"]')).toBeNull();
    expect(server.data('patients', aminaId)).toBeNull();
    expect(client.conflicts.list({ status: 'open' })).toHaveLength(0);
  });

  it('after a refusal for an edit made since, "Use server" shows the record as it stands, which it keeps', async () => {
    const { server } = await keepLocalAfterEditSince();
    await press(button(box(), 'Use server'));
    // Mangochi was the server's version when the conflict came; Balaka is what the record will read.
    expect(box().querySelector('dl')?.textContent).toBe('nameAmina K.villageBalakanotesasthma');
    await acting(async () => button(box(), 'Confirm').click());
    expect(server.data('patients', aminaId)).toEqual({
      name: 'Amina K.',
      village: 'Balaka',
      notes: 'asthma',
    });
  });

  it('says plainly that keeping a local delete deletes the record, with no record shown', async () => {
    const server = scriptedServer();
    server.put('patients', aminaId, { name: 'Amina K.', village: 'Dedza' });
    const client = await openScriptedClient(server);
    await client.sync();
    // The nurse deletes a duplicate registration while another device moves her to Mangochi.
    await client.collection('patients').delete(aminaId);
    server.conflictOnPush('patients', aminaId, { name: 'Amina K.', village: 'Mangochi' });
    await client.sync();
    const view = await render(client, <Desk />);
    await press(button(view.container, 'Open conflict'));
    await press(button(box(), 'Keep local'));
    expect(box().querySelector('h3')?.textContent).toBe('Keep local: the record will be deleted');
    expect(box().textContent).not.toContain('the record will read');
  });

  it('still offers Undo of its resolution when opened again after closing', async () => {
    const { client, server } = await patientConflict();
    const view = await render(client, <Desk />);
    const opener = button(view.container, 'Open conflict');
    await press(opener);
    await press(button(box(), 'Use server'));
    await acting(async () => button(box(), 'Confirm').click());
    await press(button(box(), 'Close'));
    expect(dialog()).toBeNull();

    await press(opener);
    expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: server version kept.');
    expect(document.activeElement).toBe(button(box(), 'Undo'));
    await acting(async () => button(box(), 'Undo').click());
    expect(server.undos).toEqual(['conflict-1']);
    expect(client.conflicts.list({ status: 'open' })).toHaveLength(1);
    expect(button(box(), 'Keep local')).toBeDefined();
  });

  it('shows why a resolution failed', async () => {
    const { client, server } = await patientConflict();
    const view = await render(client, <Desk />);
    await press(button(view.container, 'Open conflict'));
    server.transport.resolveConflict = async () => {
      throw new OutpostError('FORBIDDEN', 'your role may not resolve patients conflicts');
    };
    await press(button(box(), 'Use server'));
    await acting(async () => button(box(), 'Confirm').click());
    expect(box().querySelector('[role="alert"]')?.textContent).toBe(
      'That did not go through: your role may not settle conflicts on these records.',
    );
    expect(client.conflicts.list({ status: 'open' })).toHaveLength(1);
  });

  it('says a lost connection as such, not as fetch words it', async () => {
    const { client, server } = await patientConflict();
    const view = await render(client, <Desk />);
    await press(button(view.container, 'Open conflict'));
    server.transport.resolveConflict = async () => {
      throw new TypeError('Failed to fetch');
    };
    await press(button(box(), 'Use server'));
    await acting(async () => button(box(), 'Confirm').click());
    expect(box().querySelector('[role="alert"]')?.textContent).toBe(
      'That did not go through: the server could not be reached. Try again once the tablet is online.',
    );
    expect(client.conflicts.list({ status: 'open' })).toHaveLength(1);
  });

  describe("with seed 003's props", () => {
    it('hands "Keep local" to onResolve, sends nothing itself, and shows the conflict resolved, with no Undo', async () => {
      const { client, server } = await patientConflict();
      const calls: Call[] = [];
      const view = await render(client, <SeedDesk calls={calls} />);
      await press(button(view.container, 'Open conflict'));
      await press(button(box(), 'Keep local'));
      await acting(async () => button(box(), 'Confirm').click());

      expect(calls.map((c) => c.args)).toEqual([['client-wins']]);
      // Busy while the app's promise runs: nothing to press twice.
      expect(box().getAttribute('aria-busy')).toBe('true');
      expect(button(box(), 'Confirm').disabled).toBe(true);

      await acting(async () => calls[0]?.settle());
      expect(box().getAttribute('aria-busy')).toBe('false');
      expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: local version kept.');
      // The app owns the resolution: the dialog sent nothing and offers no Undo of it.
      expect(server.resolves).toEqual([]);
      expect(client.conflicts.list({ status: 'open' })).toHaveLength(1);
      expect(queryButton(box(), 'Undo')).toBeNull();
      expect(document.activeElement).toBe(button(box(), 'Close'));

      await press(button(box(), 'Close'));
      expect(dialog()).toBeNull();
    });

    it('hands a merge to onResolve with the merged record', async () => {
      const { client, server } = await patientConflict();
      const calls: Call[] = [];
      const view = await render(client, <SeedDesk calls={calls} />);
      await press(button(view.container, 'Open conflict'));
      await act(async () => radio(box(), 'notes', 'Use server').click());
      await press(button(box(), 'Merge'));
      await acting(async () => button(box(), 'Confirm').click());
      await acting(async () => calls[0]?.settle());

      expect(calls.map((c) => c.args)).toEqual([
        ['merge', { name: 'Amina K.', village: 'Ntcheu', notes: 'asthma', phone: '0999 123 456' }],
      ]);
      expect(server.resolves).toEqual([]);
      expect(box().querySelector('[role="status"]')?.textContent).toBe('Resolved: merged.');
    });

    it("shows the app's refusal in words and keeps the choice to try again", async () => {
      const { client } = await patientConflict();
      const calls: Call[] = [];
      const view = await render(client, <SeedDesk calls={calls} />);
      await press(button(view.container, 'Open conflict'));
      await press(button(box(), 'Use server'));
      await acting(async () => button(box(), 'Confirm').click());
      await acting(async () => calls[0]?.refuse(new Error('The pharmacy is reviewing this record.')));

      expect(box().querySelector('[role="alert"]')?.textContent).toBe(
        'That did not go through: The pharmacy is reviewing this record.',
      );
      expect(box().querySelector('[role="status"]')).toBeNull();
      await acting(async () => button(box(), 'Confirm').click());
      expect(calls.map((c) => c.args)).toEqual([['server-wins'], ['server-wins']]);
    });

    it("says an Outpost refusal from onResolve in the dialog's own words", async () => {
      const { client } = await patientConflict();
      const calls: Call[] = [];
      const view = await render(client, <SeedDesk calls={calls} />);
      await press(button(view.container, 'Open conflict'));
      await press(button(box(), 'Use server'));
      await acting(async () => button(box(), 'Confirm').click());
      await acting(async () =>
        calls[0]?.refuse(new OutpostError('FORBIDDEN', 'your role may not resolve patients conflicts')),
      );
      expect(box().querySelector('[role="alert"]')?.textContent).toBe(
        'That did not go through: your role may not settle conflicts on these records.',
      );
    });

    it('calls onDismiss on Escape, and the app takes the dialog away', async () => {
      const { client } = await patientConflict();
      const view = await render(client, <SeedDesk calls={[]} />);
      const opener = button(view.container, 'Open conflict');
      await press(opener);
      expect(dialog()).not.toBeNull();
      await key('Escape');
      expect(dialog()).toBeNull();
      expect(document.activeElement).toBe(opener);
    });
  });

  describe('by keyboard', () => {
    it('moves focus to its first control on open; Escape closes it and focus returns to "Resolve"', async () => {
      const { client } = await patientConflict();
      const view = await render(client, <ConflictList />);
      const resolve = button(view.container, 'Resolve');
      await press(resolve);

      const first = box().querySelector('button, input');
      expect(document.activeElement).toBe(first);
      expect(first).toBe(radio(box(), 'village', 'Keep local'));

      await key('Escape');
      expect(dialog()).toBeNull();
      expect(document.activeElement).toBe(resolve);
    });

    it('keeps Tab and Shift+Tab inside the dialog, and "Close" also returns focus', async () => {
      const { client } = await patientConflict();
      const view = await render(client, <ConflictList />);
      const resolve = button(view.container, 'Resolve');
      await press(resolve);
      const first = document.activeElement;
      const close = button(box(), 'Close');

      await act(async () => close.focus());
      await key('Tab');
      expect(document.activeElement).toBe(first);
      await key('Tab', { shiftKey: true });
      expect(document.activeElement).toBe(close);

      await press(close);
      expect(dialog()).toBeNull();
      expect(document.activeElement).toBe(resolve);
    });
  });
});
