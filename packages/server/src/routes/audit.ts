import type { FastifyInstance } from 'fastify';
import { auditQuerySchema } from '@outpost/core';
import type { AuditLogEvent, AuditResponse } from '@outpost/core';
import { AuditCursorCodec } from '../http/audit-cursor';
import { administrator } from '../http/caller';
import { parseQuery } from '../http/errors';
import type { AuditEntry } from '../storage/sync-store';

export interface AuditRouteOptions {
  /** Keys the cursors' MAC (AuditCursorCodec). */
  jwtSecret: string;
}

/** Events whose record is a person of the clinic: their email is answered beside the id. */
const aboutPeople = new Set(['user-created', 'user-changed', 'sessions-ended']);

function toWireEvent(e: AuditEntry, emails: ReadonlyMap<string, string>): AuditLogEvent {
  return {
    ...(e.seq !== undefined ? { seq: e.seq } : {}),
    ...(e.opId !== undefined ? { opId: e.opId } : {}),
    at: e.at,
    userId: e.userId === '' ? null : e.userId,
    email: emails.get(e.userId) ?? null,
    deviceId: e.deviceId,
    action: e.action,
    ...(e.opType !== undefined ? { opType: e.opType } : {}),
    collection: e.collection,
    recordId: e.recordId,
    ...(aboutPeople.has(e.action)
      ? { recordEmail: e.recordId === null ? null : (emails.get(e.recordId) ?? null) }
      : {}),
    route: e.route,
    outcome: e.outcome,
  };
}

/**
 * The clinic's audit trail over HTTP (decision 0035), for administrators: its audit events and
 * push ops, newest first, a page at a time. Read-only; the tenant is the token's, whatever the
 * query names. Who, which device, when, what, which record and what came of it: the trail never
 * held record contents, so neither does this.
 */
export async function auditRoutes(app: FastifyInstance, { jwtSecret }: AuditRouteOptions): Promise<void> {
  const { store, adminRoles } = app.outpost;
  const cursors = new AuditCursorCodec(jwtSecret);

  app.get('/v1/audit', async (request): Promise<AuditResponse> => {
    // Before the query is read: a caller who may not read the trail learns nothing of its filters.
    const auth = administrator(request, adminRoles, 'the audit log is for administrators');
    const query = parseQuery(auditQuerySchema, request.query, 'audit query');
    const before = query.cursor === undefined ? undefined : cursors.decode(auth.tenant, query.cursor);

    let userId = query.userId;
    if (query.email !== undefined) {
      // Another clinic's person is no one here: the same empty page as an email nobody has.
      const user = await store.findUserByEmail(query.email);
      if (!user || user.tenant !== auth.tenant || (userId !== undefined && userId !== user.id))
        return { events: [], nextCursor: null };
      userId = user.id;
    }

    // A record with those that name it (a patient's visits and notes): the schema's references.
    const related =
      query.related === true && query.collection !== undefined && query.recordId !== undefined
        ? await store.relatedRecords(auth.tenant, app.outpost.schemaFor(auth.tenant), {
            collection: query.collection,
            id: query.recordId,
          })
        : null;
    const page = await store.listAudit(
      auth.tenant,
      {
        userId,
        deviceId: query.deviceId,
        actions: query.action,
        ...(related === null
          ? { collection: query.collection, recordId: query.recordId }
          : { records: related.records }),
        from: query.from,
        to: query.to,
      },
      { before, limit: query.limit + 1 },
    );
    const shown = page.slice(0, query.limit);
    const emails = await store.emailsOf(
      auth.tenant,
      shown.flatMap((e) => [
        ...(e.userId === '' ? [] : [e.userId]),
        ...(aboutPeople.has(e.action) && e.recordId !== null ? [e.recordId] : []),
      ]),
    );
    const last = shown.at(-1);
    const nextCursor =
      page.length > query.limit && last !== undefined
        ? cursors.encode(
            auth.tenant,
            last.source === 'op'
              ? { at: last.at, source: 'op', opId: last.opId ?? '' }
              : { at: last.at, source: 'event', seq: last.seq ?? 0 },
          )
        : null;
    return {
      events: shown.map((e) => toWireEvent(e, emails)),
      nextCursor,
      ...(related !== null
        ? { related: { records: related.records.length, truncated: related.truncated } }
        : {}),
    };
  });
}
