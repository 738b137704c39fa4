import { outpostError, sameRoles } from '@outpost/core';

/**
 * The roles the device checks writes against, as `createSyncClient` and `setRoles` take them:
 * a frozen copy, or null for none known. Refused: anything but an array of role names (the
 * server's tokens carry 1-64 character names), so a typo fails where it is made, not as every
 * write refused.
 */
export function checkRoles(roles: readonly string[] | null | undefined): readonly string[] | null {
  if (roles === null || roles === undefined) return null;
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string' && r.length > 0 && r.length <= 64)) {
    throw outpostError(
      'VALIDATION_FAILED',
      'roles must be an array of role names (1-64 characters each), or null',
      {
        roles,
      },
    );
  }
  return Object.freeze([...new Set(roles)]);
}

/** The same roles, whatever their order (core's `sameRoles`, as the server judges them); null only equals null. */
export function sameKnownRoles(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return sameRoles(a, b);
}
