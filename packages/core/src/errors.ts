/**
 * Every error code Outpost puts on the wire, in one place. Request-level codes come with an HTTP
 * status; op-level codes appear inside a push result and never change the response status.
 */
export const requestErrorStatus = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  CURSOR_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  /** A download's Range past the file's end (an addition to PROTOCOL.md, with files). */
  RANGE_NOT_SATISFIABLE: 416,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
} as const;

export type RequestErrorCode = keyof typeof requestErrorStatus;

export const opErrorCodes = [
  'VALIDATION_FAILED',
  'FORBIDDEN',
  'UNKNOWN_COLLECTION',
  'NOT_FOUND',
  'IMMUTABLE',
  'LOCKED',
  'UNRESOLVED_REFERENCE',
  'DEPENDENCY_FAILED',
] as const;

export type OpErrorCode = (typeof opErrorCodes)[number];

/** An error with a stable code that can be matched without instanceof (`err.name === 'OutpostError'`). */
export class OutpostError extends Error {
  override readonly name = 'OutpostError';
  readonly code: RequestErrorCode;
  readonly details: unknown;

  constructor(code: RequestErrorCode, message: string, details?: unknown) {
    super(message);
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return requestErrorStatus[this.code];
  }

  toJSON(): { error: { code: RequestErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export function isOutpostError(value: unknown): value is OutpostError {
  return value instanceof Error && value.name === 'OutpostError' && 'code' in value;
}
