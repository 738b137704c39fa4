/**
 * The hub's side of v1, towards its upstream: it signs in with a service account, pushes and pulls
 * as any device does, and checks every answer against core's wire schemas, so a wrong upstream
 * (an old server, a proxy's error page) is an error here, never data written into the hub.
 */
import { loginResponseSchema, pullResponseSchema, pushResponseSchema } from '@outpost/core';
import type { PullResponse, PushOp, PushResponse } from '@outpost/core';
import type { z } from 'zod';

export interface UpstreamAccount {
  /** The tenant this account serves: the hub's local tenant and the upstream's must be the same. */
  readonly tenant: string;
  readonly email: string;
  readonly password: string;
}

export interface UpstreamClientOptions {
  readonly url: string;
  readonly account: UpstreamAccount;
  /** Names the hub in the upstream's journal and audit trail (the push's clientId and deviceId). */
  readonly deviceId: string;
  readonly timeoutMs: number;
  readonly fetch: typeof fetch;
}

/** The hub's word for how an exchange with its upstream failed (docs/dialects/hub.md). */
export type UpstreamFailureCode = 'UPSTREAM_UNREACHABLE' | 'UPSTREAM_REFUSED' | 'UPSTREAM_ERROR';

/**
 * The upstream could not be reached, refused the hub's account (a wrong password, an account of
 * another tenant or without the rights), or answered something that is not v1. The message is the
 * hub's own, naming the upstream's status and code but never its free text: that may quote a
 * record, and the message is kept (the hub's status) and shown to anyone who syncs.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  /** The upstream's HTTP status; null when there was no answer. */
  readonly status: number | null;
  /** The upstream's error code, when it answered in PROTOCOL.md's shape. */
  readonly code: string | null;
  readonly failure: UpstreamFailureCode;
  /**
   * The error's `details`, when the upstream answered in PROTOCOL.md's shape: a 410 of a restored
   * upstream says `{ reason: 'restored', backupTakenAt? }` there (decision 0050). Never part of the
   * message, which is kept and shown.
   */
  readonly details: unknown;

  constructor(
    message: string,
    options: { status?: number; code?: string | null; refused?: boolean; details?: unknown } = {},
  ) {
    super(message);
    this.status = options.status ?? null;
    this.code = options.code ?? null;
    this.details = options.details;
    // A refused account is no passing fault of the link: someone must change the hub's settings.
    this.failure = options.refused
      ? 'UPSTREAM_REFUSED'
      : this.status === null
        ? 'UPSTREAM_UNREACHABLE'
        : 'UPSTREAM_ERROR';
  }
}

interface Answer {
  status: number;
  body: unknown;
}

export class UpstreamClient {
  private token: string | null = null;
  private readonly base: string;

  constructor(private readonly options: UpstreamClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  async push(ops: readonly PushOp[]): Promise<PushResponse> {
    const { deviceId } = this.options;
    const body = { clientId: deviceId, deviceId, ops };
    return this.signedIn('POST', '/v1/sync/push', body, pushResponseSchema);
  }

  async pull(cursor: string | null, limit: number): Promise<PullResponse> {
    const query = new URLSearchParams({ limit: String(limit), deviceId: this.options.deviceId });
    if (cursor !== null) query.set('cursor', cursor);
    return this.signedIn('GET', `/v1/sync/pull?${query.toString()}`, undefined, pullResponseSchema);
  }

  /** A request with the account's token, signing in first or again when the token was refused. */
  private async signedIn<T>(method: string, path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const token = this.token ?? (await this.signIn());
      const answer = await this.send(method, path, body, token);
      // A token that expired (or a server restarted with a new secret): sign in once more.
      if (answer.status === 401 && attempt === 0) {
        this.token = null;
        continue;
      }
      return this.read(answer, path, schema);
    }
  }

  private async signIn(): Promise<string> {
    const { account } = this.options;
    const answer = await this.send('POST', '/v1/auth/login', {
      email: account.email,
      password: account.password,
    });
    if (answer.status === 401 || answer.status === 403) {
      throw new UpstreamError(
        `the upstream refused to sign in the hub's account ${account.email} (${answer.status}): check its email and password`,
        { status: answer.status, code: codeOf(answer.body), refused: true },
      );
    }
    const login = this.read(answer, '/v1/auth/login', loginResponseSchema);
    // The upstream names the tenant from the account; syncing it into another tenant here would
    // mix two clinics' records.
    if (login.user.tenant !== account.tenant) {
      throw new UpstreamError(
        `the hub's account ${account.email} belongs to tenant ${login.user.tenant} upstream, not ${account.tenant}: sign the hub in with an account of ${account.tenant}`,
        { status: answer.status, refused: true },
      );
    }
    this.token = login.token;
    return login.token;
  }

  private async send(method: string, path: string, body: unknown, token?: string): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.options.fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      throw new UpstreamError(`the upstream ${this.base} could not be reached: ${describe(err)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new UpstreamError(`the upstream's answer was cut off: ${describe(err)}`, {
        status: response.status,
      });
    }
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: response.status, body: parsed };
  }

  private read<T>(answer: Answer, path: string, schema: z.ZodType<T>): T {
    const route = path.split('?')[0] ?? path;
    if (answer.status < 200 || answer.status >= 300) {
      const code = codeOf(answer.body);
      const said = `${answer.status}${code === null ? '' : ` ${code}`}`;
      // Signed in, and still refused: the account lacks the rights, or was disabled meanwhile.
      if (answer.status === 401 || answer.status === 403) {
        const { account } = this.options;
        throw new UpstreamError(
          `the upstream refused the hub's account ${account.email} on ${route} (${said}): check that it may sync every collection of ${account.tenant}`,
          { status: answer.status, code, refused: true },
        );
      }
      throw new UpstreamError(`the upstream answered ${said} to ${route}`, {
        status: answer.status,
        code,
        details: detailsOf(answer.body),
      });
    }
    const parsed = schema.safeParse(answer.body);
    if (!parsed.success) {
      throw new UpstreamError(`the upstream's answer to ${route} is not Outpost v1`, {
        status: answer.status,
      });
    }
    return parsed.data;
  }
}

/** An error code as PROTOCOL.md spells them: anything else from an upstream is not repeated. */
const safeCode = /^[A-Z][A-Z0-9_]{0,63}$/;

/** The code of an answer in PROTOCOL.md's error shape; its message is the upstream's free text, left out. */
function codeOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return null;
  const { code } = error as { code?: unknown };
  return typeof code === 'string' && safeCode.test(code) ? code : null;
}

/** The `details` of an answer in PROTOCOL.md's error shape, if any. */
function detailsOf(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { details?: unknown }).details;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
