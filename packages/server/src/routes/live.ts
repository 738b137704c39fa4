import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { formatLiveEvent, outpostError } from '@outpost/core';
import { caller } from '../http/caller';
import { collectionsToPull } from '../pull/pull-scope';
import type { ChangeNotice } from '../storage/change-notices';

export interface LiveOptions {
  /** Live streams one user may hold open at once (tabs, devices); one more is refused with 429. Default 10. */
  streamsPerUser?: number;
  /** How often an idle stream sends a comment, so proxies and NATs keep it open. Default 25 s. */
  heartbeatMs?: number;
  /**
   * A stream ends after this long, and the device opens another (and pulls once): behind a load
   * balancer, streams that never end would stay on whichever instances were up first. Default 30 min.
   */
  maxStreamMs?: number;
}

/**
 * What a stream of `tenant`'s caller is told of a notice: a `changes` event for records, a `files`
 * event for files, both when notices may have been missed (`tenant: null`: either may have
 * changed), or nothing when the notice is another clinic's. The route writes it; the simulation's
 * streams deliver it alike.
 */
export function liveEventFor(tenant: string, notice: ChangeNotice): string | null {
  if (notice.tenant === null) return formatLiveEvent('changes', {}) + formatLiveEvent('files', {});
  if (notice.tenant !== tenant) return null;
  const data = notice.origin !== undefined ? { origin: notice.origin } : {};
  return formatLiveEvent(notice.subject === 'files' ? 'files' : 'changes', data);
}

/**
 * `GET /v1/sync/events`: a server-sent event stream telling a signed-in device that its clinic's
 * data changed, so it pulls now instead of at its next timer. An addition to PROTOCOL.md: push and
 * pull stay the whole contract, and a client that never opens the stream loses nothing.
 *
 * - `ready` when the stream is open: changes made before it were never announced to this stream,
 *   so the device pulls once.
 * - `changes` after each commit that changed the caller's tenant's records, on any server instance
 *   of the database (PostgreSQL's LISTEN/NOTIFY). `origin` names the client installation whose push
 *   it was: that client pulls after its own push anyway. Nothing else: no record, id or collection.
 * - `files` after each commit that made one of the tenant's files complete or deleted one, alike:
 *   a device showing a record's files asks for its list again. `origin` as for `changes`.
 * - The stream ends when the caller's token expires, so access ends with the token; at the next
 *   heartbeat after every session of the caller was ended (POST /v1/auth/end-sessions); and after
 *   `maxStreamMs`. A role that may read no collection has nothing to be told of (403).
 */
export async function liveRoutes(app: FastifyInstance, options: LiveOptions): Promise<void> {
  const { store, now, schemaFor, endedSessions } = app.outpost;
  const streamsPerUser = options.streamsPerUser ?? 10;
  const heartbeatMs = options.heartbeatMs ?? 25_000;
  const maxStreamMs = options.maxStreamMs ?? 30 * 60_000;
  const openStreams = new Map<string, number>();
  const ends = new Set<() => void>();

  // Listening before the first connection is taken, so no stream opens before notices are heard.
  app.addHook('onReady', () => store.listenForChanges());
  // A stream never ends by itself: ending them is what lets close() finish.
  app.addHook('preClose', async () => {
    for (const end of [...ends]) end();
  });

  app.get('/v1/sync/events', async (request, reply) => {
    const auth = caller(request);
    if (collectionsToPull(schemaFor(auth.tenant), auth.roles, undefined).length === 0) {
      throw outpostError('FORBIDDEN', 'your role may read no collection: there is nothing to be told of');
    }
    // HEAD: what a GET would answer, without opening a stream that would never end.
    if (request.method === 'HEAD') return reply.type('text/event-stream; charset=utf-8').send();
    const who = `${auth.tenant}\u0000${auth.userId}`;
    const open = openStreams.get(who) ?? 0;
    if (open >= streamsPerUser) {
      throw outpostError('RATE_LIMITED', `at most ${streamsPerUser} live streams per user`);
    }
    openStreams.set(who, open + 1);

    reply.hijack();
    const raw: ServerResponse = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Proxies that buffer responses (nginx) would hold the events back.
      'x-accel-buffering': 'no',
    });

    let ended = false;
    const send = (text: string) => {
      if (!ended && !raw.destroyed) raw.write(text);
    };
    const unsubscribe = store.onChange((notice: ChangeNotice) => {
      const event = liveEventFor(auth.tenant, notice);
      if (event !== null) send(event);
    });
    // A comment: readers skip it, proxies see traffic. Before each, a stream whose user's sessions
    // were all ended since it opened (a tablet lost) ends: the device's next request is refused.
    const heartbeat = setInterval(() => {
      endedSessions.refuses(auth, now().getTime()).then(
        (refused) => (refused ? end() : send(': keep-alive\n\n')),
        // The database did not answer: the stream goes on, as every other would.
        () => send(': keep-alive\n\n'),
      );
    }, heartbeatMs);
    let endTimer: NodeJS.Timeout | null = null;
    // A timer cannot wait longer than 2^31-1 ms (about 24 days): a later end re-arms it.
    const endAt = (at: number) => {
      const wait = at - now().getTime();
      if (wait <= 0) return end();
      endTimer = setTimeout(() => endAt(at), Math.min(wait, 2 ** 31 - 1));
    };

    const end = () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      clearInterval(heartbeat);
      if (endTimer !== null) clearTimeout(endTimer);
      ends.delete(end);
      const left = (openStreams.get(who) ?? 1) - 1;
      if (left > 0) openStreams.set(who, left);
      else openStreams.delete(who);
      raw.end();
    };
    ends.add(end);
    // The response closes when the device goes away (the request's own 'close' only says its body was read).
    raw.on('close', end);
    // A reconnecting reader waits this long before trying again (EventSource reads it).
    send('retry: 5000\n\n');
    send(formatLiveEvent('ready', {}));
    endAt(Math.min(auth.expiresAtMs ?? Infinity, now().getTime() + maxStreamMs));
  });
}
