import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../auth/tokens';
import type { AuditEvent, SyncStore } from '../storage/sync-store';

/** Why a request was refused, as the audit trail records it. */
export type RefusalReason =
  | 'missing-token'
  | 'invalid-token'
  | 'expired-token'
  | 'ended-session'
  | 'signed-out'
  | 'forbidden'
  | 'password-change-due'
  | 'not-found';

export interface Refusal {
  /** Who asked, when a token said so: a valid one, or an expired one whose signature held. */
  caller: AuthContext | null;
  /** The caller's address, which stands for them when no token named them. */
  address: string;
  deviceId: string | null;
  /** The route as registered (`GET /v1/conflicts/:id`), never the URL: its ids and query are the caller's. */
  route: string;
  reason: RefusalReason;
}

export interface RefusalAuditLimits {
  /** Refusals written per minute in all. */
  perMinute: number;
  /** Refusals written per minute for one caller: a user, or an address when nobody signed in. */
  perCallerPerMinute: number;
}

const minuteMs = 60_000;

// A device id goes into the audit only when it looks like one: nothing else of a refused body is kept.
const devicePattern = /^[A-Za-z0-9_.:-]{1,128}$/;

function deviceOf(...sources: unknown[]): string | null {
  for (const source of sources) {
    if (typeof source !== 'object' || source === null || !Object.hasOwn(source, 'deviceId')) continue;
    const value: unknown = (source as { deviceId: unknown }).deviceId;
    if (typeof value === 'string' && devicePattern.test(value)) return value;
  }
  return null;
}

/**
 * The refusal an answer stands for, or null: 401, 403, and 404 (the answer that hides what another
 * clinic has, or what another user raised) on a route that needs a token. Public routes keep their
 * own audit (login) and unknown paths name no route.
 */
export function refusalOf(request: FastifyRequest, status: number): Refusal | null {
  const url = request.routeOptions.url;
  if (url === undefined || request.routeOptions.config.public) return null;
  const reason: RefusalReason | null =
    status === 401
      ? (request.tokenRefusal?.reason ?? 'invalid-token')
      : status === 403
        ? request.passwordChangeDue
          ? 'password-change-due'
          : 'forbidden'
        : status === 404
          ? 'not-found'
          : null;
  if (reason === null) return null;
  const holder =
    request.tokenRefusal && 'holder' in request.tokenRefusal ? request.tokenRefusal.holder : undefined;
  return {
    caller: request.auth ?? holder ?? null,
    address: request.ip,
    deviceId: deviceOf(request.query, request.body),
    route: `${request.method} ${url}`,
    reason,
  };
}

/**
 * Writes one audit event per refused request, within limits: a flood of bad tokens may cost at most
 * `perMinute` rows a minute, and one noisy caller at most `perCallerPerMinute` of them. Refusals
 * beyond that are counted, not written, and the count is written as one `suppressed:<n>` event when
 * the next minute's first refusal arrives, or when the server closes. Memory stays bounded too: only
 * callers that got a row this minute are remembered.
 */
export class RefusalAudit {
  private minute = Number.NaN;
  private written = 0;
  private suppressed = 0;
  private readonly writtenByCaller = new Map<string, number>();

  constructor(
    private readonly store: Pick<SyncStore, 'audit'>,
    private readonly now: () => Date,
    private readonly limits: RefusalAuditLimits,
  ) {}

  async record(refusal: Refusal): Promise<void> {
    const at = this.now();
    const key = refusal.caller
      ? `user\u0000${refusal.caller.tenant}\u0000${refusal.caller.userId}`
      : `address\u0000${refusal.address}`;
    await this.write(key, {
      tenant: refusal.caller?.tenant ?? '',
      at: at.toISOString(),
      userId: refusal.caller?.userId ?? '',
      deviceId: refusal.deviceId,
      action: 'refused',
      collection: null,
      recordId: null,
      route: refusal.route,
      outcome: refusal.reason,
    });
  }

  /**
   * An event that names nobody, on a public route (a refresh or logout with a token no row holds),
   * written within the same budgets as refusals, counted for the caller's address: a flood of
   * made-up tokens fills the audit no faster than a flood of bad bearer tokens.
   */
  async recordAnonymous(
    address: string,
    event: Pick<AuditEvent, 'action' | 'deviceId' | 'outcome'>,
  ): Promise<void> {
    await this.write(`address\u0000${address}`, {
      tenant: '',
      at: this.now().toISOString(),
      userId: '',
      deviceId: event.deviceId,
      action: event.action,
      collection: null,
      recordId: null,
      outcome: event.outcome,
    });
  }

  /** Writes `event` for the caller `key`, or counts it as suppressed past a budget. */
  private async write(key: string, event: AuditEvent): Promise<void> {
    const events: AuditEvent[] = [];
    const minute = Math.floor(Date.parse(event.at) / minuteMs);
    if (minute !== this.minute) {
      const summary = this.startMinute(new Date(event.at));
      if (summary) events.push(summary);
      this.minute = minute;
    }
    const byCaller = this.writtenByCaller.get(key) ?? 0;
    if (this.written >= this.limits.perMinute || byCaller >= this.limits.perCallerPerMinute) {
      this.suppressed += 1;
    } else {
      this.written += 1;
      this.writtenByCaller.set(key, byCaller + 1);
      events.push(event);
    }
    if (events.length > 0) await this.store.audit(events);
  }

  /** Writes the count of refusals left unwritten, if any: on close, so a flood's last minute is not lost. */
  async flush(): Promise<void> {
    const summary = this.startMinute(this.now());
    if (summary) await this.store.audit([summary]);
  }

  private startMinute(at: Date): AuditEvent | null {
    const suppressed = this.suppressed;
    this.written = 0;
    this.suppressed = 0;
    this.writtenByCaller.clear();
    if (suppressed === 0) return null;
    return {
      tenant: '',
      at: at.toISOString(),
      userId: '',
      deviceId: null,
      action: 'refused',
      collection: null,
      recordId: null,
      route: null,
      outcome: `suppressed:${suppressed}`,
    };
  }
}
