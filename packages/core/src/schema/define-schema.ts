import type { z } from 'zod';

/** What a role may do with a collection. `resolve` settles conflicts; `override` may send a per-op strategy. */
export type Action = 'read' | 'create' | 'update' | 'delete' | 'resolve' | 'override';

export const conflictStrategies = [
  'server-wins',
  'client-wins',
  'last-write-wins',
  'merge',
  'manual',
  'crdt',
] as const;
export type ConflictStrategy = (typeof conflictStrategies)[number];

/** `client`: the device makes the final id (UUIDv7). `server`: the device uses a temp id until the server assigns one. */
export type IdStrategy = 'client' | 'server';

export type RecordData = Record<string, unknown>;

/** A record as server hooks see it. */
export interface RecordView {
  readonly collection: string;
  readonly id: string;
  readonly version: number;
  readonly data: RecordData;
}

export interface HookContext<Data extends RecordData = RecordData> {
  readonly tenant: string;
  readonly userId: string;
  readonly collection: string;
  readonly id: string;
  readonly type: 'create' | 'update';
  /** The record as it will be stored if the change applies. */
  readonly data: Data;
  /** The record before the change (null for a create). */
  readonly previous: Data | null;
  /** Reads another record of the same tenant, seeing earlier ops of the same push. Tombstones read as null. */
  get(collection: string, id: string): Promise<RecordView | null>;
}

/**
 * Server hooks compute from what they are given and change nothing themselves: a push may run
 * them more than once for one change (a push that meets a resent op is rolled back and run again),
 * and only the last run's outcome is stored.
 */
export interface CollectionHooks<Data extends RecordData = RecordData> {
  /** Fields the server fills in itself (e.g. appointment.clientId from the pet's owner). */
  derive?(ctx: HookContext<Data>): Partial<Data> | Promise<Partial<Data>>;
  /** Returns a message to reject the change with VALIDATION_FAILED, or undefined to accept it. */
  validate?(ctx: HookContext<Data>): string | undefined | Promise<string | undefined>;
}

export interface ConflictRule {
  strategy: ConflictStrategy;
  /** For `merge`: what settles the same field changed on both sides. Manual unless said otherwise. */
  fallback?: Exclude<ConflictStrategy, 'merge'>;
}

export interface CollectionInput<F extends z.ZodObject = z.ZodObject> {
  fields: F;
  idStrategy?: IdStrategy;
  /** Field name -> the collection its value points to. */
  references?: Readonly<Record<string, string>>;
  conflict?: ConflictRule;
  /** Once true for the stored record, updates and deletes are refused with IMMUTABLE (a signed note). */
  immutableWhen?(data: z.infer<F>): boolean;
  /** Once true for the stored record, updates and deletes are refused with LOCKED (a locked form). */
  lockedWhen?(data: z.infer<F>): boolean;
  /** Lower numbers sync first. Default 10. */
  priority?: number;
  permissions: Readonly<Record<string, readonly Action[]>>;
  hooks?: CollectionHooks<z.infer<F> & RecordData>;
}

export interface CollectionDefinition {
  readonly name: string;
  readonly fields: z.ZodObject;
  readonly idStrategy: IdStrategy;
  readonly references: Readonly<Record<string, string>>;
  readonly conflict: Required<ConflictRule>;
  readonly priority: number;
  readonly permissions: Readonly<Record<string, readonly Action[]>>;
  readonly hooks: CollectionHooks;
  isImmutable(data: RecordData): boolean;
  isLocked(data: RecordData): boolean;
}

export interface Schema {
  readonly name: string;
  readonly collections: Readonly<Record<string, CollectionDefinition>>;
  readonly collectionNames: readonly string[];
  collection(name: string): CollectionDefinition | undefined;
  /** True when any of the roles grants the action on the collection. */
  can(roles: readonly string[], collection: string, action: Action): boolean;
}

/**
 * Whether two lists of role names grant the same: the same names, whatever their order. The device
 * checks its writes against a person's roles and the server ends a person's sessions when theirs
 * change, so both ask the same question the same way.
 */
export function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((role, i) => role === sortedB[i]);
}

/** Declares one collection with its data type inferred from its fields. */
export function collection<F extends z.ZodObject>(input: CollectionInput<F>): CollectionInput<F> {
  return input;
}

export interface SchemaInput {
  name: string;
  // Each collection keeps its own data type through `collection()`; here they meet as one map.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  collections: Record<string, CollectionInput<any>>;
}

export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

const collectionNamePattern = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

export function defineSchema(input: SchemaInput): Schema {
  const collections: Record<string, CollectionDefinition> = {};
  for (const [name, def] of Object.entries(input.collections)) {
    // Collection names appear inside temp ids and URLs, so they stay plain.
    if (!collectionNamePattern.test(name))
      throw new SchemaError(`collection name "${name}" must be letters and digits`);
    const shape = def.fields.shape as Record<string, unknown>;
    for (const [field, target] of Object.entries(def.references ?? {})) {
      if (!(field in shape))
        throw new SchemaError(`${name}.${field}: reference on a field that is not declared`);
      if (!(target in input.collections))
        throw new SchemaError(`${name}.${field}: references unknown collection "${target}"`);
    }
    const strategy = def.conflict?.strategy ?? 'last-write-wins';
    collections[name] = {
      name,
      fields: def.fields,
      idStrategy: def.idStrategy ?? 'client',
      references: { ...(def.references ?? {}) },
      conflict: { strategy, fallback: def.conflict?.fallback ?? 'manual' },
      priority: def.priority ?? 10,
      permissions: def.permissions,
      hooks: (def.hooks ?? {}) as CollectionHooks,
      isImmutable: (data) => def.immutableWhen?.(data) ?? false,
      isLocked: (data) => def.lockedWhen?.(data) ?? false,
    };
  }
  const collectionNames = Object.keys(collections);
  return {
    name: input.name,
    collections,
    collectionNames,
    collection: (name) => (Object.hasOwn(collections, name) ? collections[name] : undefined),
    can: (roles, name, action) => {
      const def = Object.hasOwn(collections, name) ? collections[name] : undefined;
      if (!def) return false;
      return roles.some(
        (role) => Object.hasOwn(def.permissions, role) && def.permissions[role]?.includes(action),
      );
    },
  };
}
