import { z } from 'zod';
import { collection, defineSchema } from '@outpost/core';
import type { Action } from '@outpost/core';

const clinician: readonly Action[] = ['read', 'create', 'update', 'delete'];
const admin: readonly Action[] = ['read', 'create', 'update', 'delete', 'resolve', 'override'];
const permissions = { clinician, admin };

const isoUtc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;

/**
 * An appointment's date as one ISO-8601 UTC string. SmartDMV's server turns the date it receives
 * into a Date (seed 001); devices send ISO text with an offset, or epoch milliseconds. A UTC string
 * stays exactly as sent, so a device's own value is not rewritten under it.
 */
function appointmentDate(value: unknown): unknown {
  if (typeof value === 'number') {
    // Past about 275,000 years either way there is no date: left as sent, the field's type refuses it.
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? value : date.toISOString();
  }
  if (typeof value !== 'string' || isoUtc.test(value)) return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

/** durationMinutes as a number: SmartDMV keeps it as text in its database (seed 001), so devices send "30" too. */
function minutes(value: unknown): unknown {
  return typeof value === 'string' && /^\s*\d{1,4}\s*$/.test(value) ? Number(value) : value;
}

/**
 * The vet-practice schema (seeds 001, 003): ids assigned by the server, so devices use temp ids.
 * Clients of the practice are users with role CLIENT; there is no separate clients collection.
 */
export const vetPractice = defineSchema({
  name: 'vet-practice',
  collections: {
    users: collection({
      idStrategy: 'server',
      fields: z.object({
        name: z.string().min(1).max(200),
        email: z.string().max(320).optional(),
        role: z.string().max(64).optional(),
      }),
      conflict: { strategy: 'last-write-wins' },
      priority: 5,
      permissions,
    }),
    pets: collection({
      idStrategy: 'server',
      fields: z.object({
        name: z.string().min(1).max(200),
        species: z.string().max(100).optional(),
        ownerId: z.string().min(1),
      }),
      references: { ownerId: 'users' },
      conflict: { strategy: 'last-write-wins' },
      permissions,
    }),
    appointments: collection({
      idStrategy: 'server',
      fields: z.object({
        title: z.string().max(200).optional(),
        type: z.string().max(100).optional(),
        date: z.string().min(1),
        durationMinutes: z
          .number()
          .int()
          .min(0)
          .max(24 * 60)
          .optional(),
        petId: z.string().min(1),
        practitionerId: z.string().min(1).optional(),
        practiceId: z.union([z.string(), z.number()]).optional(),
        // Derived by the server from the pet's owner; whatever a device sends is replaced.
        clientId: z.string().optional(),
      }),
      references: { petId: 'pets', practitionerId: 'users', clientId: 'users' },
      conflict: { strategy: 'last-write-wins' },
      permissions,
      hooks: {
        async derive(ctx) {
          // Runs before the fields are checked: the values are still as the device sent them.
          const sent: Record<string, unknown> = ctx.data;
          const derived: Record<string, unknown> = {};
          const pet = typeof sent['petId'] === 'string' ? await ctx.get('pets', sent['petId']) : null;
          const ownerId = pet?.data['ownerId'];
          // A pet that is gone leaves the client it had; a create for a missing pet fails on petId.
          const clientId = typeof ownerId === 'string' ? ownerId : ctx.previous?.clientId;
          if (clientId !== undefined) derived['clientId'] = clientId;
          if (sent['date'] !== undefined) derived['date'] = appointmentDate(sent['date']);
          if (sent['durationMinutes'] !== undefined)
            derived['durationMinutes'] = minutes(sent['durationMinutes']);
          return derived;
        },
        validate(ctx) {
          if (Number.isNaN(Date.parse(ctx.data.date)))
            return `date must be a date and time (ISO 8601), not "${ctx.data.date.slice(0, 64)}"`;
          return undefined;
        },
      },
    }),
    soapNotes: collection({
      idStrategy: 'server',
      fields: z.object({
        appointmentId: z.string().min(1),
        subjective: z.string().max(20_000).optional(),
        objective: z.string().max(20_000).optional(),
        assessment: z.string().max(20_000).optional(),
        plan: z.string().max(20_000).optional(),
      }),
      references: { appointmentId: 'appointments' },
      // Four clinicians' sections of one note: disjoint edits merge, the same section waits for a person.
      conflict: { strategy: 'merge', fallback: 'manual' },
      permissions,
    }),
  },
});
