// A device that pushes continuously over real HTTP with the v1 protocol, as a real client does:
// one batch at a time; when a push brings no response back, it waits for the server and resends
// exactly that batch, same opIds, before composing anything new. Everything the server answers
// is checked against the ledger as it arrives; what does not match is kept as a problem.
import { isTempId } from '@outpost/core';
import type { IdMapping, PushResponse, PushResult } from '@outpost/core';
import type { Batch, LedgerOp, OpLedger } from './op-ledger';
import type { ServerLink } from './restarting-server';
import type { Random } from './seeded-random';
import type { Workload } from './workloads';

/** A push that takes longer than this while the server is up is a hang, not a crash. */
const pushTimeoutMs = 15_000;
const keptProblems = 40;

export interface DeviceOptions {
  name: string;
  /** The tenant the token signs in to. */
  tenant: string;
  token: string;
  clientId: string;
  deviceId: string;
  ledger: OpLedger;
  workload: Workload;
  link: ServerLink;
  random: Random;
  /** Ops per batch, both included. */
  batchSize: readonly [number, number];
}

export interface InFlight {
  since: number;
  generation: number;
  /** The first op of the push: once the server journals it, the push has committed. */
  firstOpId: string;
}

export class PushingDevice {
  readonly problems: string[] = [];
  /** The push waiting for its response, if any. */
  inFlight: InFlight | null = null;
  /** Duplicate answers seen (on retries after lost responses, and on the final resend). */
  duplicatesSeen = 0;
  private readonly latencies: number[] = [];
  private stopping = false;
  private pending: Batch | null = null;

  constructor(private readonly options: DeviceOptions) {}

  get name(): string {
    return this.options.name;
  }

  get tenant(): string {
    return this.options.tenant;
  }

  get ledger(): OpLedger {
    return this.options.ledger;
  }

  /** Milliseconds a push of this device usually takes: the median of the last few. */
  typicalLatencyMs(): number {
    const last = [...this.latencies.slice(-15)].sort((a, b) => a - b);
    return last[Math.floor(last.length / 2)] ?? 20;
  }

  /** Whether the device holds a push whose response was lost and has not been answered since. */
  awaitingRetry(): boolean {
    return this.pending !== null && this.pending.lostAttempts > 0;
  }

  /** Asks the loop to end once the batch it holds is acknowledged. */
  stop(): void {
    this.stopping = true;
  }

  async run(): Promise<void> {
    const { link, ledger, workload, random, batchSize } = this.options;
    while (!this.stopping || this.pending !== null) {
      const batch = this.pending ?? ledger.add(workload.next(random.int(batchSize[0], batchSize[1])));
      this.pending = batch;
      const generation = await link.up(1);
      const sentAt = Date.now();
      this.inFlight = { since: sentAt, generation, firstOpId: batch.ops[0]?.op.opId ?? '' };
      let status: number;
      let body: unknown;
      try {
        const res = await this.post('/v1/sync/push', {
          clientId: this.options.clientId,
          deviceId: this.options.deviceId,
          ops: batch.ops.map((o) => o.op),
        });
        status = res.status;
        body = await res.json();
      } catch (error) {
        // No response: the op may or may not have been applied. Wait for the next server, resend.
        this.inFlight = null;
        batch.lostAttempts += 1;
        if (link.current === generation) {
          this.problem(`a push failed while the server was up: ${explain(error)}`);
          await new Promise((r) => setTimeout(r, 100));
        } else {
          await link.up(generation + 1);
        }
        continue;
      }
      const latency = Date.now() - sentAt;
      this.inFlight = null;
      if (status !== 200) {
        this.problem(`push answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
        if (status < 500) return; // the same request would be refused again
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.latencies.push(latency);
      this.acknowledge(batch, body as PushResponse);
      this.pending = null;
    }
  }

  /**
   * Resends every op ever sent, in pushes of up to `chunk`: each must come back `duplicate` with
   * its first outcome, and temp-id creates with their mapping again. Resolves how many did.
   */
  async resendEverything(chunk: number): Promise<number> {
    const ops = this.ledger.ops();
    let duplicates = 0;
    for (let i = 0; i < ops.length; i += chunk) {
      const part = ops.slice(i, i + chunk);
      const res = await this.post('/v1/sync/push', {
        clientId: this.options.clientId,
        deviceId: this.options.deviceId,
        ops: part.map((o) => o.op),
      });
      if (res.status !== 200) {
        this.problem(`the final resend was answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
        return duplicates;
      }
      const body = (await res.json()) as PushResponse;
      part.forEach((entry, j) => {
        const r = body.results[j];
        const first = entry.first;
        if (r?.status === 'duplicate') duplicates += 1;
        if (
          !r ||
          !first ||
          r.status !== 'duplicate' ||
          r.originalStatus !== first.status ||
          r.version !== first.version ||
          r.id !== first.id ||
          r.tempId !== first.tempId
        ) {
          this.problem(`resent ${entry.op.opId}: got ${JSON.stringify(r)}, first ${JSON.stringify(first)}`);
        }
      });
      this.checkMappings(part, body.idMappings);
    }
    this.duplicatesSeen += duplicates;
    return duplicates;
  }

  /** A GET with this device's token, parsed as JSON. */
  async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.options.link.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${this.options.token}` },
      signal: AbortSignal.timeout(pushTimeoutMs),
    });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  problem(message: string): void {
    if (this.problems.length < keptProblems) this.problems.push(`${this.name}: ${message.slice(0, 400)}`);
  }

  private post(path: string, body: unknown): Promise<Response> {
    return fetch(`${this.options.link.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(pushTimeoutMs),
    });
  }

  /**
   * A 200 for a batch. Sent once, every op must be `applied` at exactly the version the ledger
   * expects; after a lost response, the ops were either all applied by the lost push (all
   * `duplicate`) or none were (all `applied` now): a push commits whole or not at all.
   */
  private acknowledge(batch: Batch, body: PushResponse): void {
    const statuses = new Set(body.results.map((r) => r.status));
    if (body.results.length !== batch.ops.length) {
      this.problem(`${batch.ops.length} ops pushed, ${body.results.length} results`);
    }
    if (batch.lostAttempts === 0) {
      if (statuses.size !== 1 || !statuses.has('applied')) {
        this.problem(`a first delivery was answered ${[...statuses].join(', ')}`);
      }
    } else if (statuses.size === 1 && (statuses.has('applied') || statuses.has('duplicate'))) {
      batch.retryAnswer = statuses.has('duplicate') ? 'duplicate' : 'applied';
    } else {
      this.problem(`a retried push was answered ${[...statuses].join(', ')}: it was applied in part`);
    }
    batch.ops.forEach((entry, i) => {
      const r = body.results[i];
      if (!r) return;
      if (r.status === 'duplicate') this.duplicatesSeen += 1;
      const first: PushResult =
        r.status === 'duplicate' ? { ...withoutOriginalStatus(r), status: r.originalStatus ?? 'applied' } : r;
      this.checkResult(entry, first);
      entry.first ??= first;
    });
    this.checkMappings(batch.ops, body.idMappings);
  }

  private checkResult(entry: LedgerOp, r: PushResult): void {
    const { op, record } = entry;
    if (r.opId !== op.opId || r.status !== 'applied' || r.conflict !== undefined) {
      this.problem(`${op.opId} (${op.type} ${op.id}) was answered ${JSON.stringify(r)}`);
      return;
    }
    if (r.version !== entry.version) {
      this.problem(`${op.opId} (${op.type} ${op.id}) reported version ${r.version}, not ${entry.version}`);
    }
    if (isTempId(op.id) && r.tempId !== op.id) this.problem(`${op.opId}: tempId ${r.tempId}, sent ${op.id}`);
    if (record.realId === null) record.realId = r.id;
    else if (r.id !== record.realId) {
      this.problem(`${op.opId}: ${record.collection} ${record.localId} is ${r.id}, earlier ${record.realId}`);
    }
  }

  /** Every temp-id create in a push comes back with its mapping, fresh or repeated. */
  private checkMappings(ops: readonly LedgerOp[], mappings: readonly IdMapping[]): void {
    const byTempId = new Map(mappings.map((m) => [m.tempId, m]));
    for (const { op, record } of ops) {
      if (op.type !== 'create' || !isTempId(op.id)) continue;
      const m = byTempId.get(op.id);
      if (!m || m.id !== record.realId || m.collection !== op.collection) {
        this.problem(`${op.opId}: mapping for ${op.id} is ${JSON.stringify(m)}, expected ${record.realId}`);
      }
    }
  }
}

function withoutOriginalStatus(r: PushResult): PushResult {
  const { originalStatus: _original, ...rest } = r;
  return rest;
}

function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}
