export { createHttpTransport } from './http-transport';
export type { HttpTransport, HttpTransportOptions, PullRequest } from './http-transport';
export { createTokenSession, inProcessLock } from './auth/token-session';
export type { SessionLock, StoredSession, TokenSession, TokenSessionOptions } from './auth/token-session';
export { createSyncClient } from './create-sync-client';
export type {
  AutoSyncOption,
  AutoSyncSettings,
  QueueStats,
  SyncClient,
  SyncClientOptions,
  SyncOptions,
  WithdrawalPlan,
  WithdrawBlock,
} from './create-sync-client';
export { isWithdrawable, stillToGo } from './outbox/withdraw';
export type { QueueOperation } from './outbox/seed-operations';
export { Collection } from './collection';
export type { ChangeOptions, ClientRecord, FindQuery, RecordsListener } from './collection';
export { isRefused } from './local-state';
export { ClientClosedError } from './client-closed';
export { RecordUnavailableError } from './record-errors';
export type {
  RecordFilter,
  RecordFilterOption,
  RecordFilterWithReach,
  RecordFilters,
  ServerRecord,
} from './sync/record-filter';
export type { Renumbered, RestoreReport, SyncProgress, SyncResult, RetryPolicy } from './sync/sync-engine';
export { consoleLogger } from './debug/sync-log';
export type { SyncLogEntry, SyncLogger, SyncLogSource } from './debug/sync-log';
export type { SyncDebugData } from './debug/debug-data';
export type { PoorLinkSizes } from './sync/sync-options';
export type { CollectionSyncScope, NotPulledReason } from './sync/collection-sync';
export type { SyncTransport } from './sync/sync-transport';
export type { Orphan, OrphanStrategy } from './relationships';
export * from './stores/index';
export * from './network/index';
export * from './files/index';
