// Decision 0053: a password a person or an administrator sets must resist guessing, not only be
// 12 characters long. The rule's verdicts on what clinic staff really choose, and on what a guesser
// tries first.
import { describe, expect, it } from 'vitest';
import { guessablePassword, passwordContext } from '../src/auth/password-strength';

const context = passwordContext('chisomo.banda@hillside-clinic.org', 'hillside-clinic');

describe('a password too easy to guess', () => {
  it('refuses common passwords, keyboard runs, sequences and repeats, however long', () => {
    for (const password of ['password1234', '123456789012', 'qwertyuiopas', 'aaaaaaaaaaaa', 'abcabcabcabc'])
      expect(guessablePassword(password, []), password).toMatch(/^password is too easy to guess: /);
  });

  it('refuses the person’s own email or name, and the clinic’s, as its core', () => {
    for (const password of ['chisomo.banda1', 'hillside-clinic1', 'hillsideclinic'])
      expect(guessablePassword(password, context), password).not.toBeNull();
    // The same words are fine for someone they say nothing of.
    expect(guessablePassword('hillside-clinic1', [])).toBeNull();
  });

  it('says why and what to do instead, in words a person can act on', () => {
    expect(guessablePassword('123456789012', [])).toBe(
      'password is too easy to guess: This is a commonly used password. Add more words that are less common.',
    );
  });

  it('takes passphrases a clinician can remember', () => {
    for (const password of [
      'only chisomo knows this',
      'the midwife chose this one',
      'correct horse battery staple',
      'Mangoes ripen in November',
      'blue kettle, four spoons',
    ])
      expect(guessablePassword(password, context), password).toBeNull();
  });

  it('names the context a guesser would try: the email, its parts, the clinic and its parts', () => {
    expect(passwordContext('Chisomo.Banda@Hillside-Clinic.org', 'hillside-clinic')).toEqual(
      expect.arrayContaining([
        'outpost',
        'chisomo.banda@hillside-clinic.org',
        'chisomo',
        'banda',
        'hillside',
        'clinic',
      ]),
    );
    expect(passwordContext(null, 'clinic-a')).toEqual(['outpost', 'clinic-a', 'clinic']);
  });
});
