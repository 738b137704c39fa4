/**
 * `npm start`: the field-clinic server on http://localhost:8080 with SQLite in ./.outpost.
 * The only place that reads the environment; everything else takes options.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newPasswordSchema, personEmailSchema } from '@outpost/core';
import type { Schema } from '@outpost/core';
import {
  demoPassword,
  demoUsers,
  fieldClinic,
  fieldClinicDemoRecords,
  vetPractice,
  vetPracticeDemoRecords,
} from '@outpost/examples';
import { createSyncServer } from '../create-sync-server';
import { isPostgresUrl, openDatabase } from '../storage/database';
import { serveStaticApp } from '../http/static-app';
import { ensureUsers } from '../users';
import { guessablePassword, passwordContext } from '../auth/password-strength';
import { queueApiOptionsFromEnv } from '../dialects/queue-api/queue-api-options';
import type { QueueApiOptions } from '../dialects/queue-api/queue-api-options';
import type { HubOptions } from '../hub/hub-sync';
import { backupEveryMs, backupScheduleFromEnv, backupScheduleLine } from './backup-schedule-from-env';
import { dataFolderFromEnv, sqliteFileFromEnv } from './data-folder';
import { seedDemoRecords } from './demo-records';
import { serveDemoAccounts } from './demo-accounts';
import { fileChunksPerMinuteFromEnv } from './limits-from-env';
import { landingPage } from './landing-page';
import { readTlsFiles, reloadTls } from './tls-files';
import type { TlsFiles } from './tls-files';

const env = process.env;
const port = Number(env['PORT'] ?? 8080);
const host = env['HOST'] ?? '0.0.0.0';
const { dir: dataDir, sqliteFile } = dataFolderFromEnv(env);
const demo = env['OUTPOST_DEMO'] !== '0';
// `npm start` builds the clinic app first (the prestart script); this serves that build at /.
const appDir = resolve(
  env['OUTPOST_APP_DIR'] ?? fileURLToPath(new URL('../../../../apps/clinic/dist', import.meta.url)),
);
const schemas: Record<string, Schema> = { 'field-clinic': fieldClinic, 'vet-practice': vetPractice };

function schemaNamed(name: string, setting: string): Schema {
  const found = Object.hasOwn(schemas, name) ? schemas[name] : undefined;
  if (!found) {
    console.error(`${setting}: the schema must be field-clinic or vet-practice, not "${name}"`);
    process.exit(1);
  }
  return found;
}

// Every tenant follows the default schema, except those named in OUTPOST_TENANT_SCHEMAS: by
// default the demo veterinary practice, so both example products run on one server.
const schema = schemaNamed(env['OUTPOST_SCHEMA'] ?? 'field-clinic', 'OUTPOST_SCHEMA');
const tenantSchemas: Record<string, Schema> = {};
for (const pair of (env['OUTPOST_TENANT_SCHEMAS'] ?? 'vet-a=vet-practice').split(',')) {
  if (pair.trim() === '') continue;
  const [tenant, name] = pair.split('=').map((part) => part.trim());
  if (!tenant || !name) {
    console.error(`OUTPOST_TENANT_SCHEMAS: expected tenant=schema pairs, got "${pair}"`);
    process.exit(1);
  }
  tenantSchemas[tenant] = schemaNamed(name, 'OUTPOST_TENANT_SCHEMAS');
}
const schemaFor = (tenant: string): Schema =>
  (Object.hasOwn(tenantSchemas, tenant) ? tenantSchemas[tenant] : undefined) ?? schema;

/** A setting read by `read`, or the start stopped with the one line its error says (naming the setting). */
function orStop<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}

// Seed 000's queue: checked here, before the database opens, so a typo stops the start with its name.
const queueApi: QueueApiOptions = orStop(() => queueApiOptionsFromEnv(env));

// A file's chunks' own rate budget (decision 0022), checked before the database opens.
const fileChunksPerMinute = orStop(() => fileChunksPerMinuteFromEnv(env['OUTPOST_FILE_CHUNKS_PER_MINUTE']));

// Scheduled backups of the SQLite database (decision 0049): off unless OUTPOST_BACKUP_DIR names a
// folder that exists, checked before the database opens.
const backupSettings = orStop(() => backupScheduleFromEnv(env));

/**
 * A hub (seed 004's device API, docs/dialects/hub.md) when OUTPOST_UPSTREAM_URL names the central
 * server: the tenant it relays and the account it signs in with there must all be given.
 */
function hubFromEnv(): HubOptions | undefined {
  const url = env['OUTPOST_UPSTREAM_URL'];
  if (!url) return undefined;
  const tenant = env['OUTPOST_UPSTREAM_TENANT'];
  const email = env['OUTPOST_UPSTREAM_EMAIL'];
  const password = env['OUTPOST_UPSTREAM_PASSWORD'];
  if (!tenant || !email || !password) {
    console.error(
      'OUTPOST_UPSTREAM_URL makes this server a hub: set OUTPOST_UPSTREAM_TENANT, OUTPOST_UPSTREAM_EMAIL and OUTPOST_UPSTREAM_PASSWORD too',
    );
    process.exit(1);
  }
  const interval = env['OUTPOST_HUB_SYNC_INTERVAL_MS'];
  if (interval !== undefined && !/^\d+$/.test(interval)) {
    console.error(`OUTPOST_HUB_SYNC_INTERVAL_MS: expected a whole number of milliseconds, got "${interval}"`);
    process.exit(1);
  }
  return {
    url,
    accounts: [{ tenant, email, password }],
    ...(interval === undefined ? {} : { intervalMs: interval === '0' ? false : Number(interval) }),
  };
}
const hub = hubFromEnv();

/**
 * The clinic's first administrator (decision 0044), so that a deployment without demo users
 * (OUTPOST_DEMO=0) can sign in at all and add its people: all three variables or none, checked
 * before the database opens. Created at start when nobody signs in with that email; an existing
 * person is left as they are (their password is not reset).
 */
/** The first administrator's password, refused as the People page refuses one too easy to guess. */
function guessable(password: string, email: string | null, tenant: string): string[] {
  const problem = guessablePassword(password, passwordContext(email, tenant));
  return problem === null ? [] : [`OUTPOST_ADMIN_PASSWORD: ${problem}`];
}

function firstAdminFromEnv(): { email: string; password: string; tenant: string } | undefined {
  const names = ['OUTPOST_ADMIN_EMAIL', 'OUTPOST_ADMIN_PASSWORD', 'OUTPOST_ADMIN_TENANT'] as const;
  const given = names.filter((n) => (env[n] ?? '') !== '');
  if (given.length === 0) return undefined;
  if (given.length < names.length) {
    console.error(
      `${names.join(', ')}: set all three to create the clinic's first administrator, or none (missing: ${names
        .filter((n) => !given.includes(n))
        .join(', ')})`,
    );
    process.exit(1);
  }
  const email = personEmailSchema.safeParse(env['OUTPOST_ADMIN_EMAIL']);
  const password = newPasswordSchema.safeParse(env['OUTPOST_ADMIN_PASSWORD']);
  const tenant = (env['OUTPOST_ADMIN_TENANT'] ?? '').trim();
  const wrong = [
    ...(email.success ? [] : [`OUTPOST_ADMIN_EMAIL: ${email.error.issues[0]?.message ?? 'not valid'}`]),
    ...(password.success
      ? guessable(password.data, email.success ? email.data : null, tenant)
      : [`OUTPOST_ADMIN_PASSWORD: ${password.error.issues[0]?.message ?? 'not valid'}`]),
    ...(/^[A-Za-z0-9_.-]{1,128}$/.test(tenant)
      ? []
      : ['OUTPOST_ADMIN_TENANT: a clinic is 1-128 letters, digits, dots, dashes or underscores']),
  ];
  if (wrong.length > 0 || !email.success || !password.success) {
    console.error(wrong.join('\n'));
    process.exit(1);
  }
  return { email: email.data, password: password.data, tenant };
}
const firstAdmin = firstAdminFromEnv();

/** A lifetime in whole seconds from the environment, checked before the database opens. */
function secondsFromEnv(name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    console.error(`${name}: expected a whole number of seconds from 1, got "${value}"`);
    process.exit(1);
  }
  return Number(value);
}
// Sessions that outlive an access token (decision 0032).
const refreshTtlSeconds = secondsFromEnv('OUTPOST_REFRESH_TTL_SECONDS');
const refreshMaxAgeSeconds = secondsFromEnv('OUTPOST_REFRESH_MAX_AGE_SECONDS');

/**
 * HTTPS from a certificate and key in PEM files (OUTPOST_TLS_CERT, OUTPOST_TLS_KEY), read before
 * the database opens: both or neither, and a file that cannot be read stops the start, naming it.
 * SIGHUP reads them again (below).
 */
function tlsFilesFromEnv(): TlsFiles | undefined {
  const certFile = env['OUTPOST_TLS_CERT']?.trim() || undefined;
  const keyFile = env['OUTPOST_TLS_KEY']?.trim() || undefined;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    console.error('OUTPOST_TLS_CERT and OUTPOST_TLS_KEY: HTTPS needs both the certificate and its key');
    process.exit(1);
  }
  return { certFile, keyFile };
}
const tlsFiles = tlsFilesFromEnv();
function firstTls(files: TlsFiles): { cert: Buffer; key: Buffer } {
  try {
    return readTlsFiles(files);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
const tls = tlsFiles ? firstTls(tlsFiles) : undefined;
const scheme = tls ? 'https' : 'http';

/** A dev secret made once and kept in the data folder, so tokens survive restarts. */
function jwtSecret(): string {
  const fromEnv = env['OUTPOST_JWT_SECRET'];
  if (fromEnv) return fromEnv;
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

const databaseUrl = env['DATABASE_URL'];
const database = await openDatabase(databaseUrl ?? sqliteFile, {
  onIdleError: (err) =>
    console.warn(`PostgreSQL closed an idle connection (${err.message}); it will reconnect`),
});
const app = await createSyncServer({
  schema,
  tenantSchemas,
  database,
  ...(tls ? { tls } : {}),
  ...(backupSettings
    ? {
        backups: {
          database: sqliteFileFromEnv(env),
          folder: backupSettings.folder,
          everyMs: backupEveryMs(backupSettings),
          keep: backupSettings.keep,
          recipients: backupSettings.recipients,
        },
      }
    : {}),
  auth: {
    jwtSecret: jwtSecret(),
    ...(env['OUTPOST_TOKEN_TTL_SECONDS']
      ? { tokenTtlSeconds: Number(env['OUTPOST_TOKEN_TTL_SECONDS']) }
      : {}),
    ...(refreshTtlSeconds !== undefined ? { refreshTtlSeconds } : {}),
    ...(refreshMaxAgeSeconds !== undefined ? { refreshMaxAgeSeconds } : {}),
    ...(env['OUTPOST_JWKS_URL']
      ? {
          identityProvider: {
            jwksUrl: env['OUTPOST_JWKS_URL'],
            ...(env['OUTPOST_JWKS_ISSUER'] ? { issuer: env['OUTPOST_JWKS_ISSUER'] } : {}),
            ...(env['OUTPOST_JWKS_AUDIENCE'] ? { audience: env['OUTPOST_JWKS_AUDIENCE'] } : {}),
          },
        }
      : {}),
  },
  limits: {
    ...(env['OUTPOST_BODY_LIMIT_BYTES'] ? { bodyLimitBytes: Number(env['OUTPOST_BODY_LIMIT_BYTES']) } : {}),
    ...(env['OUTPOST_MAX_OPS_PER_PUSH'] ? { maxOpsPerPush: Number(env['OUTPOST_MAX_OPS_PER_PUSH']) } : {}),
    ...(env['OUTPOST_MAX_FILE_BYTES'] ? { maxFileBytes: Number(env['OUTPOST_MAX_FILE_BYTES']) } : {}),
    ...(env['OUTPOST_RATE_LIMIT']
      ? { rateLimitPerMinute: env['OUTPOST_RATE_LIMIT'] === '0' ? false : Number(env['OUTPOST_RATE_LIMIT']) }
      : {}),
    ...(fileChunksPerMinute !== undefined ? { fileChunksPerMinute } : {}),
  },
  ...(env['OUTPOST_TOMBSTONE_RETENTION_DAYS']
    ? { tombstoneRetentionDays: Number(env['OUTPOST_TOMBSTONE_RETENTION_DAYS']) }
    : {}),
  queueApi,
  ...(hub ? { hub } : {}),
  logger: { level: env['LOG_LEVEL'] ?? 'info' },
});
const servesApp = existsSync(join(appDir, 'index.html'));
if (servesApp) await serveStaticApp(app, { root: appDir });
else
  app.get('/', { config: { public: true } }, async (_request, reply) =>
    reply.type('text/html').send(landingPage(schema.name, tenantSchemas)),
  );

if (firstAdmin) {
  const created = await ensureUsers(app.outpost.store, [{ ...firstAdmin, roles: ['admin'] }]);
  console.log(
    created > 0
      ? `Created the administrator ${firstAdmin.email} of ${firstAdmin.tenant} (OUTPOST_ADMIN_EMAIL).`
      : `${firstAdmin.email} (OUTPOST_ADMIN_EMAIL) already signs in: left as they are.`,
  );
}

// Each demo user whose tenant runs the schema the user belongs to.
const users = demo ? demoUsers.filter((u) => schemaFor(u.tenant).name === u.schema) : [];
if (users.length > 0) {
  await ensureUsers(
    app.outpost.store,
    users.map((u) => ({ ...u, password: demoPassword })),
  );
  const refused = [
    ...(schemaFor('clinic-a') === fieldClinic
      ? await seedDemoRecords(app.outpost, 'clinic-a', fieldClinicDemoRecords)
      : []),
    ...(schemaFor('vet-a') === vetPractice
      ? await seedDemoRecords(app.outpost, 'vet-a', vetPracticeDemoRecords)
      : []),
  ];
  for (const line of refused) console.warn(`A demo record was refused: ${line}`);
  // What the clinic app's sign-in page offers: the accounts of tenants on its schema.
  serveDemoAccounts(app, {
    password: demoPassword,
    accounts: users
      .filter((u) => schemaFor(u.tenant) === fieldClinic)
      .map((u) => ({ email: u.email, tenant: u.tenant, roles: [...u.roles] })),
  });
}

const shutdown = async () => {
  // Closing lets a scheduled backup under way finish (createSyncServer's backups).
  await app.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
// With HTTPS, a renewed certificate is taken on SIGHUP (`kill -HUP <pid>`, `systemctl reload`,
// certbot's deploy hook), with no restart. Without it, SIGHUP ends the server as it always did.
if (tlsFiles) {
  const files = tlsFiles;
  process.on('SIGHUP', () => {
    const { ok, message } = reloadTls(app.server as HttpsServer, files);
    (ok ? console.log : console.error)(message);
  });
}

await app.listen({ port, host });
const where = databaseUrl ? 'PostgreSQL' : `SQLite in ${sqliteFile}`;
const others = Object.entries(tenantSchemas).map(([t, sc]) => `${sc.name} for ${t}`);
const banner = [
  '',
  `Outpost (${[schema.name, ...others].join('; ')}) is running on ${scheme}://localhost:${port}, storing data in ${where}.`,
  backupScheduleLine(backupSettings, databaseUrl !== undefined && isPostgresUrl(databaseUrl)),
  ...(hub ? [`A hub for ${hub.accounts.map((a) => a.tenant).join(', ')}: it syncs with ${hub.url}.`] : []),
  servesApp
    ? `The clinic app is at ${scheme}://localhost:${port}/ (sign in with a demo user below).`
    : `No clinic app build in ${appDir}: build it with \`npm run build -w @outpost/clinic\`.`,
];
if (users.length > 0) {
  banner.push(
    `Sign in with POST ${scheme}://localhost:${port}/v1/auth/login, password "${demoPassword}", as one of:`,
    ...users.map((u) => `  ${u.email.padEnd(22)} ${u.roles.join(',').padEnd(10)} tenant ${u.tenant}`),
    `For example:\n  curl -s -X POST ${scheme}://localhost:${port}/v1/auth/login -H 'content-type: application/json' \\`,
    `    -d '{"email":"${users[0]?.email}","password":"${demoPassword}"}'`,
    '',
  );
}
// One write, so whoever reads the output (a person, a test, a supervisor) gets the banner whole.
console.log(banner.join('\n'));
