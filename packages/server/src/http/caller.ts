import { outpostError } from '@outpost/core';
import type { AuthContext } from '../auth/tokens';

/** The caller of an authenticated route. The tenant comes from the verified token only. */
export function caller(request: { auth: AuthContext | null }): AuthContext {
  if (!request.auth) throw outpostError('UNAUTHORIZED', 'sign in first');
  return request.auth;
}

/** Whether any of the caller's roles is an administrator's (`adminRoles`). */
export function isAdministrator(auth: AuthContext, adminRoles: readonly string[]): boolean {
  return auth.roles.some((r) => adminRoles.includes(r));
}

/**
 * The caller of a route for administrators: anyone else is refused 403 with `refusal`, before
 * anything of the request is read, so a caller who may not use the route learns nothing from it.
 */
export function administrator(
  request: { auth: AuthContext | null },
  adminRoles: readonly string[],
  refusal: string,
): AuthContext {
  const auth = caller(request);
  if (!isAdministrator(auth, adminRoles)) throw outpostError('FORBIDDEN', refusal);
  return auth;
}
