/**
 * `npm start`: the field-clinic server on http://localhost:8080 with SQLite in ./.outpost.
 * The only place that reads the environment; everything else takes options.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { demoPassword, demoUsers, fieldClinic, fieldClinicDemoRecords, vetPractice } from '@outpost/examples';
import { createSyncServer } from '../create-sync-server';
import { openDatabase } from '../storage/database';
import { ensureUsers } from '../users';
import { seedDemoRecords } from './demo-records';
import { landingPage } from './landing-page';

const env = process.env;
const port = Number(env['PORT'] ?? 8080);
const host = env['HOST'] ?? '0.0.0.0';
const dataDir = resolve(env['OUTPOST_DATA'] ?? '.outpost');
const schemaName = env['OUTPOST_SCHEMA'] ?? 'field-clinic';
const demo = env['OUTPOST_DEMO'] !== '0';
const schema =
  schemaName === 'vet-practice' ? vetPractice : schemaName === 'field-clinic' ? fieldClinic : null;
if (!schema) {
  console.error(`OUTPOST_SCHEMA must be field-clinic or vet-practice, not "${schemaName}"`);
  process.exit(1);
}

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
const database = await openDatabase(databaseUrl ?? join(dataDir, 'outpost.sqlite'), {
  onIdleError: (err) =>
    console.warn(`PostgreSQL closed an idle connection (${err.message}); it will reconnect`),
});
const app = await createSyncServer({
  schema,
  database,
  auth: {
    jwtSecret: jwtSecret(),
    ...(env['OUTPOST_TOKEN_TTL_SECONDS']
      ? { tokenTtlSeconds: Number(env['OUTPOST_TOKEN_TTL_SECONDS']) }
      : {}),
  },
  limits: {
    ...(env['OUTPOST_BODY_LIMIT_BYTES'] ? { bodyLimitBytes: Number(env['OUTPOST_BODY_LIMIT_BYTES']) } : {}),
    ...(env['OUTPOST_MAX_OPS_PER_PUSH'] ? { maxOpsPerPush: Number(env['OUTPOST_MAX_OPS_PER_PUSH']) } : {}),
    ...(env['OUTPOST_RATE_LIMIT']
      ? { rateLimitPerMinute: env['OUTPOST_RATE_LIMIT'] === '0' ? false : Number(env['OUTPOST_RATE_LIMIT']) }
      : {}),
  },
  ...(env['OUTPOST_TOMBSTONE_RETENTION_DAYS']
    ? { tombstoneRetentionDays: Number(env['OUTPOST_TOMBSTONE_RETENTION_DAYS']) }
    : {}),
  logger: { level: env['LOG_LEVEL'] ?? 'info' },
});
app.get('/', { config: { public: true } }, async (_request, reply) =>
  reply.type('text/html').send(landingPage(schema.name)),
);

const users = demo ? demoUsers.filter((u) => u.schema === schema.name) : [];
if (users.length > 0) {
  await ensureUsers(
    app.outpost.store,
    users.map((u) => ({ ...u, password: demoPassword })),
  );
  if (schema === fieldClinic) await seedDemoRecords(app.outpost, 'clinic-a', fieldClinicDemoRecords);
}

const shutdown = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

await app.listen({ port, host });
const where = databaseUrl ? 'PostgreSQL' : `SQLite in ${join(dataDir, 'outpost.sqlite')}`;
console.log(`\nOutpost (${schema.name}) is running on http://localhost:${port}, storing data in ${where}.`);
if (users.length > 0) {
  console.log(
    `Sign in with POST http://localhost:${port}/v1/auth/login, password "${demoPassword}", as one of:`,
  );
  for (const u of users)
    console.log(`  ${u.email.padEnd(22)} ${u.roles.join(',').padEnd(10)} tenant ${u.tenant}`);
  console.log(
    `For example:\n  curl -s -X POST http://localhost:${port}/v1/auth/login -H 'content-type: application/json' \\`,
  );
  console.log(`    -d '{"email":"${users[0]?.email}","password":"${demoPassword}"}'\n`);
}
