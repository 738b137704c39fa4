// What the crash test's devices type: a clinic nurse creating and editing patients (ids made on
// the device), and a vet creating owners and pets (temp ids the server replaces) and editing them,
// sometimes by the temp id, sometimes by the real id once an answer mapped it, as a device whose
// outbox was written before the mapping arrived does. Every update names the version it was based
// on, so an op applied twice would surface as a conflict on the next one.
import { makeTempId, uuidv7 } from '@outpost/core';
import type { HlcClock, PushOp, RecordData } from '@outpost/core';
import type { LedgerOp, LocalRecord, OpLedger } from './op-ledger';
import type { Random } from './seeded-random';

export interface Workload {
  /** Composes the next `size` ops, recording in the ledger what each will do once applied. */
  next(size: number): LedgerOp[];
}

const villages = ['Ntcheu', 'Balaka', 'Zomba', 'Dedza', 'Mangochi', 'Salima'];
const species = ['dog', 'cat', 'goat', 'rabbit', 'parrot'];
/** Updates go to recent records, so one record is edited several times in a batch and across kills. */
const recentRecords = 25;

class OpMaker {
  private count = 0;

  constructor(
    private readonly ledger: OpLedger,
    private readonly clock: HlcClock,
    private readonly random: Random,
    private readonly prefix: string,
  ) {}

  create(record: LocalRecord, references: Record<string, LocalRecord> = {}): LedgerOp {
    this.ledger.records.push(record);
    const data = this.wireData(record.data, references);
    return this.op(record, { type: 'create', id: record.localId, data });
  }

  update(record: LocalRecord, change: RecordData, references: Record<string, LocalRecord> = {}): LedgerOp {
    const id = this.idOf(record);
    const baseVersion = record.version;
    record.data = { ...record.data, ...change };
    record.version += 1;
    const data = this.wireData(change, references);
    return this.op(record, { type: 'update', id, baseVersion, data });
  }

  sequence(): number {
    return this.count;
  }

  /** The id an op names a record by: the real one once an answer mapped it, half the time. */
  idOf(record: LocalRecord): string {
    return record.realId !== null && this.random.chance(0.5) ? record.realId : record.localId;
  }

  private wireData(data: RecordData, references: Record<string, LocalRecord>): RecordData {
    const wire = { ...data };
    for (const [field, target] of Object.entries(references)) wire[field] = this.idOf(target);
    return wire;
  }

  private op(record: LocalRecord, fields: Pick<PushOp, 'type' | 'id' | 'baseVersion' | 'data'>): LedgerOp {
    this.count += 1;
    const op: PushOp = {
      opId: `${this.prefix}-op-${this.count}`,
      collection: record.collection,
      ...fields,
      hlc: this.clock.tick(),
    };
    return { op, record, version: record.version, first: null };
  }
}

function recent(records: readonly LocalRecord[], random: Random, collection?: string): LocalRecord | null {
  const pool = (collection ? records.filter((r) => r.collection === collection) : records).slice(
    -recentRecords,
  );
  return pool.length === 0 ? null : random.pick(pool);
}

/**
 * A value other than the current one: an update that leaves a record as it was is no change, and
 * the server rightly keeps its version, so the ledger's count of versions would be off.
 */
function other(values: readonly string[], current: unknown, random: Random): string {
  return random.pick(values.filter((v) => v !== current));
}

/** field-clinic, tenant clinic-a: patients with UUIDv7 ids made on the device. */
export function clinicWorkload(ledger: OpLedger, random: Random, clock: HlcClock, prefix: string): Workload {
  const maker = new OpMaker(ledger, clock, random, prefix);
  return {
    next(size) {
      return Array.from({ length: size }, () => {
        const n = maker.sequence() + 1;
        const target = recent(ledger.records, random);
        if (target === null || random.chance(0.35)) {
          const localId = uuidv7(Date.now(), random.bytes);
          const data = { name: `Patient ${n}`, village: random.pick(villages) };
          return maker.create({ collection: 'patients', localId, realId: localId, version: 1, data });
        }
        const change = random.pick<RecordData>([
          { village: other(villages, target.data['village'], random) },
          { notes: `visit note ${n}` },
          { phone: `+265 99 ${String(n).padStart(6, '0')}` },
        ]);
        return maker.update(target, change);
      });
    },
  };
}

/** vet-practice, tenant vet-a: owners (users) and pets, with temp ids the server replaces. */
export function vetWorkload(ledger: OpLedger, random: Random, clock: HlcClock, prefix: string): Workload {
  const maker = new OpMaker(ledger, clock, random, prefix);
  const usedTempIds = new Set<string>();
  const tempId = (collection: string): string => {
    for (;;) {
      const id = makeTempId(collection, Date.now(), random.bytes);
      if (!usedTempIds.has(id)) {
        usedTempIds.add(id);
        return id;
      }
    }
  };

  return {
    next(size) {
      return Array.from({ length: size }, () => {
        const n = maker.sequence() + 1;
        const owner = recent(ledger.records, random, 'users');
        const roll = random.next();
        if (owner === null || roll < 0.2) {
          const data = { name: `Owner ${n}`, role: 'CLIENT' };
          return maker.create({
            collection: 'users',
            localId: tempId('users'),
            realId: null,
            version: 1,
            data,
          });
        }
        if (roll < 0.4) {
          const data = { name: `Pet ${n}`, species: random.pick(species), ownerId: owner.localId };
          const pet = { collection: 'pets', localId: tempId('pets'), realId: null, version: 1, data };
          return maker.create(pet, { ownerId: owner });
        }
        const target = recent(ledger.records, random) ?? owner;
        if (target.collection === 'users') {
          return maker.update(target, { email: `owner${n}@vet-a.test` });
        }
        if (roll < 0.55 && target.data['ownerId'] !== owner.localId) {
          return maker.update(target, { ownerId: owner.localId }, { ownerId: owner });
        }
        return maker.update(target, { species: other(species, target.data['species'], random) });
      });
    },
  };
}
