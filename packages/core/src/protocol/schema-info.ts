import { z } from 'zod';

/** What a caller may do in one collection, as the schema's permissions give their roles. */
export const collectionInfoSchema = z.object({
  name: z.string(),
  idStrategy: z.enum(['client', 'server']),
  actions: z.array(z.enum(['read', 'create', 'update', 'delete', 'resolve', 'override'])),
});
export type CollectionInfo = z.infer<typeof collectionInfoSchema>;

/**
 * `GET /v1/schema` (an addition to PROTOCOL.md): the schema the caller's tenant follows, by name,
 * and its collections with what the caller's roles may do in each. An app made for one schema
 * (the clinic app for field-clinic) tells at sign-in an account whose records it cannot show.
 */
export const schemaInfoResponseSchema = z.object({
  name: z.string(),
  collections: z.array(collectionInfoSchema),
});
export type SchemaInfoResponse = z.infer<typeof schemaInfoResponseSchema>;
