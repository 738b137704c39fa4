import { describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../stores/local-store';
import { coalesceOutbox, foldsToNothing } from './coalesce';

let seq = 0;
function op(
  type: OutboxEntry['type'],
  id: string,
  data?: Record<string, unknown>,
  extra: Partial<OutboxEntry> = {},
): OutboxEntry {
  seq += 1;
  return {
    seq,
    opId: `op-${seq}`,
    collection: 'patients',
    type,
    id,
    ...(data ? { data } : {}),
    hlc: `00000000000000${seq}-000000-dev`,
    status: 'pending',
    attempts: 0,
    createdAt: '2026-11-22T08:00:00.000Z',
    ...extra,
  };
}

/** The ops left after coalescing, as the server would receive them. */
function coalesced(entries: OutboxEntry[]): OutboxEntry[] {
  const { put, remove } = coalesceOutbox(entries);
  const byseq = new Map(entries.map((e) => [e.seq, e]));
  for (const p of put) byseq.set(p.seq, p);
  for (const r of remove) byseq.delete(r);
  return [...byseq.values()].sort((a, b) => a.seq - b.seq);
}

describe('coalesceOutbox', () => {
  it("create + delete of an id the server has after all -> one delete of the server's version", () => {
    // Intake forms are named after their patient: another tablet made this one first, and this
    // device pulled it (version 1) beneath its own unsent create, then the person deleted it.
    const c = op('create', 'intake-p1', { patientId: 'p1' });
    const d = op('delete', 'intake-p1');
    const { put, remove } = coalesceOutbox([c, d], (_collection, id) => (id === 'intake-p1' ? 1 : 0));
    expect(remove).toEqual([d.seq]);
    expect(put).toEqual([
      expect.objectContaining({ seq: c.seq, opId: c.opId, type: 'delete', baseVersion: 1, hlc: d.hlc }),
    ]);
    expect(put[0]).not.toHaveProperty('data');
  });

  it('create + update -> one create with the merged data (null clears)', () => {
    const c = op('create', 'a', { name: 'Amina', phone: '1' });
    const out = coalesced([c, op('update', 'a', { village: 'Ntcheu', phone: null })]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      type: 'create',
      opId: c.opId,
      data: { name: 'Amina', village: 'Ntcheu' },
    });
  });

  it('update + update -> one update with both fields, on the first base version', () => {
    const u = op('update', 'a', { village: 'Ntcheu' }, { baseVersion: 3 });
    const out = coalesced([u, op('update', 'a', { phone: '2', village: 'Dedza' }, { baseVersion: 3 })]);
    expect(out).toEqual([
      expect.objectContaining({ type: 'update', baseVersion: 3, data: { village: 'Dedza', phone: '2' } }),
    ]);
  });

  it('create + delete -> nothing; update + delete -> one delete', () => {
    expect(
      coalesced([op('create', 'a', { name: 'x' }), op('update', 'a', { phone: '1' }), op('delete', 'a')]),
    ).toEqual([]);
    const out = coalesced([
      op('update', 'b', { phone: '1' }, { baseVersion: 2 }),
      op('delete', 'b', undefined, { baseVersion: 2 }),
    ]);
    expect(out).toEqual([expect.objectContaining({ type: 'delete', baseVersion: 2 })]);
    expect(out[0]).not.toHaveProperty('data');
  });

  it('never folds a change made on a newer server version into one made on an older one', () => {
    // A pull between the two edits brought version 4 (a colleague's change): the second edit was
    // made on it. Sent on base 3, the server would count the colleague's change against it too.
    const first = op('update', 'a', { village: 'Dedza' }, { baseVersion: 3 });
    const second = op('update', 'a', { phone: '3' }, { baseVersion: 4 });
    const third = op('update', 'a', { notes: 'x' }, { baseVersion: 4 });
    expect(coalesced([first, second, third])).toEqual([
      first,
      expect.objectContaining({ seq: second.seq, baseVersion: 4, data: { phone: '3', notes: 'x' } }),
    ]);
    const before = op('update', 'b', { village: 'x' }, { baseVersion: 3 });
    const deletion = op('delete', 'b', undefined, { baseVersion: 4 });
    expect(coalesced([before, deletion])).toEqual([before, deletion]);
    // An update made on a server copy pulled beneath an unsent create of the same id.
    const create = op('create', 'c', { name: 'x' });
    const onServerCopy = op('update', 'c', { phone: '1' }, { baseVersion: 1 });
    expect(coalesced([create, onServerCopy])).toEqual([create, onServerCopy]);
  });

  it('keeps apart updates weighed by their HLC (no base version): each is weighed at its own', () => {
    // What a device gives back to a restored server, then a change that waited through the restore.
    const given = op('update', 'p-1', { village: 'Mzuzu' });
    const waiting = op('update', 'p-1', { phone: '+265 99 000 1111' });
    expect(coalesced([given, waiting])).toEqual([given, waiting]);
    // After an unsent create they fold into it, as ever.
    const create = op('create', 'p-2', { name: 'Grace' });
    const edit = op('update', 'p-2', { village: 'Salima' });
    expect(coalesced([create, edit])).toEqual([
      { ...create, data: { name: 'Grace', village: 'Salima' }, hlc: edit.hlc },
    ]);
  });

  it('never folds into an op the server may have seen, and keeps other records apart', () => {
    const sent = op('update', 'a', { village: 'x' }, { attempts: 1 });
    const inFlight = op('update', 'c', { village: 'y' }, { status: 'in-flight' });
    const out = coalesced([
      sent,
      op('update', 'a', { phone: '1' }),
      inFlight,
      op('update', 'c', { phone: '2' }),
      op('update', 'd', { phone: '3' }),
    ]);
    expect(out).toHaveLength(5);
    expect(out[0]).toEqual(sent);
  });

  describe('a change that asked for its own conflict rule (strategy, decision 0031)', () => {
    it('folds updates that asked for the same rule, and keeps the rule', () => {
      const first = op('update', 'a', { allergies: ['none'] }, { baseVersion: 3, strategy: 'client-wins' });
      const second = op('update', 'a', { phone: '2' }, { baseVersion: 3, strategy: 'client-wins' });
      expect(coalesced([first, second])).toEqual([
        expect.objectContaining({
          seq: first.seq,
          data: { allergies: ['none'], phone: '2' },
          strategy: 'client-wins',
          hlc: second.hlc,
        }),
      ]);
    });

    it('keeps an override apart from an edit made without it, in either order', () => {
      // "My change wins" on the allergy must not spread to the phone typed without it...
      const plain = op('update', 'a', { phone: '2' }, { baseVersion: 3 });
      const override = op(
        'update',
        'a',
        { allergies: ['none'] },
        { baseVersion: 3, strategy: 'client-wins' },
      );
      expect(coalesced([plain, override])).toEqual([plain, override]);
      // ...nor be dropped from the allergy by a later edit made without it.
      const overrideFirst = op(
        'update',
        'b',
        { allergies: ['none'] },
        { baseVersion: 3, strategy: 'client-wins' },
      );
      const plainLater = op('update', 'b', { phone: '2' }, { baseVersion: 3 });
      const third = op('update', 'b', { notes: 'x' }, { baseVersion: 3 });
      expect(coalesced([overrideFirst, plainLater, third])).toEqual([
        overrideFirst,
        expect.objectContaining({ seq: plainLater.seq, data: { phone: '2', notes: 'x' } }),
      ]);
      expect(coalesced([overrideFirst, plainLater, third])[1]).not.toHaveProperty('strategy');
      // Two different rules asked for stay apart too.
      const serverWins = op('update', 'c', { phone: '1' }, { baseVersion: 1, strategy: 'server-wins' });
      const clientWins = op('update', 'c', { phone: '2' }, { baseVersion: 1, strategy: 'client-wins' });
      expect(coalesced([serverWins, clientWins])).toEqual([serverWins, clientWins]);
    });

    it('keeps an update and a delete apart unless both asked for the same rule', () => {
      const override = op('update', 'a', { village: 'x' }, { baseVersion: 2, strategy: 'client-wins' });
      const deletion = op('delete', 'a', undefined, { baseVersion: 2 });
      expect(coalesced([override, deletion])).toEqual([override, deletion]);
      const plain = op('update', 'b', { village: 'x' }, { baseVersion: 2 });
      const deleteWins = op('delete', 'b', undefined, { baseVersion: 2, strategy: 'client-wins' });
      expect(coalesced([plain, deleteWins])).toEqual([plain, deleteWins]);
      const both = coalesced([
        op('update', 'c', { village: 'x' }, { baseVersion: 2, strategy: 'client-wins' }),
        op('delete', 'c', undefined, { baseVersion: 2, strategy: 'client-wins' }),
      ]);
      expect(both).toEqual([
        expect.objectContaining({ type: 'delete', baseVersion: 2, strategy: 'client-wins' }),
      ]);
    });

    it('keeps an override apart from the unsent create of its record', () => {
      const create = op('create', 'a', { name: 'Amina' });
      const override = op('update', 'a', { allergies: ['none'] }, { strategy: 'client-wins' });
      expect(coalesced([create, override])).toEqual([create, override]);
    });

    it("create + delete: nothing when the server never had the record, else one delete with the delete's rule", () => {
      const create = op('create', 'a', { name: 'x' });
      const deletion = op('delete', 'a', undefined, { strategy: 'client-wins' });
      expect(coalesced([create, deletion])).toEqual([]);
      const intake = op('create', 'intake-p1', { patientId: 'p1' });
      const deleteWins = op('delete', 'intake-p1', undefined, { strategy: 'client-wins' });
      const { put } = coalesceOutbox([intake, deleteWins], () => 1);
      expect(put).toEqual([
        expect.objectContaining({ seq: intake.seq, type: 'delete', baseVersion: 1, strategy: 'client-wins' }),
      ]);
      // `create` takes no rule; should a create entry hold one, the delete's own rule goes.
      const createWins = op('create', 'intake-p2', { patientId: 'p2' }, { strategy: 'client-wins' });
      const { put: plainPut } = coalesceOutbox([createWins, op('delete', 'intake-p2')], () => 1);
      expect(plainPut).toEqual([expect.objectContaining({ seq: createWins.seq, type: 'delete' })]);
      expect(plainPut[0]).not.toHaveProperty('strategy');
    });

    it('says a record folds to nothing only when every op of it folds away', () => {
      expect(
        foldsToNothing([
          op('create', 'a', { name: 'x' }),
          op('update', 'a', { phone: '1' }),
          op('delete', 'a'),
        ]),
      ).toBe(true);
      expect(
        foldsToNothing([
          op('create', 'b', { name: 'x' }),
          op('update', 'b', { phone: '1' }, { strategy: 'client-wins' }),
          op('delete', 'b'),
        ]),
      ).toBe(false);
      expect(foldsToNothing([op('create', 'c', { name: 'x' }, { attempts: 1 }), op('delete', 'c')])).toBe(
        false,
      );
    });
  });
});
