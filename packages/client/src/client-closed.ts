/**
 * Thrown by what a closed client is still asked to do: a write, a sync, a request. After close()
 * nothing more is sent or stored for the session that ended. Matched by `code` as well as by class.
 */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
  readonly code = 'CLIENT_CLOSED';

  constructor() {
    super('the sync client is closed');
  }
}
