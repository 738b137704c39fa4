// Which token a person's sync client sends while people sign out and in on a shared tablet.
import { describe, expect, it } from 'vitest';
import { tokenFor } from '../src/session';
import type { Session } from '../src/session';

const session = (tenant: string, userId: string, token: string): Session => ({
  token,
  expiresAt: '2026-11-23T20:00:00.000Z',
  email: `${userId}@${tenant}.test`,
  userId,
  tenant,
  roles: ['clinician'],
});

describe('tokenFor', () => {
  const nurse = session('clinic-a', 'nurse-1', 'nurse-first-token');

  it('sends the same person’s newest sign-in, as after signing in again on an expired token', () => {
    expect(tokenFor(nurse, nurse)).toBe('nurse-first-token');
    expect(tokenFor(nurse, session('clinic-a', 'nurse-1', 'nurse-renewed-token'))).toBe(
      'nurse-renewed-token',
    );
  });

  it('never sends another person’s token, of another clinic or the same one', () => {
    expect(tokenFor(nurse, session('vet-a', 'vet-1', 'vet-token'))).toBe('nurse-first-token');
    expect(tokenFor(nurse, session('clinic-a', 'nurse-2', 'colleague-token'))).toBe('nurse-first-token');
    expect(tokenFor(nurse, session('vet-a', 'nurse-1', 'same-id-other-clinic'))).toBe('nurse-first-token');
  });

  it('keeps the owner’s own token once they signed out', () => {
    expect(tokenFor(nurse, null)).toBe('nurse-first-token');
  });
});
