/**
 * The one rule for a request the server refuses with 401 (for the record and the file transports
 * alike): with a `renewToken` hook, ask it for another token and send the request once more with
 * it. Once only, and only with a token other than the refused one, so a refusal that renewing
 * does not cure ends as the request's answer instead of a loop. The caller's request must be safe
 * to send twice: the server authenticates before it reads a body, so a refused request changed
 * nothing.
 */
export async function sendRenewingOnce(
  getToken: (() => Promise<string | null>) | undefined,
  renewToken: ((rejected: string | null) => Promise<string | null>) | undefined,
  send: (token: string | null) => Promise<Response>,
): Promise<Response> {
  const token = (await getToken?.()) ?? null;
  const res = await send(token);
  if (res.status !== 401 || !renewToken) return res;
  let renewed: string | null;
  try {
    renewed = await renewToken(token);
  } catch (err) {
    await res.body?.cancel().catch(() => undefined);
    throw err;
  }
  if (!renewed || renewed === token) return res;
  await res.body?.cancel().catch(() => undefined);
  return send(renewed);
}
