import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { collection, defineSchema, sameRoles } from './define-schema';

describe('defineSchema', () => {
  const schema = defineSchema({
    name: 'test',
    collections: {
      owners: collection({
        fields: z.object({ name: z.string() }),
        permissions: { staff: ['read', 'create'] },
      }),
      pets: collection({
        idStrategy: 'server',
        fields: z.object({ ownerId: z.string(), signed: z.boolean().optional() }),
        references: { ownerId: 'owners' },
        immutableWhen: (pet) => pet.signed === true,
        permissions: { staff: ['read'], admin: ['read', 'update', 'override'] },
      }),
    },
  });

  it('fills in defaults', () => {
    expect(schema.collection('owners')).toMatchObject({
      idStrategy: 'client',
      priority: 10,
      conflict: { strategy: 'last-write-wins', fallback: 'manual' },
    });
    expect(schema.collection('pets')?.references).toEqual({ ownerId: 'owners' });
  });

  it('grants an action when any role grants it, and nothing on unknown collections', () => {
    expect(schema.can(['staff'], 'owners', 'create')).toBe(true);
    expect(schema.can(['staff'], 'pets', 'update')).toBe(false);
    expect(schema.can(['staff', 'admin'], 'pets', 'update')).toBe(true);
    expect(schema.can(['admin'], 'toString', 'read')).toBe(false);
    expect(schema.collection('constructor')).toBeUndefined();
  });

  it('evaluates immutability rules on stored data', () => {
    expect(schema.collection('pets')?.isImmutable({ ownerId: 'o', signed: true })).toBe(true);
    expect(schema.collection('pets')?.isLocked({ ownerId: 'o', signed: true })).toBe(false);
  });

  it('refuses references to undeclared fields or collections', () => {
    expect(() =>
      defineSchema({
        name: 'bad',
        collections: {
          a: collection({
            fields: z.object({ x: z.string() }),
            references: { x: 'nowhere' },
            permissions: {},
          }),
        },
      }),
    ).toThrow(/unknown collection/);
    expect(() =>
      defineSchema({
        name: 'bad',
        collections: {
          a: collection({ fields: z.object({ x: z.string() }), references: { y: 'a' }, permissions: {} }),
        },
      }),
    ).toThrow(/not declared/);
  });
});

describe('sameRoles', () => {
  it('takes the same names in any order as the same roles, and nothing else', () => {
    expect(sameRoles(['admin', 'clinician'], ['clinician', 'admin'])).toBe(true);
    expect(sameRoles([], [])).toBe(true);
    expect(sameRoles(['admin'], ['admin', 'clinician'])).toBe(false);
    expect(sameRoles(['admin', 'admin', 'clinician'], ['admin', 'clinician', 'clinician'])).toBe(false);
    // Names compared one by one, never as one joined text.
    expect(sameRoles(['a\u0000b', 'c'], ['a', 'b\u0000c'])).toBe(false);
  });
});
