import type { FastifyInstance } from 'fastify';
import { outpostError } from '@outpost/core';
import type { RecordResponse } from '@outpost/core';
import { caller } from '../http/caller';

export async function recordRoutes(app: FastifyInstance): Promise<void> {
  const { store, schemaFor } = app.outpost;

  app.get<{ Params: { collection: string; id: string } }>(
    '/v1/records/:collection/:id',
    async (request): Promise<RecordResponse> => {
      const auth = caller(request);
      const { collection, id } = request.params;
      const schema = schemaFor(auth.tenant);
      if (!schema.collection(collection))
        throw outpostError('NOT_FOUND', `no collection named "${collection}"`);
      if (!schema.can(auth.roles, collection, 'read'))
        throw outpostError('FORBIDDEN', `your role may not read ${collection}`);
      // Looked up within the caller's tenant only: another clinic's record is simply not found.
      const record = await store.getRecord(auth.tenant, collection, id);
      if (!record) throw outpostError('NOT_FOUND', `${collection} ${id} not found`);
      return {
        collection,
        id,
        version: record.version,
        deleted: record.deleted,
        data: record.deleted ? null : record.data,
        updatedAt: record.updatedAt,
        updatedBy: record.updatedBy,
        hlc: record.hlc,
      };
    },
  );
}
