import type { FastifyInstance } from 'fastify';
import type { Action, SchemaInfoResponse } from '@outpost/core';
import { caller } from '../http/caller';

const actions: readonly Action[] = ['read', 'create', 'update', 'delete', 'resolve', 'override'];

/**
 * `GET /v1/schema`: the schema of the caller's tenant and what their roles may do in each
 * collection. Every signed-in caller may read it: it names no record, and the permissions are
 * their own. So it answers a person whose password change is due too (decision 0047): a sign-in
 * page reads it before the change.
 */
export async function schemaRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/v1/schema',
    { config: { whilePasswordChangeDue: true } },
    async (request): Promise<SchemaInfoResponse> => {
      const auth = caller(request);
      const schema = app.outpost.schemaFor(auth.tenant);
      return {
        name: schema.name,
        collections: schema.collectionNames.map((name) => ({
          name,
          idStrategy: schema.collection(name)?.idStrategy ?? 'client',
          actions: actions.filter((action) => schema.can(auth.roles, name, action)),
        })),
      };
    },
  );
}
