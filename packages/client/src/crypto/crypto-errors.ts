/** The passphrase given does not derive the key this device's data was encrypted with. */
export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError';
  readonly code = 'WRONG_PASSPHRASE';

  constructor() {
    super("the passphrase does not open this device's data");
  }
}

/**
 * Encrypted data that cannot be read with the right key: damaged, moved between records, or written
 * by a newer version of Outpost. Loading stops rather than hand back a store with holes in it.
 */
export class EncryptedDataError extends Error {
  override readonly name = 'EncryptedDataError';
  readonly code = 'ENCRYPTED_DATA_DAMAGED';
}
