import type { Socket } from 'node:net';
import { constants as zlibConstants } from 'node:zlib';
import Fastify from 'fastify';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify';
import compress from '@fastify/compress';
import rateLimit from '@fastify/rate-limit';
import { sharedRateLimitStore } from './http/shared-rate-limit';
import { defaultRandomBytes, HlcClock, outpostError, uuidv7 } from '@outpost/core';
import type { RandomBytes, Schema } from '@outpost/core';
import { TokenService } from './auth/tokens';
import type { AuthContext, AuthOptions, TokenCheck } from './auth/tokens';
import { Sessions, sessionSettings } from './auth/sessions';
import { EndedSessions } from './auth/ended-sessions';
import { CursorCodec } from './http/cursor';
import { handleError } from './http/errors';
import { answerClientError, answerUnmetExpectation } from './http/client-errors';
import { useJsonBodies } from './http/json-body';
import { answerBrokenPageAddress } from './http/static-app';
import { RefusalAudit, refusalOf } from './http/refusal-audit';
import { SyncStore } from './storage/sync-store';
import type { Database } from './storage/database';
import { healthRoutes } from './routes/health';
import { authRoutes } from './routes/auth';
import { pushRoutes } from './routes/push';
import { pullRoutes } from './routes/pull';
import { statusRoutes } from './routes/status';
import { alertThresholdsRoutes } from './routes/alert-thresholds';
import { backupRoutes } from './routes/backups';
import { scheduleBackups } from './storage/backup-schedule';
import type { BackupSchedule, BackupScheduleOptions } from './storage/backup-schedule';
import { clinicSettingsRoutes } from './routes/clinic-settings';
import { deviceNameRoutes } from './routes/device-names';
import { deviceUseRoutes } from './routes/device-use';
import { peopleRoutes } from './routes/people';
import { schemaRoutes } from './routes/schema';
import { recordRoutes } from './routes/records';
import { fileRoutes } from './routes/files';
import { conflictRoutes } from './routes/conflicts';
import { rejectionRoutes } from './routes/rejections';
import { auditRoutes } from './routes/audit';
import { liveRoutes } from './routes/live';
import type { LiveOptions } from './routes/live';
import { watermelonRoutes } from './dialects/watermelon/watermelon-routes';
import { smartDmvRoutes } from './dialects/smartdmv/smart-dmv-routes';
import { uploadDownloadRoutes } from './dialects/smartdmv/upload-download-routes';
import { queueApiRoutes } from './dialects/queue-api/routes';
import { Hub } from './hub/hub-sync';
import type { HubOptions } from './hub/hub-sync';
import { checkHubOptions } from './hub/hub-options';
import { hubRoutes } from './hub/hub-routes';
import { QueueApi } from './dialects/queue-api/queue-api';
import { ContentIds } from './dialects/content-ids';
import { queueApiSettings } from './dialects/queue-api/queue-api-options';
import type { QueueApiOptions } from './dialects/queue-api/queue-api-options';

export interface LimitOptions {
  /** Largest request body, after gzip is undone. Default 10 MB. */
  bodyLimitBytes?: number;
  /** Most ops in one push. Default 1000. */
  maxOpsPerPush?: number;
  /** Requests per minute per user (per address before sign-in); false turns the limit off. Default 600. */
  rateLimitPerMinute?: number | false;
  /** Refused requests (401, 403, 404) audited per minute in all; the rest are only counted. Default 60. */
  auditRefusalsPerMinute?: number;
  /** The same, per caller: a user, or an address when no token named one. Default 10. */
  auditRefusalsPerCallerPerMinute?: number;
  /**
   * Longest a request may take to arrive in full, headers and body; one that does not gets a 408
   * and its connection closed, so a stalled or crawling client cannot hold a socket for good. 0
   * turns it off. Default 300 000 (5 minutes), Node's own default, which Fastify turns off: clinics
   * on slow rural links send small pushes (batches of 50 ops), well within 5 minutes.
   */
  requestTimeoutMs?: number;
  /** Largest file a device may attach to a record (decision 0022). Default 100 MiB. */
  maxFileBytes?: number;
  /**
   * A file's chunks (`PUT /v1/files/:id/chunks/:index`) per minute per user: a budget of their own,
   * beside `rateLimitPerMinute`, which they do not count against, so a photo uploading does not stop
   * its user's records from syncing (decision 0022). false turns it off. Default 1200: a 100 MiB
   * file in 256 KiB chunks (400) three times over. Without `rateLimitPerMinute` nothing is limited.
   */
  fileChunksPerMinute?: number | false;
}

export interface SyncServerOptions {
  /** The schema of every tenant not named in `tenantSchemas`. */
  schema: Schema;
  /**
   * Tenants that use another schema, by tenant: one server serves a clinic on field-clinic and a
   * veterinary practice on vet-practice side by side. A tenant's data always follows its schema.
   */
  tenantSchemas?: Readonly<Record<string, Schema>>;
  /** An open database (openSqlite / openPostgres). The server owns it from here and closes it on close(). */
  database: Database;
  auth: AuthOptions;
  limits?: LimitOptions;
  /** How long tombstones are kept for pull; a cursor older than that must resync. Default 90 days. */
  tombstoneRetentionDays?: number;
  /** The live stream of change notices (`GET /v1/sync/events`). */
  live?: LiveOptions;
  /**
   * Makes this server a hub (seed 004's device API): it relays the named tenants to an upstream
   * Outpost server, as one more device, on `POST /api/v1/sync/run` and the routes beside it.
   */
  hub?: HubOptions;
  /**
   * Roles that may read /v1/sync/stats and /v1/audit, set the clinic's alert thresholds and screen
   * lock and manage its people (/v1/admin/users). Default ['admin'].
   */
  adminRoles?: readonly string[];
  /** Seed 000's queue: how often the server retries due FAILED items itself, and how many attempts an item gets. */
  queueApi?: QueueApiOptions;
  /**
   * Backups the server takes of its SQLite database by itself (decision 0049): `database` is the
   * file `openSqlite` opened. Started with the server, let finish and stopped when it closes, and
   * read by administrators at `GET /v1/admin/backups`. SQLite only: PostgreSQL has pg_dump.
   */
  backups?: Omit<BackupScheduleOptions, 'log' | 'now'>;
  logger?: FastifyServerOptions['logger'];
  /**
   * Serve HTTPS with this certificate (PEM, its chain after it) and private key (PEM), for a
   * clinic network without a proxy in front: the app's offline parts need a secure origin on any
   * address but localhost. Absent: plain HTTP.
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Injected so tests can move time. */
  now?: () => Date;
  /** Names this instance in server-made HLC timestamps. */
  instanceId?: string;
  /** The random bits of server-made ids (conflicts, resolutions); injected so a simulation replays exactly. */
  randomBytes?: RandomBytes;
  version?: string;
}

/** What the routes share. One per server instance: two servers in one process never share state. */
export interface ServerContext {
  /** The default schema. Routes use schemaFor(tenant). */
  readonly schema: Schema;
  /** The schema a tenant's data follows. */
  schemaFor(tenant: string): Schema;
  readonly store: SyncStore;
  readonly tokens: TokenService;
  /** Refuses access tokens given before all of their user's sessions were ended. */
  readonly endedSessions: EndedSessions;
  readonly cursors: CursorCodec;
  readonly clock: HlcClock;
  readonly now: () => Date;
  readonly randomBytes: RandomBytes;
  /** Ids made from an operation's content, keyed so the logs that hold them tell nothing of it. */
  readonly contentIds: ContentIds;
  readonly maxOpsPerPush: number;
  readonly adminRoles: readonly string[];
  readonly version: string;
  /** The scheduled backups, when the server takes them. */
  readonly backups?: BackupSchedule;
}

declare module 'fastify' {
  interface FastifyInstance {
    outpost: ServerContext;
  }
  interface FastifyRequest {
    auth: AuthContext | null;
    /** Why the token was refused; the refusal itself waits until the rate limit has counted the request. */
    tokenRefusal:
      | Extract<TokenCheck, { ok: false }>
      | { ok: false; reason: 'missing-token' }
      | { ok: false; reason: 'ended-session' | 'signed-out'; holder: AuthContext }
      | null;
    /** Signed in with a password an administrator set, on a route that waits for their own (decision 0047). */
    passwordChangeDue: boolean;
  }
  interface FastifyContextConfig {
    /** Reachable without a token. */
    public?: boolean;
    /** Counted against a rate budget of its own instead of the per-user one: a file's chunks. */
    rateBudget?: 'file-chunks';
    /**
     * Reachable while the caller's password change is due (decision 0047): the change itself, and
     * what a sign-in page reads of the clinic. Every other route refuses them 403 until then.
     */
    whilePasswordChangeDue?: boolean;
  }
}

const day = 24 * 60 * 60 * 1000;

export async function createSyncServer(options: SyncServerOptions): Promise<FastifyInstance> {
  const now = options.now ?? (() => new Date());
  const limits = options.limits ?? {};
  const tenantSchemas = options.tenantSchemas ?? {};
  const schemaFor = (tenant: string): Schema =>
    (Object.hasOwn(tenantSchemas, tenant) ? tenantSchemas[tenant] : undefined) ?? options.schema;
  // Before anything is started: a hub that could never relay is a mistake in the configuration.
  if (options.hub) checkHubOptions(options.hub, schemaFor);
  // Checked before anything is built: a bad setting stops the server at startup, not at its first retry.
  const queueSettings = queueApiSettings(options.queueApi);
  const refreshSettings = sessionSettings(options.auth);
  const maxFileBytes = limits.maxFileBytes ?? 100 * 1024 * 1024;
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 0) {
    throw new RangeError(`limits.maxFileBytes must be a whole number of bytes, got ${String(maxFileBytes)}`);
  }
  const fileChunksPerMinute = limits.fileChunksPerMinute ?? 1200;
  if (
    fileChunksPerMinute !== false &&
    !(Number.isSafeInteger(fileChunksPerMinute) && fileChunksPerMinute >= 1)
  ) {
    throw new RangeError(
      `limits.fileChunksPerMinute must be false or a whole number from 1, got ${String(fileChunksPerMinute)}`,
    );
  }
  // What Node sets for a request timeout given to it, which Fastify's setting after it skips: the
  // headers' timeout no later (were it later, Node would let the body run to it), and a timeout
  // shorter than Node's 30 s between looks for expired requests looked for that often.
  const serverOptions = {
    headersTimeout: Math.min(60_000, limits.requestTimeoutMs || 60_000),
    connectionsCheckingInterval: Math.min(30_000, limits.requestTimeoutMs || 30_000),
    // Node would answer an HTTP/1.1 request without Host itself, with an empty body; the hook
    // refusing it below answers in PROTOCOL.md's shape.
    requireHostHeader: false,
  };
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimitBytes ?? 10 * 1024 * 1024,
    requestTimeout: limits.requestTimeoutMs ?? 300_000,
    // Fastify hands `https` to https.createServer, which takes the HTTP server's options too.
    ...(options.tls
      ? { https: { ...serverOptions, cert: options.tls.cert, key: options.tls.key } }
      : { http: serverOptions }),
    // What Node's HTTP parser refuses, or times out, never reaches a route: answered in our shape there.
    clientErrorHandler: function (this: FastifyInstance, err, socket) {
      answerClientError(err, socket, this.log);
    },
    // Record and op ids travel in URLs; keep Fastify's own limits generous but bounded.
    routerOptions: { maxParamLength: 200 },
    // The router refuses a URL with broken percent-encoding, or a parameter past maxParamLength,
    // before any route or the error handler sees it: those answers get PROTOCOL.md's shape here.
    frameworkErrors: (err, request, reply) => {
      // The reply is typed generically over route schemas, which this server does not declare.
      const plainReply = reply as unknown as FastifyReply;
      if (err.code !== 'FST_ERR_MAX_PARAM_LENGTH' && answerBrokenPageAddress(app, request.url, plainReply))
        return;
      const error =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? outpostError('NOT_FOUND', 'no route for a path parameter that long: no id is')
          : outpostError('VALIDATION_FAILED', 'the URL is not valid: broken percent-encoding');
      void plainReply.status(error.status).send(error.toJSON());
    },
  });
  useJsonBodies(app);
  // An Expect other than 100-continue, which Node would refuse with an empty 417.
  app.server.on('checkExpectation', answerUnmetExpectation);
  const store = new SyncStore(options.database, {
    onBackgroundError: (err, message) => app.log.error({ err }, message),
  });
  const context: ServerContext = {
    schema: options.schema,
    schemaFor,
    store,
    tokens: new TokenService(options.auth),
    endedSessions: new EndedSessions({
      generationOf: (tenant, userId) => store.refreshTokens.sessionGenerationOf(tenant, userId),
      sessionEnded: (tenant, sessionId) => store.refreshTokens.familyEnded(tenant, sessionId),
    }),
    cursors: new CursorCodec(options.auth.jwtSecret),
    clock: new HlcClock({
      node: options.instanceId ?? `server-${uuidv7(now().getTime(), options.randomBytes).slice(-12)}`,
      now: () => now().getTime(),
    }),
    now,
    randomBytes: options.randomBytes ?? defaultRandomBytes,
    contentIds: new ContentIds(store, options.randomBytes ?? defaultRandomBytes, now),
    maxOpsPerPush: limits.maxOpsPerPush ?? 1000,
    adminRoles: options.adminRoles ?? ['admin'],
    version: options.version ?? '0.1.0',
    ...(options.backups
      ? { backups: scheduledBackups(options.backups, options.database, app.log, now) }
      : {}),
  };
  app.decorate('outpost', context);
  app.decorateRequest('auth', null);
  app.decorateRequest('tokenRefusal', null);
  app.decorateRequest('passwordChangeDue', false);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(outpostError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON());
  });

  // First of all: HTTP/1.1 requires a Host header (RFC 9112), which Node no longer checks for us.
  app.addHook('onRequest', async (request) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined)
      throw outpostError('VALIDATION_FAILED', 'an HTTP/1.1 request must carry a Host header');
  });

  // Authentication runs first on every route that is not marked public. A refused token is turned
  // away in preParsing, after the rate limit (keyed by the caller this hook finds, else the
  // address) has counted the request, so a flood of bad tokens is limited like any other, and
  // still before the body is read.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url === undefined || request.routeOptions.config.public) return;
    const header = request.headers.authorization;
    // The scheme's name is case-insensitive (RFC 9110): "bearer" and "BEARER" name it too.
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
    const checked = token ? await context.tokens.check(token, now()) : null;
    if (!checked?.ok) request.tokenRefusal = checked ?? { ok: false, reason: 'missing-token' };
    else {
      const ended = await context.endedSessions.refuses(checked.auth, now().getTime());
      if (ended === null) {
        request.auth = checked.auth;
        request.passwordChangeDue =
          checked.auth.passwordChangeDue === true &&
          request.routeOptions.config.whilePasswordChangeDue !== true;
      } else
        request.tokenRefusal = {
          ok: false,
          reason: ended === 'all-ended' ? 'ended-session' : 'signed-out',
          holder: checked.auth,
        };
    }
  });
  app.addHook('preParsing', async (request) => {
    if (request.tokenRefusal) {
      const { reason } = request.tokenRefusal;
      throw outpostError(
        'UNAUTHORIZED',
        reason === 'missing-token'
          ? 'missing bearer token'
          : reason === 'ended-session'
            ? 'every session of this account was ended: sign in again'
            : reason === 'signed-out'
              ? 'this session was signed out: sign in again'
              : 'token is invalid or expired',
      );
    }
    if (request.passwordChangeDue)
      throw outpostError(
        'FORBIDDEN',
        'choose your own password first (POST /v1/auth/password): this one was set by an administrator',
      );
  });

  // Refused requests are audited before the answer leaves; answers that are not refusals cost nothing here.
  const refusals = new RefusalAudit(store, now, {
    perMinute: limits.auditRefusalsPerMinute ?? 60,
    perCallerPerMinute: limits.auditRefusalsPerCallerPerMinute ?? 10,
  });
  app.addHook('onSend', async (request, reply) => {
    const refusal = refusalOf(request, reply.statusCode);
    if (!refusal) return;
    try {
      await refusals.record(refusal);
    } catch (err) {
      request.log.error({ err }, 'could not audit a refused request');
    }
  });

  // Content codings are case-insensitive, and x-gzip is gzip (RFC 9110); the compression plugin
  // below matches the header's text exactly, so it gets it in one spelling.
  app.addHook('onRequest', async (request) => {
    const coding = request.headers['content-encoding'];
    if (typeof coding !== 'string') return;
    const normal = coding.trim().toLowerCase();
    request.headers['content-encoding'] = normal === 'x-gzip' ? 'gzip' : normal;
  });

  await app.register(compress, {
    global: true,
    // Brotli first, for clients that accept it (browsers do over HTTPS): at quality 1 a 1000-change
    // pull page compresses in half gzip level 1's time and to less (38 KB against 42 KB of 320 KB).
    // A client that asks for gzip (PROTOCOL.md's encoding) gets gzip.
    encodings: ['br', 'gzip', 'deflate'],
    requestEncodings: ['br', 'gzip', 'deflate'],
    brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } },
    // Level 1: a 1000-change pull page shrinks about 11x (12x at the default level 6) for less CPU.
    zlibOptions: { level: 1 },
    // Responses are whole strings (a pull page is built in one piece), so compress them in one zlib
    // call: above the default (8 KB on two cores) the plugin streamed them through the thread pool in
    // 16 KB chunks, each a round trip, which cost more than compressing (a 1000-change page at level
    // 1 is ~1.5 ms; the largest, 5000 changes, ~8 ms of event loop).
    syncThreshold: 8 * 1024 * 1024,
  });
  if (limits.rateLimitPerMinute !== false) {
    const perMinute = limits.rateLimitPerMinute ?? 600;
    /** A signed-in user's file chunks count in a budget of their own (decision 0022). */
    const chunkBudget = (request: FastifyRequest): boolean =>
      request.auth !== null && request.routeOptions.config.rateBudget === 'file-chunks';
    await app.register(rateLimit, {
      // One store and one count per key: a chunk's key is its own, so it never spends the budget
      // that syncs records, and it is refused (429, the same shape) only past its own.
      max: (_request, key) =>
        key.startsWith('chunks:') && fileChunksPerMinute !== false ? fileChunksPerMinute : perMinute,
      // Chunks with their budget turned off are not counted at all.
      ...(fileChunksPerMinute === false ? { allowList: (_request, key) => key.startsWith('chunks:') } : {}),
      timeWindow: 60_000,
      // Per user, so one clinic's busy tablet cannot starve another's; per address before sign-in
      // (a chunk without a valid token counts there, with every other request of its address).
      keyGenerator: (request) =>
        request.auth
          ? `${chunkBudget(request) ? 'chunks:' : ''}user:${JSON.stringify([request.auth.tenant, request.auth.userId])}`
          : `ip:${request.ip}`,
      errorResponseBuilder: (_request, ctx) =>
        outpostError('RATE_LIMITED', `too many requests: retry in ${ctx.after}`, {
          retryAfterMs: ctx.ttl,
        }),
      // PostgreSQL may serve several instances: they count in the database, together. SQLite has
      // one process, which counts in memory.
      ...(options.database.kind === 'postgres'
        ? {
            store: sharedRateLimitStore(
              store,
              () => now().getTime(),
              (err) => app.log.error({ err }, 'the rate limit could not count a request'),
            ),
          }
        : {}),
      // A count the database could not take lets the request through: the limit guards against
      // floods, and a request that needs a database that is down fails on its own.
      skipOnError: true,
    });
  }

  await app.register(healthRoutes);
  // Login, refresh and logout are public: a client without a valid token counts, like any such
  // request, against its address's budget of the rate limit above.
  await app.register(authRoutes, {
    sessions: new Sessions(store.refreshTokens, options.auth.jwtSecret, refreshSettings),
    refusals,
  });
  await app.register(pushRoutes);
  await app.register(pullRoutes);
  await app.register(liveRoutes, options.live ?? {});
  await app.register(statusRoutes);
  await app.register(alertThresholdsRoutes);
  await app.register(backupRoutes);
  await app.register(clinicSettingsRoutes);
  await app.register(peopleRoutes);
  await app.register(deviceNameRoutes);
  await app.register(deviceUseRoutes);
  await app.register(schemaRoutes);
  await app.register(recordRoutes);
  await app.register(fileRoutes, { maxFileBytes });
  await app.register(conflictRoutes);
  await app.register(rejectionRoutes);
  await app.register(auditRoutes, { jwtSecret: options.auth.jwtSecret });
  await app.register(watermelonRoutes);
  await app.register(smartDmvRoutes);
  await app.register(uploadDownloadRoutes);
  const queueApi = new QueueApi(context, queueSettings, app.log);
  app.decorate('queueApi', queueApi);
  await app.register(queueApiRoutes, { processor: queueApi.processor });
  const hub = options.hub ? new Hub(context, options.hub) : null;
  if (hub) {
    await app.register(hubRoutes, { hub });
    app.addHook('onReady', async () => hub.start(app.log));
    // Before the store closes: an exchange with the upstream under way finishes first.
    app.addHook('preClose', async () => hub.close());
  }

  // Node waits out a connection that has not sent a byte yet (a browser's speculative preconnect,
  // a client that gave up before its request left) as if a request were under way, for a minute or
  // more; Fastify closes only idle ones. Such a connection is in the middle of nothing: end it.
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  app.addHook('preClose', async () => {
    for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
  });

  const retentionMs = (options.tombstoneRetentionDays ?? 90) * day;
  const purge = async () => {
    try {
      await store.purgeTombstones(new Date(now().getTime() - retentionMs).toISOString(), now().toISOString());
    } catch (err) {
      app.log.error({ err }, 'tombstone purge failed');
    }
    // Refresh tokens' families whose every token expired (decision 0032).
    try {
      await store.refreshTokens.purge(now().toISOString());
    } catch (err) {
      app.log.error({ err }, 'refresh token purge failed');
    }
  };
  const purgeTimer = setInterval(() => void purge(), day);
  purgeTimer.unref();
  app.addHook('onReady', purge);
  app.addHook('onReady', async () => queueApi.start());
  app.addHook('onClose', async () => {
    clearInterval(purgeTimer);
    // A backup under way is let finish: cut short, it would leave its .incomplete file behind.
    await context.backups?.stop();
    // Before the store closes: a retry under way finishes its item and stops.
    await queueApi.close();
    await refusals.flush().catch((err: unknown) => app.log.error({ err }, 'could not audit refusals'));
    await store.close();
  });
  return app;
}

/** The schedule of `options.backups`, refused on PostgreSQL, whose backups are pg_dump's. */
function scheduledBackups(
  backups: NonNullable<SyncServerOptions['backups']>,
  database: Database,
  log: FastifyBaseLogger,
  now: () => Date,
): BackupSchedule {
  if (database.kind !== 'sqlite') {
    throw new RangeError(
      'backups: the server backs up an SQLite database only; on PostgreSQL, schedule pg_dump',
    );
  }
  return scheduleBackups({ ...backups, log, now });
}
