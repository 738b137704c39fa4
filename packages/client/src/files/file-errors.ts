/** Why `client.files.get(id)` could not give a file's bytes. */
export type FileUnavailableReason =
  /** Not on this device, and the server could not be reached. */
  | 'offline'
  /** The server has no such file: perhaps the device that attached it has not uploaded it yet. */
  | 'not-found'
  /** The server is still receiving it from the device that attached it. */
  | 'incomplete'
  /** What came never matched the file's SHA-256, after retries: nothing was kept. */
  | 'checksum'
  /** The bytes this device holds no longer match the file's hashes, and the server has no copy yet. */
  | 'damaged';

/**
 * A file's bytes cannot be had now. Matched by `code` as well as by class; `reason` says why, so
 * a screen can say "offline: this photo is not on the tablet" rather than a generic failure.
 */
export class FileUnavailableError extends Error {
  override readonly name = 'FileUnavailableError';
  readonly code = 'FILE_UNAVAILABLE';
  readonly fileId: string;
  readonly reason: FileUnavailableReason;

  constructor(fileId: string, reason: FileUnavailableReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.fileId = fileId;
    this.reason = reason;
  }
}
