import type { ConflictStrategy } from '../schema/define-schema';

/**
 * The strategy that settles a conflict: the collection's own, unless the op asks for another and
 * the sender holds a role allowed to override (an admin settling an emergency, seed 000).
 */
export function chooseStrategy(
  collectionStrategy: ConflictStrategy,
  requested: ConflictStrategy | undefined,
  mayOverride: boolean,
): ConflictStrategy {
  return requested !== undefined && mayOverride ? requested : collectionStrategy;
}
