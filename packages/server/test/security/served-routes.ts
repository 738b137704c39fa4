// The routes a running server answers, read from Fastify's own route tree, so a route added later
// shows up here without anyone listing it.
import type { FastifyInstance } from 'fastify';

export interface ServedRoute {
  method: string;
  /** As registered: `/v1/conflicts/:id`. */
  url: string;
}

export function routeKey(route: ServedRoute): string {
  return `${route.method} ${route.url}`;
}

// One line of printRoutes({ commonPrefix: false }): tree drawing, then a path relative to the
// parent line, then the methods served there, if any: `│   ├── /:id (GET, HEAD)`.
const line = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/;

export function servedRoutes(app: FastifyInstance): ServedRoute[] {
  const parents: string[] = [];
  const routes: ServedRoute[] = [];
  for (const text of app.printRoutes({ commonPrefix: false }).split('\n')) {
    if (text.trim() === '') continue;
    const match = line.exec(text);
    if (!match) throw new Error(`cannot read the route tree line "${text}"`);
    const depth = (match[1] ?? '').length / 4;
    const url = (parents[depth - 1] ?? '') + (match[2] ?? '');
    parents[depth] = url;
    parents.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ').filter((m) => m !== '')) routes.push({ method, url });
  }
  return routes;
}
