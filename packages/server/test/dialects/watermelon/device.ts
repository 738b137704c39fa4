// A WatermelonDB device for tests: the real @nozbe/watermelondb package in Node on its LokiJS
// adapter, with pullChanges/pushChanges written as WatermelonDB's sync guide shows them (fetch
// over a real loopback port, plus the Bearer token), and its unmodified synchronize().
import { Database, Model, appSchema, tableSchema } from '@nozbe/watermelondb';
import type { ColumnSchema } from '@nozbe/watermelondb';
import LokiJSAdapter from '@nozbe/watermelondb/adapters/lokijs';
import { synchronize } from '@nozbe/watermelondb/sync';
import type { SyncDatabaseChangeSet } from '@nozbe/watermelondb/sync';

const text = (name: string, isOptional = true): ColumnSchema => ({ name, type: 'string', isOptional });
const timestamps: ColumnSchema[] = [
  { name: 'created_at', type: 'number' },
  { name: 'updated_at', type: 'number' },
];

/**
 * The field-clinic schema as a WatermelonDB app declares it: tables and columns named as in the
 * Outpost schema, optional fields optional, arrays and objects as JSON text.
 */
export const fieldClinicTables = [
  tableSchema({
    name: 'patients',
    columns: [
      text('name', false),
      ...['dateOfBirth', 'sex', 'village', 'phone', 'allergies', 'notes'].map((c) => text(c)),
      ...timestamps,
    ],
  }),
  tableSchema({
    name: 'encounters',
    columns: [
      { ...text('patientId', false), isIndexed: true },
      ...['date', 'diagnosis', 'prescription', 'vitals', 'notes'].map((c) => text(c)),
      ...timestamps,
    ],
  }),
  tableSchema({
    name: 'clinicalNotes',
    columns: [
      text('encounterId', false),
      text('body', false),
      ...['authorId', 'signatureHash', 'signedAt'].map((c) => text(c)),
      ...timestamps,
    ],
  }),
  tableSchema({
    name: 'intakeForms',
    columns: [
      text('patientId', false),
      text('answers'),
      { name: 'isLocked', type: 'boolean', isOptional: true },
      ...timestamps,
    ],
  }),
  tableSchema({
    name: 'prescriptions',
    columns: [
      text('patientId', false),
      text('encounterId'),
      text('drug', false),
      text('dose', false),
      text('frequency'),
      { name: 'durationDays', type: 'number', isOptional: true },
      ...timestamps,
    ],
  }),
];

/** Models without decorators; the two getters are how WatermelonDB knows to keep created_at / updated_at. */
function modelFor(table: string): typeof Model {
  return class extends Model {
    static override table = table;
    get createdAt(): number {
      return this._getRaw('created_at') as number;
    }
    get updatedAt(): number {
      return this._getRaw('updated_at') as number;
    }
  };
}

export type Row = Record<string, unknown> & { id: string };
/** A change set as it went over the wire. */
export type WireChanges = Record<string, { created: Row[]; updated: Row[]; deleted: string[] }>;

export interface Device {
  readonly database: Database;
  /** One synchronize(). `beforeApply` runs after the pull answered and before anything is applied or pushed. */
  sync(options?: { beforeApply?: () => Promise<void> }): Promise<void>;
  create(table: string, columns: Record<string, unknown>): Promise<string>;
  update(table: string, id: string, columns: Record<string, unknown>): Promise<void>;
  /** Deletes as a synced app does: marked deleted, destroyed once the push succeeded. */
  remove(table: string, id: string): Promise<void>;
  /** The record's columns (without WatermelonDB's _status/_changed), or null when the device has none. */
  find(table: string, id: string): Promise<Row | null>;
  all(table: string): Promise<Row[]>;
  /** Every change set this device pulled and pushed, in order. */
  readonly pulled: WireChanges[];
  readonly pushed: WireChanges[];
}

let devices = 0;

export function openDevice(options: {
  baseUrl: string;
  token: string;
  tables?: typeof fieldClinicTables;
  schemaVersion?: number;
}): Device {
  devices += 1;
  const tables = options.tables ?? fieldClinicTables;
  const schema = appSchema({ version: options.schemaVersion ?? 1, tables });
  const adapter = new LokiJSAdapter({
    schema,
    dbName: `outpost-device-${devices}`,
    useWebWorker: false,
    useIncrementalIndexedDB: false,
  });
  const database = new Database({ adapter, modelClasses: tables.map((t) => modelFor(t.name)) });
  const { baseUrl, token } = options;
  const pulled: WireChanges[] = [];
  const pushed: WireChanges[] = [];

  const columnsOf = (m: Model): Row => {
    const {
      _status: _s,
      _changed: _c,
      ...columns
    } = m._raw as unknown as Row & {
      _status: string;
      _changed: string;
    };
    return columns as Row;
  };

  return {
    database,
    pulled,
    pushed,
    async sync({ beforeApply } = {}) {
      await synchronize({
        database,
        sendCreatedAsUpdated: true,
        ...(beforeApply ? { onWillApplyRemoteChanges: beforeApply } : {}),
        pullChanges: async ({ lastPulledAt, schemaVersion, migration }) => {
          const urlParams = `last_pulled_at=${lastPulledAt}&schema_version=${schemaVersion}&migration=${encodeURIComponent(
            JSON.stringify(migration),
          )}`;
          const response = await fetch(`${baseUrl}/watermelon/sync/pull?${urlParams}`, {
            headers: { Authorization: `Bearer ${token}` },
          });
          if (!response.ok) {
            throw new Error(await response.text());
          }
          const { changes, timestamp } = (await response.json()) as {
            changes: SyncDatabaseChangeSet;
            timestamp: number;
          };
          pulled.push(changes as unknown as WireChanges);
          return { changes, timestamp };
        },
        pushChanges: async ({ changes, lastPulledAt }) => {
          pushed.push(changes as unknown as WireChanges);
          const response = await fetch(`${baseUrl}/watermelon/sync/push?last_pulled_at=${lastPulledAt}`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}` },
            body: JSON.stringify(changes),
          });
          if (!response.ok) {
            throw new Error(await response.text());
          }
        },
      });
    },
    async create(table, columns) {
      return database.write(async () => {
        const record = await database.get(table).create((r) => {
          for (const [column, value] of Object.entries(columns)) r._setRaw(column, value as never);
        });
        return record.id;
      });
    },
    async update(table, id, columns) {
      await database.write(async () => {
        const record = await database.get(table).find(id);
        await record.update((r) => {
          for (const [column, value] of Object.entries(columns)) r._setRaw(column, value as never);
        });
      });
    },
    async remove(table, id) {
      await database.write(async () => {
        const record = await database.get(table).find(id);
        await record.markAsDeleted();
      });
    },
    async find(table, id) {
      const rows = await database.get(table).query().fetch();
      const found = rows.find((m) => m.id === id);
      return found ? columnsOf(found) : null;
    },
    async all(table) {
      const rows = await database.get(table).query().fetch();
      return rows.map(columnsOf);
    },
  };
}

/** Everything WatermelonDB writes to the console, captured; its sync problems start with "[Sync]". */
export interface ConsoleCapture {
  readonly lines: string[];
  syncWarnings(): string[];
  restore(): void;
}

export function captureConsole(): ConsoleCapture {
  const lines: string[] = [];
  const methods = ['log', 'info', 'debug', 'warn', 'error'] as const;
  const originals = methods.map((m) => [m, console[m]] as const);
  for (const m of methods) {
    console[m] = (...args: unknown[]) => {
      lines.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(' '));
    };
  }
  return {
    lines,
    syncWarnings: () => lines.filter((l) => l.includes('[Sync]')),
    restore() {
      for (const [m, original] of originals) console[m] = original;
    },
  };
}
