export { memoryStore } from './memory-store';
export type { MemoryStoreOptions } from './memory-store';
export { indexedDbStore, indexedDbStoreLock } from './indexeddb-store';
export type { IndexedDbStoreOptions } from './indexeddb-store';
export { StoreClosedError, StoreOpenError, StoreWriteError } from './store-errors';
export type { StoreErrorCode } from './store-errors';
export { encryptedStore, WrongPassphraseError, EncryptedDataError } from '../crypto/encrypted-store';
export type { EncryptedStoreOptions } from '../crypto/encrypted-store';
export type {
  FieldTimes,
  LocalConflict,
  LocalRecord,
  LocalStore,
  OutboxEntry,
  OutboxStatus,
  ServerState,
  StoreSnapshot,
  WriteBatch,
} from './local-store';
