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
