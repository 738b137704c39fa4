import { describe, expect, it } from 'vitest';
import { LocalState } from './local-state';
import type { LocalConflict } from './stores/local-store';

function conflict(id: string, recordId: string, resolved = false): LocalConflict {
  return {
    id,
    opId: `op-${id}`,
    collection: 'prescriptions',
    recordId,
    summary: { kind: 'version', outcome: resolved ? 'client-won' : 'open' },
    detectedAt: '2026-11-22T10:00:00.000Z',
    ...(resolved ? { resolvedAt: '2026-11-22T11:00:00.000Z' } : {}),
  };
}

describe('which records wait for review', () => {
  it('follows each conflict of a record as it is stored, settled, reopened and removed', () => {
    const state = new LocalState({ records: [], outbox: [], conflicts: [conflict('c1', 'rx1')], meta: {} });
    const waits = (id: string) => state.awaitsReview('prescriptions', id);
    expect(waits('rx1')).toBe(true);
    expect(waits('rx2')).toBe(false);

    state.apply({ putConflicts: [conflict('c2', 'rx1'), conflict('c3', 'rx2', true)] });
    expect([waits('rx1'), waits('rx2')]).toEqual([true, false]);
    // Settling one of two leaves the record waiting; settling both does not.
    state.apply({ putConflicts: [conflict('c1', 'rx1', true)] });
    expect(waits('rx1')).toBe(true);
    state.apply({ putConflicts: [conflict('c2', 'rx1', true)] });
    expect(waits('rx1')).toBe(false);
    // An undo opens it again; removing it clears it.
    state.apply({ putConflicts: [conflict('c3', 'rx2')] });
    expect(waits('rx2')).toBe(true);
    state.apply({ deleteConflicts: ['c3'] });
    expect(waits('rx2')).toBe(false);
    expect([...state.conflicts.keys()].sort()).toEqual(['c1', 'c2']);
    state.apply({ putConflicts: [conflict('c2', 'rx1')] });
    expect(state.waitingConflicts().map((c) => c.id)).toEqual(['c2']);
  });
});
