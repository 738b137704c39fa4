// @vitest-environment happy-dom
import { act, useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { aminaId, patientConflict, vitalsConflict } from '../../test/conflict-scenarios';
import { diffRow, radio } from '../../test/dom';
import { cleanup, render } from '../../test/react-fixture';
import { ConflictDiffViewer, useSyncEngine } from '../index';
import type { FieldChoices } from '../index';

afterEach(cleanup);

function FirstConflict({ choosing = false }: { choosing?: boolean }) {
  const { conflicts } = useSyncEngine();
  const [choices, setChoices] = useState<FieldChoices>({});
  const conflict = conflicts[0];
  if (!conflict) return <p>no conflict</p>;
  return choosing ? (
    <ConflictDiffViewer
      conflict={conflict}
      choices={choices}
      onFieldSelect={(field, side) => setChoices((c) => ({ ...c, [field]: side }))}
    />
  ) : (
    <ConflictDiffViewer conflict={conflict} />
  );
}

describe('ConflictDiffViewer', () => {
  it("marks each field of the patient added, removed, changed or same, this device's version beside the server's", async () => {
    const { client } = await patientConflict();
    expect(client.conflicts.list()[0]?.recordId).toBe(aminaId);
    const view = await render(client, <FirstConflict />);

    expect(diffRow(view.container, 'village')).toMatchObject({
      local: 'Ntcheu',
      server: 'Mangochi',
      status: 'changed',
    });
    expect(diffRow(view.container, 'phone')).toMatchObject({
      local: '0999 123 456',
      server: '—absent',
      status: 'added',
    });
    expect(diffRow(view.container, 'notes')).toMatchObject({
      local: '—absent',
      server: 'asthma',
      status: 'removed',
    });
    expect(diffRow(view.container, 'name')).toMatchObject({ status: 'same' });
    // Colour backs the words up, never replaces them.
    expect(diffRow(view.container, 'village').row.style.background).not.toBe(
      diffRow(view.container, 'phone').row.style.background,
    );
    expect(view.container.querySelector('caption')?.textContent).toMatch(/^patients: /);
    // Read-only: no choices without onFieldSelect.
    expect(view.container.querySelector('[role="radiogroup"]')).toBeNull();
  });

  it('names the device that sent the change when the conflict came from the server archive', async () => {
    // The scripted server files every conflict as raised on tablet "t"; this device is the office PC.
    const { client } = await patientConflict({ deviceId: 'office-pc' });
    const view = await render(client, <FirstConflict />);
    const header = () => view.container.querySelector('thead')?.textContent ?? '';
    expect(header()).toContain('Local (this device)');
    await act(async () => {
      await client.conflicts.refresh();
    });
    expect(header()).toContain('Local (device t)');
    expect(view.container.querySelector('caption')?.textContent).toContain('The version from device t');
  });

  it('opens and closes a nested object, its fields compared one by one', async () => {
    const { client } = await vitalsConflict();
    const view = await render(client, <FirstConflict />);
    const vitals = diffRow(view.container, 'vitals');
    expect(vitals.status).toBe('changed');
    const toggle = vitals.row.querySelector('button');
    expect(toggle?.getAttribute('aria-expanded')).toBe('true');
    expect(diffRow(view.container, 'temperature C', 'vitals')).toMatchObject({
      local: '37.2',
      server: '38.9',
      status: 'changed',
    });
    expect(diffRow(view.container, 'pulse', 'vitals').status).toBe('same');
    expect(diffRow(view.container, 'spo2', 'vitals').status).toBe('added');
    expect(diffRow(view.container, 'resp rate', 'vitals').status).toBe('removed');
    const controlled = toggle?.getAttribute('aria-controls')?.split(' ') ?? [];
    expect(controlled).toHaveLength(4);
    expect(controlled.every((id) => document.getElementById(id)?.hidden === false)).toBe(true);

    await act(async () => toggle?.click());
    expect(toggle?.getAttribute('aria-expanded')).toBe('false');
    expect(diffRow(view.container, 'temperature C', 'vitals').row.hidden).toBe(true);

    await act(async () => toggle?.click());
    expect(toggle?.getAttribute('aria-expanded')).toBe('true');
    expect(diffRow(view.container, 'temperature C', 'vitals').row.hidden).toBe(false);
    // The untouched fields of the encounter are the same on both sides.
    expect(diffRow(view.container, 'diagnosis').status).toBe('same');
  });

  it('offers a choice per disputed field and previews the merged record', async () => {
    const { client } = await patientConflict();
    const view = await render(client, <FirstConflict choosing />);
    const groups = Array.from(view.container.querySelectorAll('[role="radiogroup"]')).map((g) =>
      g.getAttribute('aria-label'),
    );
    expect(groups).toEqual(['village', 'notes', 'phone']);
    expect(radio(view.container, 'village', 'Keep local').checked).toBe(true);

    await act(async () => radio(view.container, 'village', 'Use server').click());
    await act(async () => radio(view.container, 'notes', 'Use server').click());
    expect(radio(view.container, 'village', 'Use server').checked).toBe(true);
    expect(radio(view.container, 'village', 'Keep local').checked).toBe(false);
    const preview = view.container.querySelector('dl');
    expect(preview?.textContent).toBe('nameAmina K.villageMangochinotesasthmaphone0999 123 456');
  });

  it('compares two versions given directly, as seed 003 passes them, with no client', async () => {
    const view = await render(
      null,
      <ConflictDiffViewer
        localData={{ name: 'Rex', species: 'dog' }}
        serverData={{ name: 'Rex', owner: 'Ana' }}
        entityType="animals"
      />,
    );
    expect(diffRow(view.container, 'species').status).toBe('added');
    expect(diffRow(view.container, 'owner').status).toBe('removed');
    expect(diffRow(view.container, 'name').status).toBe('same');
    // The table is named by the collection, as a stored conflict's is.
    expect(view.container.querySelector('caption')?.textContent).toMatch(
      /^animals: This device's version beside the server's\./,
    );
    expect(view.container.querySelector('[role="radiogroup"]')).toBeNull();
  });

  it('tells onFieldSelect each field and version chosen, and shows the choice with no choices given', async () => {
    const selected: Array<[string, 'local' | 'server']> = [];
    // Typed as seed 003 types it: the two versions only.
    const onFieldSelect = (field: string, source: 'local' | 'server') => selected.push([field, source]);
    const view = await render(
      null,
      <ConflictDiffViewer
        localData={{ name: 'Amina K.', village: 'Ntcheu', phone: '0999 123 456' }}
        serverData={{ name: 'Amina K.', village: 'Mangochi' }}
        entityType="patients"
        onFieldSelect={onFieldSelect}
      />,
    );
    await act(async () => radio(view.container, 'village', 'Use server').click());
    await act(async () => radio(view.container, 'phone', 'Use server').click());
    await act(async () => radio(view.container, 'phone', 'Keep local').click());

    expect(selected).toEqual([
      ['village', 'server'],
      ['phone', 'server'],
      ['phone', 'local'],
    ]);
    // The viewer keeps the choices itself: each shows as made, and the merge preview follows them.
    expect(radio(view.container, 'village', 'Use server').checked).toBe(true);
    expect(radio(view.container, 'phone', 'Keep local').checked).toBe(true);
    expect(view.container.querySelector('dl')?.textContent).toBe(
      'nameAmina K.villageMangochiphone0999 123 456',
    );
  });
});
