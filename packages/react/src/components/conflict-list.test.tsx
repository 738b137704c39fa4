// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { OutpostError, defineSchema } from '@outpost/core';
import type { Action, Schema } from '@outpost/core';
import { fieldClinic } from '@outpost/examples';
import { aminaId, manyConflicts, openScriptedClient } from '../../test/conflict-scenarios';
import { scriptedServer } from '../../test/scripted-server';
import { button, dialog, diffRow, labelledSelect, press, queryButton, selectOption } from '../../test/dom';
import { acting, cleanup, render } from '../../test/react-fixture';
import type { Rendered } from '../../test/react-fixture';
import { ConflictList, useSyncEngine } from '../index';
import type { ConflictListProps } from '../index';

afterEach(cleanup);

/** `schema` with each collection's permissions as `change` makes them: the rest as it was. */
function withPermissions(
  schema: Schema,
  change: (
    name: string,
    permissions: Readonly<Record<string, readonly Action[]>>,
  ) => Record<string, readonly Action[]>,
): Schema {
  return defineSchema({
    name: schema.name,
    collections: Object.fromEntries(
      Object.values(schema.collections).map((def) => [
        def.name,
        {
          fields: def.fields,
          idStrategy: def.idStrategy,
          references: def.references,
          conflict: def.conflict,
          priority: def.priority,
          hooks: def.hooks,
          immutableWhen: (data: Record<string, unknown>) => def.isImmutable(data),
          lockedWhen: (data: Record<string, unknown>) => def.isLocked(data),
          permissions: change(def.name, def.permissions),
        },
      ]),
    ),
  });
}

/** Each row shown: its record and its status badge. */
function rows(view: Rendered): string[] {
  return Array.from(view.container.querySelectorAll('tbody tr')).map((tr) => {
    const cells = tr.querySelectorAll('th, td');
    return `${cells[0]?.textContent} [${cells[4]?.textContent}]`;
  });
}

/** The table row of a record, by the name its heading shows. */
function row(view: Rendered, name: string): HTMLTableRowElement {
  const found = Array.from(view.container.querySelectorAll('tbody tr')).find(
    (tr) => tr.querySelector('th')?.textContent === name,
  );
  if (!found) throw new Error(`no row "${name}"`);
  return found as HTMLTableRowElement;
}

/** Grace's and Amina's conflicts; Amina's settled with "Use server" in its dialog, which is closed again. */
async function aminaSettledInDialog() {
  const { client, server } = await manyConflicts(['Amina K.', 'Grace M.'], []);
  const view = await render(client, <ConflictList />);
  await press(button(row(view, 'patients “Amina K.”'), 'Resolve'));
  await press(button(dialog() as HTMLElement, 'Use server'));
  await acting(async () => button(dialog() as HTMLElement, 'Confirm').click());
  await press(button(dialog() as HTMLElement, 'Close'));
  expect(dialog()).toBeNull();
  return { client, server, view };
}

/** A patient's page: the conflicts over her record and her encounters, from the device's store. */
function PatientConflicts({
  patientId,
  ...props
}: { patientId: string } & Omit<ConflictListProps, 'conflicts'>) {
  const { conflicts } = useSyncEngine();
  const hers = conflicts.filter(
    (c) => c.recordId === patientId || c.summary.server?.data?.['patientId'] === patientId,
  );
  return <ConflictList conflicts={hers} {...props} />;
}

/** A bulk resolution handed to the app, held until the test settles or refuses it. */
interface BulkCall {
  strategy: string;
  ids: string[];
  settle(): void;
  refuse(err: unknown): void;
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
    // One page: no page buttons to press.
    expect(view.container.querySelector('nav[aria-label="Conflict pages"]')).toBeNull();
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
    // Each asks for an open conflict only, so none overrules a settlement made elsewhere meanwhile.
    expect(server.resolves).toEqual([
      { id: 'conflict-3', request: { strategy: 'server-wins', onlyOpen: true } },
      { id: 'conflict-2', request: { strategy: 'server-wins', onlyOpen: true } },
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
    expect(server.resolves.at(-1)).toEqual({
      id: 'conflict-1',
      request: { strategy: 'client-wins', onlyOpen: true },
    });
    expect(rows(view)).toEqual(['patients “Amina K.” [resolved: local version kept]']);
    expect(server.data('patients', 'patient-aminak')).toEqual({ name: 'Amina K.', village: 'Ntcheu' });
  });

  it('leaves a conflict settled on another device during a bulk resolution as it was, and says so', async () => {
    const { client, server } = await manyConflicts(patients, []);
    const view = await render(client, <ConflictList pageSize={2} />);
    // While Chikondi's request is out, another administrator keeps the nurse's village for Grace,
    // and the device's sync brings that settlement.
    const resolve = server.transport.resolveConflict;
    server.transport.resolveConflict = async (id, request) => {
      if (id === 'conflict-3') {
        await resolve('conflict-2', { strategy: 'client-wins' });
        await client.sync();
      }
      return resolve(id, request);
    };
    await acting(async () => button(view.container, 'Use server for all').click());

    expect(server.resolves.map((r) => `${r.id} ${r.request.strategy}`)).toEqual([
      'conflict-2 client-wins',
      'conflict-3 server-wins',
    ]);
    expect(server.data('patients', 'patient-gracem')).toEqual({ name: 'Grace M.', village: 'Ntcheu' });
    expect(view.container.querySelector('[role="status"]')?.textContent).toBe(
      'Resolved 1 conflict; 1 settled meanwhile, left as it was.',
    );
    expect(rows(view)).toEqual([
      'patients “Chikondi B.” [resolved: server version kept]',
      'patients “Grace M.” [resolved: local version kept]',
    ]);
  });

  it("says in words, not the server's, why a bulk choice left a conflict as it was", async () => {
    const { client, server } = await manyConflicts(['Grace M.'], []);
    // After the conflict, someone at the desk changed Grace's village: keeping the nurse's would overwrite it.
    server.put('patients', 'patient-gracem', { name: 'Grace M.', village: 'Balaka' });
    const view = await render(client, <ConflictList />);
    await acting(async () => button(view.container, 'Keep all local').click());
    const failures = view.text();
    expect(failures).toContain('Grace M.: left as it is: someone changed village after this conflict');
    expect(failures).not.toContain('client-wins');
    expect(failures).not.toContain('patient-gracem');
    expect(server.data('patients', 'patient-gracem')).toEqual({ name: 'Grace M.', village: 'Balaka' });
  });

  it('leaves a conflict settled on another device after its re-read, just before its request, as it was', async () => {
    const { client, server } = await manyConflicts(patients, []);
    const view = await render(client, <ConflictList pageSize={2} />);
    // Grace's turn: the device has just read her conflict open when another administrator keeps
    // the nurse's village for her on their own device; this device has not heard of it.
    const resolve = server.transport.resolveConflict;
    server.transport.resolveConflict = async (id, request) => {
      if (id === 'conflict-2') await resolve('conflict-2', { strategy: 'client-wins' });
      return resolve(id, request);
    };
    await acting(async () => button(view.container, 'Use server for all').click());

    expect(server.resolves.map((r) => `${r.id} ${r.request.strategy}`)).toEqual([
      'conflict-3 server-wins',
      'conflict-2 client-wins',
      'conflict-2 server-wins',
    ]);
    // The other administrator's choice stands, and the list says so without a failure.
    expect(server.data('patients', 'patient-gracem')).toEqual({ name: 'Grace M.', village: 'Ntcheu' });
    expect(view.container.querySelector('[role="status"]')?.textContent).toBe(
      'Resolved 1 conflict; 1 settled meanwhile, left as it was.',
    );
    expect(view.container.querySelector('[role="alert"]')).toBeNull();
    expect(rows(view)).toEqual([
      'patients “Chikondi B.” [resolved: server version kept]',
      'patients “Grace M.” [resolved: local version kept]',
    ]);
    // Undo would take back only what this bulk resolution settled: Chikondi's.
    expect(view.text()).toContain('Takes back the 1 resolution just made.');
  });

  it('undoes the last bulk resolution, except a conflict settled again since, and keeps the focus', async () => {
    const { client, server } = await manyConflicts(patients, []);
    const view = await render(client, <ConflictList pageSize={2} />);
    await press(button(view.container, 'Use server for all'));
    expect(view.text()).toContain('Takes back the 2 resolutions just made.');
    // Grace's conflict is settled again in its dialog: Undo must not take that back.
    await acting(() => client.conflicts.resolve('conflict-2', 'client-wins'));

    await press(button(view.container, 'Undo'));
    expect(server.undos).toEqual(['conflict-3']);
    const status = view.container.querySelector('[role="status"]');
    expect(status?.textContent).toBe(
      'Undid the resolution of 1 conflict; 1 settled again since, left as it is.',
    );
    expect(document.activeElement).toBe(status);
    expect(rows(view)).toEqual([
      'patients “Chikondi B.” [open]',
      'patients “Grace M.” [resolved: local version kept]',
    ]);
    expect(server.data('patients', 'patient-chikondib')).toEqual({ name: 'Chikondi B.', village: 'Dedza' });
    expect(queryButton(view.container, 'Undo')).toBeNull();
  });

  it("words each refusal of a bulk Undo for a clinician, never in the server's terms", async () => {
    const { client, server } = await manyConflicts(patients, []);
    const view = await render(client, <ConflictList pageSize={2} />);
    await press(button(view.container, 'Use server for all'));
    const undo = server.transport.undoConflict;
    server.transport.undoConflict = async (id) => {
      // Chikondi's record was signed since the resolution; the connection drops before Grace's.
      if (id === 'conflict-3')
        throw new OutpostError('CONFLICT', 'patients patient-chikondib can no longer change', {
          reason: 'frozen',
        });
      if (id === 'conflict-2') throw new TypeError('Failed to fetch');
      return undo(id);
    };

    await press(button(view.container, 'Undo'));
    expect(view.container.querySelector('[role="status"]')?.textContent).toBe(
      'Undid the resolution of 0 conflicts; 2 failed.',
    );
    expect(
      Array.from(view.container.querySelectorAll('[role="alert"] li')).map((li) => li.textContent),
    ).toEqual([
      // Newest first, as Undo goes.
      'Grace M.: the server could not be reached. Try again once the tablet is online',
      'Chikondi B.: the record was signed or locked since, so nothing may change it',
    ]);
    expect(rows(view)).toEqual([
      'patients “Chikondi B.” [resolved: server version kept]',
      'patients “Grace M.” [resolved: server version kept]',
    ]);
  });

  it('offers Undo on the row of a conflict resolved in its dialog once the dialog is closed', async () => {
    const { client, server, view } = await aminaSettledInDialog();
    expect(rows(view)).toEqual([
      'patients “Grace M.” [open]',
      'patients “Amina K.” [resolved: server version kept]',
    ]);
    // Only Amina's row: Grace's conflict was never resolved, and no bulk Undo is offered.
    expect(queryButton(row(view, 'patients “Grace M.”'), 'Undo')).toBeNull();
    const undos = Array.from(view.container.querySelectorAll('button')).filter(
      (b) => b.textContent === 'Undo',
    );
    expect(undos).toHaveLength(1);
    const undo = button(row(view, 'patients “Amina K.”'), 'Undo');
    expect(undo.getAttribute('aria-describedby')).toBe(
      row(view, 'patients “Amina K.”').querySelector('th')?.id,
    );

    await press(undo);
    expect(server.undos).toEqual(['conflict-1']);
    expect(rows(view)).toEqual(['patients “Grace M.” [open]', 'patients “Amina K.” [open]']);
    expect(client.conflicts.list({ status: 'open' })).toHaveLength(2);
    expect(view.text()).toContain('Undid the resolution of patients “Amina K.”: it is open again.');
    // The Undo pressed is gone; the focus is on the row's own button, not lost to the page.
    expect(queryButton(view.container, 'Undo')).toBeNull();
    expect(document.activeElement).toBe(button(row(view, 'patients “Amina K.”'), 'Resolve'));
  });

  it("no longer offers a row's Undo once the conflict was settled again elsewhere", async () => {
    const { client, server, view } = await aminaSettledInDialog();
    expect(button(row(view, 'patients “Amina K.”'), 'Undo')).toBeDefined();
    // Another administrator keeps the nurse's version a moment later; the archive brings it here.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await server.transport.resolveConflict('conflict-1', { strategy: 'client-wins' });
    await acting(() => client.conflicts.refresh());
    expect(rows(view)).toContain('patients “Amina K.” [resolved: local version kept]');
    expect(queryButton(view.container, 'Undo')).toBeNull();
  });

  it("says why the server refused a row's Undo, and no longer offers it", async () => {
    const { server, view } = await aminaSettledInDialog();
    server.transport.undoConflict = async () => {
      // As the server refuses it: its own text names the record by collection key and id.
      throw new OutpostError(
        'CONFLICT',
        'patients patient-aminak changed after this resolution: resolve it again instead',
        { reason: 'changed-since', resolvedVersion: 3, currentVersion: 4 },
      );
    };
    await press(button(row(view, 'patients “Amina K.”'), 'Undo'));
    expect(view.container.querySelector('[role="alert"]')?.textContent).toBe(
      'Could not undo the resolution of patients “Amina K.”: the record changed after this resolution, so undoing it would overwrite that change. Resolve the conflict again instead',
    );
    expect(rows(view)).toContain('patients “Amina K.” [resolved: server version kept]');
    expect(queryButton(view.container, 'Undo')).toBeNull();
    expect(document.activeElement).toBe(button(row(view, 'patients “Amina K.”'), 'Review'));
  });

  it('offers a person whose role may not resolve only to review, with no control that would be refused', async () => {
    const { client, server } = await manyConflicts(['Amina K.'], []);
    const view = await render(client, <ConflictList canResolve={false} />);
    expect(view.container.querySelector('[role="group"][aria-label="Bulk resolution"]')).toBeNull();
    expect(queryButton(view.container, 'Resolve')).toBeNull();
    expect(view.text()).toContain('An administrator settles these conflicts');

    await press(button(view.container, 'Review'));
    const open = dialog();
    expect(open?.textContent).toContain('Open: an administrator settles this conflict.');
    expect(diffRow(open as HTMLElement, 'village')).toMatchObject({ local: 'Ntcheu', server: 'Dedza' });
    for (const label of ['Keep local', 'Use server', 'Merge', 'Confirm'])
      expect(queryButton(open as HTMLElement, label)).toBeNull();
    expect(open?.querySelector('input[type="radio"]')).toBeNull();
    expect(server.resolves).toEqual([]);
  });

  it("offers to settle only what the person's roles allow, read from the schema, and follows a change of roles", async () => {
    // A clinic where the triage lead settles conflicts over patients, and only admins those over encounters.
    const leadSettlesPatients = withPermissions(fieldClinic, (name, permissions) => ({
      ...permissions,
      lead: name === 'patients' ? ['read', 'create', 'update', 'resolve'] : ['read', 'create', 'update'],
    }));
    const { client, server } = await manyConflicts(['Amina K.', 'Grace M.'], ['malaria'], {
      schema: leadSettlesPatients,
      roles: ['lead'],
    });
    const view = await render(client, <ConflictList />);
    expect(button(row(view, 'patients “Amina K.”'), 'Resolve')).toBeTruthy();
    expect(queryButton(row(view, 'encounters “encounter-malaria”'), 'Resolve')).toBeNull();
    expect(button(row(view, 'encounters “encounter-malaria”'), 'Review')).toBeTruthy();
    expect(view.text()).toContain(
      'Applies to the 2 open conflicts on this page that your role may settle (not the 1 others).',
    );
    await press(button(view.container, 'Use server for all'));
    expect(server.resolves).toHaveLength(2);
    expect(rows(view)).toEqual([
      'encounters “encounter-malaria” [open]',
      'patients “Grace M.” [resolved: server version kept]',
      'patients “Amina K.” [resolved: server version kept]',
    ]);

    // The encounter's dialog shows it, with nothing to choose.
    await press(button(row(view, 'encounters “encounter-malaria”'), 'Review'));
    expect(dialog()?.textContent).toContain('Open: an administrator settles this conflict.');
    expect(queryButton(dialog() as HTMLElement, 'Use server')).toBeNull();
    await press(button(dialog() as HTMLElement, 'Close'));

    // Her roles read again at a refresh: now an admin, she settles the encounter too.
    await acting(async () => client.setRoles(['admin']));
    expect(button(row(view, 'encounters “encounter-malaria”'), 'Resolve')).toBeTruthy();
    // And as a clinician, nothing at all.
    await acting(async () => client.setRoles(['clinician']));
    expect(view.container.querySelector('[role="group"][aria-label="Bulk resolution"]')).toBeNull();
    expect(queryButton(view.container, 'Resolve')).toBeNull();
    expect(view.text()).toContain('An administrator settles these conflicts');
  });

  it('opens the resolution dialog of a row with "Resolve"', async () => {
    const { client } = await manyConflicts(['Amina K.'], []);
    const view = await render(client, <ConflictList />);
    expect(dialog()).toBeNull();
    await press(button(view.container, 'Resolve'));
    expect(dialog()?.textContent).toContain('Conflict on patients “Amina K.”');
  });

  it('says what happened and which fields are in dispute in words, not by kind name or field key', async () => {
    const server = scriptedServer();
    server.put('patients', aminaId, { name: 'Amina K.', dateOfBirth: '1990-01-01' });
    const client = await openScriptedClient(server);
    await client.sync();
    // The nurse corrects her date of birth while the office enters another.
    await client.collection('patients').update(aminaId, { dateOfBirth: '1990-02-01' });
    server.conflictOnPush('patients', aminaId, { name: 'Amina K.', dateOfBirth: '1991-01-01' });
    await client.sync();
    const view = await render(client, <ConflictList />);

    const cells = Array.from(row(view, 'patients “Amina K.”').querySelectorAll('td')).map(
      (td) => td.textContent,
    );
    expect(cells.slice(0, 2)).toEqual(['Edited locally and on the server', 'date of birth']);
    await press(button(view.container, 'Resolve'));
    expect(dialog()?.textContent).toContain('Edited locally and on the server. Detected');
    expect(dialog()?.textContent).toContain('Fields in dispute: date of birth.');
  });

  it('says a record deleted on the tablet was edited on the server meanwhile, and which fields', async () => {
    const server = scriptedServer();
    server.put('patients', aminaId, { name: 'Amina K.', village: 'Dedza' });
    const client = await openScriptedClient(server);
    await client.sync();
    // The nurse deletes a patient she thinks is a duplicate while the office records her move.
    await client.collection('patients').delete(aminaId);
    server.conflictOnPush('patients', aminaId, { name: 'Amina K.', village: 'Balaka' });
    await client.sync();
    const view = await render(client, <ConflictList />);

    const cells = Array.from(row(view, 'patients “Amina K.”').querySelectorAll('td')).map(
      (td) => td.textContent,
    );
    expect(cells.slice(0, 2)).toEqual(['Deleted locally, edited on the server', 'village']);
  });

  describe("with seed 003's props", () => {
    it('lists only the conflicts it is given, with filter, sort, pages, badges and bulk resolution over them', async () => {
      const { client, server } = await manyConflicts(patients, encounters);
      const view = await render(client, <PatientConflicts patientId="patient-aminak" pageSize={2} />);
      expect(view.text()).toContain('3 conflicts, newest first');
      expect(rows(view)).toEqual([
        'encounters “encounter-pneumonia” [open]',
        'encounters “encounter-malaria” [open]',
      ]);
      await press(button(view.container, 'Next'));
      // Grace's and Chikondi's conflicts, newer than Amina's, are not hers.
      expect(rows(view)).toEqual(['patients “Amina K.” [open]']);
      expect(view.text()).toContain('Page 2 of 2');

      await selectOption(labelledSelect(view.container, 'Collection'), 'patients');
      expect(rows(view)).toEqual(['patients “Amina K.” [open]']);
      await acting(async () => button(view.container, 'Use server for all').click());
      expect(rows(view)).toEqual(['patients “Amina K.” [resolved: server version kept]']);
      expect(server.resolves.map((r) => r.id)).toEqual(['conflict-1']);
    });

    it('calls onResolveConflict with the conflict\'s id on "Resolve", opening no dialog of its own', async () => {
      const { client, server } = await manyConflicts(['Amina K.', 'Grace M.'], []);
      const asked: string[] = [];
      const view = await render(client, <ConflictList onResolveConflict={(id) => asked.push(id)} />);
      await press(button(row(view, 'patients “Grace M.”'), 'Resolve'));
      expect(asked).toEqual(['conflict-2']);
      expect(dialog()).toBeNull();
      expect(server.resolves).toEqual([]);

      // A settled conflict is only reviewed: the built-in dialog shows how it stands.
      await acting(() => client.conflicts.resolve('conflict-1', 'server-wins'));
      await press(button(row(view, 'patients “Amina K.”'), 'Review'));
      expect(asked).toEqual(['conflict-2']);
      expect(dialog()?.textContent).toContain('Resolved: server version kept.');
    });

    it('hands bulk resolution to onBulkResolve: busy while it runs, then done, with nothing sent itself', async () => {
      const { client, server } = await manyConflicts(patients, []);
      const calls: BulkCall[] = [];
      const onBulkResolve: ConflictListProps['onBulkResolve'] = (strategy, conflicts) =>
        new Promise<void>((settle, refuse) =>
          calls.push({ strategy, ids: conflicts.map((c) => c.id), settle: () => settle(), refuse }),
        );
      const view = await render(client, <ConflictList pageSize={2} onBulkResolve={onBulkResolve} />);
      await acting(async () => button(view.container, 'Use server for all').click());

      // The open conflicts on the page shown, as the built-in bulk resolution would take them.
      expect(calls.map((c) => [c.strategy, c.ids])).toEqual([['server-wins', ['conflict-3', 'conflict-2']]]);
      expect(view.container.querySelector('[role="status"]')?.textContent).toBe('Resolving 2 conflicts…');
      expect(button(view.container, 'Use server for all').disabled).toBe(true);
      expect(button(view.container, 'Keep all local').disabled).toBe(true);

      await acting(async () => calls[0]?.settle());
      expect(view.container.querySelector('[role="status"]')?.textContent).toBe('Use server for all: done.');
      expect(button(view.container, 'Keep all local').disabled).toBe(false);
      expect(server.resolves).toEqual([]);
      // What the app settled is its own to take back.
      expect(queryButton(view.container, 'Undo')).toBeNull();
    });

    it("says in words why the app's bulk resolution failed", async () => {
      const { client } = await manyConflicts(patients, []);
      const refusals: Array<(err: unknown) => void> = [];
      // Typed as seed 003 types it: the rule alone.
      const onBulkResolve = (_strategy: 'client-wins' | 'server-wins') =>
        new Promise<void>((_, refuse) => refusals.push(refuse));
      const view = await render(client, <ConflictList onBulkResolve={onBulkResolve} />);
      await acting(async () => button(view.container, 'Keep all local').click());
      await acting(async () => refusals[0]?.(new Error('The clinic is closed for audit.')));

      expect(view.container.querySelector('[role="alert"]')?.textContent).toBe(
        'Keep all local did not go through: The clinic is closed for audit.',
      );
      expect(view.container.querySelector('[role="status"]')?.textContent).toBe('');
      expect(button(view.container, 'Keep all local').disabled).toBe(false);
    });
  });

  it('says so when there are no conflicts', async () => {
    const { client } = await manyConflicts([], []);
    const view = await render(client, <ConflictList />);
    expect(view.text()).toContain('No conflicts.');
    // Nothing to filter, settle or page through.
    expect(view.container.querySelector('select')).toBeNull();
    expect(view.container.querySelector('[role="group"][aria-label="Bulk resolution"]')).toBeNull();
    expect(view.container.querySelector('nav[aria-label="Conflict pages"]')).toBeNull();
  });
});
