import { sql } from 'kysely';
import type { Kysely, RawBuilder, SqlBool } from 'kysely';
import type { Schema } from '@outpost/core';
import type { DatabaseKind } from './database';
import type { Tables } from './tables';

/** A record by its collection and id. */
export interface RecordKey {
  collection: string;
  id: string;
}

/** The most records one history gathers: beyond it the answer says so, rather than run on. */
export const maxRelatedRecords = 5000;

/** Ids sent in one `in (...)` list: well below SQLite's 32,766 bound parameters. */
const idsPerQuery = 500;

/**
 * A record and every record that names it through the schema's references, and those that name
 * them, and so on: a patient, their visits, the visits' notes and prescriptions (decision 0035).
 * Deleted records count until their tombstones are purged: who deleted a visit is part of the
 * patient's history. Each step reads one collection's records by a reference field's value in
 * their JSON, with no index: a question an administrator asks of one patient at a time, not one
 * worth an index per reference on every write. `truncated` is true when more than
 * `maxRelatedRecords` would be gathered; the list then holds the first that many found.
 */
export async function relatedRecords(
  db: Kysely<Tables>,
  kind: DatabaseKind,
  tenant: string,
  schema: Schema,
  root: RecordKey,
): Promise<{ records: RecordKey[]; truncated: boolean }> {
  const found = new Map<string, Set<string>>([[root.collection, new Set([root.id])]]);
  let count = 1;
  // The records found in the last step, by collection: only what names them can be new.
  let frontier = new Map<string, string[]>([[root.collection, [root.id]]]);
  const referencing = schema.collectionNames.flatMap((collection) =>
    Object.entries(schema.collection(collection)?.references ?? {}).map(([field, target]) => ({
      collection,
      field,
      target,
    })),
  );
  while (frontier.size > 0) {
    const next = new Map<string, string[]>();
    for (const { collection, field, target } of referencing) {
      const targets = frontier.get(target);
      if (targets === undefined) continue;
      for (let i = 0; i < targets.length; i += idsPerQuery) {
        const rows = await db
          .selectFrom('records')
          .select('id')
          .where('tenant', '=', tenant)
          .where('collection', '=', collection)
          .where(referenceField(kind, field), 'in', targets.slice(i, i + idsPerQuery))
          .execute();
        const seen = found.get(collection) ?? new Set<string>();
        found.set(collection, seen);
        for (const { id } of rows) {
          if (seen.has(id)) continue;
          if (count >= maxRelatedRecords) return { records: keysOf(found), truncated: true };
          seen.add(id);
          count += 1;
          const newly = next.get(collection);
          if (newly) newly.push(id);
          else next.set(collection, [id]);
        }
      }
    }
    frontier = next;
  }
  return { records: keysOf(found), truncated: false };
}

/**
 * A field of a record's JSON as text: its value when it is a string (an id), the field's name bound
 * as a parameter, so no name is ever part of the SQL. PostgreSQL reads the text as `json`, not
 * `jsonb`, which would refuse a record holding an escaped NUL anywhere in it; SQLite's `->>` takes
 * a label as the key of the top object.
 */
function referenceField(kind: DatabaseKind, field: string) {
  return kind === 'postgres' ? sql<string>`(data::json ->> ${field})` : sql<string>`(data ->> ${field})`;
}

/**
 * The condition "one of these records" on a table with `collection` and `record_id` columns (the
 * audit events, the op journal), a list of ids per collection.
 */
export function anyOfRecords(records: readonly RecordKey[]): RawBuilder<SqlBool> {
  const byCollection = new Map<string, string[]>();
  for (const { collection, id } of records) {
    const ids = byCollection.get(collection);
    if (ids) ids.push(id);
    else byCollection.set(collection, [id]);
  }
  if (byCollection.size === 0) return sql<SqlBool>`1 = 0`;
  const each = [...byCollection].map(
    ([collection, ids]) => sql`(collection = ${collection} and record_id in (${sql.join(ids)}))`,
  );
  return sql<SqlBool>`(${sql.join(each, sql` or `)})`;
}

function keysOf(found: Map<string, Set<string>>): RecordKey[] {
  return [...found].flatMap(([collection, ids]) => [...ids].map((id) => ({ collection, id })));
}
