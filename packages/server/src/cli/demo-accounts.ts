import type { FastifyInstance } from 'fastify';
import type { DemoAccountsResponse } from '@outpost/core';

/**
 * `GET /v1/demo-accounts`: the demo sign-ins a page may offer (`DemoAccountsResponse`). Registered
 * by the start command only when it creates demo users, so a clinic's own server, started with
 * OUTPOST_DEMO=0, advertises no account and no password: the sign-in page then shows no hint.
 */
export function serveDemoAccounts(app: FastifyInstance, answer: DemoAccountsResponse): void {
  app.get('/v1/demo-accounts', { config: { public: true } }, async () => answer);
}
