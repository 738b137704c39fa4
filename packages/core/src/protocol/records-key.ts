import { z } from 'zod';

/**
 * The key of a person's records on their devices (decision 0054): 43 characters, base64url of 32
 * random bytes, the same for as long as the person exists, whatever their password. Sent in the
 * answer to a password sign-in, and by `GET /v1/auth/records-key` to a session the server still
 * accepts, so that a device opens the records it encrypted without asking for the password while
 * it can reach the server, and never keeps the key in clear.
 */
export const recordsKeySchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'is not a records key');

/** `GET /v1/auth/records-key`. */
export const recordsKeyResponseSchema = z.object({ recordsKey: recordsKeySchema });
export type RecordsKeyResponse = z.infer<typeof recordsKeyResponseSchema>;
