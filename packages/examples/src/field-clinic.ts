import { z } from 'zod';
import { collection, defineSchema } from '@outpost/core';
import type { Action } from '@outpost/core';

const clinician: readonly Action[] = ['read', 'create', 'update', 'delete'];
const admin: readonly Action[] = ['read', 'create', 'update', 'delete', 'resolve', 'override'];
const permissions = { clinician, admin };

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}/, 'expected an ISO date (YYYY-MM-DD...)');
const text = (max: number) => z.string().max(max);

/**
 * The field-clinic schema (seeds 000, 002, 004): ids made on the device, patient records merged
 * field by field, signed notes immutable, locked intake forms, prescriptions settled by a person.
 */
export const fieldClinic = defineSchema({
  name: 'field-clinic',
  collections: {
    patients: collection({
      fields: z.object({
        name: z.string().min(1).max(200),
        dateOfBirth: isoDate.optional(),
        sex: z.enum(['female', 'male', 'other', 'unknown']).optional(),
        village: text(200).optional(),
        phone: text(50).optional(),
        allergies: z.array(z.string().max(200)).max(100).optional(),
        notes: text(20_000).optional(),
      }),
      conflict: { strategy: 'merge', fallback: 'manual' },
      permissions,
    }),
    encounters: collection({
      fields: z.object({
        patientId: z.string().min(1),
        date: isoDate.optional(),
        diagnosis: text(2000).optional(),
        prescription: text(2000).optional(),
        vitals: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
        notes: text(20_000).optional(),
      }),
      references: { patientId: 'patients' },
      conflict: { strategy: 'last-write-wins' },
      permissions,
    }),
    clinicalNotes: collection({
      fields: z.object({
        encounterId: z.string().min(1),
        body: z.string().min(1).max(100_000),
        authorId: z.string().max(128).optional(),
        signatureHash: z.string().max(256).optional(),
        signedAt: z.string().optional(),
      }),
      references: { encounterId: 'encounters' },
      conflict: { strategy: 'last-write-wins' },
      // A signed note is a legal record: it never changes again.
      immutableWhen: (note) => typeof note.signatureHash === 'string' && note.signatureHash !== '',
      permissions,
    }),
    intakeForms: collection({
      fields: z.object({
        patientId: z.string().min(1),
        answers: z.record(z.string(), z.unknown()).optional(),
        isLocked: z.boolean().optional(),
      }),
      references: { patientId: 'patients' },
      conflict: { strategy: 'last-write-wins' },
      lockedWhen: (form) => form.isLocked === true,
      permissions,
    }),
    prescriptions: collection({
      fields: z.object({
        patientId: z.string().min(1),
        encounterId: z.string().min(1).optional(),
        drug: z.string().min(1).max(200),
        dose: z.string().min(1).max(200),
        frequency: text(200).optional(),
        durationDays: z.number().int().min(0).max(3650).optional(),
      }),
      references: { patientId: 'patients', encounterId: 'encounters' },
      // A medication change is never settled by a machine.
      conflict: { strategy: 'manual' },
      priority: 1,
      permissions,
    }),
  },
});
