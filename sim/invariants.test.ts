// The checkers themselves: each invariant reports a hand-made breach of it, so a green seed run
// means the property held, not that the check could not see.
import { describe, expect, it } from 'vitest';
import type { PushResponse } from '@outpost/core';
import type { OutboxEntry, StoreSnapshot } from '@outpost/client';
import type { StoredOp, StoredRejection, SyncStore } from '@outpost/server';
import { fieldClinic } from '@outpost/examples';
import { ServerHistory } from './history';
import { convergence, exactlyOnce, immutability, noByDesign, noLostWrite, references } from './invariants';
import type { FinalState, ServerRecordState, TenantFinal } from './invariants';
import { Ledger } from './ledger';

const tenant = 'clinic-a';

function record(
  collection: string,
  id: string,
  data: Record<string, unknown> | null,
  version = 1,
): ServerRecordState {
  return {
    collection,
    id,
    version,
    deleted: data === null,
    data,
    hlc: '000000000000001-000000-s',
    updatedAt: 'x',
  };
}

function world(records: ServerRecordState[] = [], snapshot: Partial<StoreSnapshot> = {}): FinalState {
  const server: TenantFinal = {
    tenant,
    schema: fieldClinic,
    records: new Map(records.map((r) => [`${r.collection}\u0000${r.id}`, r])),
    journal: new Map(),
    archive: [],
    rejections: new Map(),
  };
  return {
    tenants: new Map([[tenant, server]]),
    devices: [
      {
        name: 'tablet-1',
        tenant,
        snapshot: { records: [], outbox: [], conflicts: [], meta: {}, ...snapshot },
        visibleConflictOpIds: new Set(),
        visibleRejections: new Map(),
      },
    ],
    ledger: new Ledger(),
    history: new ServerHistory(() => fieldClinic),
  };
}

function op(fields: Partial<OutboxEntry> & Pick<OutboxEntry, 'seq' | 'opId' | 'type' | 'id'>): OutboxEntry {
  return { collection: 'patients', hlc: 'h', status: 'pending', attempts: 0, createdAt: 'x', ...fields };
}

type RefusalError = StoredRejection['error'];

/** The journal's entry for op o1, an encounter create e1 of tablet-1 that the server refused. */
function refusalJournaled(error: RefusalError): StoredOp {
  return {
    tenant,
    opId: 'o1',
    clientId: 'c',
    deviceId: 'tablet-1',
    userId: 'u',
    collection: 'encounters',
    recordId: 'e1',
    type: 'create',
    result: { opId: 'o1', status: 'rejected', collection: 'encounters', id: 'e1', error },
    receivedAt: 'x',
  };
}

/** The same refusal in the rejection archive, with `data` as archived. */
function rejectionArchived(data: Record<string, unknown>, error: RefusalError): StoredRejection {
  return {
    id: 'r1',
    tenant,
    opId: 'o1',
    collection: 'encounters',
    recordId: 'e1',
    opType: 'create',
    data,
    baseVersion: null,
    error,
    conflictId: null,
    userId: 'u',
    deviceId: 'tablet-1',
    clientId: 'c',
    rejectedAt: 'x',
  };
}

/** A store whose every read after a request returns `records` once. */
function storeShowing(...pages: ServerRecordState[][]): SyncStore {
  let call = 0;
  return {
    pull: async (t: string) => {
      const page = t === tenant ? (pages[call++] ?? []) : [];
      return {
        records: page.map((r, i) => ({ ...r, dataJson: JSON.stringify(r.data), position: call * 100 + i })),
        hasMore: false,
      };
    },
  } as unknown as SyncStore;
}

const push = { method: 'POST', url: '/v1/sync/push' };
const reply = (body: PushResponse) => ({ status: 200, body: JSON.stringify(body) });
const applied = (opId: string, version: number) => ({
  results: [{ opId, status: 'applied' as const, collection: 'patients', id: 'p1', version }],
  idMappings: [],
});

describe('the invariants', () => {
  it('convergence: a record the server holds and the device does not', () => {
    const server = [record('patients', 'p1', { name: 'Amina K.' })];
    expect(convergence(world(server))).toHaveLength(1);
    const local = { ...server[0]!, data: { name: 'Amina K.' }, deleted: false };
    expect(convergence(world(server, { records: [local] }))).toEqual([]);
    expect(convergence(world(server, { records: [{ ...local, data: { name: 'Amina' } }] }))).toHaveLength(1);
  });

  it('convergence: a record filter leaves a record out unless the device holds work of its own on it', () => {
    const old = record('encounters', 'e1', { patientId: 'p1', date: '2026-01-10' });
    const recent = record('encounters', 'e2', { patientId: 'p1', date: '2026-08-10' });
    const held = (r: ServerRecordState) => ({ ...r, data: r.data ?? {}, deleted: false });
    const filtered = (snapshot: Partial<StoreSnapshot>) => {
      const final = world([old, recent], snapshot);
      final.devices[0]!.recordFilter = { encounters: (r) => String(r.data['date']) >= '2026-06' };
      return final;
    };
    // The filter keeps the recent visit and leaves out the old one.
    const byDesign = noByDesign();
    expect(convergence(filtered({ records: [held(recent)] }), byDesign)).toEqual([]);
    expect(byDesign.filteredOut).toBe(1);
    expect(convergence(filtered({ records: [] })).map((v) => v.message)).toEqual([
      'tablet-1: encounters e2 is missing on the device, live on the server',
    ]);
    // Held with nothing of the device's own on it: the filter (or prune) should have removed it.
    expect(convergence(filtered({ records: [held(old), held(recent)] })).map((v) => v.message)).toEqual([
      'tablet-1: encounters e1 is shown on the device, which its record filter leaves out',
    ]);
    // A refused change of the device's own keeps it, shown with the change on top.
    const refused = op({
      seq: 1,
      opId: 'o1',
      type: 'update',
      id: 'e1',
      collection: 'encounters',
      status: 'failed',
      rejected: true,
      data: { diagnosis: 'malaria' },
      lastError: { code: 'VALIDATION_FAILED', message: 'refused' },
    });
    const shown = { ...held(old), data: { ...old.data, diagnosis: 'malaria' } };
    expect(convergence(filtered({ records: [shown, held(recent)], outbox: [refused] }))).toEqual([]);
  });

  it('convergence: a conflict the device shows as waiting that was settled on the server', () => {
    const settled = { patientId: 'p1', drug: 'Amoxicillin', dose: '1 g' };
    const server = [record('prescriptions', 'rx1', settled, 2)];
    const local = { ...server[0]!, data: settled, deleted: false };
    const waiting = {
      id: 'c1',
      opId: 'o1',
      collection: 'prescriptions',
      recordId: 'rx1',
      summary: { kind: 'version' as const, outcome: 'open' as const },
      detectedAt: 'x',
    };
    const final = world(server, { records: [local], conflicts: [waiting] });
    const archived = {
      id: 'c1',
      tenant,
      collection: 'prescriptions',
      recordId: 'rx1',
      opId: 'o1',
      opType: 'update' as const,
      kind: 'version' as const,
      strategy: 'manual' as const,
      outcome: 'open' as const,
      fields: ['dose'],
      serverData: { patientId: 'p1', drug: 'Amoxicillin', dose: '250 mg' },
      serverVersion: 1,
      serverHlc: 'h',
      clientData: { dose: '1 g' },
      clientHlc: 'h',
      baseVersion: 1,
      userId: 'u',
      deviceId: 'tablet-1',
      createdAt: 'x',
      resolvedAt: null,
      resolvedBy: null,
    };
    const archive = final.tenants.get(tenant)!.archive;
    archive.push(archived);
    expect(convergence(final)).toEqual([]);
    archive[0] = { ...archived, outcome: 'client-won', resolvedAt: 'y', resolvedBy: 'admin' };
    expect(convergence(final).map((v) => v.message)).toEqual([
      'tablet-1: conflict c1 over prescriptions rx1 still waits for a person on the device, settled (client-won) on the server',
    ]);
  });

  it('no lost write: an op done on the device that the server never journaled', () => {
    const final = world([], {
      outbox: [op({ seq: 1, opId: 'o1', type: 'create', id: 'p1', data: { name: 'A' }, status: 'done' })],
    });
    final.ledger.observe('tablet-1', {
      putOps: [op({ seq: 1, opId: 'o1', type: 'create', id: 'p1', data: { name: 'A' } })],
    });
    expect(noLostWrite(final)).toHaveLength(1);
    const journal: StoredOp = {
      tenant,
      opId: 'o1',
      clientId: 'c',
      deviceId: 'tablet-1',
      userId: 'u',
      collection: 'patients',
      recordId: 'p1',
      type: 'create',
      result: applied('o1', 1).results[0]!,
      receivedAt: 'x',
    };
    final.tenants.get(tenant)!.journal.set('o1', journal);
    expect(noLostWrite(final)).toEqual([]);
  });

  it('no lost write: a refusal that is not in the rejection archive, or not listed for its user', () => {
    const sent = { patientId: 'gone', diagnosis: 'Typed offline' };
    const error = { code: 'UNRESOLVED_REFERENCE' as const, message: 'no such patient' };
    const final = world([], {
      outbox: [
        op({
          seq: 1,
          opId: 'o1',
          collection: 'encounters',
          type: 'create',
          id: 'e1',
          data: sent,
          status: 'failed',
          lastError: error,
        }),
      ],
    });
    final.ledger.observe('tablet-1', {
      putOps: [op({ seq: 1, opId: 'o1', collection: 'encounters', type: 'create', id: 'e1', data: sent })],
    });
    const server = final.tenants.get(tenant)!;
    server.journal.set('o1', refusalJournaled(error));
    expect(noLostWrite(final).map((v) => v.message)).toEqual([
      expect.stringContaining("not in the server's rejection archive"),
    ]);
    const kept = rejectionArchived({ ...sent, diagnosis: 'Something else' }, error);
    server.rejections.set('o1', kept);
    expect(noLostWrite(final).map((v) => v.message)).toEqual([
      expect.stringContaining('cannot list the archived rejection'),
      expect.stringContaining('rejection archived'),
    ]);
    server.rejections.set('o1', { ...kept, data: sent });
    const device = final.devices[0]!;
    final.devices[0] = { ...device, visibleRejections: new Map([['o1', { ...kept, data: sent }]]) };
    const byDesign = noByDesign();
    expect(noLostWrite(final, byDesign)).toEqual([]);
    expect(byDesign.rejectionsArchived).toBe(1);
  });

  it('no lost write: a refused op a person dismissed must still be in the rejection archive', async () => {
    const error = { code: 'UNRESOLVED_REFERENCE' as const, message: 'gone' };
    const sent = { patientId: 'p-gone', diagnosis: 'Malaria' };
    const refused = op({
      seq: 1,
      opId: 'o1',
      collection: 'encounters',
      type: 'create',
      id: 'e1',
      data: sent,
      status: 'failed',
      rejected: true,
      lastError: error,
    });
    const final = world();
    final.ledger.observe('tablet-1', { putOps: [refused] });
    await final.ledger.dismissing('tablet-1', [refused], async () =>
      final.ledger.observe('tablet-1', { deleteOps: [1] }),
    );
    const server = final.tenants.get(tenant)!;
    server.journal.set('o1', refusalJournaled(error));
    // Dismissed, not folded: no "folded away" verdict, but the archive must hold what was typed.
    expect(noLostWrite(final).map((v) => v.message)).toEqual([
      expect.stringContaining("not in the server's rejection archive"),
    ]);
    const kept = rejectionArchived(sent, error);
    server.rejections.set('o1', kept);
    final.devices[0] = { ...final.devices[0]!, visibleRejections: new Map([['o1', kept]]) };
    const byDesign = noByDesign();
    expect(noLostWrite(final, byDesign)).toEqual([]);
    expect(byDesign.dismissed).toBe(1);
    // A later removal of the same seq outside a dismissal is a fold again.
    const folded = world();
    folded.ledger.observe('tablet-1', { putOps: [refused] });
    folded.ledger.observe('tablet-1', { deleteOps: [1] });
    expect(noLostWrite(folded).map((v) => v.message)).toEqual([expect.stringContaining('folded away')]);
  });

  it('no lost write: an update folded away without a create and a delete', () => {
    const final = world();
    final.ledger.observe('tablet-1', { putOps: [op({ seq: 1, opId: 'o1', type: 'update', id: 'p1' })] });
    final.ledger.observe('tablet-1', { deleteOps: [1] });
    expect(noLostWrite(final)).toHaveLength(1);
    const byDesign = noByDesign();
    const folded = world();
    folded.ledger.observe('tablet-1', {
      putOps: [
        op({ seq: 1, opId: 'o1', type: 'create', id: 'p1' }),
        op({ seq: 2, opId: 'o2', type: 'delete', id: 'p1' }),
      ],
    });
    folded.ledger.observe('tablet-1', { deleteOps: [1, 2] });
    expect(noLostWrite(folded, byDesign)).toEqual([]);
    expect(byDesign.foldedAway).toBe(2);
  });

  it('exactly once: an op answered fresh twice, and a stored version no answer accounts for', async () => {
    const final = world([record('patients', 'p1', { name: 'B' }, 2)]);
    const history = final.history;
    const v1 = [record('patients', 'p1', { name: 'A' }, 1)];
    await history.observe(storeShowing(v1), tenant, push, reply(applied('o1', 1)), [tenant]);
    expect(history.violations).toEqual([]);
    await history.observe(
      storeShowing([], [record('patients', 'p1', { name: 'B' }, 2)]),
      tenant,
      push,
      reply(applied('o1', 2)),
      [tenant],
    );
    const found = exactlyOnce(final).map((v) => v.message);
    expect(found.some((m) => m.includes('a second time'))).toBe(true);
    expect(found.some((m) => m.includes('the history saw'))).toBe(true);
  });

  it('immutability: a locked intake form that changed afterwards', async () => {
    const locked = record('intakeForms', 'f1', { patientId: 'p1', isLocked: true });
    const changed = record('intakeForms', 'f1', { patientId: 'p1' }, 2);
    const final = world([changed]);
    const history = final.history;
    const answer = (id: string, version: number) => ({
      status: 200,
      body: JSON.stringify({
        results: [{ opId: id, status: 'applied', collection: 'intakeForms', id: 'f1', version }],
        idMappings: [],
      }),
    });
    const store = storeShowing([locked], [changed]);
    await history.observe(store, tenant, push, answer('o1', 1), [tenant]);
    expect(immutability(final)).toHaveLength(1); // the final data is not the locked data
    await history.observe(store, tenant, push, answer('o2', 2), [tenant]);
    expect(immutability(final).some((v) => v.message.includes('was locked at v1'))).toBe(true);
  });

  it('references: a temp id or an unknown id stored on the server; an orphan is counted, not failed', () => {
    const patient = record('patients', 'p1', null, 2);
    const orphan = record('encounters', 'e1', { patientId: 'p1' });
    const byDesign = noByDesign();
    expect(references(world([patient, orphan]), byDesign)).toEqual([]);
    expect(byDesign.orphans).toBe(1);
    expect(references(world([record('encounters', 'e2', { patientId: 'nobody' })]))).toHaveLength(1);
    const temp = record('encounters', 'e3', { patientId: 'temp_1_abc_patients' });
    expect(references(world([temp]))).toHaveLength(1);
  });
});
