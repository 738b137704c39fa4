import { Migrator, sql } from 'kysely';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { DatabaseKind } from './database';
import { newEpoch } from './database-epoch';

/**
 * Migrations live in code, in order; each runs once per database and is recorded by Kysely's
 * migrator. Never edit one that has shipped: add the next.
 */
function migrations(kind: DatabaseKind): Record<string, Migration> {
  // The one dialect difference in the schema: an auto-numbered key.
  const serial = kind === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0001_sync_store': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('tenant_state')
          .addColumn('tenant', 'text', (c) => c.primaryKey())
          .addColumn('position', 'bigint', (c) => c.notNull())
          .addColumn('purged_through', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('records')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('field_meta', 'text', (c) => c.notNull())
          .addColumn('deleted', 'integer', (c) => c.notNull())
          .addColumn('hlc', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .addColumn('position', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('records_pk', ['tenant', 'collection', 'id'])
          .execute();
        await db.schema
          .createIndex('records_by_position')
          .on('records')
          .columns(['tenant', 'position'])
          .execute();
        await db.schema
          .createTable('ops')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('op_id', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('record_id', 'text', (c) => c.notNull())
          .addColumn('op_type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('result', 'text', (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addColumn('duplicates', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('ops_pk', ['tenant', 'op_id'])
          .execute();
        await db.schema
          .createIndex('ops_by_user')
          .on('ops')
          .columns(['tenant', 'user_id', 'device_id'])
          .execute();
        await db.schema
          .createTable('temp_ids')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('temp_id', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('real_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('temp_ids_pk', ['tenant', 'client_id', 'temp_id'])
          .execute();
        await db.schema
          .createTable('id_counters')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('last_id', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('id_counters_pk', ['tenant', 'collection'])
          .execute();
        await db.schema
          .createTable('conflicts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('record_id', 'text', (c) => c.notNull())
          .addColumn('op_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('strategy', 'text', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('fields', 'text', (c) => c.notNull())
          .addColumn('server_data', 'text')
          .addColumn('server_version', 'integer', (c) => c.notNull())
          .addColumn('client_data', 'text')
          .addColumn('base_version', 'integer')
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('resolved_at', 'text')
          .addColumn('resolved_by', 'text')
          .execute();
        await db.schema
          .createIndex('conflicts_by_outcome')
          .on('conflicts')
          .columns(['tenant', 'outcome'])
          .execute();
        await db.schema
          .createIndex('conflicts_by_record')
          .on('conflicts')
          .columns(['tenant', 'collection', 'record_id'])
          .execute();
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('roles', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('devices')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('last_sync_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('devices_pk', ['tenant', 'user_id', 'device_id'])
          .execute();
        await db.schema
          .createTable('audit_events')
          .addColumn('seq', sql.raw(serial), (c) => c.primaryKey())
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('collection', 'text')
          .addColumn('record_id', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('audit_by_tenant')
          .on('audit_events')
          .columns(['tenant', 'seq'])
          .execute();
      },
    },
    '0002_conflict_resolutions': {
      async up(db: Kysely<unknown>) {
        // Conflicts archived before this migration came from the version check alone, so their
        // HLCs are unknown: the empty string sorts before every HLC, so last-write-wins favours
        // whichever side has a real one.
        await db.schema
          .alterTable('conflicts')
          .addColumn('op_type', 'text', (c) => c.notNull().defaultTo('update'))
          .execute();
        await db.schema
          .alterTable('conflicts')
          .addColumn('server_hlc', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema
          .alterTable('conflicts')
          .addColumn('client_hlc', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await sql`update conflicts set op_type = 'delete' where client_data is null`.execute(db);
        await db.schema
          .createIndex('conflicts_by_user')
          .on('conflicts')
          .columns(['tenant', 'user_id'])
          .execute();
        await db.schema
          .createTable('conflict_resolutions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('conflict_id', 'text', (c) => c.notNull())
          .addColumn('strategy', 'text', (c) => c.notNull())
          .addColumn('previous', 'text', (c) => c.notNull())
          .addColumn('record_before', 'text')
          .addColumn('record_version', 'integer')
          .addColumn('resolved_by', 'text', (c) => c.notNull())
          .addColumn('resolved_at', 'text', (c) => c.notNull())
          .addColumn('undone_at', 'text')
          .addColumn('undone_by', 'text')
          .execute();
        await db.schema
          .createIndex('conflict_resolutions_by_conflict')
          .on('conflict_resolutions')
          .columns(['tenant', 'conflict_id'])
          .execute();
      },
    },
    '0003_sync_queue': {
      async up(db: Kysely<unknown>) {
        // Seed 000's server-side queue (dialects/queue-api): each item becomes one engine op.
        await db.schema
          .createTable('sync_queue')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('operation', 'text', (c) => c.notNull())
          .addColumn('resource_type', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('resource_id', 'text')
          .addColumn('record_id', 'text', (c) => c.notNull())
          .addColumn('data', 'text')
          .addColumn('version', 'integer')
          .addColumn('created_at_client', 'text', (c) => c.notNull())
          .addColumn('hlc', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('retry_count', 'integer', (c) => c.notNull())
          .addColumn('next_attempt_at', 'text')
          .addColumn('error', 'text')
          .addColumn('conflict_id', 'text')
          .addColumn('resolution', 'text')
          .addColumn('queued_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('synced_at', 'text')
          .addPrimaryKeyConstraint('sync_queue_pk', ['tenant', 'id'])
          .execute();
        await db.schema
          .createIndex('sync_queue_by_user')
          .on('sync_queue')
          .columns(['tenant', 'user_id', 'device_id', 'status'])
          .execute();
      },
    },
    '0004_audit_refusals': {
      async up(db: Kysely<unknown>) {
        // Refused requests are audited by the route they asked for (decisions/0014).
        await db.schema.alterTable('audit_events').addColumn('route', 'text').execute();
      },
    },
    '0005_rejections': {
      async up(db: Kysely<unknown>) {
        // The rejection archive (decisions/0015): ops refused for good, with their data.
        await db.schema
          .createTable('rejections')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('op_id', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('record_id', 'text', (c) => c.notNull())
          .addColumn('op_type', 'text', (c) => c.notNull())
          .addColumn('data', 'text')
          .addColumn('base_version', 'integer')
          .addColumn('error', 'text', (c) => c.notNull())
          .addColumn('conflict_id', 'text')
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('rejected_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('rejections_by_op')
          .on('rejections')
          .columns(['tenant', 'op_id'])
          .unique()
          .execute();
        await db.schema
          .createIndex('rejections_by_record')
          .on('rejections')
          .columns(['tenant', 'client_id', 'record_id'])
          .execute();
        await db.schema
          .createIndex('rejections_by_user')
          .on('rejections')
          .columns(['tenant', 'user_id', 'id'])
          .execute();
      },
    },
    '0006_rate_limits': {
      async up(db: Kysely<unknown>) {
        // Request counts per user, shared by every server instance on the database. On PostgreSQL
        // unlogged: a count needs no WAL or flush at commit, and losing it in a crash costs nothing.
        await db.schema
          .createTable('rate_limits')
          .$call((t) => (kind === 'postgres' ? t.modifyFront(sql`unlogged`) : t))
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('window_start_ms', 'bigint', (c) => c.notNull())
          .addColumn('hits', 'integer', (c) => c.notNull())
          .execute();
      },
    },
    '0007_archive_order': {
      async up(db: Kysely<unknown>) {
        // Archive ids were UUIDv7s from each host's clock alone; a host whose clock ran behind
        // another's made ids that sorted before those already listed. New ones now sort after the
        // tenant's greatest, kept here and read under the tenant lock.
        await db.schema.alterTable('tenant_state').addColumn('last_archive_id', 'text').execute();
        await sql`update tenant_state set last_archive_id = (
            select max(id) from (
              select id from conflicts where conflicts.tenant = tenant_state.tenant
              union all
              select id from rejections where rejections.tenant = tenant_state.tenant
            ) as archived
          )`.execute(db);
      },
    },
    '0008_read_scopes': {
      async up(db: Kysely<unknown>) {
        // Numbers for the sets of collections devices may read (storage/read-scopes.ts): a
        // WatermelonDB sync point carries one, so a pull knows what the device could read then.
        await db.schema
          .createTable('read_scopes')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('tag', 'integer', (c) => c.notNull())
          .addColumn('collections', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('read_scopes_pk', ['tenant', 'tag'])
          .addUniqueConstraint('read_scopes_by_set', ['tenant', 'collections'])
          .execute();
      },
    },
    '0009_hub': {
      async up(db: Kysely<unknown>) {
        // An Outpost hub's bookkeeping (hub/): how far its queue has read its own changes, the
        // upstream's cursor, each record as the upstream last had it, and seed 004's queue items.
        await db.schema
          .createTable('hub_state')
          .addColumn('tenant', 'text', (c) => c.primaryKey())
          .addColumn('fed_through', 'bigint', (c) => c.notNull())
          .addColumn('upstream_cursor', 'text')
          .addColumn('last_push_at', 'text')
          .addColumn('last_pull_at', 'text')
          .addColumn('last_sync_at', 'text')
          .execute();
        await db.schema
          .createTable('hub_records')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('upstream_version', 'integer', (c) => c.notNull())
          .addColumn('upstream_deleted', 'integer', (c) => c.notNull())
          .addColumn('upstream_data', 'text', (c) => c.notNull())
          .addColumn('synced_position', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('hub_records_pk', ['tenant', 'collection', 'id'])
          .execute();
        await db.schema
          .createTable('hub_queue')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('record_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('operation', 'text')
          .addColumn('enqueued_at', 'text', (c) => c.notNull())
          .addColumn('retry_count', 'integer', (c) => c.notNull())
          .addColumn('max_retries', 'integer', (c) => c.notNull())
          .addColumn('base_version', 'integer')
          .addColumn('error_code', 'text')
          .addColumn('error_message', 'text')
          .addColumn('conflict', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('completed_at', 'text')
          .addPrimaryKeyConstraint('hub_queue_pk', ['tenant', 'id'])
          .execute();
        // The op of an item in flight, kept apart: a queue item holds no patient data (seed 004).
        await db.schema
          .createTable('hub_sent_ops')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('item_id', 'text', (c) => c.notNull())
          .addColumn('op', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('hub_sent_ops_pk', ['tenant', 'item_id'])
          .execute();
        // Seed 004's indexes: by status and age for processing, by entity for deduplication.
        await db.schema
          .createIndex('hub_queue_by_status')
          .on('hub_queue')
          .columns(['tenant', 'status', 'enqueued_at'])
          .execute();
        await db.schema
          .createIndex('hub_queue_by_record')
          .on('hub_queue')
          .columns(['tenant', 'collection', 'record_id'])
          .execute();
      },
    },
    '0010_queue_attempt_roles': {
      async up(db: Kysely<unknown>) {
        // Seed 000's queue items retried by the server itself (dialects/queue-api/queue-api.ts):
        // the roles a failed attempt ran under, since a background retry has no token.
        await db.schema.alterTable('sync_queue').addColumn('attempt_roles', 'text').execute();
      },
    },
    '0011_sync_queue_due': {
      async up(db: Kysely<unknown>) {
        // The server's own retry of seed 000's queue (dialects/queue-api) asks every 30 s, across
        // tenants, for the FAILED items due by now, those due longest first, up to a batch: status
        // then time lets it read just those, in order, and stop at the batch. The SYNCING items a
        // stopped server left are found by the status alone; only items under way have it.
        await db.schema
          .createIndex('sync_queue_due')
          .on('sync_queue')
          .columns(['status', 'next_attempt_at'])
          .execute();
      },
    },
    '0012_files': {
      async up(db: Kysely<unknown>) {
        // Files attached to records, received in chunks (decision 0022). A file's description and
        // the count of chunks held; the bytes beside it, one row per chunk, in the database so one
        // backup holds records and files together.
        await db.schema
          .createTable('files')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('record_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('content_type', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('chunk_size', 'integer', (c) => c.notNull())
          .addColumn('chunk_count', 'integer', (c) => c.notNull())
          .addColumn('received', 'integer', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('completed_at', 'text')
          .addPrimaryKeyConstraint('files_pk', ['tenant', 'id'])
          .execute();
        await db.schema
          .createTable('file_chunks')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('file_id', 'text', (c) => c.notNull())
          .addColumn('idx', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('bytes', kind === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
          .addPrimaryKeyConstraint('file_chunks_pk', ['tenant', 'file_id', 'idx'])
          .execute();
        // A record's files, listed for any device of the clinic (GET /v1/files?collection=&recordId=).
        await db.schema
          .createIndex('files_by_record')
          .on('files')
          .columns(['tenant', 'collection', 'record_id'])
          .execute();
      },
    },
    '0013_hub_resync_and_last_error': {
      async up(db: Kysely<unknown>) {
        // An Outpost hub's resync from scratch (CURSOR_EXPIRED) survives an interruption and a
        // restart: whether one is under way, and which records the upstream had it has not brought
        // yet (hub/hub-sync.ts, dropVanished).
        await db.schema
          .alterTable('hub_state')
          .addColumn('resyncing', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable('hub_records')
          .addColumn('resync_unseen', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        // What the hub's last exchange with its upstream ended with, for its status route.
        for (const column of ['last_error_code', 'last_error_message', 'last_error_at']) {
          await db.schema.alterTable('hub_state').addColumn(column, 'text').execute();
        }
      },
    },
    '0014_server_secrets': {
      async up(db: Kysely<unknown>) {
        // The key of the ids made from an operation's content (dialects/content-ids.ts): in the
        // database, so every instance names a resent operation alike, and a restart too.
        await db.schema
          .createTable('server_secrets')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0015_refresh_tokens': {
      async up(db: Kysely<unknown>) {
        // Sessions that outlive an access token (decision 0032): each refresh token as the SHA-256
        // of its text, its family (every token descending from one login), and its use.
        await db.schema
          .createTable('refresh_tokens')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('family_id', 'text', (c) => c.notNull())
          .addColumn('family_issued_at', 'text', (c) => c.notNull())
          .addColumn('issued_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text')
          .addColumn('replaced_by', 'text')
          .addColumn('revoked_at', 'text')
          .execute();
        // A family revoked at once, checked on each use, and purged once its last token expired.
        await db.schema
          .createIndex('refresh_tokens_by_family')
          .on('refresh_tokens')
          .columns(['family_id', 'expires_at'])
          .execute();
      },
    },
    '0016_audit_reading': {
      async up(db: Kysely<unknown>) {
        // GET /v1/audit (decision 0035) reads a clinic's audit events and push ops newest first, a
        // page at a time, keyed by time: each index hands a page over in that order and stops at
        // its end. Audit events are few (logins, refusals within a budget): by time, and by person
        // and time. Every push writes the journal: by time alone, a key the ops of one push share,
        // which PostgreSQL stores once per push (deduplicated) and appends at the index's end.
        await db.schema
          .createIndex('audit_by_time')
          .on('audit_events')
          .columns(['tenant', 'at', 'seq'])
          .execute();
        await db.schema
          .createIndex('audit_by_user_time')
          .on('audit_events')
          .columns(['tenant', 'user_id', 'at', 'seq'])
          .execute();
        await db.schema.createIndex('ops_by_time').on('ops').columns(['tenant', 'received_at']).execute();
      },
    },
    '0017_op_hlc': {
      async up(db: Kysely<unknown>) {
        // Each journaled op's HLC as the device sent it (decision 0036): its wall-clock part is
        // when the device says the change was made, so the wait until received_at can be told.
        // Null for ops journaled before, and for ops that sent no readable HLC.
        await db.schema.alterTable('ops').addColumn('hlc', 'text').execute();
      },
    },
    '0018_session_generation': {
      async up(db: Kysely<unknown>) {
        // Ending a user's sessions (a tablet lost) counts one more here; the access tokens this
        // server issues carry the count of their issuance (`sv`), and one behind is refused at once
        // (auth/ended-sessions.ts), not at its expiry up to 12 hours later.
        await db.schema
          .alterTable('users')
          .addColumn('session_generation', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0019_tenant_settings': {
      async up(db: Kysely<unknown>) {
        // A clinic's own settings, by name (decision 0042: its alert thresholds): the value as
        // JSON, and who set it when. No row: the defaults.
        await db.schema
          .createTable('tenant_settings')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('tenant_settings_pk', ['tenant', 'name'])
          .execute();
      },
    },
    '0020_people': {
      async up(db: Kysely<unknown>) {
        // A clinic's administrators manage its people (decision 0044). A person who leaves is
        // disabled, never deleted, so the audit trail keeps naming them: null while they may sign
        // in. `created_at` was there from the start.
        await db.schema.alterTable('users').addColumn('disabled_at', 'text').execute();
        // The clinic's people, listed per tenant.
        await db.schema.createIndex('users_by_tenant').on('users').columns(['tenant', 'email']).execute();
      },
    },
    '0021_password_change_due': {
      async up(db: Kysely<unknown>) {
        // 1 while the person signs in with a password an administrator set, until they choose their
        // own (decision 0047). Everyone who exists now chose theirs, or was made in code: 0.
        await db.schema
          .alterTable('users')
          .addColumn('password_change_due', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0022_database_epoch': {
      async up(db: Kysely<unknown>) {
        // The database's epoch (decision 0050): a random id, carried in the pull cursors it issues.
        // Made here, once per database; `npm run backup` gives its copy a new one, and
        // `npm run mark-restored` a database put back another way, so a cursor of the database
        // that was lost is told apart from this one's however far the restored clinic has got.
        // One row (id 1). SQLite runs migrations outside a transaction: a start cut short between
        // the two statements leaves a table this one, run again, fills.
        await db.schema
          .createTable('database_epoch')
          .ifNotExists()
          .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
          .addColumn('epoch', 'text', (c) => c.notNull())
          .addColumn('made_at', 'text', (c) => c.notNull())
          .addColumn('made_by', 'text', (c) => c.notNull())
          // When the backup a restored database came from was taken: the devices give back what
          // they hold that was written after it (decision 0050). Null when not known.
          .addColumn('backup_taken_at', 'text')
          .execute();
        await sql`insert into database_epoch (id, epoch, made_at, made_by)
          values (1, ${newEpoch()}, ${new Date().toISOString()}, 'migration')
          on conflict (id) do nothing`.execute(db);
      },
    },
    '0023_hub_restored_upstream': {
      async up(db: Kysely<unknown>) {
        // An Outpost hub's resync of an upstream restored from a backup (decision 0050): the mark
        // stays with the resync across a restart, and the backup's time with it, so the hub still
        // gives back what the backup lacked (hub/hub-sync.ts).
        await db.schema
          .alterTable('hub_state')
          .addColumn('resync_restored', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable('hub_state').addColumn('resync_backup_taken_at', 'text').execute();
        // When the upstream stamped the state the hub last had of each record (its clock, as
        // backupTakenAt): null for a state taken before this migration.
        await db.schema.alterTable('hub_records').addColumn('upstream_updated_at', 'text').execute();
      },
    },
    '0024_backup_last_ids': {
      async up(db: Kysely<unknown>) {
        // The last server id the backup a restored database came from had issued, per tenant and
        // collection (decision 0050): a device holding a higher number holds a record the backup
        // lacks, and the restored server may give that number to another record. Written with a
        // restore epoch only; null here, since a database restored before this cannot know them.
        await db.schema.alterTable('database_epoch').addColumn('backup_last_ids', 'text').execute();
      },
    },
    '0025_restored_numbers': {
      async up(db: Kysely<unknown>) {
        // The numbers given back after a restore (decision 0051): each record a lost database
        // numbered after the backup, created again once under a new number, whichever device gives
        // it back first; the others' give-backs of it are settled against that record. Per epoch:
        // a later restore's lost numbers may repeat an earlier one's.
        await db.schema
          .createTable('restored_numbers')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('collection', 'text', (c) => c.notNull())
          .addColumn('epoch', 'text', (c) => c.notNull())
          .addColumn('lost_id', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('restored_numbers_pk', ['tenant', 'collection', 'epoch', 'lost_id'])
          .execute();
      },
    },
    '0026_records_key': {
      async up(db: Kysely<unknown>) {
        // The key of each person's records on their devices (decision 0054): made at their first
        // sign-in with a password (storage/people.ts), then never changed, whatever their password.
        // Null until then, and for the people of a clinic's identity provider.
        await db.schema.alterTable('users').addColumn('records_key', 'text').execute();
      },
    },
    '0027_device_names': {
      async up(db: Kysely<unknown>) {
        // The names a clinic gives its devices (decision 0056), one per device id of the tenant,
        // whoever syncs on it. `name_key` is the name as two names must not share it within a
        // clinic (`deviceNameKey`: composed, trimmed, in lower case), unique so that two people
        // naming two tablets alike at the same moment cannot both succeed.
        await db.schema
          .createTable('device_names')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('name_key', 'text', (c) => c.notNull())
          .addColumn('named_by', 'text', (c) => c.notNull())
          .addColumn('named_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('device_names_pk', ['tenant', 'device_id'])
          .execute();
        await db.schema
          .createIndex('device_names_by_key')
          .on('device_names')
          .columns(['tenant', 'name_key'])
          .unique()
          .execute();
      },
    },
    '0028_devices_out_of_use': {
      async up(db: Kysely<unknown>) {
        // The devices an administrator took out of use (decision 0057), one row per device id of
        // the tenant. A sync after `since` puts the device back in use without touching this row:
        // the hot write paths (push, pull) write nothing more for it.
        await db.schema
          .createTable('devices_out_of_use')
          .addColumn('tenant', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('since', 'text', (c) => c.notNull())
          .addColumn('marked_by', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('devices_out_of_use_pk', ['tenant', 'device_id'])
          .execute();
      },
    },
  };
}

export async function migrateToLatest(db: Kysely<unknown>, kind: DatabaseKind): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(kind) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'outpost_migrations',
    migrationLockTableName: 'outpost_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
