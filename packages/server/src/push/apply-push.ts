import {
  applyEffect,
  applyPatch,
  changedFields,
  chooseStrategy,
  dataShapeProblem,
  describeIssues,
  isHlc,
  isTempId,
  isWellFormedText,
  isValidRecordId,
  parseTempId,
  settleChange,
  pushOpSchema,
  recordVersionSchema,
  uuidv7Sequence,
} from '@outpost/core';
import type {
  CollectionDefinition,
  ConflictKind,
  ConflictOutcome,
  Detection,
  HlcClock,
  IdMapping,
  OpError,
  OpErrorCode,
  PushOp,
  RandomBytes,
  PushResponse,
  PushResult,
  RecordData,
  RecordState,
  Schema,
  Settlement,
} from '@outpost/core';
import { recordKey } from '../storage/sync-store';
import { OpRejected, changesRecord, finishRecord } from './finish-record';
import type {
  AuditEvent,
  JournalEntry,
  StoredConflict,
  StoredOp,
  StoredRecord,
  StoredRejection,
  SyncStore,
  TenantWrite,
} from '../storage/sync-store';

export interface PushContext {
  tenant: string;
  userId: string;
  roles: readonly string[];
  clientId: string;
  deviceId: string;
  clock: HlcClock;
  now: () => Date;
  /** The random bits of conflict ids; the platform's when absent. */
  randomBytes?: RandomBytes;
  /**
   * Set on a database restored from a backup whose last numbers it knows (decision 0051): its
   * epoch and the caller's clinic's last number per collection in the backup, by which a create's
   * `restoredFrom` is a number the lost database gave. Absent: `restoredFrom` is not read.
   */
  restore?: { epoch: string; lastIds: Readonly<Record<string, string>> };
}

/** An op after its own shape was checked: either ready to apply or already rejected. */
type Checked =
  | { kind: 'valid'; op: PushOp; def: CollectionDefinition }
  | { kind: 'invalid'; opId: string | null; result: PushResult; type: string; raw: Record<string, unknown> };

/** Text of a rejected op, for its result and the journal; NUL, which PostgreSQL cannot store, made visible. */
function text(value: unknown, max: number): string {
  return typeof value === 'string' ? value.slice(0, max).replaceAll('\u0000', '\ufffd') : '';
}

function rejection(
  base: { opId: string; collection: string; id: string },
  code: OpErrorCode,
  message: string,
  details?: unknown,
): PushResult {
  const error: OpError = details === undefined ? { code, message } : { code, message, details };
  return { ...base, status: 'rejected', error };
}

// A top-level function, not one made per op: making a function for each of 500 ops is itself a
// measurable share of a push (more so under tsx, which names every function it makes).
/** A refused op, answered and journaled with what can be read of it as sent. */
function invalid(
  obj: Record<string, unknown>,
  opId: string | null,
  code: OpErrorCode,
  message: string,
  details?: unknown,
): Checked {
  const base = {
    opId: opId ?? text(obj['opId'], 128),
    collection: text(obj['collection'], 64),
    id: text(obj['id'], 128),
  };
  return {
    kind: 'invalid',
    opId,
    type: text(obj['type'], 16),
    raw: obj,
    result: rejection(base, code, message, details),
  };
}

/**
 * Checks what can be checked of one op without the database: its shape, its collection, the
 * sender's permission, and which fields it names. Runs before the transaction so the tenant lock
 * is held for as short a time as possible.
 */
function checkOp(raw: unknown, schema: Schema, roles: readonly string[]): Checked {
  const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  // An opId with NUL could not be journaled on PostgreSQL, and one with half a character would be
  // journaled as other text (U+FFFD), so that its resend would not find it: like any unusable
  // opId, its op is answered alone.
  const opId =
    typeof obj['opId'] === 'string' &&
    obj['opId'].length > 0 &&
    obj['opId'].length <= 128 &&
    !obj['opId'].includes('\u0000') &&
    isWellFormedText(obj['opId'])
      ? obj['opId']
      : null;

  // Before anything walks the data: too deep, it would overflow the stack of whatever does.
  const shapeProblem = dataShapeProblem(obj['data']);
  if (shapeProblem !== null) return invalid(obj, opId, 'VALIDATION_FAILED', shapeProblem);
  const parsed = pushOpSchema.safeParse(raw);
  if (!parsed.success)
    return invalid(obj, opId, 'VALIDATION_FAILED', 'op is malformed', describeIssues(parsed.error));
  if (opId === null)
    return invalid(obj, opId, 'VALIDATION_FAILED', 'opId may not contain NUL or half of a character');
  const op = parsed.data;
  const def = schema.collection(op.collection);
  if (!def) return invalid(obj, opId, 'UNKNOWN_COLLECTION', `no collection named "${op.collection}"`);
  if (!schema.can(roles, op.collection, op.type)) {
    return invalid(obj, opId, 'FORBIDDEN', `your role may not ${op.type} ${op.collection}`);
  }
  if (op.type !== 'delete') {
    if (op.data === undefined) return invalid(obj, opId, 'VALIDATION_FAILED', `${op.type} needs data`);
    const shape = def.fields.shape as Record<string, unknown>;
    const unknown = Object.keys(op.data).filter((f) => !Object.hasOwn(shape, f));
    if (unknown.length > 0) {
      return invalid(obj, opId, 'VALIDATION_FAILED', `unknown fields for ${op.collection}`, {
        fields: unknown,
      });
    }
  }
  if (isTempId(op.id) && def.idStrategy === 'client') {
    return invalid(
      obj,
      opId,
      'VALIDATION_FAILED',
      `${op.collection} ids are made on the device: send the final id`,
    );
  }
  if (!isTempId(op.id) && def.idStrategy === 'server' && op.type === 'create') {
    return invalid(
      obj,
      opId,
      'VALIDATION_FAILED',
      `${op.collection} ids are assigned by the server: create with a temp id`,
    );
  }
  return { kind: 'valid', op, def };
}

/**
 * Applies one push, per PROTOCOL.md: ops in array order, each opId at most once ever, temp ids
 * replaced by real ids everywhere they appear, conflicts detected against the client's
 * baseVersion and archived. Everything is written in one transaction, so the response (sent
 * after this resolves) only ever describes committed outcomes.
 */
export async function applyPush(
  store: SyncStore,
  schema: Schema,
  ctx: PushContext,
  rawOps: readonly unknown[],
  guard: PushGuard = {},
): Promise<PushResponse> {
  const checked = rawOps.map((raw) => checkOp(raw, schema, ctx.roles));
  const attempt = (earlierOps: JournalCheck) =>
    store.write(
      ctx.tenant,
      rawOps.length,
      async (w) => {
        await guard.before?.(w);
        const response = await new PushRun(w, schema, ctx, earlierOps).run(checked);
        await guard.after?.(w, response);
        return response;
      },
      ctx.clientId,
    );
  // Nearly every push carries only ops the server never saw, so the journal is not read first: its
  // key refuses an opId twice. An attempt commits only if every op it journaled was new, and then
  // reading the journal first would have found nothing: the outcome is the same. If anything fails
  // (an op an earlier push applied, or an error that applying it again may have caused), the push
  // runs again as a resend must, reading the journal first to answer those ops `duplicate`
  // (decision 0004). A resend after a lost response pays for two attempts; every other push saves
  // a lookup per op.
  try {
    return await attempt('trust the key');
  } catch {
    return attempt('read first');
  }
}

/** An op of this push was journaled by an earlier one: the push must be answered from the journal. */
class SeenBefore extends Error {}

/** How a push finds the ops earlier pushes applied: by reading the journal, or by its key refusing them. */
type JournalCheck = 'read first' | 'trust the key';

/**
 * Checks a caller runs inside the push's own transaction, under the tenant lock, so nothing can
 * change between a check and the writes it guards. Throwing from either rolls the whole push back:
 * nothing is stored. Protocols whose push is all-or-nothing (WatermelonDB's) need both.
 */
export interface PushGuard {
  /** Before any op applies: e.g. refuse a push whose records changed since the device last pulled. */
  before?(w: TenantWrite): Promise<void>;
  /**
   * After every op applied and before commit. Positions left unused by the ops (one is reserved
   * per op) may be spent here on records the caller writes again through `w`.
   */
  after?(w: TenantWrite, response: PushResponse): Promise<void>;
}

class PushRun {
  private readonly records = new Map<string, StoredRecord | null>();
  private readonly dirty = new Set<string>();
  private readonly tempIds = new Map<string, string>();
  private readonly failedTempIds = new Set<string>();
  private readonly reservedIds = new Map<string, number[]>();
  private readonly newMappings: IdMapping[] = [];
  /** Lost numbers given back (decision 0051), `collection\u0000lostId` -> the record's number now. */
  private readonly givenBack = new Map<string, string>();
  /** Those this push gives back first, to keep in `restored_numbers`. */
  private readonly restoredRows: Array<{ collection: string; lostId: string; id: string }> = [];
  /** Temp ids of earlier pushes this push names: the client sends one exactly when it never saw its mapping. */
  private readonly knownMappings: IdMapping[] = [];
  private readonly conflicts: StoredConflict[] = [];
  private readonly rejections: StoredRejection[] = [];
  private readonly journal: JournalEntry[] = [];
  private readonly duplicates: string[] = [];
  /** `override-ignored` events: ops that asked for a strategy their sender's role may not use. */
  private readonly ignoredOverrides: AuditEvent[] = [];
  private readonly nowIso: string;
  /**
   * Conflict and rejection ids, in the order ops were settled and after every id the tenant's
   * archives already hold (read under the tenant lock), whichever host made those.
   */
  private readonly nextArchiveId: (nowMs: number) => string;
  private lastArchiveId = '';
  /** Reads for finishRecord, seeing what this push staged; one function for the whole push. */
  private readonly get = (collection: string, id: string) => this.record(collection, id);

  constructor(
    private readonly w: TenantWrite,
    private readonly schema: Schema,
    private readonly ctx: PushContext,
    /** Whether earlier pushes' ops are looked up before applying, or left to the journal's key. */
    private readonly earlierOps: JournalCheck,
  ) {
    this.nowIso = ctx.now().toISOString();
    this.nextArchiveId = uuidv7Sequence(ctx.randomBytes, w.lastArchiveId);
  }

  async run(checked: readonly Checked[]): Promise<PushResponse> {
    const opIds = checked.flatMap((c) => (c.kind === 'valid' ? [c.op.opId] : c.opId ? [c.opId] : []));
    const seen = this.earlierOps === 'read first' ? await this.w.loadOps(opIds) : new Map<string, StoredOp>();
    await this.restoreConflictData(seen);
    await this.restoreRefusals(seen);
    const fresh = checked.filter(
      (c): c is Extract<Checked, { kind: 'valid' }> => c.kind === 'valid' && !seen.has(c.op.opId),
    );
    await this.prepare(fresh.map((c) => c.op));

    const results: PushResult[] = [];
    const idMappings: IdMapping[] = [];
    const firstInThisPush = new Map<string, PushResult>();
    for (const c of checked) {
      const opId = c.kind === 'valid' ? c.op.opId : c.opId;
      const earlier = opId === null ? undefined : (seen.get(opId)?.result ?? firstInThisPush.get(opId));
      if (opId !== null && earlier) {
        // A repeat: nothing is applied again; the first outcome is replayed, mapping included,
        // because a client resends exactly when it never saw the first response.
        this.duplicates.push(opId);
        results.push(duplicateOf(earlier));
        // Any first outcome that named a record for the temp id: applied, or settled against a record
        // given back before it (decision 0051), whose create ends in conflict yet names that record.
        if (earlier.tempId !== undefined && earlier.id !== earlier.tempId) {
          idMappings.push({ collection: earlier.collection, tempId: earlier.tempId, id: earlier.id });
        }
        continue;
      }
      const result = c.kind === 'valid' ? await this.applyOne(c.op, c.def) : c.result;
      if (c.kind === 'valid') this.noteIgnoredOverride(c.op, c.def, result);
      results.push(result);
      if (opId !== null) {
        firstInThisPush.set(opId, result);
        this.journal.push({
          opId,
          collection: result.collection,
          recordId: result.id,
          type: c.kind === 'valid' ? c.op.type : c.type,
          result: asJournaled(result),
          hlc: sentHlc(c),
        });
        if (result.status === 'rejected') this.keepRejected(opId, c, result);
      }
    }
    await this.flush();
    const told = new Set([...this.newMappings, ...idMappings].map((m) => m.tempId));
    const known = this.knownMappings.filter((m) => !told.has(m.tempId));
    return { results, idMappings: [...this.newMappings, ...idMappings, ...known] };
  }

  /**
   * The journal keeps no record contents, so a replayed conflict gets both versions back from
   * the conflict archive, as the first response had them: to the user whose op it was (anyone
   * else who sends its opId learns only its outcome), and the server's version only where that
   * user may read the record.
   */
  private async restoreConflictData(seen: Map<string, StoredOp>): Promise<void> {
    const ids = [...seen.values()].flatMap((o) =>
      o.result.conflict?.id && o.result.status !== 'rejected' && o.userId === this.ctx.userId
        ? [o.result.conflict.id]
        : [],
    );
    if (ids.length === 0) return;
    const archived = await this.w.loadConflicts(ids);
    for (const op of seen.values()) {
      const c = op.result.conflict?.id ? archived.get(op.result.conflict.id) : undefined;
      if (!c || !op.result.conflict) continue;
      op.result = {
        ...op.result,
        conflict: {
          ...op.result.conflict,
          ...(this.mayRead(c.collection) ? { server: { data: c.serverData, version: c.serverVersion } } : {}),
          client: { data: c.clientData },
        },
      };
    }
  }

  /**
   * A replayed refusal gets its message and details back from the rejection archive, as the first
   * response had them; to the user whose op it was only, as for conflicts. Journal rows written
   * before the journal left them out still hold them.
   */
  private async restoreRefusals(seen: Map<string, StoredOp>): Promise<void> {
    const opIds = [...seen.values()].flatMap((o) =>
      o.result.error?.message === journaledRefusal && o.userId === this.ctx.userId ? [o.opId] : [],
    );
    if (opIds.length === 0) return;
    const archived = await this.w.loadRefusals(opIds);
    for (const [opId, error] of archived) {
      const op = seen.get(opId);
      if (op) op.result = { ...op.result, error };
    }
  }

  /** Loads in a few queries what the ops will read: known temp ids, target and referenced records, new ids. */
  private async prepare(ops: readonly PushOp[]): Promise<void> {
    const temps: string[] = [];
    for (const op of ops) {
      if (isTempId(op.id)) temps.push(op.id);
      for (const field of Object.keys(this.schema.collection(op.collection)?.references ?? {})) {
        const value = op.data?.[field];
        if (isTempId(value)) temps.push(value);
      }
    }
    if (temps.length > 0) {
      for (const [temp, real] of await this.w.loadTempIds(this.ctx.clientId, temps)) {
        this.tempIds.set(temp, real);
        this.knownMappings.push({ collection: parseTempId(temp)?.collection ?? '', tempId: temp, id: real });
      }
      // A temp id whose create an earlier push refused names the refusal, as within one push.
      const unknown = temps.filter((t) => !this.tempIds.has(t));
      if (unknown.length > 0)
        for (const temp of await this.w.rejectedCreates(this.ctx.clientId, unknown))
          this.failedTempIds.add(temp);
    }

    await this.mapGivenBack(ops);

    const keys: Array<{ collection: string; id: string }> = [];
    const newIdsNeeded = new Map<string, number>();
    for (const op of ops) {
      const def = this.schema.collection(op.collection);
      if (!def) continue;
      const id = isTempId(op.id) ? this.tempIds.get(op.id) : op.id;
      if (id !== undefined) keys.push({ collection: op.collection, id });
      else if (this.numbersNew(op))
        newIdsNeeded.set(op.collection, (newIdsNeeded.get(op.collection) ?? 0) + 1);
      for (const [field, target] of Object.entries(def.references)) {
        const value = op.data?.[field];
        // A value that is no record id names no record: finishRecord refuses it without a query.
        const ref = isTempId(value)
          ? this.tempIds.get(value)
          : typeof value === 'string' && isValidRecordId(value)
            ? value
            : undefined;
        if (ref !== undefined) keys.push({ collection: target, id: ref });
      }
    }
    const loaded = await this.w.loadRecords(keys);
    for (const k of keys) {
      const key = recordKey(k.collection, k.id);
      this.records.set(key, loaded.get(key) ?? null);
    }
    for (const [collection, count] of newIdsNeeded) {
      const first = await this.w.reserveIds(collection, count);
      this.reservedIds.set(collection, Array.from({ length: count }, (_, i) => first + i).reverse());
    }
  }

  /**
   * An op that asked for a strategy its sender's role may not use (no `override` on the collection)
   * is settled by the collection's own rule, as if it had asked for none (chooseStrategy), and its
   * answer says nothing of it (PROTOCOL.md). The audit says it: one `override-ignored` event, the
   * strategy asked for as its outcome, written with the push's journal in its transaction
   * (decision 0035). Asking for the collection's own rule overrides nothing and is not recorded.
   */
  private noteIgnoredOverride(op: PushOp, def: CollectionDefinition, result: PushResult): void {
    if (op.strategy === undefined || op.strategy === def.conflict.strategy) return;
    if (this.schema.can(this.ctx.roles, op.collection, 'override')) return;
    this.ignoredOverrides.push({
      tenant: this.ctx.tenant,
      at: this.nowIso,
      userId: this.ctx.userId,
      deviceId: this.ctx.deviceId,
      action: 'override-ignored',
      collection: op.collection,
      recordId: result.id,
      outcome: op.strategy,
    });
  }

  /**
   * The number the database a restore replaced gave the record this op creates or deletes again,
   * when the op says so (`restoredFrom`) and it is one that database gave after the backup; null
   * otherwise, and the op is one like any other (a delete naming a temp id no create made is
   * refused, as before).
   */
  private lostNumberOf(op: PushOp): string | null {
    const { restore } = this.ctx;
    if (restore === undefined || op.type === 'update' || op.restoredFrom === undefined || !isTempId(op.id))
      return null;
    if (this.schema.collection(op.collection)?.idStrategy !== 'server') return null;
    const last = Object.hasOwn(restore.lastIds, op.collection) ? restore.lastIds[op.collection] : undefined;
    return Number(op.restoredFrom) > Number(last ?? '0') ? op.restoredFrom : null;
  }

  /**
   * A record another device gave back already (decision 0051): this op's temp id names it, so the
   * create is settled against it by the collection's rule, as a second create of one client-made
   * id is, and the record comes back once.
   */
  private async mapGivenBack(ops: readonly PushOp[]): Promise<void> {
    const { restore } = this.ctx;
    const lost = ops.flatMap((op) => {
      const lostId = this.tempIds.has(op.id) ? null : this.lostNumberOf(op);
      return lostId === null ? [] : [{ op, collection: op.collection, lostId }];
    });
    if (restore === undefined || lost.length === 0) return;
    for (const [key, id] of await this.w.loadRestoredNumbers(restore.epoch, lost))
      this.givenBack.set(key, id);
    for (const { op, collection, lostId } of lost) {
      const id = this.givenBack.get(`${collection}\u0000${lostId}`);
      if (id === undefined) continue;
      this.tempIds.set(op.id, id);
      this.newMappings.push({ collection, tempId: op.id, id });
    }
  }

  /**
   * Whether this op's temp id, unknown so far, takes a new number: a create, and a deletion given
   * back for a lost number no device gave back before it, which the restored server keeps as a
   * tombstone under a number of its own (decision 0051, "Deletions").
   */
  private numbersNew(op: PushOp): boolean {
    return op.type === 'create' || (op.type === 'delete' && this.lostNumberOf(op) !== null);
  }

  /**
   * Whether a delete of a record this server does not have is a deletion given back to a restored
   * server (decisions 0050 and 0051), to keep as a tombstone: the record was created after the
   * backup and deleted since, and a colleague's tablet may still hold it and give it back; the
   * tombstone makes that create one over a deletion, settled by the collection's rule, where it
   * would otherwise make the record again. Only on a restored database, for a delete of a lost
   * number (`restoredFrom`, under the number just reserved for it) or of a device-made id
   * (`givenBack`). Never for a server number without `restoredFrom`: the restored server hands its
   * numbers out again, and a tombstone there would stand in the way of a record it numbers next.
   */
  private keepsDeletion(op: PushOp, def: CollectionDefinition): boolean {
    if (this.ctx.restore === undefined || op.type !== 'delete') return false;
    if (def.idStrategy === 'server') return this.lostNumberOf(op) !== null;
    return op.givenBack === true;
  }

  private async record(collection: string, id: string): Promise<StoredRecord | null> {
    const key = recordKey(collection, id);
    if (!this.records.has(key)) {
      const loaded = await this.w.loadRecords([{ collection, id }]);
      this.records.set(key, loaded.get(key) ?? null);
    }
    return this.records.get(key) ?? null;
  }

  private resolveTempId(tempId: string): string {
    const real = this.tempIds.get(tempId);
    if (real !== undefined) return real;
    if (this.failedTempIds.has(tempId)) {
      throw new OpRejected('DEPENDENCY_FAILED', `${tempId} was not created: its create op failed`, {
        tempId,
      });
    }
    throw new OpRejected('UNRESOLVED_REFERENCE', `${tempId} is not a temp id this client created`, {
      tempId,
    });
  }

  private async applyOne(op: PushOp, def: CollectionDefinition): Promise<PushResult> {
    const base = { opId: op.opId, collection: op.collection, id: op.id };
    try {
      const result = await this.applyValid(op, def);
      const lostId = this.lostNumberOf(op);
      const key = `${op.collection}\u0000${lostId}`;
      if (lostId !== null && result.status !== 'rejected' && !this.givenBack.has(key)) {
        // The first to give this number back: the record's number now, for the devices after it.
        this.givenBack.set(key, result.id);
        this.restoredRows.push({ collection: op.collection, lostId, id: result.id });
      }
      return result;
    } catch (err) {
      if (!(err instanceof OpRejected)) throw err;
      if (this.numbersNew(op) && isTempId(op.id)) {
        // The temp id never became a record: later ops naming it fail as DEPENDENCY_FAILED.
        this.failedTempIds.add(op.id);
        const at = this.newMappings.findIndex((m) => m.tempId === op.id);
        if (at >= 0) {
          this.newMappings.splice(at, 1);
          this.tempIds.delete(op.id);
        }
      }
      return rejection(base, err.code, err.message, err.details);
    }
  }

  private async applyValid(op: PushOp, def: CollectionDefinition): Promise<PushResult> {
    const tempId = isTempId(op.id) ? op.id : undefined;
    let id: string;
    if (tempId !== undefined && this.numbersNew(op) && !this.tempIds.has(tempId)) {
      id = String(this.reservedIds.get(op.collection)?.pop());
      this.tempIds.set(tempId, id);
      this.newMappings.push({ collection: op.collection, tempId, id });
    } else {
      id = tempId !== undefined ? this.resolveTempId(tempId) : op.id;
    }

    // The client's data with every temp id in a reference field replaced by its real id.
    let clientData: RecordData | null = null;
    if (op.type !== 'delete') {
      clientData = { ...(op.data ?? {}) };
      for (const field of Object.keys(def.references)) {
        const value = clientData[field];
        if (isTempId(value)) clientData[field] = this.resolveTempId(value);
      }
    }

    const current = await this.record(op.collection, id);
    const live = current !== null && !current.deleted ? current : null;
    const hlc = this.hlcOf(op);

    // A create of an id that exists is a change like any other: one that would rewrite a signed
    // note or a locked form is refused too (the simulation found a locked form replaced that way).
    const changesLive =
      live !== null &&
      (op.type !== 'create' || changedFields(live.data, applyPatch({}, clientData ?? {})).length > 0);
    if (live && changesLive) {
      const rule: ConflictKind | null = def.isImmutable(live.data)
        ? 'immutable'
        : def.isLocked(live.data)
          ? 'locked'
          : null;
      if (rule) {
        // Refused, and the attempted change kept in the archive: nothing typed is dropped unseen.
        const detection = { kind: rule, clientFields: [], serverFields: [], fields: [] };
        const settled = { detection, strategy: def.conflict.strategy, outcome: 'rejected' as const };
        const conflict = this.archive(op, def, id, live, clientData, hlc, settled);
        const code = rule === 'immutable' ? 'IMMUTABLE' : 'LOCKED';
        const message =
          rule === 'immutable'
            ? `${op.collection} ${id} is signed and can no longer change`
            : `${op.collection} ${id} is locked`;
        return resultOf(op, id, tempId, {
          status: 'rejected',
          version: live.version,
          error: { code, message },
          conflict: { id: conflict.id, kind: rule, outcome: 'rejected', strategy: conflict.strategy },
        });
      }
    }

    if (current === null) {
      if (this.keepsDeletion(op, def)) {
        // A tombstone at version 1, stamped with the deletion's HLC: pull sends it as deleted, and
        // a later create of the record is weighed against it (detectConflict's `delete-update`).
        this.stage(op.collection, id, applyEffect(null, { kind: 'delete' }, 1, hlc));
        return resultOf(op, id, tempId, { status: 'applied', version: 1 });
      }
      if (op.type !== 'create') throw new OpRejected('NOT_FOUND', `${op.collection} ${id} does not exist`);
      const created = applyEffect(null, { kind: 'replace', data: clientData ?? {} }, 1, hlc);
      this.stage(op.collection, id, await this.finish(op, def, id, created, null, hlc));
      return resultOf(op, id, tempId, { status: 'applied', version: 1 });
    }

    const settled = settleChange({
      change: {
        type: op.type,
        data: clientData,
        baseVersion: op.baseVersion,
        baseHash: op.baseHash,
        // Compared as the op was stamped: the server's time for one stamped too far ahead.
        hlc: op.hlc === undefined ? undefined : hlc,
      },
      current,
      strategy: chooseStrategy(
        def.conflict.strategy,
        op.strategy,
        this.schema.can(this.ctx.roles, op.collection, 'override'),
      ),
      fallback: def.conflict.fallback,
      hlc,
    });
    let version = current.version;
    if (settled.effect.kind !== 'none') {
      const tentative = applyEffect(current, settled.effect, current.version + 1, hlc);
      const next = tentative.deleted ? tentative : await this.finish(op, def, id, tentative, live, hlc);
      if (changesRecord(current, next)) {
        this.stage(op.collection, id, next);
        version = next.version;
      }
    }
    const { detection, outcome } = settled;
    if (detection === null || outcome === null)
      return resultOf(op, id, tempId, { status: 'applied', version });

    const conflict = this.archive(op, def, id, current, clientData, hlc, {
      detection,
      outcome,
      strategy: settled.strategy,
    });
    const tookEffect = outcome === 'client-won' || outcome === 'merged';
    return resultOf(op, id, tempId, {
      status: tookEffect ? 'applied' : 'conflict',
      version,
      conflict: {
        id: conflict.id,
        kind: conflict.kind,
        fields: conflict.fields,
        strategy: conflict.strategy,
        outcome: conflict.outcome,
        // The server's version only to a role that may read the record anyway (see mayRead).
        ...(this.mayRead(op.collection)
          ? { server: { data: conflict.serverData, version: current.version } }
          : {}),
        client: { data: clientData },
      },
    });
  }

  /**
   * Whether the sender's role may read `collection`'s records. A role may create or update records
   * it may not read (an intake kiosk registers patients it cannot look up); a conflict must not
   * hand it the stored version that read permission withholds.
   */
  private mayRead(collection: string): boolean {
    return this.schema.can(this.ctx.roles, collection, 'read');
  }

  /**
   * The HLC an op is stamped with: the client's orders concurrent edits. Ops without one get the
   * server's, and so do ops stamped further ahead than the clock takes (a day): a tablet whose
   * clock was set years ahead would otherwise win every later edit of the record for years.
   */
  private hlcOf(op: PushOp): string {
    if (op.hlc !== undefined && this.ctx.clock.receive(op.hlc)) return op.hlc;
    return this.ctx.clock.tick();
  }

  private finish(
    op: PushOp,
    def: CollectionDefinition,
    id: string,
    tentative: RecordState,
    previous: StoredRecord | null,
    hlc: string,
  ): Promise<RecordState> {
    return finishRecord({
      def,
      tenant: this.ctx.tenant,
      userId: this.ctx.userId,
      id,
      type: op.type === 'create' ? 'create' : 'update',
      tentative,
      previous: previous?.data ?? null,
      hlc,
      get: this.get,
    });
  }

  private stage(collection: string, id: string, state: RecordState): void {
    const key = recordKey(collection, id);
    this.records.set(key, {
      collection,
      id,
      ...state,
      updatedAt: this.nowIso,
      updatedBy: this.ctx.userId,
      position: 0,
    });
    this.dirty.add(key);
  }

  private archive(
    op: PushOp,
    def: CollectionDefinition,
    id: string,
    server: StoredRecord,
    clientData: RecordData | null,
    hlc: string,
    settled: Pick<Settlement, 'strategy'> & { detection: Detection; outcome: ConflictOutcome },
  ): StoredConflict {
    const { detection, outcome, strategy } = settled;
    const conflict: StoredConflict = {
      id: this.archiveId(),
      tenant: this.ctx.tenant,
      collection: def.name,
      recordId: id,
      opId: op.opId,
      opType: op.type,
      kind: detection.kind,
      strategy,
      outcome,
      fields: [...detection.fields],
      serverData: server.deleted ? null : server.data,
      serverVersion: server.version,
      serverHlc: server.hlc,
      clientData,
      clientHlc: hlc,
      baseVersion: op.baseVersion ?? null,
      userId: this.ctx.userId,
      deviceId: this.ctx.deviceId,
      createdAt: this.nowIso,
      resolvedAt: outcome === 'open' ? null : this.nowIso,
      resolvedBy: outcome === 'open' ? null : 'server',
    };
    this.conflicts.push(conflict);
    return conflict;
  }

  /**
   * Archives a refused op with the data it carried, exactly as sent: the device shows it failed,
   * and the archive keeps it should that device be lost or reset (decisions/0015).
   */
  private keepRejected(opId: string, c: Checked, result: PushResult): void {
    if (!result.error) return;
    const sent: { data?: unknown; baseVersion?: unknown } = c.kind === 'valid' ? c.op : c.raw;
    // Data that could not be a record's (dataShapeProblem) is not kept: it is no clinician's typing.
    const data = dataShapeProblem(sent.data) === null ? sent.data : undefined;
    const baseVersion = recordVersionSchema.safeParse(sent.baseVersion);
    this.rejections.push({
      id: this.archiveId(),
      tenant: this.ctx.tenant,
      opId,
      collection: result.collection,
      recordId: result.id,
      opType: c.kind === 'valid' ? c.op.type : c.type,
      data: typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as RecordData) : null,
      baseVersion: baseVersion.success ? baseVersion.data : null,
      error: result.error,
      conflictId: result.conflict?.id ?? null,
      userId: this.ctx.userId,
      deviceId: this.ctx.deviceId,
      clientId: this.ctx.clientId,
      rejectedAt: this.nowIso,
    });
  }

  private archiveId(): string {
    return (this.lastArchiveId = this.nextArchiveId(this.ctx.now().getTime()));
  }

  private async flush(): Promise<void> {
    const staged: StoredRecord[] = [];
    for (const key of this.dirty) {
      const r = this.records.get(key);
      // Staged records are this push's own objects: their position is set where they are.
      if (r) {
        r.position = this.w.nextPosition();
        staged.push(r);
      }
    }
    // The journal with the records: an attempt that trusted its key stops here when an op was
    // applied before, and rolls back whatever was written with it.
    const { clientId, deviceId, userId } = this.ctx;
    const sender = { clientId, deviceId, userId, receivedAt: this.nowIso };
    if ((await this.w.writePush(sender, this.journal, staged)) < this.journal.length) {
      if (this.earlierOps === 'trust the key') throw new SeenBefore();
      // The journal was read under the tenant lock: nothing else can have journaled these since.
      throw new Error('the op journal holds an op this push read as new');
    }
    if (this.newMappings.length > 0) await this.w.writeTempIds(this.ctx.clientId, this.newMappings);
    if (this.restoredRows.length > 0 && this.ctx.restore)
      await this.w.writeRestoredNumbers(this.ctx.restore.epoch, this.restoredRows);
    if (this.conflicts.length > 0) await this.w.writeConflicts(this.conflicts);
    if (this.rejections.length > 0) await this.w.writeRejections(this.rejections);
    if (this.lastArchiveId !== '') await this.w.recordArchiveIds(this.lastArchiveId);
    if (this.duplicates.length > 0) await this.w.countDuplicates(this.duplicates);
    if (this.ignoredOverrides.length > 0) await this.w.audit(this.ignoredOverrides);
  }
}

/**
 * The HLC an op came with, as the device sent it (null when it sent none that can be read): kept
 * in the journal for how long the change waited to arrive (decision 0036), even when the record
 * was stamped with the server's own (hlcOf) because the device's clock ran too far ahead.
 */
function sentHlc(c: Checked): string | null {
  if (c.kind === 'valid') return c.op.hlc ?? null;
  const hlc = c.raw['hlc'];
  return isHlc(hlc) ? hlc : null;
}

/** What the op journal says of a refusal in place of its message (see asJournaled). */
export const journaledRefusal = 'refused: the rejection archive holds the message';

/**
 * The result as the op journal keeps it: outcome, ids and codes, never a record's contents. A
 * refusal's message and details may repeat what was typed (a validate hook's message, a reference
 * field's text), so the journal keeps its code alone; the rejection archive, which holds the op's
 * data anyway, keeps them, and a resend gets them back from there (restoreRefusals).
 */
function asJournaled(result: PushResult): PushResult {
  let out = result;
  if (out.conflict && (out.conflict.server !== undefined || out.conflict.client !== undefined)) {
    const { server: _server, client: _client, ...summary } = out.conflict;
    out = { ...out, conflict: summary };
  }
  if (out.error) out = { ...out, error: { code: out.error.code, message: journaledRefusal } };
  return out;
}

/** An applied op's result; a top-level function for the reason `invalid` is. */
function resultOf(
  op: PushOp,
  id: string,
  tempId: string | undefined,
  fields: Omit<PushResult, 'opId' | 'collection' | 'id'>,
): PushResult {
  return {
    opId: op.opId,
    collection: op.collection,
    id,
    ...(tempId !== undefined ? { tempId } : {}),
    ...fields,
  };
}

function duplicateOf(first: PushResult): PushResult {
  const { originalStatus: _ignored, ...rest } = first;
  return {
    ...rest,
    status: 'duplicate',
    originalStatus: first.status === 'duplicate' ? 'applied' : first.status,
  };
}
