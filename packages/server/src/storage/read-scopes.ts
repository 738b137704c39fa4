import type { Kysely } from 'kysely';
import type { Tables } from './tables';

/**
 * Numbers for the sets of collections devices may read, one per distinct set in a tenant, so that
 * a protocol whose sync point is a bare number (WatermelonDB's lastPulledAt) can still say what
 * the device could read when it last pulled. A device that may read more now (a role given read
 * access to a collection, a person given another role) is missing that collection's older records,
 * which a sync point alone would never send it.
 *
 * A tag, once given, names its set for good: tags are cached without expiry, and every server
 * instance on the database reads the same ones.
 */
export class ReadScopes {
  private readonly tags = new Map<string, number>();
  private readonly sets = new Map<string, readonly string[]>();

  constructor(private readonly db: Kysely<Tables>) {}

  /** The tag of `collections` (in any order) in `tenant`: made the first time the set is seen. */
  async tagOf(tenant: string, collections: readonly string[]): Promise<number> {
    const text = JSON.stringify([...new Set(collections)].sort());
    const key = `${tenant}\u0000${text}`;
    const cached = this.tags.get(key);
    if (cached !== undefined) return cached;
    // Two requests (or two instances) may meet a new set, or take the next tag, at once: the keys
    // refuse the second insert, and a second look finds what the first one wrote.
    for (let attempt = 0; ; attempt++) {
      const found = await this.db
        .selectFrom('read_scopes')
        .select('tag')
        .where('tenant', '=', tenant)
        .where('collections', '=', text)
        .executeTakeFirst();
      if (found) {
        this.tags.set(key, Number(found.tag));
        return Number(found.tag);
      }
      const last = await this.db
        .selectFrom('read_scopes')
        .select((eb) => eb.fn.max('tag').as('tag'))
        .where('tenant', '=', tenant)
        .executeTakeFirst();
      const tag = Number(last?.tag ?? 0) + 1;
      try {
        await this.db.insertInto('read_scopes').values({ tenant, tag, collections: text }).execute();
        this.tags.set(key, tag);
        return tag;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
  }

  /** The set a tag names in `tenant`; null for a tag this tenant never gave. */
  async setOf(tenant: string, tag: number): Promise<readonly string[] | null> {
    const key = `${tenant}\u0000${tag}`;
    const cached = this.sets.get(key);
    if (cached !== undefined) return cached;
    const row = await this.db
      .selectFrom('read_scopes')
      .select('collections')
      .where('tenant', '=', tenant)
      .where('tag', '=', tag)
      .executeTakeFirst();
    if (!row) return null;
    const set = JSON.parse(row.collections) as string[];
    this.sets.set(key, set);
    return set;
  }
}
