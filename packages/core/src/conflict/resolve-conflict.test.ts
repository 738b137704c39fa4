import { describe, expect, it } from 'vitest';
import { formatHlc } from '../hlc';
import type { RecordData } from '../schema/define-schema';
import { resolutionEffect } from './resolve-conflict';
import type { ArchivedChange } from './resolve-conflict';

const at = (minute: number, node: string) =>
  formatHlc({ ms: Date.UTC(2024, 10, 2, 8) + minute * 60_000, counter: 0, node });

// Amina's record as the server held it when tablet C's stale change arrived and won.
const server: RecordData = { name: 'Amina Banda', village: 'Balaka', phone: '+265 991 234 567' };

function won(
  opType: ArchivedChange['opType'],
  clientData: RecordData | null,
  serverData: RecordData | null = server,
) {
  const change: ArchivedChange = {
    opType,
    clientData,
    clientHlc: at(40, 'tab-c'),
    serverHlc: at(30, 'tab-b'),
    serverData,
    outcome: 'client-won',
  };
  return change;
}

describe('server-wins on a conflict the client won: the client’s change is taken back, nothing else', () => {
  it('an update: its fields go back, unless someone changed them since; other edits since stay', () => {
    const change = won('update', { village: 'Zomba', phone: null, notes: 'Moved for work.' });
    // Since the conflict: tablet D set the notes again and added allergies.
    const now: RecordData = {
      name: 'Amina Banda',
      village: 'Zomba',
      notes: 'Seen in Zomba.',
      allergies: ['sulfa'],
    };
    expect(resolutionEffect('server-wins', change, now)).toEqual({
      outcome: 'server-won',
      effect: { kind: 'patch', patch: { village: 'Balaka', phone: '+265 991 234 567' } },
    });
  });

  it('a create that replaced the record: the fields it set and those it dropped come back', () => {
    const change = won('create', { name: 'Amina Banda', notes: 'Registered again.' });
    const now: RecordData = { name: 'Amina Banda', notes: 'Registered again.', sex: 'female' };
    expect(resolutionEffect('server-wins', change, now).effect).toEqual({
      kind: 'patch',
      patch: { village: 'Balaka', phone: '+265 991 234 567', notes: null },
    });
  });

  it('a create merged in: only the fields it added go', () => {
    const change = {
      ...won('create', { name: 'Amina Banda', notes: 'Registered again.' }),
      outcome: 'merged' as const,
    };
    const now: RecordData = { ...server, notes: 'Registered again.' };
    expect(resolutionEffect('server-wins', change, now).effect).toEqual({
      kind: 'patch',
      patch: { notes: null },
    });
  });

  it('a delete: the record comes back as the server had it, unless it is alive again already', () => {
    const change = won('delete', null);
    expect(resolutionEffect('server-wins', change, null).effect).toEqual({ kind: 'replace', data: server });
    expect(resolutionEffect('server-wins', change, { name: 'Amina B.' }).effect).toEqual({ kind: 'none' });
  });

  it('a change that revived a deleted record: deleted again, unless someone deleted it since', () => {
    const change = won('update', { phone: '+265 888 555 000' }, null);
    expect(resolutionEffect('server-wins', change, { ...server, phone: '+265 888 555 000' }).effect).toEqual({
      kind: 'delete',
    });
    expect(resolutionEffect('server-wins', change, null).effect).toEqual({ kind: 'none' });
  });

  it('last-write-wins going the server’s way takes back the same way; an open conflict changes nothing', () => {
    const change = { ...won('update', { village: 'Zomba' }), clientHlc: at(20, 'tab-c') };
    expect(resolutionEffect('last-write-wins', change, { ...server, village: 'Zomba' })).toEqual({
      outcome: 'server-won',
      effect: { kind: 'patch', patch: { village: 'Balaka' } },
    });
    expect(resolutionEffect('server-wins', { ...change, outcome: 'open' }, server).effect).toEqual({
      kind: 'none',
    });
  });
});

function lost(
  opType: ArchivedChange['opType'],
  clientData: RecordData | null,
  serverData: RecordData | null = server,
  outcome: ArchivedChange['outcome'] = 'server-won',
) {
  return { ...won(opType, clientData, serverData), outcome };
}

describe('the client’s side chosen after the conflict: its change applies, edits made since stay', () => {
  it('a create applied days later sets only the fields it changed: fields edited since stay', () => {
    const change = lost('create', { name: 'Amina Banda', village: 'Zomba', notes: 'Registered again.' });
    // Since the conflict: tablet D added allergies and the sex.
    const now: RecordData = { ...server, allergies: ['sulfa'], sex: 'female' };
    expect(resolutionEffect('client-wins', change, now)).toEqual({
      outcome: 'client-won',
      effect: { kind: 'patch', patch: { village: 'Zomba', phone: null, notes: 'Registered again.' } },
    });
  });

  it('last-write-wins going the client’s way applies the same way', () => {
    const change = {
      ...lost('create', { name: 'Amina Banda', village: 'Zomba' }),
      clientHlc: at(50, 'tab-c'),
    };
    const now: RecordData = { ...server, allergies: ['sulfa'] };
    expect(resolutionEffect('last-write-wins', change, now)).toEqual({
      outcome: 'client-won',
      effect: { kind: 'patch', patch: { village: 'Zomba', phone: null } },
    });
  });

  it('a field edited since to another value: nothing is applied, the field is named', () => {
    const change = lost('update', { village: 'Zomba', phone: null }, server, 'open');
    const now: RecordData = { ...server, village: 'Lilongwe', notes: 'Seen again.' };
    expect(resolutionEffect('client-wins', change, now)).toEqual({
      outcome: 'client-won',
      effect: { kind: 'none' },
      collision: { fields: ['village'], deleted: false },
    });
    // The same choice on a record edited since on other fields only applies.
    expect(resolutionEffect('client-wins', change, { ...server, notes: 'Seen again.' }).effect).toEqual({
      kind: 'patch',
      patch: { village: 'Zomba', phone: null },
    });
  });

  it('a conflict the client had won already: nothing changes, edits made over its change since stay', () => {
    const change = lost('update', { village: 'Zomba' }, server, 'client-won');
    expect(resolutionEffect('client-wins', change, { ...server, village: 'Lilongwe' })).toEqual({
      outcome: 'client-won',
      effect: { kind: 'none' },
    });
  });

  it('a delete: the record goes only if no one edited it since', () => {
    const change = lost('delete', null);
    expect(resolutionEffect('client-wins', change, server).effect).toEqual({ kind: 'delete' });
    expect(resolutionEffect('client-wins', change, { ...server, notes: 'Seen again.', phone: null })).toEqual(
      {
        outcome: 'client-won',
        effect: { kind: 'none' },
        collision: { fields: ['phone', 'notes'], deleted: false },
      },
    );
    expect(resolutionEffect('client-wins', change, null).effect).toEqual({ kind: 'none' });
  });

  it('a record deleted since is not brought back; one deleted when the conflict came is, as the client meant', () => {
    const change = lost('update', { phone: '+265 888 555 000' });
    expect(resolutionEffect('client-wins', change, null)).toEqual({
      outcome: 'client-won',
      effect: { kind: 'none' },
      collision: { fields: ['phone'], deleted: true },
    });
    const revived = lost('update', { phone: '+265 888 555 000' }, null);
    expect(resolutionEffect('client-wins', revived, null).effect).toEqual({
      kind: 'patch',
      patch: { phone: '+265 888 555 000' },
    });
  });

  it('merge: every field of both versions sent, a field no one disputed and edited since keeps its later value', () => {
    const change = lost('update', { village: 'Zomba' }, server, 'open');
    const now: RecordData = { ...server, phone: '+265 999 000 111' };
    // The desk's merge sends every field of either version, each as chosen.
    const mergedData = { name: 'Amina Banda', village: 'Zomba', phone: '+265 991 234 567' };
    expect(resolutionEffect('merge', change, now, mergedData)).toEqual({
      outcome: 'merged',
      effect: { kind: 'patch', patch: { village: 'Zomba' } },
    });
    // A disputed field edited since, chosen otherwise: refused, named.
    expect(resolutionEffect('merge', change, { ...server, village: 'Lilongwe' }, mergedData)).toEqual({
      outcome: 'merged',
      effect: { kind: 'none' },
      collision: { fields: ['village'], deleted: false },
    });
    // A value the person typed over a field edited since collides too; choosing the later value does not.
    expect(resolutionEffect('merge', change, now, { phone: '+265 111' }).collision).toEqual({
      fields: ['phone'],
      deleted: false,
    });
    expect(resolutionEffect('merge', change, now, { phone: '+265 999 000 111' }).effect).toEqual({
      kind: 'none',
    });
  });

  it('a value this conflict’s last resolution wrote is no edit since: the person may change their mind', () => {
    // A merge typed "Zomba East" into the village; nothing changed it since.
    const change = lost('update', { village: 'Zomba' }, server, 'merged');
    const now: RecordData = { ...server, village: 'Zomba East' };
    expect(resolutionEffect('client-wins', change, now, undefined, ['village']).effect).toEqual({
      kind: 'patch',
      patch: { village: 'Zomba' },
    });
    expect(resolutionEffect('server-wins', change, now, undefined, ['village']).effect).toEqual({
      kind: 'patch',
      patch: { village: 'Balaka' },
    });
    expect(resolutionEffect('client-wins', change, now).collision).toEqual({
      fields: ['village'],
      deleted: false,
    });
  });
});
