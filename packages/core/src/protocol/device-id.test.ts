import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  auditQuerySchema,
  deviceNameRequestSchema,
  deviceNamesQuerySchema,
  fileDeclarationSchema,
  fileDeleteQuerySchema,
  passwordChangeRequestSchema,
  pullQuerySchema,
  pushRequestSchema,
  refreshRequestSchema,
  rejectionListQuerySchema,
  statsQuerySchema,
  statusQuerySchema,
} from '../index';

// A device id may be stored by any route that is sent one (the devices table, the journal, the
// audit), so every request naming one applies the same rule, and says what is wrong in words.
const file = {
  collection: 'patients',
  recordId: 'patient-1',
  name: 'photo.jpg',
  contentType: 'image/jpeg',
  size: 2048,
  sha256: 'a'.repeat(64),
  chunkSize: 1024,
};
const requests: Array<[string, z.ZodType, Record<string, unknown>]> = [
  ['push', pushRequestSchema, { clientId: 'client-1', ops: [] }],
  ['pull', pullQuerySchema, {}],
  ['status', statusQuerySchema, {}],
  ['stats', statsQuerySchema, {}],
  ['a file declared', fileDeclarationSchema, file],
  ['a file deleted', fileDeleteQuerySchema, {}],
  ['refused changes', rejectionListQuerySchema, {}],
  ['the audit log', auditQuerySchema, {}],
  ['a refresh', refreshRequestSchema, { refreshToken: 'token' }],
  [
    'a password change',
    passwordChangeRequestSchema,
    { currentPassword: 'old password here', newPassword: 'a new long passphrase for the ward' },
  ],
  ['device names read', deviceNamesQuerySchema, {}],
  ['a device named', deviceNameRequestSchema, { name: 'Ward 2 tablet' }],
];

describe('a device id, in every request that names one', () => {
  it.each(requests)('%s: takes a tablet id of 1-128 whole characters', (_what, schema, rest) => {
    expect(
      schema.safeParse({ ...rest, deviceId: 'browser-01a210b5-d52e-7aa1-9785-ba827e617f66' }).success,
    ).toBe(true);
    expect(schema.safeParse({ ...rest, deviceId: `tablet-${'x'.repeat(121)}` }).success).toBe(true);
  });

  it.each(requests)(
    '%s: refuses half a character, an empty id and one too long, in words',
    (_what, schema, rest) => {
      const refusal = (deviceId: unknown) => {
        const parsed = schema.safeParse({ ...rest, deviceId });
        return parsed.success ? null : parsed.error.issues.map((i) => i.message);
      };
      expect(refusal('tablet-\ud83d')).toEqual(['deviceId may not hold half of a character']);
      expect(refusal('')).toEqual(['deviceId is empty']);
      expect(refusal('x'.repeat(129))).toEqual(['deviceId must be at most 128 characters']);
      expect(refusal(42)).toEqual(['deviceId must be text']);
    },
  );
});
