// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { manyConflicts } from '../../test/conflict-scenarios';
import { button, dialog, labelledSelect, press, selectOption } from '../../test/dom';
import { acting, cleanup, render } from '../../test/react-fixture';
import type { Rendered } from '../../test/react-fixture';
import { ConflictList } from '../index';

afterEach(cleanup);

/** Each row shown: its record and its status badge. */
function rows(view: Rendered): string[] {
  return Array.from(view.container.querySelectorAll('tbody tr')).map((tr) => {
    const cells = tr.querySelectorAll('th, td');
    return `${cells[0]?.textContent} [${cells[4]?.textContent}]`;
  });
}

const patients = ['Amina K.', 'Grace M.', 'Chikondi B.'];
const encounters = ['malaria', 'pneumonia'];

describe('ConflictList', () => {
  it('lists every conflict a page at a time, newest first, and sorts them oldest first on request', async () => {
    const { client } = await manyConflicts(patients, encounters);
    const view = await render(client, <ConflictList pageSize={2} />);
    expect(rows(view)).toEqual([
      'encounters “encounter-pneumonia” [open]',
      'encounters “encounter-malaria” [open]',
    ]);
    expect(view.text()).toContain('Page 1 of 3');
    expect(button(view.container, 'Previous').disabled).toBe(true);

    await press(button(view.container, 'Next'));
    expect(rows(view)).toEqual(['patients “Chikondi B.” [open]', 'patients “Grace M.” [open]']);
    await press(button(view.container, 'Next'));
    expect(rows(view)).toEqual(['patients “Amina K.” [open]']);
    expect(view.text()).toContain('Page 3 of 3');
    expect(button(view.container, 'Next').disabled).toBe(true);
    await press(button(view.container, 'Previous'));
    expect(view.text()).toContain('Page 2 of 3');

    await press(button(view.container, 'Sort: newest first'));
    expect(view.text()).toContain('Page 1 of 3');
    expect(rows(view)).toEqual(['patients “Amina K.” [open]', 'patients “Grace M.” [open]']);
    expect(button(view.container, 'Sort: oldest first')).toBeDefined();
  });

  it('filters by collection with a labelled select, starting again at the first page', async () => {
    const { client } = await manyConflicts(patients, encounters);
    const view = await render(client, <ConflictList pageSize={2} />);
    const select = labelledSelect(view.container, 'Collection');
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual([
      'All collections',
      'encounters',
      'patients',
    ]);
    await press(button(view.container, 'Next'));

    await selectOption(select, 'patients');
    expect(view.text()).toContain('3 conflicts, newest first');
    expect(view.text()).toContain('Page 1 of 2');
    expect(rows(view)).toEqual(['patients “Chikondi B.” [open]', 'patients “Grace M.” [open]']);

    await selectOption(select, 'encounters');
    expect(view.text()).toContain('Page 1 of 1');
    expect(rows(view)).toEqual([
      'encounters “encounter-pneumonia” [open]',
      'encounters “encounter-malaria” [open]',
    ]);
  });

  it('resolves every open conflict shown with one rule, one request each, and shows them resolved', async () => {
    const { client, server } = await manyConflicts(patients, encounters);
    const view = await render(client, <ConflictList pageSize={2} />);
    await selectOption(labelledSelect(view.container, 'Collection'), 'patients');
    expect(view.text()).toContain('Applies to the 2 open conflicts on this page.');

    await acting(async () => button(view.container, 'Use server for all').click());
    // Chikondi and Grace are on this page; Amina, on the next, is left alone.
    expect(server.resolves).toEqual([
      { id: 'conflict-3', request: { strategy: 'server-wins' } },
      { id: 'conflict-2', request: { strategy: 'server-wins' } },
    ]);
    expect(rows(view)).toEqual([
      'patients “Chikondi B.” [resolved: server version kept]',
      'patients “Grace M.” [resolved: server version kept]',
    ]);
    expect(view.text()).toContain('Resolved 2 conflicts.');
    expect(button(view.container, 'Use server for all').disabled).toBe(true);
    expect(client.conflicts.list({ status: 'open' }).map((c) => c.recordId)).toEqual([
      'patient-aminak',
      'encounter-malaria',
      'encounter-pneumonia',
    ]);

    await press(button(view.container, 'Next'));
    await acting(async () => button(view.container, 'Keep all local').click());
    expect(server.resolves.at(-1)).toEqual({ id: 'conflict-1', request: { strategy: 'client-wins' } });
    expect(rows(view)).toEqual(['patients “Amina K.” [resolved: local version kept]']);
    expect(server.data('patients', 'patient-aminak')).toEqual({ name: 'Amina K.', village: 'Ntcheu' });
  });

  it('opens the resolution dialog of a row with "Resolve"', async () => {
    const { client } = await manyConflicts(['Amina K.'], []);
    const view = await render(client, <ConflictList />);
    expect(dialog()).toBeNull();
    await press(button(view.container, 'Resolve'));
    expect(dialog()?.textContent).toContain('Conflict on patients “Amina K.”');
  });

  it('says so when there are no conflicts', async () => {
    const { client } = await manyConflicts([], []);
    const view = await render(client, <ConflictList />);
    expect(view.text()).toContain('No conflicts.');
    expect(button(view.container, 'Keep all local').disabled).toBe(true);
  });
});
