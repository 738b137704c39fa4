import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  InternalError,
  OutpostError,
  RateLimitedError,
  isOutpostError,
  outpostError,
  requestErrorStatus,
} from './errors';
import type { RequestErrorCode } from './errors';

describe('error classes', () => {
  it('makes every code an error of its own class, an OutpostError with that code and status', () => {
    const codes = Object.keys(requestErrorStatus) as RequestErrorCode[];
    const classes = new Set<unknown>();
    for (const code of codes) {
      const error = outpostError(code, `a ${code}`, { reason: 'x' });
      expect(error).toBeInstanceOf(OutpostError);
      expect(error.constructor).not.toBe(OutpostError);
      classes.add(error.constructor);
      expect(isOutpostError(error)).toBe(true);
      expect([error.code, error.status, error.name, error.message]).toEqual([
        code,
        requestErrorStatus[code],
        'OutpostError',
        `a ${code}`,
      ]);
      expect(error.toJSON()).toEqual({ error: { code, message: `a ${code}`, details: { reason: 'x' } } });
    }
    // One class per code: none shared.
    expect(classes.size).toBe(codes.length);
  });

  it('is caught by class', () => {
    const thrown = () => {
      throw outpostError('CONFLICT', 'signed already');
    };
    expect(thrown).toThrow(ConflictError);
    expect(new RateLimitedError('slow down', { retryAfterMs: 1000 })).toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
      details: { retryAfterMs: 1000 },
    });
    expect(outpostError('INTERNAL', 'x')).not.toBeInstanceOf(ConflictError);
    expect(outpostError('INTERNAL', 'x')).toBeInstanceOf(InternalError);
  });
});
