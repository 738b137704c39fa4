import { describe, expect, it } from 'vitest';
import { OutpostError } from '@outpost/core';
import { appRefusalCause, refusalCause } from './refusal-words';

describe('refusalCause', () => {
  it('says each reason the conflict routes give, without the record id of their text', () => {
    const said = (reason: string) =>
      refusalCause(new OutpostError('CONFLICT', 'patients 0193-aa can no longer change', { reason }));
    expect(said('frozen-attempt')).toBe(
      'the record was signed or locked, so this change can never be applied; it stays in the archive',
    );
    expect(said('frozen')).toBe('the record was signed or locked since, so nothing may change it');
    expect(said('record-gone')).toBe('the record no longer exists on the server');
    expect(said('schema-gone')).toBe("the clinic's records no longer include this kind of record");
    expect(said('nothing-to-undo')).toBe('its resolution was already taken back');
    expect(said('changed-since')).toMatch(/^the record changed after this resolution/);
    for (const reason of ['frozen', 'record-gone', 'changed-since'])
      expect(said(reason)).not.toContain('0193');
  });

  it('says a collision by the fields edited since, as the dialog does', () => {
    const err = new OutpostError('CONFLICT', 'patients x: village changed since', {
      fields: ['village', 'dateOfBirth'],
      deleted: false,
    });
    expect(refusalCause(err)).toBe('someone changed village and date of birth after this conflict');
  });

  it('says the request-level refusals in words', () => {
    expect(refusalCause(new OutpostError('FORBIDDEN', 'your role may not resolve patients conflicts'))).toBe(
      'your role may not settle conflicts on these records',
    );
    expect(refusalCause(new OutpostError('NOT_FOUND', 'conflict c-1 not found'))).toBe(
      'the server no longer has this conflict',
    );
    expect(refusalCause(new OutpostError('UNAUTHORIZED', 'token expired'))).toBe(
      'your sign-in has expired. Sign in again, then try again',
    );
    expect(refusalCause(new OutpostError('RATE_LIMITED', 'slow down'))).toBe(
      'the server is busy. Try again in a minute',
    );
    expect(refusalCause(new TypeError('Failed to fetch'))).toBe(
      'the server could not be reached. Try again once the tablet is online',
    );
  });

  it('names the fields a merged version got wrong, by label', () => {
    const issues = new OutpostError('VALIDATION_FAILED', 'invalid patients data', [
      { path: 'dateOfBirth', message: 'Invalid date' },
      { path: 'allergies.0', message: 'Expected string' },
    ]);
    expect(refusalCause(issues)).toBe('the server did not accept date of birth and allergies');
    const unknown = new OutpostError('VALIDATION_FAILED', 'unknown fields for patients', {
      fields: ['nickName'],
    });
    expect(refusalCause(unknown)).toBe('the server did not accept nick name');
    // A clinic's own validation hook writes its message for people: it is kept.
    expect(refusalCause(new OutpostError('VALIDATION_FAILED', 'a dose must be above zero'))).toBe(
      'the server did not accept the values (a dose must be above zero)',
    );
  });

  it("keeps the server's text only for a refusal it does not know", () => {
    expect(refusalCause(new OutpostError('CONFLICT', 'something new'))).toBe('something new');
  });

  it("says an app's own refusal by its message, and an Outpost refusal or a lost connection as above", () => {
    expect(appRefusalCause(new Error('The clinic is closed for audit.'))).toBe(
      'The clinic is closed for audit',
    );
    expect(appRefusalCause('ward locked')).toBe('ward locked');
    expect(appRefusalCause(new Error(''))).toBe('it was not accepted');
    expect(appRefusalCause(new OutpostError('NOT_FOUND', 'conflict c-1 not found'))).toBe(
      'the server no longer has this conflict',
    );
    expect(appRefusalCause(new TypeError('Failed to fetch'))).toBe(
      'the server could not be reached. Try again once the tablet is online',
    );
  });
});
