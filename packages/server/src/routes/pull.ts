import type { FastifyInstance } from 'fastify';
import { pullQuerySchema } from '@outpost/core';
import { caller } from '../http/caller';
import { parseQuery } from '../http/errors';
import {
  checkCoverage,
  checkCursor,
  checkReached,
  collectionsToPull,
  isEveryCollection,
} from '../pull/pull-scope';

const changesOpen = Buffer.from('{"changes":[');

export async function pullRoutes(app: FastifyInstance): Promise<void> {
  const { store, schemaFor, cursors, now } = app.outpost;

  app.get('/v1/sync/pull', async (request, reply) => {
    const auth = caller(request);
    const query = parseQuery(pullQuerySchema, request.query, 'pull query');
    const schema = schemaFor(auth.tenant);
    const collections = collectionsToPull(schema, auth.roles, query.collections);
    // The database's epoch: a cursor another database issued (one a restore replaced) is 410 here.
    const epoch = await store.epoch();
    const cursor = query.cursor ? cursors.decode(auth.tenant, query.cursor, epoch) : null;
    // Before the page: a cursor that passed by records of a collection it did not read must not
    // go on as if it had them (410, and the client pulls from the start).
    await checkCoverage(store, auth.tenant, cursor, collections);
    const after = cursor?.position ?? 0;
    const page = await store.pullChanges(
      auth.tenant,
      after,
      query.limit,
      collections,
      isEveryCollection(schema, collections),
    );
    // The purge horizon as the page's own snapshot saw it (pullStart reads it in a statement of its
    // own, a round trip per page); an empty page carries none, so it is read after: a later horizon
    // can only refuse a cursor that an earlier one would have let through, never the reverse. A
    // page with changes shows the tenant got past the cursor; an empty one is where a cursor from
    // before a restore of the database shows (checkReached).
    let horizon = page.horizon;
    if (horizon === null) {
      const positions = await store.positions(auth.tenant);
      checkReached(after, positions.position, auth.tenant, epoch);
      horizon = positions.purgedThrough;
    }
    checkCursor(cursor, horizon);
    // The device's last sync, for the statistics and their "has not synced" alert: a tablet that
    // only reads syncs too. Once per pull, at the page that ends it (a write per page would cost a
    // first sync of 20,000 records twenty commits).
    if (query.deviceId && !page.hasMore)
      await store.touchDevice(auth.tenant, auth.userId, query.deviceId, now().toISOString());
    const cursorText = cursors.encode(
      auth.tenant,
      { position: page.last ?? after, horizon, collections },
      epoch.id,
    );
    // The changes come from the store as JSON text (each record's data as stored, never re-parsed),
    // already as bytes: parsing and re-serialising every record was most of a pull's cost. The
    // shape is pullResponseSchema.
    const body = Buffer.concat([
      changesOpen,
      page.changes,
      Buffer.from(`],"cursor":${JSON.stringify(cursorText)},"hasMore":${page.hasMore}}`),
    ]);
    return reply.type('application/json; charset=utf-8').send(body);
  });
}
