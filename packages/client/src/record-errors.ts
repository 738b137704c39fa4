/**
 * `collection.fetch(id)`: the record is not on this device and the server cannot be reached now
 * (no network, the link dropped, a 5xx, the rate limit). Not null, which says the server has no
 * such record: a screen must not tell a clinician a patient does not exist because the tablet is
 * offline. Matched by `code` as well as by class.
 */
export class RecordUnavailableError extends Error {
  override readonly name = 'RecordUnavailableError';
  readonly code = 'RECORD_UNAVAILABLE';
  readonly collection: string;
  readonly id: string;

  constructor(collection: string, id: string, options?: { cause?: unknown }) {
    super(`${collection} ${id} is not on this device and the server cannot be reached`, options);
    this.collection = collection;
    this.id = id;
  }
}
