import { z } from 'zod';
import { collection, defineSchema } from '@outpost/core';
import type { Action } from '@outpost/core';

const clinician: readonly Action[] = ['read', 'create', 'update', 'delete'];
const admin: readonly Action[] = ['read', 'create', 'update', 'delete', 'resolve', 'override'];
const permissions = { clinician, admin };

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
          const pet = await ctx.get('pets', ctx.data.petId);
          const ownerId = pet?.data['ownerId'];
          return typeof ownerId === 'string' ? { clientId: ownerId } : {};
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
