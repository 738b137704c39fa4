import { outpostError } from '@outpost/core';
import type { FastifyInstance } from 'fastify';

/**
 * Every route's JSON body parser but push's: Fastify's own, which refuses a body with a key named
 * __proto__ or a constructor.prototype, since code that copies objects by assignment turns such a
 * key into a prototype. Fastify calls that body "not valid JSON"; this says what it is. Push
 * refuses such keys op by op instead (routes/push.ts).
 */
export function useJsonBodies(app: FastifyInstance): void {
  const fastifys = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    fastifys(request, text, (err, value) => {
      if (err && parsesAsJson(text)) {
        done(
          outpostError(
            'VALIDATION_FAILED',
            'the body has a key named __proto__ or a constructor.prototype, which are not accepted',
          ),
          undefined,
        );
        return;
      }
      done(err, value);
    });
  });
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
