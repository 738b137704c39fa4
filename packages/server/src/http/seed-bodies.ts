import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * JSON the way the seeds' documents send it: their curl examples pass `-d` without a content type
 * (so as a form), and their clients post `Content-Type: application/json` with no body to routes
 * that need none (process, run, push). Both parse here, within the plugin that calls this;
 * everything else keeps Fastify's parser.
 */
export function acceptSeedBodies(app: FastifyInstance): void {
  // Fastify's own JSON parser, with its guard against prototype poisoning; it answers through `done`.
  const json = app.getDefaultJsonParser('error', 'error') as (
    request: FastifyRequest,
    body: string,
    done: (err: Error | null, value?: unknown) => void,
  ) => void;
  const types = ['application/json', 'application/x-www-form-urlencoded'];
  app.removeContentTypeParser(types);
  app.addContentTypeParser(types, { parseAs: 'string' }, (request, body: string, done) => {
    if (body.trim() === '') done(null, undefined);
    else json(request, body, done);
  });
}
