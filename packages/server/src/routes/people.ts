import type { FastifyInstance } from 'fastify';
import {
  isPersonId,
  newPersonRequestSchema,
  outpostError,
  personChangeRequestSchema,
  uuidv7,
} from '@outpost/core';
import type { PeopleResponse, Person, PersonResponse, Schema } from '@outpost/core';
import { hashPassword } from '../auth/passwords';
import { passwordContext, refuseGuessable } from '../auth/password-strength';
import { administrator } from '../http/caller';
import { parseInWords } from '../http/errors';
import type { PersonChangeRefusal, PersonRow } from '../storage/people';
import { insertAudit } from '../storage/sync-store';

/** The roles a clinic may give: those its schema names in any permission, and the administrators'. */
export function rolesOf(schema: Schema, adminRoles: readonly string[]): string[] {
  const named = new Set<string>(adminRoles);
  for (const name of schema.collectionNames)
    for (const role of Object.keys(schema.collection(name)?.permissions ?? {})) named.add(role);
  return [...named].sort();
}

const refusals: Record<PersonChangeRefusal, string> = {
  'self-disable': 'you cannot disable yourself: ask another administrator',
  'self-demote': 'you cannot take your own administrator role away: ask another administrator',
  'last-admin-disable':
    "this is the clinic's last enabled administrator: make someone else an administrator first",
  'last-admin-demote':
    "this is the clinic's last enabled administrator: make someone else an administrator first",
};

function wire(p: PersonRow): Person {
  return {
    id: p.id,
    email: p.email,
    roles: p.roles,
    disabled: p.disabledAt !== null,
    disabledAt: p.disabledAt,
    createdAt: p.createdAt,
    passwordChangeDue: p.passwordChangeDue,
  };
}

/**
 * `GET` and `POST /v1/admin/users`, `PATCH /v1/admin/users/:id` (an addition to PROTOCOL.md,
 * docs/server.md; decision 0044): a clinic's administrators list, add and change its people. The
 * tenant is the token's; nobody is deleted (a person who leaves is disabled); a new password, other
 * roles or a disabling end every session of the person at once.
 */
export async function peopleRoutes(app: FastifyInstance): Promise<void> {
  const { store, adminRoles, endedSessions, schemaFor, now } = app.outpost;

  const refusal = "a clinic's people are managed by its administrators";

  /** Roles the clinic's schema does not name are refused: a typo would make a person who can do nothing. */
  const checkRoles = (tenant: string, roles: readonly string[]): void => {
    const known = rolesOf(schemaFor(tenant), adminRoles);
    const unknown = roles.filter((r) => !known.includes(r));
    if (unknown.length > 0)
      throw outpostError(
        'VALIDATION_FAILED',
        `unknown role ${unknown.map((r) => JSON.stringify(r)).join(', ')}: this clinic's roles are ${known.join(', ')}`,
        { roles: known },
      );
  };

  app.get('/v1/admin/users', async (request): Promise<PeopleResponse> => {
    const auth = administrator(request, adminRoles, refusal);
    const people = await store.people.list(auth.tenant);
    return {
      people: people.map(wire),
      roles: rolesOf(schemaFor(auth.tenant), adminRoles),
      adminRoles: [...adminRoles],
    };
  });

  app.post('/v1/admin/users', async (request, reply): Promise<PersonResponse> => {
    const auth = administrator(request, adminRoles, refusal);
    const { email, password, roles } = parseInWords(newPersonRequestSchema, request.body);
    checkRoles(auth.tenant, roles);
    refuseGuessable(password, passwordContext(email, auth.tenant), 'password');
    const passwordHash = await hashPassword(password);
    const at = now().toISOString();
    const person = await store.people.create(
      { id: uuidv7(now().getTime()), tenant: auth.tenant, email, passwordHash, roles },
      at,
      (trx, created) =>
        insertAudit(trx, [
          {
            tenant: auth.tenant,
            at,
            userId: auth.userId,
            deviceId: null,
            action: 'user-created',
            collection: null,
            recordId: created.id,
            outcome: 'ok',
          },
        ]),
    );
    // Any clinic's: login is by email alone, so one email names one person everywhere.
    if (person === null) throw outpostError('CONFLICT', 'someone already signs in with this email');
    void reply.status(201);
    return { person: wire(person) };
  });

  app.patch('/v1/admin/users/:id', async (request): Promise<PersonResponse> => {
    const auth = administrator(request, adminRoles, refusal);
    const { id } = request.params as { id: string };
    const change = parseInWords(personChangeRequestSchema, request.body);
    if (change.roles !== undefined) checkRoles(auth.tenant, change.roles);
    // Another clinic's person, or an id that names nobody: no one here, never looked up elsewhere.
    if (!isPersonId(id)) throw outpostError('NOT_FOUND', 'no such person');
    if (change.password !== undefined) {
      // Their email is context a guesser would try: read it (none for an id of nobody here).
      const email = (await store.people.credentials(auth.tenant, id))?.email ?? null;
      refuseGuessable(change.password, passwordContext(email, auth.tenant), 'password');
    }
    const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password);
    const at = now().toISOString();
    const outcome = await store.people.change(
      auth.tenant,
      id,
      {
        ...(change.roles !== undefined ? { roles: change.roles } : {}),
        ...(passwordHash !== undefined ? { passwordHash } : {}),
        ...(change.disabled !== undefined ? { disabled: change.disabled } : {}),
      },
      { callerId: auth.userId, adminRoles },
      at,
      async (trx, person, changed) => {
        if (changed.length === 0) return;
        await insertAudit(trx, [
          {
            tenant: auth.tenant,
            at,
            userId: auth.userId,
            deviceId: null,
            action: 'user-changed',
            collection: null,
            recordId: person.id,
            outcome: changed.join(','),
          },
        ]);
      },
    );
    if (!outcome.ok) {
      if (outcome.reason === 'not-found') throw outpostError('NOT_FOUND', 'no such person');
      throw outpostError('CONFLICT', refusals[outcome.reason]);
    }
    // Refused on this instance from now on; on the others once they read the person again (5 s).
    if (outcome.sessionGeneration !== null)
      endedSessions.ended(auth.tenant, id, outcome.sessionGeneration, now().getTime());
    return { person: wire(outcome.person) };
  });
}
