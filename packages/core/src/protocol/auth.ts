import { z } from 'zod';

export const loginRequestSchema = z.object({
  email: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
});
export type LoginRequest = z.infer<typeof loginRequestSchema>;

export const loginResponseSchema = z.object({
  token: z.string(),
  expiresAt: z.string(),
  user: z.object({ id: z.string(), tenant: z.string(), roles: z.array(z.string()) }),
});
export type LoginResponse = z.infer<typeof loginResponseSchema>;

/** The claims Outpost reads from a bearer token. The tenant comes from here and nowhere else. */
export const tokenClaimsSchema = z.object({
  sub: z.string().min(1),
  tenant: z.string().min(1).max(128),
  roles: z.array(z.string()),
  exp: z.number(),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;
