import { endSessionsResponseSchema } from '@outpost/core';
import type { TokenSession } from '@outpost/client';

/**
 * GET (or POST, PUT, PATCH) `path` on the server this page came from, with the person's token: refreshed first when
 * due, and once more when the server refuses one the device took for valid (its clock is wrong),
 * as the sync client does. A refusal throws the server's own message (PROTOCOL.md's error shape);
 * an answer is checked by `parse` before a page draws it.
 */
export async function fetchJson<T>(
  path: string,
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>,
  parse: (body: unknown) => T,
  /** A POST (or `method`) of this JSON body instead of a GET. */
  post?: unknown,
  method: 'POST' | 'PUT' | 'PATCH' = 'POST',
): Promise<T> {
  const send = (token: string | null) =>
    fetch(path, {
      ...(post !== undefined ? { method, body: JSON.stringify(post) } : {}),
      headers: {
        ...(post !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
    });
  const token = await tokens.getToken();
  let res = await send(token);
  if (res.status === 401) {
    const renewed = await tokens.refreshNow(token).catch(() => null);
    if (renewed !== null && renewed !== token) res = await send(renewed);
  }
  const body: unknown = await res.json();
  if (!res.ok)
    throw new Error((body as { error?: { message?: string } }).error?.message ?? `HTTP ${res.status}`);
  return parse(body);
}

/**
 * Ends every session of `userId` on every device (`POST /v1/auth/end-sessions`): an administrator
 * for anyone of the clinic, anyone for themselves. Answers how many were open.
 */
export async function endSessionsOf(
  userId: string,
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>,
): Promise<number> {
  const { ended } = await fetchJson(
    '/v1/auth/end-sessions',
    tokens,
    (b) => endSessionsResponseSchema.parse(b),
    {
      userId,
    },
  );
  return ended;
}
