import { describe, expect, it } from 'vitest';
import { isPersonId, newPersonRequestSchema, personChangeRequestSchema } from '../index';

/** The messages a request is refused with; [] when it is accepted. */
function refusals(schema: typeof newPersonRequestSchema | typeof personChangeRequestSchema, body: unknown) {
  const parsed = schema.safeParse(body);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.message);
}

const midwife = { email: 'Grace@Clinic-A.test ', password: 'a long first password', roles: ['clinician'] };

describe('people of a clinic (decision 0044)', () => {
  it('keeps an email trimmed and in lower case, as login matches it', () => {
    expect(newPersonRequestSchema.parse(midwife)).toEqual({
      email: 'grace@clinic-a.test',
      password: 'a long first password',
      roles: ['clinician'],
    });
  });

  it('refuses an email of another shape, an empty one, and one past 320 characters, saying so', () => {
    expect(refusals(newPersonRequestSchema, { ...midwife, email: 'grace' })).toEqual([
      'email must look like name@example.org',
    ]);
    expect(refusals(newPersonRequestSchema, { ...midwife, email: 'grace@clinic' })).toHaveLength(1);
    expect(refusals(newPersonRequestSchema, { ...midwife, email: ' ' })).toContain('email is empty');
    expect(
      refusals(newPersonRequestSchema, { ...midwife, email: `${'a'.repeat(310)}@clinic.test` }),
    ).toContain('email must be at most 320 characters');
    expect(refusals(newPersonRequestSchema, { ...midwife, email: 5 })).toEqual(['email must be text']);
  });

  it('wants a password of 12 to 1024 characters', () => {
    expect(refusals(newPersonRequestSchema, { ...midwife, password: 'x'.repeat(11) })).toEqual([
      'password must be at least 12 characters',
    ]);
    expect(refusals(newPersonRequestSchema, { ...midwife, password: 'x'.repeat(12) })).toEqual([]);
    expect(refusals(newPersonRequestSchema, { ...midwife, password: 'x'.repeat(1024) })).toEqual([]);
    expect(refusals(newPersonRequestSchema, { ...midwife, password: 'x'.repeat(1025) })).toEqual([
      'password must be at most 1024 characters',
    ]);
  });

  it('wants at least one role, each named once', () => {
    expect(refusals(newPersonRequestSchema, { ...midwife, roles: [] })).toEqual([
      'roles must name at least one role',
    ]);
    expect(refusals(newPersonRequestSchema, { ...midwife, roles: 'admin' })).toEqual([
      'roles must be a list of role names',
    ]);
    expect(newPersonRequestSchema.parse({ ...midwife, roles: ['admin', 'admin'] }).roles).toEqual(['admin']);
    expect(refusals(newPersonRequestSchema, { ...midwife, extra: 1 })).toHaveLength(1);
  });

  it('takes a change of roles, password or disabled, at least one', () => {
    expect(personChangeRequestSchema.parse({ disabled: true })).toEqual({ disabled: true });
    expect(refusals(personChangeRequestSchema, {})).toEqual([
      'name what changes: roles, password or disabled',
    ]);
    expect(refusals(personChangeRequestSchema, { disabled: 'yes' })).toEqual([
      'disabled must be true or false',
    ]);
    expect(refusals(personChangeRequestSchema, { password: 'short' })).toEqual([
      'password must be at least 12 characters',
    ]);
    expect(refusals(personChangeRequestSchema, { email: 'x@y.z' })).toHaveLength(2);
  });

  it('takes as a person id only what could name one', () => {
    expect(isPersonId('0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b')).toBe(true);
    for (const id of ['', 'x'.repeat(129), 'a\u0000b', '\ud800']) expect(isPersonId(id), id).toBe(false);
  });
});
