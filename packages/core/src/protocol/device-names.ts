import { z } from 'zod';
import { deviceIdSchema } from './common';
import { isWellFormedText } from '../record/data-shape';

/**
 * Names of a clinic's devices (decision 0056; an addition to PROTOCOL.md, docs/server.md): `GET
 * /v1/device-names` and `PUT /v1/device-names`, for the devices the caller syncs on (and a new
 * one she names), and for an administrator every device of the clinic. A device's id
 * (`browser-01a20fb8-…`) tells an administrator nothing about which tablet on which shelf has not
 * synced for five days; "Ward 2 tablet" does.
 */

/** The most characters a device's name may have: enough for "Dr. Banda's tablet, outreach van". */
export const deviceNameMaxLength = 60;

/**
 * The query of `GET /v1/device-names`: `deviceId`, the device asking, whose name is answered
 * whoever synced on it, so that a second nurse on a shared tablet reads its name too.
 */
export const deviceNamesQuerySchema = z.object({ deviceId: deviceIdSchema.optional() });

/**
 * A device's name: trimmed, in Unicode's composed form (so that a name typed on two keyboards is
 * one name), on one line, from 1 to 60 characters.
 */
export const deviceNameSchema = z
  .string({ error: 'name must be text, or null to remove the name' })
  .refine(isWellFormedText, { error: 'name may not hold half of a character' })
  .transform((name) => name.normalize('NFC').trim())
  .pipe(
    z
      .string()
      .min(1, { error: 'name is empty' })
      .max(deviceNameMaxLength, { error: `name must be at most ${deviceNameMaxLength} characters` })
      .refine((name) => !/\p{Cc}/u.test(name), {
        error: 'name must be on one line, with no control characters',
      }),
  );

/**
 * What two names must not share within one clinic: two tablets both called "Ward tablet" would be
 * the very confusion names are there to end. Case does not tell tablets apart.
 */
export function deviceNameKey(name: string): string {
  return name.normalize('NFC').trim().toLowerCase();
}

/** The body of `PUT /v1/device-names`: the device and its new name, or null to remove its name. */
export const deviceNameRequestSchema = z.strictObject(
  { deviceId: deviceIdSchema, name: deviceNameSchema.nullable() },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `the request takes deviceId and name only, not ${issue.keys.join(', ')}`
        : 'send { "deviceId": "…", "name": "Ward 2 tablet" }, or "name": null to remove the name',
  },
);
export type DeviceNameRequest = z.infer<typeof deviceNameRequestSchema>;

/** A named device of the clinic: who named it when (user id, and email while the user is stored). */
export const deviceNameEntrySchema = z.object({
  deviceId: z.string(),
  name: z.string(),
  namedAt: z.string(),
  namedBy: z.string(),
  namedByEmail: z.string().nullable(),
});
export type DeviceNameEntry = z.infer<typeof deviceNameEntrySchema>;

/**
 * `GET /v1/device-names`: the named devices of the caller's clinic, by name: every one for an
 * administrator, those the caller synced on or named, and the device she asks from, for anyone else.
 */
export const deviceNamesResponseSchema = z.object({ devices: z.array(deviceNameEntrySchema) });
export type DeviceNamesResponse = z.infer<typeof deviceNamesResponseSchema>;

/** `PUT /v1/device-names`: the device as it is now named; `name` null when its name was removed. */
export const deviceNameResponseSchema = z.object({ deviceId: z.string(), name: z.string().nullable() });
export type DeviceNameResponse = z.infer<typeof deviceNameResponseSchema>;

/**
 * The body of `PUT /v1/device-use` (decision 0057): an administrator takes a device out of use (a
 * tablet broken, lost or replaced; `inUse: false`), or puts it back (`true`).
 */
export const deviceUseRequestSchema = z.strictObject(
  { deviceId: deviceIdSchema, inUse: z.boolean({ error: 'inUse must be true or false' }) },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `the request takes deviceId and inUse only, not ${issue.keys.join(', ')}`
        : 'send { "deviceId": "…", "inUse": false } to take a device out of use, or true to put it back',
  },
);
export type DeviceUseRequest = z.infer<typeof deviceUseRequestSchema>;

/**
 * Since when a device's figures (one person's syncs on it) count as out of use: the time it was
 * taken out of use while it has not synced since, else null. A tablet that syncs again is in use.
 */
export function outOfUseSince(markedAt: string | null | undefined, lastSyncAt: string | null): string | null {
  if (markedAt === null || markedAt === undefined) return null;
  return lastSyncAt === null || lastSyncAt <= markedAt ? markedAt : null;
}

/** `PUT /v1/device-use`: since when the device is out of use, or null when it is in use. */
export const deviceUseResponseSchema = z.object({
  deviceId: z.string(),
  outOfUseSince: z.string().nullable(),
});
export type DeviceUseResponse = z.infer<typeof deviceUseResponseSchema>;
