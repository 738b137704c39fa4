/**
 * Seed 004's device API (PROTOCOL.md, Dialects), served by a hub: run, push, pull and status of the
 * hub's exchange with its upstream. Any signed-in user of a relayed tenant may start one, as a
 * therapist taps "Sync" (seed 004 asks only for a valid token).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { outpostError } from '@outpost/core';
import { caller } from '../http/caller';
import { parseOrThrow } from '../http/errors';
import { acceptSeedBodies } from '../http/seed-bodies';
import type { Hub, HubConflict, HubFailure, PullSummary, PushSummary, QueueStatus } from './hub-sync';

export interface HubRoutesOptions {
  hub: Hub;
}

/** Seed 004's `sinceUtc`: an ISO time, if sent. */
const pullQuerySchema = z.object({
  sinceUtc: z
    .string()
    .max(64)
    .refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 time, e.g. 2026-02-17T00:00:00Z')
    .optional(),
});

interface Envelope {
  success: boolean;
  completedAt: string;
  durationMs: number;
  conflicts: HubConflict[];
  error?: HubFailure;
}

export async function hubRoutes(app: FastifyInstance, options: HubRoutesOptions): Promise<void> {
  const { hub } = options;
  const { now } = app.outpost;
  acceptSeedBodies(app);

  /** The caller's tenant, if this hub relays it. */
  const relayedTenant = (request: Parameters<typeof caller>[0]): string => {
    const { tenant } = caller(request);
    if (!hub.relays(tenant)) throw outpostError('NOT_FOUND', 'this hub has no upstream for your clinic');
    return tenant;
  };

  const envelope = (
    started: number,
    conflicts: HubConflict[],
    errors: Array<HubFailure | null>,
  ): Envelope => {
    const finished = now();
    const error = errors.find((e) => e !== null) ?? undefined;
    return {
      success: error === undefined,
      completedAt: finished.toISOString(),
      durationMs: Math.max(0, finished.getTime() - started),
      conflicts,
      ...(error ? { error } : {}),
    };
  };

  app.post('/api/v1/sync/run', async (request) => {
    const tenant = relayedTenant(request);
    const started = now().getTime();
    const { pushed, pulled } = await hub.run(tenant);
    const pull: PullSummary = pulled?.pull ?? { total: 0, applied: 0, skipped: 0, conflicts: 0 };
    return {
      ...envelope(
        started,
        [...pushed.conflicts, ...(pulled?.conflicts ?? [])],
        [pushed.error, pulled?.error ?? null],
      ),
      push: pushed.push,
      pull,
    } satisfies Envelope & { push: PushSummary; pull: PullSummary };
  });

  app.post('/api/v1/sync/push', async (request) => {
    const tenant = relayedTenant(request);
    const started = now().getTime();
    const pushed = await hub.push(tenant);
    return { ...envelope(started, pushed.conflicts, [pushed.error]), push: pushed.push };
  });

  app.get('/api/v1/sync/pull', async (request) => {
    const tenant = relayedTenant(request);
    // Accepted and checked, but the hub pulls from its own upstream cursor: a time cannot say which
    // changes committed late, and the cursor cannot miss one (decisions 0002 and 0021).
    parseOrThrow(pullQuerySchema, request.query, 'pull query');
    const started = now().getTime();
    const pulled = await hub.pull(tenant);
    return { ...envelope(started, pulled.conflicts, [pulled.error]), pull: pulled.pull };
  });

  app.get('/api/v1/sync/status', async (request): Promise<QueueStatus> => hub.status(relayedTenant(request)));
}
