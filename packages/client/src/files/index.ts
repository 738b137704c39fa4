export { memoryFileStore } from './memory-file-store';
export type { MemoryFileStoreOptions } from './memory-file-store';
export { indexedDbFileStore } from './indexeddb-file-store';
export type { IndexedDbFileStoreOptions } from './indexeddb-file-store';
export { encryptedFileStore } from '../crypto/encrypted-file-store';
export type { EncryptedFileStoreOptions } from '../crypto/encrypted-file-store';
export { FileUnavailableError } from './file-errors';
export type { FileUnavailableReason } from './file-errors';
export { DEFAULT_FILE_CHUNK_BYTES } from './file-bytes';
export { createFileTransport } from './file-transport';
export type { FileContent, FileTransport, FileTransportOptions } from './file-transport';
export type { AttachOptions, ClientFiles, FilesListener, FilesStats, RecordOfFiles } from './client-files';
export type {
  FileDeletion,
  FileError,
  FileState,
  FileStoreSnapshot,
  FileWrite,
  LocalFile,
  LocalFileStore,
  StoredFile,
} from './local-file-store';
