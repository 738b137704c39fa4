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

/*
 * A class per kind (DESIGN.md's conventions), each an OutpostError with its code, so an app may
 * catch by class (`err instanceof ConflictError`) or by code alike. `outpostError(code, ...)`
 * makes the class of a code; the client and the server make every error through it, so an error
 * of a code is always of its class, read from the wire too. Each keeps the name `OutpostError`:
 * `isOutpostError` and code that matches on the name see them as before.
 */

/** 400: the request or an op's data is not what the protocol or the schema takes. */
export class ValidationError extends OutpostError {
  declare readonly code: 'VALIDATION_FAILED';
  constructor(message: string, details?: unknown) {
    super('VALIDATION_FAILED', message, details);
  }
}

/** 401: no token, or one that is forged, expired, or of a session that was ended. */
export class UnauthorizedError extends OutpostError {
  declare readonly code: 'UNAUTHORIZED';
  constructor(message: string, details?: unknown) {
    super('UNAUTHORIZED', message, details);
  }
}

/** 403: the caller's roles may not do this. */
export class ForbiddenError extends OutpostError {
  declare readonly code: 'FORBIDDEN';
  constructor(message: string, details?: unknown) {
    super('FORBIDDEN', message, details);
  }
}

/** 404: nothing of that id the caller may see (another clinic's records included). */
export class NotFoundError extends OutpostError {
  declare readonly code: 'NOT_FOUND';
  constructor(message: string, details?: unknown) {
    super('NOT_FOUND', message, details);
  }
}

/** 409: the state changed under the request (a conflict settled already, a record signed). */
export class ConflictError extends OutpostError {
  declare readonly code: 'CONFLICT';
  constructor(message: string, details?: unknown) {
    super('CONFLICT', message, details);
  }
}

/** 410: a pull cursor older than the server's tombstones: the device reads everything again. */
export class CursorExpiredError extends OutpostError {
  declare readonly code: 'CURSOR_EXPIRED';
  constructor(message: string, details?: unknown) {
    super('CURSOR_EXPIRED', message, details);
  }
}

/** 413: a body over the server's limit. */
export class PayloadTooLargeError extends OutpostError {
  declare readonly code: 'PAYLOAD_TOO_LARGE';
  constructor(message: string, details?: unknown) {
    super('PAYLOAD_TOO_LARGE', message, details);
  }
}

/** 416: a file's Range past its end. */
export class RangeNotSatisfiableError extends OutpostError {
  declare readonly code: 'RANGE_NOT_SATISFIABLE';
  constructor(message: string, details?: unknown) {
    super('RANGE_NOT_SATISFIABLE', message, details);
  }
}

/** 415: a body of a type or coding the route does not take. */
export class UnsupportedMediaTypeError extends OutpostError {
  declare readonly code: 'UNSUPPORTED_MEDIA_TYPE';
  constructor(message: string, details?: unknown) {
    super('UNSUPPORTED_MEDIA_TYPE', message, details);
  }
}

/** 429: over a rate limit; `details.retryAfterMs` says when to try again. */
export class RateLimitedError extends OutpostError {
  declare readonly code: 'RATE_LIMITED';
  constructor(message: string, details?: unknown) {
    super('RATE_LIMITED', message, details);
  }
}

/** 500 (and 408): the server failed, or gave an answer that cannot be read; worth trying again. */
export class InternalError extends OutpostError {
  declare readonly code: 'INTERNAL';
  constructor(message: string, details?: unknown) {
    super('INTERNAL', message, details);
  }
}

const errorClasses: {
  readonly [C in RequestErrorCode]: new (message: string, details?: unknown) => OutpostError & { code: C };
} = {
  VALIDATION_FAILED: ValidationError,
  UNAUTHORIZED: UnauthorizedError,
  FORBIDDEN: ForbiddenError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
  CURSOR_EXPIRED: CursorExpiredError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  RANGE_NOT_SATISFIABLE: RangeNotSatisfiableError,
  UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaTypeError,
  RATE_LIMITED: RateLimitedError,
  INTERNAL: InternalError,
};

/** The error of `code`, of its class: what every part of Outpost makes its errors with. */
export function outpostError<C extends RequestErrorCode>(
  code: C,
  message: string,
  details?: unknown,
): OutpostError & { code: C } {
  const Kind = errorClasses[code] as new (message: string, details?: unknown) => OutpostError & { code: C };
  return new Kind(message, details);
}
