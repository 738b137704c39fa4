export { memoryStore } from './memory-store';
export type { MemoryStoreOptions } from './memory-store';
export { indexedDbStore, indexedDbStoreLock } from './indexeddb-store';
export type { IndexedDbStoreOptions } from './indexeddb-store';
export { StoreClosedError, StoreOpenError, StoreWriteError } from './store-errors';
export type { StoreErrorCode } from './store-errors';
export { encryptedStore, WrongPassphraseError, EncryptedDataError } from '../crypto/encrypted-store';
export type { EncryptedStoreOptions } from '../crypto/encrypted-store';
// For an app that keeps a secret sealed under a person's password (the clinic app's records key):
// the same PBKDF2, AES-GCM and base64 the encrypted stores use, and the meta key that marks a store
// encrypted.
export { deriveKey as keyFromPassphrase, seal as sealText, unseal as unsealText } from '../crypto/web-crypto';
export { CRYPTO_META_KEY as encryptionHeaderKey } from '../crypto/crypto-header';
export { base64ToBytes, bytesToBase64 } from '../crypto/base64';
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
