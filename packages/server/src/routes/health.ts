import type { FastifyInstance } from 'fastify';
import type { HealthResponse } from '@outpost/core';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/v1/health', { config: { public: true } }, async (): Promise<HealthResponse> => ({
    status: 'ok',
    database: app.outpost.store.kind,
    version: app.outpost.version,
  }));
}
