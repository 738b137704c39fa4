import { z } from 'zod';
import { deviceIdSchema } from './common';
import { recordsKeySchema } from './records-key';

export const loginRequestSchema = z.object({
  email: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
});
export type LoginRequest = z.infer<typeof loginRequestSchema>;

/**
 * A login's answer. `refreshToken` and `refreshExpiresAt` are an addition to PROTOCOL.md (docs/server.md,
 * "Sessions and refresh tokens"): optional, so the answer of a server that does not make them still parses.
 */
export const loginResponseSchema = z.object({
  token: z.string(),
  expiresAt: z.string(),
  user: z.object({
    id: z.string(),
    tenant: z.string(),
    roles: z.array(z.string()),
    /**
     * Present, and true, while the person signs in with a password an administrator set (decision
     * 0047): every route but `POST /v1/auth/password` is refused 403 until they choose their own.
     */
    passwordChangeDue: z.literal(true).optional(),
  }),
  /** Opaque (32 random bytes, base64url): sent to `POST /v1/auth/refresh` for the next token. */
  refreshToken: z.string().optional(),
  /** When `refreshToken` stops being taken: the session's end unless it is refreshed before. */
  refreshExpiresAt: z.string().optional(),
  /**
   * The key of this person's records on their devices (43 characters, base64url of 32 random
   * bytes): present in the answers to a password sign-in (`POST /v1/auth/login`) and to
   * `POST /v1/auth/password`, never in a refresh's; a session the server accepts may also ask for
   * it (`GET /v1/auth/records-key`). The same for as long as the person exists, whatever their
   * password; a device keeps it only sealed under the person's password (decision 0054).
   */
  recordsKey: recordsKeySchema.optional(),
});
export type LoginResponse = z.infer<typeof loginResponseSchema>;

/**
 * The body of `POST /v1/auth/refresh` and `POST /v1/auth/logout`. The token is checked by the server,
 * not here: one of another form is refused 401 like an unknown one, and only a body of another shape
 * is 400. `deviceId` (optional) names the device in the audit.
 */
export const refreshRequestSchema = z.object({
  refreshToken: z.string().min(1).max(512),
  deviceId: deviceIdSchema.optional(),
});
export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

/**
 * A refresh answers as a login does, a new refresh token always included: the one sent is used up.
 * Never the records key: a refresh token is no proof of the password (decision 0054), so a key in
 * another server's refresh answer is dropped here, not handed on.
 */
export const refreshResponseSchema = loginResponseSchema.omit({ recordsKey: true }).extend({
  refreshToken: z.string(),
  refreshExpiresAt: z.string(),
});
export type RefreshResponse = z.infer<typeof refreshResponseSchema>;

/** `POST /v1/auth/logout`: the refresh token whose session ends (answered 204, whatever it was). */
export const logoutRequestSchema = refreshRequestSchema;
export type LogoutRequest = z.infer<typeof logoutRequestSchema>;

/** The claims Outpost reads from a bearer token. The tenant comes from here and nowhere else. */
export const tokenClaimsSchema = z.object({
  sub: z.string().min(1),
  tenant: z.string().min(1).max(128),
  roles: z.array(z.string()),
  exp: z.number(),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;

/**
 * `GET /v1/demo-accounts`, served by `npm start` only while it creates the demo users (not by
 * `createSyncServer`): the accounts a sign-in page may offer and their shared password. A server
 * without demo users answers 404, and the page offers none.
 */
export const demoAccountsResponseSchema = z.object({
  password: z.string(),
  accounts: z.array(z.object({ email: z.string(), tenant: z.string(), roles: z.array(z.string()) })),
});
export type DemoAccountsResponse = z.infer<typeof demoAccountsResponseSchema>;

/**
 * `POST /v1/auth/end-sessions` (an addition to PROTOCOL.md): ends every session of a user of the
 * caller's clinic, on every device (their refresh tokens refused from then on), as for a tablet
 * lost in the field. An administrator may name anyone of the clinic; anyone, themselves.
 */
export const endSessionsRequestSchema = z.object({ userId: z.string().min(1).max(128) }).strict();
export type EndSessionsRequest = z.infer<typeof endSessionsRequestSchema>;

export const endSessionsResponseSchema = z.object({
  /** How many sessions (one per sign-in) were still open and are now ended. */
  ended: z.number().int(),
});
export type EndSessionsResponse = z.infer<typeof endSessionsResponseSchema>;
