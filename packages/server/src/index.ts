export { createSyncServer } from './create-sync-server';
export { caller } from './http/caller';
export { serveStaticApp } from './http/static-app';
export { serveDemoAccounts } from './cli/demo-accounts';
export type { StaticAppOptions } from './http/static-app';
export type { SyncServerOptions, LimitOptions, ServerContext } from './create-sync-server';
export type { HubOptions } from './hub/hub-sync';
export type { QueueApiOptions } from './dialects/queue-api/queue-api-options';
export type { UpstreamAccount } from './hub/upstream-client';
export { liveEventFor } from './routes/live';
export type { LiveOptions } from './routes/live';
export type { ChangeNotice } from './storage/change-notices';
export { openDatabase, openPostgres, openSqlite } from './storage/database';
export type { Database, DatabaseKind } from './storage/database';
export { BackupRefusedError, backupSqlite, checkBackup } from './storage/sqlite-backup';
export type { BackupContents, BackupOptions, BackupRefusal, BackupResult } from './storage/sqlite-backup';
export {
  BackupKeyError,
  backupRecipients,
  decryptFile,
  encryptFile,
  identitiesIn,
  isEncryptedBackup,
  newBackupKey,
} from './storage/backup-encryption';
export { scheduleBackups } from './storage/backup-schedule';
export type {
  BackupLog,
  BackupStatus,
  BackupSchedule,
  BackupScheduleOptions,
  ScheduledBackupOutcome,
} from './storage/backup-schedule';
export { MarkRefusedError, markRestored } from './storage/mark-restored';
export type { MarkRefusal, MarkResult } from './storage/mark-restored';
export { SyncStore } from './storage/sync-store';
export type {
  StoredRecord,
  StoredConflict,
  StoredOp,
  StoredRejection,
  AuditEvent,
} from './storage/sync-store';
export { ensureUsers } from './users';
export type { NewUser } from './users';
export { hashPassword, verifyPassword } from './auth/passwords';
export type { AuthOptions, AuthContext } from './auth/tokens';
