import { describe, expect, it } from 'vitest';
import { stableHash } from '../stable-hash';
import { detectConflict } from './detect-conflict';
import type { RecordState } from './detect-conflict';

const h = (ms: number, node = 'srv') => `${String(ms).padStart(15, '0')}-000000-${node}`;

// Version 3 of a patient: name set at v1, village changed at v3.
const live: RecordState = {
  data: { name: 'Amina K.', village: 'Ntcheu', phone: '0999' },
  version: 3,
  deleted: false,
  fieldMeta: { name: { v: 1, hlc: h(100) }, phone: { v: 1, hlc: h(100) }, village: { v: 3, hlc: h(300) } },
  hlc: h(300),
};
const tombstone: RecordState = { ...live, version: 4, deleted: true, hlc: h(400) };

describe('detectConflict', () => {
  it('finds nothing when the record is new, the base is current, or nothing is known of the base', () => {
    expect(detectConflict({ type: 'create', data: { name: 'X' } }, null)).toBeNull();
    expect(detectConflict({ type: 'update', baseVersion: 3, data: { phone: '1' } }, live)).toBeNull();
    expect(detectConflict({ type: 'update', data: { phone: '1' } }, live)).toBeNull();
    expect(detectConflict({ type: 'delete', baseVersion: 3 }, live)).toBeNull();
    expect(detectConflict({ type: 'delete', baseVersion: 2 }, tombstone)).toBeNull();
  });

  it('version: a base behind the record, with the fields each side changed since', () => {
    const d = detectConflict(
      { type: 'update', baseVersion: 2, data: { village: 'Zomba', phone: '1' } },
      live,
    );
    expect(d).toEqual({
      kind: 'version',
      clientFields: ['phone', 'village'],
      serverFields: ['village'],
      fields: ['village'],
    });
    // Disjoint: detected, but nothing in dispute.
    expect(detectConflict({ type: 'update', baseVersion: 2, data: { phone: '1' } }, live)?.fields).toEqual(
      [],
    );
  });

  it('a change whose result equals the stored data is no conflict, by any method', () => {
    expect(detectConflict({ type: 'update', baseVersion: 1, data: { village: 'Ntcheu' } }, live)).toBeNull();
    expect(
      detectConflict({ type: 'update', baseHash: 'stale', data: { village: 'Ntcheu' } }, live),
    ).toBeNull();
    expect(detectConflict({ type: 'create', data: { ...live.data } }, live)).toBeNull();
  });

  it('hash: the base hash is not the stored data’s', () => {
    expect(
      detectConflict({ type: 'update', baseHash: stableHash(live.data), data: { phone: '1' } }, live),
    ).toBeNull();
    const d = detectConflict(
      { type: 'update', baseHash: stableHash({ name: 'Amina K.' }), data: { phone: '1' } },
      live,
    );
    expect(d?.kind).toBe('hash');
    // Without an HLC the base is unknown: every field may have changed on the server.
    expect(d?.fields).toEqual(['phone']);
    const withTime = detectConflict(
      { type: 'update', baseHash: 'stale', hlc: h(200, 'tab'), data: { phone: '1' } },
      live,
    );
    expect(withTime?.serverFields).toEqual(['village']);
    expect(withTime?.fields).toEqual([]);
  });

  it('timestamp: for clients that only send times, the record changed after the change was made', () => {
    expect(
      detectConflict({ type: 'update', hlc: h(500, 'tab'), data: { village: 'Zomba' } }, live),
    ).toBeNull();
    const d = detectConflict({ type: 'update', hlc: h(200, 'tab'), data: { village: 'Zomba' } }, live);
    expect(d).toMatchObject({ kind: 'timestamp', serverFields: ['village'], fields: ['village'] });
  });

  it('delete-update both ways: an update of a tombstone, a delete of a record changed since', () => {
    expect(detectConflict({ type: 'update', baseVersion: 3, data: { phone: '1' } }, tombstone)).toMatchObject(
      {
        kind: 'delete-update',
        fields: ['phone'],
      },
    );
    expect(detectConflict({ type: 'delete', baseVersion: 2 }, live)).toMatchObject({
      kind: 'delete-update',
      fields: ['village'],
    });
    expect(detectConflict({ type: 'create', data: { name: 'B' } }, tombstone)?.kind).toBe('delete-update');
  });

  it('a create of an id that exists differently is a version conflict on the differing fields', () => {
    expect(
      detectConflict({ type: 'create', data: { name: 'Amina K.', village: 'Zomba' } }, live),
    ).toMatchObject({
      kind: 'version',
      fields: ['phone', 'village'],
    });
  });
});
