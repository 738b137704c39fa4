import type { ColumnType, Generated } from 'kysely';

/**
 * The tables of the sync store, as Kysely sees them. JSON lives in text columns and booleans in
 * integers (0/1) so one set of queries serves SQLite and PostgreSQL alike.
 */
export interface Tables {
  tenant_state: {
    tenant: string;
    /** The last change position handed out in this tenant. */
    position: number;
    /** Tombstones at or below this position were purged: older cursors get CURSOR_EXPIRED. */
    purged_through: number;
    /** The greatest conflict or rejection id of this tenant: new ones sort after it (TenantWrite). */
    last_archive_id: ColumnType<string | null, string | null | undefined, string | null>;
  };
  records: {
    tenant: string;
    collection: string;
    id: string;
    /** JSON. Kept on tombstones too (pull sends null) until the tombstone is purged. */
    data: string;
    version: number;
    /** JSON FieldMeta: per field, the version and HLC of its last change. */
    field_meta: string;
    deleted: number;
    hlc: string;
    updated_at: string;
    updated_by: string;
    position: number;
  };
  /** Every push op received: the idempotency journal and the audit of push ops (no record contents). */
  ops: {
    tenant: string;
    op_id: string;
    client_id: string;
    device_id: string;
    user_id: string;
    collection: string;
    record_id: string;
    op_type: string;
    status: string;
    /**
     * JSON: the PushResult without what the columns above hold (opId, collection, id, status),
     * e.g. `{"version":1}`; replayed for a duplicate. Conflict summaries, never record data.
     * Rows written before this hold the whole result.
     */
    result: string;
    received_at: string;
    duplicates: number;
    /**
     * The op's HLC as the device sent it, whose wall-clock part is when the device (by its own
     * clock) made the change; null for ops journaled before migration 0017 or sent without a
     * readable one. Not the HLC the record was stamped with when the server put its own instead.
     */
    hlc: ColumnType<string | null, string | null | undefined, string | null>;
  };
  temp_ids: {
    tenant: string;
    client_id: string;
    temp_id: string;
    collection: string;
    real_id: string;
  };
  /** A record a restored database's lost one numbered, given back under `id` (migration 0025, decision 0051). */
  restored_numbers: {
    tenant: string;
    collection: string;
    /** The epoch of the restored database (a later restore's lost numbers may repeat these). */
    epoch: string;
    /** The number the database the restore replaced had given it. */
    lost_id: string;
    id: string;
  };
  id_counters: {
    tenant: string;
    collection: string;
    last_id: number;
  };
  /** The conflict archive: both versions, whatever the outcome. Holds patient data by design. */
  conflicts: {
    id: string;
    tenant: string;
    collection: string;
    record_id: string;
    op_id: string;
    op_type: string;
    kind: string;
    strategy: string;
    outcome: string;
    fields: string;
    server_data: string | null;
    server_version: number;
    server_hlc: string;
    client_data: string | null;
    client_hlc: string;
    base_version: number | null;
    user_id: string;
    device_id: string;
    created_at: string;
    resolved_at: string | null;
    resolved_by: string | null;
  };
  /**
   * The rejection archive: every op refused for good, with the data it carried as sent, so it
   * outlives the device that typed it. Holds patient data by design, like the conflict archive.
   */
  rejections: {
    id: string;
    tenant: string;
    op_id: string;
    collection: string;
    record_id: string;
    op_type: string;
    /** JSON of the op's data as sent; null for a delete or an op that sent none. */
    data: string | null;
    base_version: number | null;
    /** JSON OpError: code, message, details. */
    error: string;
    conflict_id: string | null;
    user_id: string;
    device_id: string;
    client_id: string;
    rejected_at: string;
  };
  /**
   * Each resolution a person made: the conflict's state and the record as they were before it,
   * so the last one can be undone while nothing has changed the record since.
   */
  conflict_resolutions: {
    id: string;
    tenant: string;
    conflict_id: string;
    strategy: string;
    /** JSON: the conflict's strategy, outcome, resolvedAt and resolvedBy before this resolution. */
    previous: string;
    /** JSON RecordState of the record before, or null when the resolution left the record as it was. */
    record_before: string | null;
    /** The record version the resolution wrote, or null when it wrote none. */
    record_version: number | null;
    resolved_by: string;
    resolved_at: string;
    undone_at: string | null;
    undone_by: string | null;
  };
  users: {
    id: string;
    tenant: string;
    email: string;
    password_hash: string;
    /** JSON string[] */
    roles: string;
    created_at: string;
    /** How many times every session of the user was ended (migration 0018). */
    session_generation: Generated<number>;
    /** When an administrator disabled the person (migration 0020); null while they may sign in. */
    disabled_at: ColumnType<string | null, string | null | undefined, string | null>;
    /** 1 while the person must choose their own password (migration 0021, decision 0047). */
    password_change_due: Generated<number>;
    /**
     * The key of the person's records on their devices, base64url of 32 random bytes (migration
     * 0026, decision 0054): null until their first sign-in with a password, then never changed.
     */
    records_key: ColumnType<string | null, string | null | undefined, string | null>;
  };
  devices: {
    tenant: string;
    user_id: string;
    device_id: string;
    last_sync_at: string;
  };
  /** A clinic's names of its devices (migration 0027, decision 0056): one per device id. */
  device_names: {
    tenant: string;
    device_id: string;
    name: string;
    /** `deviceNameKey(name)`, unique per tenant. */
    name_key: string;
    /** The user id of the person who named it. */
    named_by: string;
    named_at: string;
  };
  /**
   * The devices an administrator took out of use (migration 0028, decision 0057): a broken, lost or
   * replaced tablet, no longer listed as silent. In effect while the device has not synced since.
   */
  devices_out_of_use: {
    tenant: string;
    device_id: string;
    since: string;
    /** The user id of the administrator who took it out of use. */
    marked_by: string;
  };
  /**
   * Seed 000's server-side sync queue (dialects/queue-api): an operation kept until it is processed
   * through the engine as one op. Holds the queued data, so patient data, like the conflict archive.
   */
  sync_queue: {
    tenant: string;
    id: string;
    user_id: string;
    device_id: string;
    /** CREATE, UPDATE or DELETE. */
    operation: string;
    /** As the client named it ("encounter"); `collection` is the schema's name for it. */
    resource_type: string;
    collection: string;
    /** As the client sent it; null for a CREATE that left the id to the server. */
    resource_id: string | null;
    /** The id the op is sent with: resource_id, or one made at queue time (a temp id for server-id collections). */
    record_id: string;
    /** JSON of the queued data; null for a DELETE. */
    data: string | null;
    /** The record version the change was made on, as sent. */
    version: number | null;
    created_at_client: string;
    /** The op's HLC, from createdAtClient, so last-write-wins compares when the change was made. */
    hlc: string;
    /** PENDING, SYNCING, SYNCED, FAILED or CONFLICT as last stored; a person's resolution shows through conflict_id. */
    status: string;
    retry_count: number;
    next_attempt_at: string | null;
    /** JSON { code, message, details? } of the last failure. */
    error: string | null;
    conflict_id: string | null;
    /** The resolution asked for: CLIENT_WINS, SERVER_WINS or MANUAL. */
    resolution: string | null;
    /**
     * JSON string array: the roles the last attempt ran under, from its user's token, kept at each
     * claim. The server's own retry, and the sweep finishing an attempt a stopped server left
     * SYNCING, have no token and run under these; null before any.
     */
    attempt_roles: ColumnType<string | null, string | null | undefined, string | null>;
    queued_at: string;
    updated_at: string;
    synced_at: string | null;
  };
  /** Logins, resolutions, refused requests: who, device, when, record or route, outcome; no contents. */
  audit_events: {
    seq: Generated<number>;
    tenant: string;
    at: string;
    user_id: string;
    device_id: string | null;
    action: string;
    collection: string | null;
    record_id: string | null;
    /** The route a refused request asked for, as registered; null for other events. */
    route: string | null;
    outcome: string;
  };
  /** The sets of collections devices may read, numbered per tenant (ReadScopes). */
  read_scopes: {
    tenant: string;
    tag: number;
    /** JSON: the collection names, sorted. */
    collections: string;
  };
  /** An Outpost hub (hub/): per tenant, how far it has read its own changes and the upstream's. */
  hub_state: {
    tenant: string;
    /** The local change position the hub's queue has been fed through (hub/hub-feed.ts). */
    fed_through: number;
    /** The upstream's pull cursor, opaque; null before the first pull. */
    upstream_cursor: string | null;
    last_push_at: string | null;
    last_pull_at: string | null;
    /** When a push and a pull last both finished (seed 004's LastSyncAt). */
    last_sync_at: string | null;
    /** 1 while a resync from scratch (CURSOR_EXPIRED) is under way, across interruptions (0013). */
    resyncing: ColumnType<number, number | undefined, number>;
    /** What the hub's last exchange with its upstream ended with; null when it ended well (0013). */
    last_error_code: ColumnType<string | null, string | null | undefined, string | null>;
    last_error_message: ColumnType<string | null, string | null | undefined, string | null>;
    last_error_at: ColumnType<string | null, string | null | undefined, string | null>;
    /** 1 while the resync under way is of an upstream restored from a backup (0023). */
    resync_restored: ColumnType<number, number | undefined, number>;
    /** When that backup was taken, if the upstream said (0023). */
    resync_backup_taken_at: ColumnType<string | null, string | null | undefined, string | null>;
  };
  /** Per record a hub ever exchanged with its upstream: the record as the upstream last had it. */
  hub_records: {
    tenant: string;
    collection: string;
    id: string;
    upstream_version: number;
    upstream_deleted: number;
    /** JSON of the upstream's data; '{}' on a tombstone. */
    upstream_data: string;
    /**
     * The local position the hub itself last wrote the record at (the upstream's record, with any
     * local change still to go on top): no local change, so the feed skips it.
     */
    synced_position: number;
    /** 1: the resync under way has not brought this record yet (0013). */
    resync_unseen: ColumnType<number, number | undefined, number>;
    /**
     * When the upstream stamped that state (its `updatedAt`, its clock), or for a state the hub's
     * own push made, when the hub had the upstream's answer; null for one taken before 0023.
     */
    upstream_updated_at: ColumnType<string | null, string | null | undefined, string | null>;
  };
  /** Seed 004's SyncQueueItem: one per record with local changes the upstream has not had. */
  hub_queue: {
    tenant: string;
    id: string;
    collection: string;
    record_id: string;
    /** Pending, Processing, Completed or Failed. */
    status: string;
    operation: string | null;
    enqueued_at: string;
    retry_count: number;
    max_retries: number;
    /**
     * The upstream version the waiting change was made on: sent as its base, so the upstream's
     * rules see whatever changed there since, even after a pull brought it to the hub. Null for a
     * record the upstream did not have.
     */
    base_version: number | null;
    error_code: string | null;
    error_message: string | null;
    /** JSON conflict summary from the upstream's answer, when there was one. */
    conflict: string | null;
    updated_at: string;
    completed_at: string | null;
  };
  /**
   * The op of a hub_queue item in flight, as sent: resent as it is until the upstream answers, then
   * deleted. Kept apart from the item, which holds no patient data (seed 004).
   */
  hub_sent_ops: {
    tenant: string;
    item_id: string;
    /** JSON PushOp. */
    op: string;
  };
  rate_limits: {
    /** Whose requests: a user (tenant and id) or, before sign-in, an address. */
    key: string;
    /** When the current window of the count began. */
    window_start_ms: number;
    hits: number;
  };
  /** Files attached to records (decision 0022): the description and how many chunks are held. */
  files: {
    tenant: string;
    id: string;
    collection: string;
    record_id: string;
    /** May name the patient: never logged or audited. */
    name: string;
    content_type: string;
    size: number;
    /** The whole file's SHA-256, lowercase hex, as the device declared it. */
    sha256: string;
    chunk_size: number;
    chunk_count: number;
    received: number;
    created_by: string;
    device_id: string | null;
    created_at: string;
    completed_at: string | null;
  };
  /** A file's bytes, one row per chunk received, each with its own SHA-256. */
  file_chunks: {
    tenant: string;
    file_id: string;
    idx: number;
    sha256: string;
    bytes: Uint8Array;
  };
  /**
   * Secrets every instance of this server shares, made once by the first to need one. Never a
   * record's content, never sent to a device.
   */
  server_secrets: {
    name: string;
    /** Hex. */
    secret: string;
    created_at: string;
  };
  /**
   * One row (id 1): the database's epoch (migration 0022, decision 0050), which its pull cursors
   * carry; what made it (`migration`, `backup`, `mark-restored`) and when.
   */
  database_epoch: {
    id: number;
    epoch: string;
    made_at: string;
    made_by: string;
    /** When the backup this database was restored from was taken, if known (null otherwise). */
    backup_taken_at: string | null;
    /**
     * The last id of each server-id collection, per tenant, in the backup this database was
     * restored from (migration 0024): JSON `{ tenant: { collection: "<last id>" } }`, null when not
     * known (never restored, or restored before the migration).
     */
    backup_last_ids: string | null;
  };
  /** A clinic's own settings, by name (migration 0019); no row is the defaults. */
  tenant_settings: {
    tenant: string;
    /** What the setting is: `alert-thresholds` (decision 0042), `screen-lock` (decision 0048). */
    name: string;
    /** JSON of the value, checked by the route that sets it. */
    value: string;
    updated_at: string;
    /** The user id of the person who set it. */
    updated_by: string;
  };
  /**
   * Refresh tokens this server's logins handed out (decision 0032), each kept as the SHA-256 of its
   * text, never the text: a copy of the database signs nobody in. A family is every token descending
   * from one login; any row of it revoked revokes it whole.
   */
  refresh_tokens: {
    /** SHA-256 of the token's text, lowercase hex. */
    token_hash: string;
    tenant: string;
    user_id: string;
    family_id: string;
    /** When the family's login was: no token of it is taken past `refreshMaxAgeSeconds` from then. */
    family_issued_at: string;
    issued_at: string;
    expires_at: string;
    /** When it was exchanged for the next; null while it is the family's live token. */
    used_at: string | null;
    /** The hash of the token it was exchanged for. */
    replaced_by: string | null;
    /** Set on every row of a family ended by a logout, a reuse, or its user's removal. */
    revoked_at: string | null;
  };
}
