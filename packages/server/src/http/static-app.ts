import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { outpostError } from '@outpost/core';

export interface StaticAppOptions {
  /** The built app: index.html and its assets (for the clinic app, apps/clinic/dist). */
  root: string;
  /** Path prefixes that belong to the API: never answered with the app's page. */
  apiPrefixes?: readonly string[];
}

const defaultApiPrefixes = ['/v1/', '/api/', '/watermelon/'];

/** The API prefixes of each server that serves an app, for addresses its router refuses. */
const appServers = new WeakMap<FastifyInstance, { root: string; apiPrefixes: readonly string[] }>();

/**
 * Serves a single-page app beside the API: its files as they are, and index.html for every other
 * page address, so a reload on /patients/123 opens the app there. Hashed assets are cached for a
 * year; index.html and the service worker never, so a new build reaches devices on their next visit.
 */
export async function serveStaticApp(app: FastifyInstance, options: StaticAppOptions): Promise<void> {
  const { root } = options;
  if (!existsSync(join(root, 'index.html')))
    throw new Error(`no built app in ${root}: run the app's build first`);
  const apiPrefixes = options.apiPrefixes ?? defaultApiPrefixes;
  appServers.set(app, { root, apiPrefixes });
  await app.register(fastifyStatic, {
    root,
    serve: false,
    // The headers below decide caching, file by file.
    cacheControl: false,
    setHeaders(res, path) {
      const immutable = path.includes(`${join(root, 'assets')}`);
      res.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.get('/*', { config: { public: true } }, async (request, reply) => {
    const path = decodeURIComponent(request.url.split('?')[0] ?? '/');
    if (apiPrefixes.some((prefix) => path.startsWith(prefix)))
      throw outpostError('NOT_FOUND', `no route GET ${path}`);
    const file = path.slice(1);
    // Only files inside root; anything else is a page of the app.
    if (file !== '' && !file.split('/').includes('..') && isFile(join(root, file)))
      return reply.sendFile(file);
    return reply.type('text/html').sendFile('index.html');
  });
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/**
 * Answers a page address the router refused for its broken %-encoding (a link cut short in a
 * message) with the app, which says "Page not found" in the clinic's words, as its service worker
 * does once installed. Returns false for a server without the app or an address of the API, which
 * get the error shape.
 */
export function answerBrokenPageAddress(app: FastifyInstance, url: string, reply: FastifyReply): boolean {
  const served = appServers.get(app);
  if (served === undefined || served.apiPrefixes.some((prefix) => url.startsWith(prefix))) return false;
  // The router's own reply, which lacks @fastify/static's sendFile: the page is read here, on a
  // path taken only by such addresses.
  void reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-cache')
    .send(readFileSync(join(served.root, 'index.html')));
  return true;
}
