import { describeIssues, isOutpostError, outpostError, requestErrorStatus } from '@outpost/core';
import type { RequestErrorCode } from '@outpost/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';

const codeByStatus: Record<number, RequestErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  410: 'CURSOR_EXPIRED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** Parses outside input against a core schema, or refuses it whole with 400 VALIDATION_FAILED. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw outpostError('VALIDATION_FAILED', `${what} is invalid`, describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Parses a request body, or refuses it with 400 whose message is what is wrong in words ("password
 * must be at least 12 characters"): for the forms an app shows a person, who reads it as it is.
 */
export function parseInWords<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw outpostError(
      'VALIDATION_FAILED',
      parsed.error.issues.map((i) => i.message).join('; '),
      describeIssues(parsed.error),
    );
  return parsed.data;
}

/**
 * Parses a request's query parameters as parseOrThrow does, a parameter given empty (`?limit=`, as
 * PROTOCOL.md writes its route templates) counting as not given.
 */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown, what: string): z.output<S> {
  const given = typeof query === 'object' && query !== null ? Object.entries(query) : [];
  return parseOrThrow(schema, Object.fromEntries(given.filter(([, value]) => value !== '')), what);
}

/**
 * Every error leaves in the shape of PROTOCOL.md. Fastify's own 4xx (bad JSON, body too large,
 * wrong content type, bad gzip) keep their status and get our code; anything else is a logged 500
 * that says nothing of its cause to the caller.
 */
export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (isOutpostError(err)) {
    void reply.status(err.status).send(err.toJSON());
    return;
  }
  const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
  const code = codeByStatus[status];
  if (status >= 400 && status < 500 && code) {
    const message = status === 400 && err instanceof SyntaxError ? 'body is not valid JSON' : err.message;
    void reply.status(status).send(outpostError(code, message).toJSON());
    return;
  }
  request.log.error({ err }, 'request failed');
  void reply
    .status(requestErrorStatus.INTERNAL)
    .send(outpostError('INTERNAL', 'internal server error').toJSON());
}
