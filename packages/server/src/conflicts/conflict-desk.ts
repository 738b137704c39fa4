import {
  applyEffect,
  OutpostError,
  outpostError,
  refuseUnlessOpen,
  resolutionEffect,
  uuidv7,
} from '@outpost/core';
import type {
  ConflictRefusalReason,
  BulkResolveRequest,
  BulkResolveResponse,
  Change,
  Conflict,
  CollectionDefinition,
  ConflictOutcome,
  HlcClock,
  RandomBytes,
  RecordState,
  ResolveRequest,
  ResolveResponse,
  Schema,
} from '@outpost/core';
import type { AuthContext } from '../auth/tokens';
import { OpRejected, changesRecord, finishRecord } from '../push/finish-record';
import { recordKey } from '../storage/sync-store';
import type {
  ConflictState,
  ConflictVisibility,
  StoredConflict,
  StoredRecord,
  SyncStore,
  TenantWrite,
} from '../storage/sync-store';

export interface DeskContext {
  store: SyncStore;
  schemaFor(tenant: string): Schema;
  clock: HlcClock;
  now: () => Date;
  /** The random bits of resolution ids; the platform's when absent. */
  randomBytes?: RandomBytes;
}

/** A record as resolve and undo answer it: the shape pull sends, so clients apply it the same way. */
export function toChange(r: StoredRecord): Change {
  return {
    collection: r.collection,
    id: r.id,
    version: r.version,
    deleted: r.deleted,
    data: r.deleted ? null : r.data,
    updatedAt: r.updatedAt,
    hlc: r.hlc,
  };
}

export function toWireConflict(c: StoredConflict): Conflict {
  return {
    id: c.id,
    collection: c.collection,
    recordId: c.recordId,
    opId: c.opId,
    opType: c.opType,
    kind: c.kind,
    fields: c.fields,
    strategy: c.strategy,
    outcome: c.outcome,
    server: { data: c.serverData, version: c.serverVersion },
    client: { data: c.clientData, baseVersion: c.baseVersion },
    userId: c.userId,
    deviceId: c.deviceId,
    createdAt: c.createdAt,
    resolvedAt: c.resolvedAt,
    resolvedBy: c.resolvedBy,
  };
}

/** The collections whose conflicts the caller settles; elsewhere they see only the ones they raised, where they may read. */
export function visibilityFor(schema: Schema, auth: AuthContext): ConflictVisibility {
  return {
    userId: auth.userId,
    resolvable: schema.collectionNames.filter((c) => schema.can(auth.roles, c, 'resolve')),
    readable: schema.collectionNames.filter((c) => schema.can(auth.roles, c, 'read')),
  };
}

const noRecord: RecordState = { data: {}, version: 0, deleted: true, fieldMeta: {}, hlc: '' };

/**
 * Settling archived conflicts by a person: resolve, undo the last resolution, bulk resolve. Each
 * runs in one write transaction under the tenant lock, like a push, so a resolution's new record
 * version takes a pull position like any other change and every client pulls it.
 */
export class ConflictDesk {
  constructor(private readonly ctx: DeskContext) {}

  /** Loads a conflict the caller may settle: unseen ones are not found, seen but not theirs to settle is 403. */
  private async settleable(w: TenantWrite, auth: AuthContext, id: string): Promise<StoredConflict> {
    const conflict = (await w.loadConflicts([id])).get(id);
    const visibility = visibilityFor(this.ctx.schemaFor(auth.tenant), auth);
    if (
      !conflict ||
      (!visibility.resolvable.includes(conflict.collection) && conflict.userId !== auth.userId)
    ) {
      throw outpostError('NOT_FOUND', `conflict ${id} not found`);
    }
    if (!visibility.resolvable.includes(conflict.collection)) {
      throw outpostError('FORBIDDEN', `your role may not resolve ${conflict.collection} conflicts`);
    }
    if (conflict.kind === 'immutable' || conflict.kind === 'locked') {
      throw outpostError(
        'CONFLICT',
        `the record was ${conflict.kind === 'immutable' ? 'signed' : 'locked'}: this attempt stays in the archive and cannot be applied`,
        refusal('frozen-attempt'),
      );
    }
    return conflict;
  }

  private async loadRecord(w: TenantWrite, conflict: StoredConflict): Promise<StoredRecord | null> {
    const loaded = await w.loadRecords([{ collection: conflict.collection, id: conflict.recordId }]);
    return loaded.get(recordKey(conflict.collection, conflict.recordId)) ?? null;
  }

  private async writeRecord(w: TenantWrite, conflict: StoredConflict, state: RecordState, by: string) {
    const record: StoredRecord = {
      collection: conflict.collection,
      id: conflict.recordId,
      ...state,
      updatedAt: this.ctx.now().toISOString(),
      updatedBy: by,
      position: w.nextPosition(),
    };
    await w.writeRecords([record]);
    return record;
  }

  /**
   * Settles a conflict, open or settled before (a person may change their mind). With `onlyOpen`,
   * one that is no longer open is refused instead (409, how it stands in `details`): whoever read
   * it open (a bulk run's listing, a device's list) must not overrule a person who settled it in
   * between. The conflict is read after the tenant lock is taken, so of two resolutions racing
   * for one open conflict the second sees the first's settlement.
   */
  async resolve(auth: AuthContext, id: string, request: ResolveRequest): Promise<ResolveResponse> {
    const { clock } = this.ctx;
    const schema = this.ctx.schemaFor(auth.tenant);
    return this.ctx.store.write(auth.tenant, 1, async (w) => {
      const conflict = await this.settleable(w, auth, id);
      refuseUnlessOpen(request, conflict);
      const def = schema.collection(conflict.collection);
      if (!def) {
        throw outpostError(
          'CONFLICT',
          `the schema no longer has ${conflict.collection}`,
          refusal('schema-gone'),
        );
      }
      if (request.mergedData !== undefined) {
        const shape = def.fields.shape as Record<string, unknown>;
        const unknown = Object.keys(request.mergedData).filter((f) => !Object.hasOwn(shape, f));
        if (unknown.length > 0) {
          throw outpostError('VALIDATION_FAILED', `unknown fields for ${conflict.collection}`, {
            fields: unknown,
          });
        }
      }
      const current = await this.loadRecord(w, conflict);
      const alive = current && !current.deleted ? current : null;
      // Fields this conflict's last resolution wrote and no one changed since: the desk's own
      // values, which a person changing their mind may replace (not work done since the conflict).
      const last = await w.lastResolution(conflict.id);
      const settled =
        alive && last && last.recordVersion !== null
          ? Object.entries(alive.fieldMeta)
              .filter(([, meta]) => meta.v === last.recordVersion)
              .map(([field]) => field)
          : [];
      const { outcome, effect, collision } = resolutionEffect(
        request.strategy,
        conflict,
        alive ? alive.data : null,
        request.mergedData,
        settled,
      );
      if (collision) {
        // The choice would silently undo work done after the conflict: the person decides
        // with the record as it stands (merge, or an ordinary edit).
        throw outpostError(
          'CONFLICT',
          collision.deleted
            ? `${conflict.collection} ${conflict.recordId} was deleted after this conflict: ${request.strategy} would bring it back`
            : `${conflict.collection} ${conflict.recordId} was edited after this conflict (${collision.fields.join(', ')}): ${request.strategy} would overwrite that`,
          { fields: collision.fields, deleted: collision.deleted, currentVersion: current?.version ?? null },
        );
      }
      let record = current;
      let written = false;
      if (effect.kind !== 'none') {
        refuseIfFrozen(def, conflict, current);
        const hlc = clock.tick();
        const tentative = applyEffect(current, effect, (current?.version ?? 0) + 1, hlc);
        const next = tentative.deleted
          ? tentative
          : await this.finish(w, auth, def, conflict, tentative, current, hlc);
        if (current === null || changesRecord(current, next)) {
          record = await this.writeRecord(w, conflict, next, auth.userId);
          written = true;
        }
      }
      if (record === null) {
        throw outpostError(
          'CONFLICT',
          `${conflict.collection} ${conflict.recordId} no longer exists`,
          refusal('record-gone'),
        );
      }
      const at = this.ctx.now().toISOString();
      await w.insertResolution({
        id: uuidv7(this.ctx.now().getTime(), this.ctx.randomBytes),
        conflictId: conflict.id,
        strategy: request.strategy,
        previous: stateOf(conflict),
        recordBefore: written ? stateOfRecord(current) : null,
        recordVersion: written ? record.version : null,
        resolvedBy: auth.userId,
        resolvedAt: at,
      });
      const state: ConflictState = {
        strategy: request.strategy,
        outcome,
        resolvedAt: at,
        resolvedBy: auth.userId,
      };
      await w.setConflictState(conflict.id, state);
      await this.audit(w, auth, conflict, 'resolve', outcome, at);
      return { conflict: toWireConflict({ ...conflict, ...state }), record: toChange(record) };
    });
  }

  /** Puts the record back as it was before the conflict's last resolution, if nothing changed it since. */
  async undo(auth: AuthContext, id: string): Promise<ResolveResponse> {
    return this.ctx.store.write(auth.tenant, 1, async (w) => {
      const conflict = await this.settleable(w, auth, id);
      const last = await w.lastResolution(conflict.id);
      if (!last) {
        throw outpostError(
          'CONFLICT',
          `conflict ${id} has no resolution to undo`,
          refusal('nothing-to-undo'),
        );
      }
      let record = await this.loadRecord(w, conflict);
      if (last.recordVersion !== null && last.recordBefore !== null) {
        if (record === null || record.version !== last.recordVersion) {
          throw outpostError(
            'CONFLICT',
            `${conflict.collection} ${conflict.recordId} changed after this resolution: resolve it again instead`,
            {
              ...refusal('changed-since'),
              resolvedVersion: last.recordVersion,
              currentVersion: record?.version ?? null,
            },
          );
        }
        // A signed note or locked form never changes again, whoever signed or locked it: undoing
        // the resolution that did would be a change like any other.
        const def = this.ctx.schemaFor(auth.tenant).collection(conflict.collection);
        if (def) refuseIfFrozen(def, conflict, record);
        const before = last.recordBefore;
        const hlc = this.ctx.clock.tick();
        const tentative = applyEffect(
          record,
          before.deleted ? { kind: 'delete' } : { kind: 'replace', data: before.data },
          record.version + 1,
          hlc,
        );
        // The same checks as any write (finishRecord): the earlier data may name a parent deleted
        // since, and putting such a reference back is a changed reference to a record that is gone,
        // which no push may store (decision 0016: orphans arise only by deleting the parent).
        const restored =
          tentative.deleted || !def
            ? tentative
            : await this.finish(w, auth, def, conflict, tentative, record, hlc);
        record = await this.writeRecord(w, conflict, restored, auth.userId);
      }
      if (record === null) {
        throw outpostError(
          'CONFLICT',
          `${conflict.collection} ${conflict.recordId} no longer exists`,
          refusal('record-gone'),
        );
      }
      const at = this.ctx.now().toISOString();
      await w.markUndone(last.id, at, auth.userId);
      await w.setConflictState(conflict.id, last.previous);
      await this.audit(w, auth, conflict, 'undo', last.previous.outcome, at);
      return { conflict: toWireConflict({ ...conflict, ...last.previous }), record: toChange(record) };
    });
  }

  /** Open conflicts matching the filter, each settled on its own: one failing does not stop the rest. */
  async bulkResolve(auth: AuthContext, request: BulkResolveRequest): Promise<BulkResolveResponse> {
    const visibility = visibilityFor(this.ctx.schemaFor(auth.tenant), auth);
    const resolvable =
      request.collection === undefined
        ? visibility.resolvable
        : visibility.resolvable.filter((c) => c === request.collection);
    if (resolvable.length === 0) {
      throw outpostError('FORBIDDEN', 'your role may not resolve these conflicts');
    }
    const ids = (
      await this.ctx.store.listConflicts(
        auth.tenant,
        { status: 'open', kind: request.kind, ids: request.ids, collection: request.collection },
        { userId: auth.userId, resolvable, readable: visibility.readable },
        { limit: request.limit },
      )
    )
      .filter((c) => resolvable.includes(c.collection))
      .map((c) => c.id);
    const results: BulkResolveResponse['results'] = [];
    for (const id of ids) {
      try {
        // Listed open above, but settled by a person since then: refused, not overruled.
        const { conflict, record } = await this.resolve(auth, id, {
          strategy: request.strategy,
          onlyOpen: true,
        });
        results.push({ id, outcome: conflict.outcome, version: record.version });
      } catch (err) {
        if (!(err instanceof OutpostError)) throw err;
        results.push({ id, error: { code: err.code, message: err.message } });
      }
    }
    const failed = results.filter((r) => r.error !== undefined).length;
    return { resolved: results.length - failed, failed, results };
  }

  private async finish(
    w: TenantWrite,
    auth: AuthContext,
    def: CollectionDefinition,
    conflict: StoredConflict,
    tentative: RecordState,
    current: StoredRecord | null,
    hlc: string,
  ): Promise<RecordState> {
    try {
      return await finishRecord({
        def,
        tenant: auth.tenant,
        userId: auth.userId,
        id: conflict.recordId,
        type: current && !current.deleted ? 'update' : 'create',
        tentative,
        previous: current && !current.deleted ? current.data : null,
        hlc,
        get: async (collection, recordId) =>
          (await w.loadRecords([{ collection, id: recordId }])).get(recordKey(collection, recordId)) ?? null,
      });
    } catch (err) {
      if (!(err instanceof OpRejected)) throw err;
      // The chosen data breaks the schema: the person's input is wrong (400); a reference that
      // has gone since is the record's state (409).
      const code = err.code === 'VALIDATION_FAILED' ? 'VALIDATION_FAILED' : 'CONFLICT';
      throw outpostError(code, err.message, err.details);
    }
  }

  private async audit(
    w: TenantWrite,
    auth: AuthContext,
    conflict: StoredConflict,
    action: 'resolve' | 'undo',
    outcome: ConflictOutcome,
    at: string,
  ): Promise<void> {
    await w.audit([
      {
        tenant: auth.tenant,
        at,
        userId: auth.userId,
        deviceId: null,
        action,
        collection: conflict.collection,
        recordId: conflict.recordId,
        outcome,
      },
    ]);
  }
}

/** Refuses a change to a record that is signed (immutableWhen) or locked (lockedWhen), as push does. */
function refuseIfFrozen(
  def: CollectionDefinition,
  conflict: StoredConflict,
  record: StoredRecord | null,
): void {
  if (record && !record.deleted && (def.isImmutable(record.data) || def.isLocked(record.data))) {
    throw outpostError(
      'CONFLICT',
      `${conflict.collection} ${conflict.recordId} can no longer change`,
      refusal('frozen'),
    );
  }
}

function stateOf(c: StoredConflict): ConflictState {
  return { strategy: c.strategy, outcome: c.outcome, resolvedAt: c.resolvedAt, resolvedBy: c.resolvedBy };
}

function stateOfRecord(r: StoredRecord | null): RecordState {
  if (r === null) return noRecord;
  return { data: r.data, version: r.version, deleted: r.deleted, fieldMeta: r.fieldMeta, hlc: r.hlc };
}

/** The details of a refusal that a screen words by its reason (core's conflictRefusalReasons). */
function refusal(reason: ConflictRefusalReason): { reason: ConflictRefusalReason } {
  return { reason };
}
