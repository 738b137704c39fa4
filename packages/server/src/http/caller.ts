import { outpostError } from '@outpost/core';
import type { AuthContext } from '../auth/tokens';

/** The caller of an authenticated route. The tenant comes from the verified token only. */
export function caller(request: { auth: AuthContext | null }): AuthContext {
  if (!request.auth) throw outpostError('UNAUTHORIZED', 'sign in first');
  return request.auth;
}
