/**
 * Whether a new password is too easy to guess (decision 0053). Length alone (12 characters, core's
 * newPasswordSchema) lets through `123456789012`, `password1234` or the clinic's own name twice:
 * the first guesses of anyone who copies a tablet's stored session or the server's hashes. So a
 * password a person or an administrator chooses must also resist guessing, as NIST SP 800-63B asks
 * (refuse commonly used, repetitive and context-specific ones), by zxcvbn's estimate: its
 * dictionaries of common passwords, names and words, keyboard patterns, sequences and repeats,
 * and the words of the context given (the person's email, the clinic).
 *
 * Checked where a password is set (an administrator adding a person or giving a new one, a person
 * choosing their own, the first administrator of `npm start`), never at sign-in: a password set
 * before this rule keeps working until it is changed.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';
import { outpostError } from '@outpost/core';

/**
 * zxcvbn's score 3, "safely unguessable": about 10^8 guesses and more. Scrypt (auth/passwords.ts)
 * makes each guess cost a stolen hash's holder tens of milliseconds, and sign-in is rate-limited.
 * Score 4 (10^10) would refuse many passphrases clinicians can remember.
 */
const minimumScore = 3;

// The dictionaries take about 150 ms to load: once, at the first password checked, not at start.
let estimator: ZxcvbnFactory | undefined;

function estimate(password: string, context: readonly string[]) {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
  });
  return estimator.check(password, [...context]);
}

/**
 * The words of a password's context a guesser would try first: the email, its name and domain and
 * their parts, the clinic's id and its parts, and the product's name.
 */
export function passwordContext(email: string | null, tenant: string): string[] {
  const words = new Set<string>(['outpost']);
  const add = (value: string) => {
    const v = value.trim().toLowerCase();
    if (v === '') return;
    words.add(v);
    for (const part of v.split(/[^a-z0-9]+/)) if (part.length >= 3) words.add(part);
  };
  if (email !== null) {
    add(email);
    // Whole, its name and its domain each stand as a word a guesser joins to digits.
    const at = email.lastIndexOf('@');
    if (at > 0) {
      add(email.slice(0, at));
      add(email.slice(at + 1));
    }
  }
  add(tenant);
  return [...words];
}

/**
 * Why `password` is too easy to guess, in words a person can act on; null when it is not. The
 * password has passed core's newPasswordSchema (its length) already.
 */
export function guessablePassword(password: string, context: readonly string[]): string | null {
  const result = estimate(password, context);
  if (result.score >= minimumScore) return null;
  const why = result.feedback.warning ?? 'It would be among the first guesses tried.';
  const how = result.feedback.suggestions[0] ?? 'Use a few words that are not common.';
  return `password is too easy to guess: ${why} ${how}`;
}

/** Refuses, as the request's shape would be (VALIDATION_FAILED naming `field`), a guessable password. */
export function refuseGuessable(password: string, context: readonly string[], field: string): void {
  const problem = guessablePassword(password, context);
  if (problem !== null) throw outpostError('VALIDATION_FAILED', problem, [{ path: field, message: problem }]);
}
