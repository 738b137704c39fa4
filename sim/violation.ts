export const invariantNames = [
  'convergence',
  'no-lost-write',
  'exactly-once',
  'immutability',
  'references',
] as const;
export type InvariantName = (typeof invariantNames)[number];

/** One broken invariant, said the way a person debugging the seed needs to read it. */
export interface Violation {
  invariant: InvariantName | 'liveness';
  message: string;
}
