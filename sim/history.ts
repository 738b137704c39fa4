/**
 * What the server did, request by request, as the network saw it: every answer (even the ones
 * then lost on the way back) and every record state committed (read from the store after each
 * request). Exactly-once and immutability are properties of this history, not only of the end
 * state: an op applied twice, or a signed note changed and changed back, leaves no trace in the
 * final records.
 */
import { pushResponseSchema, resolveResponseSchema } from '@outpost/core';
import type { PushResult, RecordData, Schema } from '@outpost/core';
import type { SyncStore } from '@outpost/server';
import type { Violation } from './violation';

export interface ObservedRecord {
  tenant: string;
  collection: string;
  id: string;
  version: number;
  deleted: boolean;
  data: RecordData | null;
  /** Set once the record was seen signed or locked: the data it froze with. */
  frozen?: { rule: 'immutable' | 'locked'; dataJson: string; version: number };
}

export function recordKeyOf(tenant: string, collection: string, id: string): string {
  return `${tenant}\u0000${collection}\u0000${id}`;
}

export class ServerHistory {
  readonly records = new Map<string, ObservedRecord>();
  /** The first answer to each op, by tenant and opId: a second fresh answer means it ran twice. */
  readonly firstOutcome = new Map<string, PushResult>();
  readonly violations: Violation[] = [];
  private readonly positions = new Map<string, number>();

  constructor(private readonly schemaFor: (tenant: string) => Schema) {}

  /** Reads what one request did: its answer, then the record states it committed. */
  async observe(
    store: SyncStore,
    tenant: string,
    request: { method: string; url: string },
    reply: { status: number; body: string },
    tenants: readonly string[],
  ): Promise<void> {
    const reported = new Map<string, number[]>();
    const report = (collection: string, id: string, version: number | undefined) => {
      if (version === undefined) return;
      const key = recordKeyOf(tenant, collection, id);
      reported.set(key, [...(reported.get(key) ?? []), version]);
    };
    const path = request.url.split('?')[0] ?? '';
    if (reply.status === 200 && request.method === 'POST' && path === '/v1/sync/push') {
      const body = pushResponseSchema.parse(JSON.parse(reply.body));
      for (const result of body.results) {
        const opKey = `${tenant}\u0000${result.opId}`;
        const first = this.firstOutcome.get(opKey);
        if (result.status === 'duplicate') {
          if (!first) {
            this.fail('exactly-once', `op ${result.opId} answered "duplicate" but was never answered before`);
          } else if (result.originalStatus !== first.status || result.version !== first.version) {
            this.fail(
              'exactly-once',
              `op ${result.opId} replayed as ${result.originalStatus} v${result.version}, first answered ${first.status} v${first.version}`,
            );
          }
          continue;
        }
        if (first) {
          this.fail(
            'exactly-once',
            `op ${result.opId} answered "${result.status}" a second time: it ran twice`,
          );
          continue;
        }
        this.firstOutcome.set(opKey, result);
        report(result.collection, result.id, result.version);
      }
    } else if (
      reply.status === 200 &&
      request.method === 'POST' &&
      /^\/v1\/conflicts\/[^/]+\/(resolve|undo)$/.test(path)
    ) {
      const body = resolveResponseSchema.parse(JSON.parse(reply.body));
      report(body.record.collection, body.record.id, body.record.version);
    }

    const committed = new Map<string, ObservedRecord>();
    for (const t of tenants) {
      const after = this.positions.get(t) ?? 0;
      const page = await store.pull(t, after, 1_000_000);
      for (const r of page.records) {
        committed.set(recordKeyOf(t, r.collection, r.id), {
          tenant: t,
          collection: r.collection,
          id: r.id,
          version: r.version,
          deleted: r.deleted,
          data: r.deleted ? null : (JSON.parse(r.dataJson) as RecordData),
        });
        this.positions.set(t, Math.max(this.positions.get(t) ?? 0, r.position));
      }
    }

    for (const key of new Set([...reported.keys(), ...committed.keys()])) {
      const before = this.records.get(key);
      let version = before?.version ?? 0;
      for (const v of reported.get(key) ?? []) {
        if (v === version + 1) version = v;
        else if (v !== version) {
          this.fail(
            'exactly-once',
            `${key.replaceAll('\u0000', ' ')}: answered version ${v} after ${version}`,
          );
          version = Math.max(version, v);
        }
      }
      const now = committed.get(key);
      if (now === undefined) {
        if (version !== (before?.version ?? 0))
          this.fail('exactly-once', `${key.replaceAll('\u0000', ' ')}: answered v${version}, nothing stored`);
        continue;
      }
      if (now.tenant !== tenant)
        this.fail('exactly-once', `a request of ${tenant} wrote ${key.replaceAll('\u0000', ' ')}`);
      if (now.version !== version)
        this.fail(
          'exactly-once',
          `${key.replaceAll('\u0000', ' ')}: stored v${now.version} after v${before?.version ?? 0}, the answers account for v${version}`,
        );
      if (before?.frozen) {
        this.fail(
          'immutability',
          `${key.replaceAll('\u0000', ' ')} was ${before.frozen.rule === 'immutable' ? 'signed' : 'locked'} at v${before.frozen.version} and changed to v${now.version}${now.deleted ? ' (deleted)' : ''}`,
        );
        now.frozen = before.frozen;
      } else if (!now.deleted && now.data !== null) {
        const def = this.schemaFor(now.tenant).collection(now.collection);
        const rule = def?.isImmutable(now.data) ? 'immutable' : def?.isLocked(now.data) ? 'locked' : null;
        if (rule) now.frozen = { rule, dataJson: JSON.stringify(now.data), version: now.version };
      }
      this.records.set(key, now);
    }
  }

  private fail(invariant: Violation['invariant'], message: string): void {
    this.violations.push({ invariant, message });
  }
}
