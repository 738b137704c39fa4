import { describe, expect, it } from 'vitest';
import { detectConflict } from './detect-conflict';

describe('detectConflict (version)', () => {
  const live = { version: 3, deleted: false };
  const tombstone = { version: 4, deleted: true };
  it.each([
    ['create', undefined, null, null],
    ['create', undefined, live, 'version'],
    ['create', undefined, tombstone, 'delete-update'],
    ['update', 3, live, null],
    ['update', 2, live, 'version'],
    ['update', undefined, live, null],
    ['update', 3, tombstone, 'delete-update'],
    ['delete', 3, live, null],
    ['delete', 1, live, 'version'],
    ['delete', 4, tombstone, null],
  ] as const)('%s based on %s against %j -> %s', (type, base, current, expected) => {
    expect(detectConflict(type, base, current)).toBe(expected);
  });
});
