import type { FastifyInstance } from 'fastify';
import type { BackupStatusResponse } from '@outpost/core';
import { administrator } from '../http/caller';

const hourMs = 60 * 60 * 1000;

/**
 * `GET /v1/admin/backups` (an addition to PROTOCOL.md, docs/server.md): the server's scheduled
 * backups (decision 0049) as its administrators need to know them. The schedule is the server's,
 * not a clinic's, so every clinic's administrators read the same; what they read names no path and
 * no error message of the server's, only when and why in words.
 */
export async function backupRoutes(app: FastifyInstance): Promise<void> {
  const { adminRoles, now } = app.outpost;
  app.get('/v1/admin/backups', async (request): Promise<BackupStatusResponse> => {
    administrator(request, adminRoles, 'the server’s backups are for administrators');
    const schedule = app.outpost.backups;
    if (!schedule) return { scheduled: false };
    const { everyMs, keep, encrypted, lastBackupAt, failing, nextAt } = schedule.status();
    return {
      scheduled: true,
      asOf: now().toISOString(),
      everyHours: everyMs / hourMs,
      keep,
      encrypted,
      lastBackupAt,
      failing,
      nextAt,
    };
  });
}
