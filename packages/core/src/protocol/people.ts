import { z } from 'zod';
import { deviceIdSchema } from './common';
import { isWellFormedText } from '../record/data-shape';

/**
 * The people of a clinic, managed by its administrators (decision 0044): `GET` and `POST
 * /v1/admin/users`, `PATCH /v1/admin/users/:id` (an addition to PROTOCOL.md, docs/server.md).
 */

/** The fewest and most characters a new or reset password may have. */
export const passwordBounds = { min: 12, max: 1024 } as const;

/** Something, an @, something with a dot: the shape of an address, no more (mail servers judge the rest). */
const emailShape = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

/**
 * A sign-in email, trimmed and in lower case, as login matches it: `Amina@Clinic.test ` and
 * `amina@clinic.test` are one person.
 */
export const personEmailSchema = z
  .string({ error: 'email must be text' })
  .trim()
  .min(1, { error: 'email is empty' })
  .max(320, { error: 'email must be at most 320 characters' })
  .toLowerCase()
  .refine(isWellFormedText, { error: 'email may not hold half of a character' })
  .refine((e) => emailShape.test(e), { error: 'email must look like name@example.org' });

/** A new password: from 12 to 1024 characters, any of them; kept only as a scrypt hash. */
export const newPasswordSchema = z
  .string({ error: 'password must be text' })
  .min(passwordBounds.min, { error: `password must be at least ${passwordBounds.min} characters` })
  .max(passwordBounds.max, { error: `password must be at most ${passwordBounds.max} characters` })
  .refine(isWellFormedText, { error: 'password may not hold half of a character' });

/** Role names, at least one; each must be a role the clinic's schema names (checked by the server). */
export const personRolesSchema = z
  .array(
    z
      .string({ error: 'each role must be text' })
      .min(1, { error: 'a role name is empty' })
      .max(64, { error: 'a role name must be at most 64 characters' }),
    { error: 'roles must be a list of role names' },
  )
  .min(1, { error: 'roles must name at least one role' })
  .max(16, { error: 'roles may name at most 16 roles' })
  .transform((roles) => [...new Set(roles)]);

/** `POST /v1/admin/users`: a new person of the caller's clinic. */
export const newPersonRequestSchema = z
  .object({ email: personEmailSchema, password: newPasswordSchema, roles: personRolesSchema })
  .strict();
export type NewPersonRequest = z.infer<typeof newPersonRequestSchema>;

/**
 * `PATCH /v1/admin/users/:id`: what changes, at least one of them. A new password, a disabling or
 * other roles end every session of the person at once.
 */
export const personChangeRequestSchema = z
  .object({
    roles: personRolesSchema.optional(),
    password: newPasswordSchema.optional(),
    disabled: z.boolean({ error: 'disabled must be true or false' }).optional(),
  })
  .strict()
  .refine((c) => c.roles !== undefined || c.password !== undefined || c.disabled !== undefined, {
    error: 'name what changes: roles, password or disabled',
  });
export type PersonChangeRequest = z.infer<typeof personChangeRequestSchema>;

/**
 * `POST /v1/auth/password`: a person changes their own password, proving the one they have. Their
 * other sessions end; the answer is a new session, as a login's (decision 0047).
 */
export const passwordChangeRequestSchema = z
  .object({
    currentPassword: z
      .string({ error: 'currentPassword must be text' })
      .min(1, { error: 'currentPassword is empty' })
      .max(passwordBounds.max, { error: `currentPassword must be at most ${passwordBounds.max} characters` }),
    newPassword: newPasswordSchema,
    deviceId: deviceIdSchema.optional(),
  })
  .strict()
  .refine((c) => c.newPassword !== c.currentPassword, {
    error: 'the new password must differ from the current one',
    path: ['newPassword'],
  });
export type PasswordChangeRequest = z.infer<typeof passwordChangeRequestSchema>;

/**
 * Whether `:id` of `PATCH /v1/admin/users/:id` can name a person at all: 1-128 characters, no
 * control character, no half of one. Any other is no one (404), never looked up.
 */
export function isPersonId(id: string): boolean {
  // eslint-disable-next-line no-control-regex
  return id.length >= 1 && id.length <= 128 && isWellFormedText(id) && !/[\u0000-\u001f\u007f]/.test(id);
}

/** A person as the server answers them: never a password, nor its hash. */
export const personSchema = z.object({
  id: z.string(),
  email: z.string(),
  roles: z.array(z.string()),
  /** A disabled person cannot sign in; their sessions ended when they were disabled. */
  disabled: z.boolean(),
  disabledAt: z.string().nullable(),
  createdAt: z.string(),
  /**
   * True while they sign in with a password an administrator set (added, or a new one set for
   * them) and have not chosen their own yet (decision 0047).
   */
  passwordChangeDue: z.boolean(),
});
export type Person = z.infer<typeof personSchema>;

/** `GET /v1/admin/users`: the clinic's people, by email, and the roles it may give. */
export const peopleResponseSchema = z.object({
  people: z.array(personSchema),
  /** The roles the clinic's schema names in its permissions, and the administrators' roles. */
  roles: z.array(z.string()),
  /** Of those, the roles that make an administrator. */
  adminRoles: z.array(z.string()),
});
export type PeopleResponse = z.infer<typeof peopleResponseSchema>;

/** `POST /v1/admin/users` (201) and `PATCH /v1/admin/users/:id` (200). */
export const personResponseSchema = z.object({ person: personSchema });
export type PersonResponse = z.infer<typeof personResponseSchema>;
