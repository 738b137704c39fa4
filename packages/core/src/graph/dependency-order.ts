/**
 * The order a device pushes its outbox in. The server applies ops one by one, so a pet must reach
 * it after the user it belongs to (or the pet's ownerId would point at nothing) and a user's delete
 * after every op that still points at that user. Within those rules, higher-priority collections
 * (a prescription before a note) go first, and otherwise the order the user worked in.
 */
import type { Schema } from '../schema/define-schema';

/** Thrown when collections, or ops through their data, depend on each other in a loop. */
export class DependencyCycleError extends Error {
  override readonly name = 'DependencyCycleError';
  readonly code = 'DEPENDENCY_CYCLE';
  /**
   * The loop, first element repeated at the end; each element depends on the next (a references b).
   * Collection names for a schema cycle, `collection/id` for an op cycle.
   */
  readonly cycle: readonly string[];
  /** For an op cycle: the seqs of the ops in it, so a caller can hold them back. Empty otherwise. */
  readonly seqs: readonly number[];
  /**
   * For an op cycle: the seqs of the ops outside it that wait on it (a child of a record in the
   * loop, a later op of one). They cannot go before it either: sent alone, they reach the server
   * ahead of what they need and are refused for good.
   */
  readonly waiting: readonly number[];

  constructor(
    message: string,
    cycle: readonly string[],
    seqs: readonly number[] = [],
    waiting: readonly number[] = [],
  ) {
    super(message);
    this.cycle = cycle;
    this.seqs = seqs;
    this.waiting = waiting;
  }
}

/** What orderOps needs of an op; the client's outbox entries carry more and get them back as they came. */
export interface OrderableOp {
  readonly seq: number;
  readonly collection: string;
  readonly type: 'create' | 'update' | 'delete';
  readonly id: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/**
 * A binary min-heap of whole numbers. Kahn's algorithm picks the best ready node many times; a heap
 * makes each pick O(log n) where a scan would make the whole sort O(n^2). It holds each node's rank
 * rather than the node, so a comparison is one integer compare and no callback.
 */
class MinHeap {
  private readonly items: number[] = [];

  push(value: number): void {
    const items = this.items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as number;
      if (p <= value) break;
      items[i] = p;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && (items[right] as number) < (items[left] as number)) child = right;
      const c = items[child] as number;
      if (last <= c) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/**
 * A directed graph over nodes 0..n-1 in compressed (CSR) form: an edge u -> v means u comes first.
 * Flat arrays keep 100,000 ops and their edges cheap to build and walk.
 */
class Graph {
  private readonly from: number[] = [];
  private readonly to: number[] = [];

  constructor(readonly size: number) {}

  add(u: number, v: number): void {
    this.from.push(u);
    this.to.push(v);
  }

  /**
   * Kahn's algorithm, always taking the ready node first in `byRank` (every node once, best first):
   * among nodes free to go, the preferred one goes. Returns the nodes in order, or the ones left over
   * when some lie on (or behind) a cycle.
   */
  sort(byRank: readonly number[]): { order: number[]; stuck: number[] } {
    const n = this.size;
    const { start, targets } = this.adjacency(this.from, this.to);
    const indegree = new Int32Array(n);
    for (const v of this.to) indegree[v] = (indegree[v] as number) + 1;
    const rank = new Int32Array(n);
    byRank.forEach((v, r) => (rank[v] = r));
    const heap = new MinHeap();
    for (let v = 0; v < n; v++) if (indegree[v] === 0) heap.push(rank[v] as number);
    const order: number[] = [];
    for (let r = heap.pop(); r !== undefined; r = heap.pop()) {
      const u = byRank[r] as number;
      order.push(u);
      for (let e = start[u] as number, end = start[u + 1] as number; e < end; e++) {
        const v = targets[e] as number;
        const left = (indegree[v] as number) - 1;
        indegree[v] = left;
        if (left === 0) heap.push(rank[v] as number);
      }
    }
    const stuck: number[] = [];
    if (order.length < n) for (let v = 0; v < n; v++) if ((indegree[v] as number) > 0) stuck.push(v);
    return { order, stuck };
  }

  /**
   * A cycle among the stuck nodes, each node followed by one that must come before it. Every stuck
   * node still waits on a stuck predecessor, so walking predecessors from any of them must loop.
   */
  findCycle(stuck: readonly number[]): number[] {
    const isStuck = new Uint8Array(this.size);
    for (const v of stuck) isStuck[v] = 1;
    const { start, targets: preds } = this.adjacency(this.to, this.from);
    const seenAt = new Map<number, number>();
    const path: number[] = [];
    let v = stuck[0] as number;
    while (!seenAt.has(v)) {
      seenAt.set(v, path.length);
      path.push(v);
      let next: number | undefined;
      for (let e = start[v] as number, end = start[v + 1] as number; e < end; e++) {
        const p = preds[e] as number;
        if (isStuck[p]) {
          next = p;
          break;
        }
      }
      if (next === undefined) throw new Error('dependency graph: a stuck node has no stuck predecessor');
      v = next;
    }
    return path.slice(seenAt.get(v));
  }

  /** The nodes that come after `nodes` by some path, not counting `nodes` themselves. */
  after(nodes: readonly number[]): number[] {
    const { start, targets } = this.adjacency(this.from, this.to);
    const seen = new Uint8Array(this.size);
    for (const v of nodes) seen[v] = 1;
    const queue = [...nodes];
    const found: number[] = [];
    for (let k = 0; k < queue.length; k++) {
      const u = queue[k] as number;
      for (let e = start[u] as number, end = start[u + 1] as number; e < end; e++) {
        const v = targets[e] as number;
        if (seen[v]) continue;
        seen[v] = 1;
        found.push(v);
        queue.push(v);
      }
    }
    return found;
  }

  /** Each node's predecessors (the nodes with an edge into it), in the compressed form `sort` walks. */
  predecessors(): { start: Int32Array; targets: Int32Array } {
    return this.adjacency(this.to, this.from);
  }

  private adjacency(sources: readonly number[], sinks: readonly number[]) {
    const n = this.size;
    const start = new Int32Array(n + 1);
    for (const u of sources) start[u + 1] = (start[u + 1] as number) + 1;
    for (let i = 0; i < n; i++) start[i + 1] = (start[i + 1] as number) + (start[i] as number);
    const fill = start.slice(0, n);
    const targets = new Int32Array(sources.length);
    for (let e = 0; e < sources.length; e++) {
      const u = sources[e] as number;
      const slot = fill[u] as number;
      targets[slot] = sinks[e] as number;
      fill[u] = slot + 1;
    }
    return { start, targets };
  }
}

/** Rotates a cycle so it starts at its lowest-ranked element: the same loop always reads the same. */
function rotateToLowest(cycle: readonly number[], rank: (v: number) => number): number[] {
  let best = 0;
  for (let i = 1; i < cycle.length; i++) if (rank(cycle[i] as number) < rank(cycle[best] as number)) best = i;
  return [...cycle.slice(best), ...cycle.slice(0, best)];
}

/**
 * The collections in the order their records can be created: a referenced collection before the
 * ones that reference it, then by priority (lower first), then by name. A collection referencing
 * itself (a parent record of the same kind) is left to the op level, where records are ordered.
 */
export function collectionOrder(schema: Schema): string[] {
  const names = schema.collectionNames;
  const index = new Map(names.map((name, i) => [name, i]));
  const graph = new Graph(names.length);
  names.forEach((name, i) => {
    for (const target of Object.values(schema.collection(name)?.references ?? {})) {
      const t = index.get(target);
      if (t !== undefined && t !== i) graph.add(t, i);
    }
  });
  const priority = names.map((name) => schema.collection(name)?.priority ?? 0);
  const byRank = names
    .map((_, i) => i)
    .sort((a, b) => (priority[a] as number) - (priority[b] as number) || compareText(names[a], names[b]));
  const { order, stuck } = graph.sort(byRank);
  if (stuck.length > 0) {
    // Walking predecessors from a referencing collection visits what it references, so the
    // cycle already reads in reference direction: a -> b means a references b.
    const cycle = rotateToLowest(graph.findCycle(stuck), (v) => v).map((v) => names[v] as string);
    cycle.push(cycle[0] as string);
    throw new DependencyCycleError(
      `collections reference each other in a cycle: ${cycle.join(' -> ')}`,
      cycle,
    );
  }
  return order.map((v) => names[v] as string);
}

interface CollectionRules {
  /** Field -> the collection its value points at. */
  readonly references: readonly (readonly [string, string])[];
  readonly priority: number;
}

/** A record the ops touch, with the ops on it in seq order. */
interface RecordOps {
  readonly ops: number[];
  /** The last create in seq order: one edge from it covers every create, the rest chain before it. */
  lastCreate: number;
  /** The first delete in seq order: one edge into it covers every delete, the rest chain after it. */
  firstDelete: number;
}

/**
 * Records by collection, then id. Two levels rather than one joined key: ids are strings the ops
 * already hold (their hashes cached), where a joined key would be a new string per lookup.
 */
class RecordIndex {
  private readonly byCollection = new Map<string, Map<string, RecordOps>>();

  get(collection: string, id: string): RecordOps | undefined {
    return this.byCollection.get(collection)?.get(id);
  }

  getOrAdd(collection: string, id: string): RecordOps {
    let ids = this.byCollection.get(collection);
    if (!ids) {
      ids = new Map();
      this.byCollection.set(collection, ids);
    }
    let record = ids.get(id);
    if (!record) {
      record = { ops: [], lastCreate: -1, firstDelete: -1 };
      ids.set(id, record);
    }
    return record;
  }

  *records(): IterableIterator<RecordOps> {
    for (const ids of this.byCollection.values()) yield* ids.values();
  }
}

/** The dependency graph over a list of ops: node i is ops[i]; an edge u -> v means u goes first. */
interface OpGraph {
  readonly graph: Graph;
  readonly seqs: Float64Array;
  readonly priority: Float64Array;
  /** The record each op touches, with every op on it. */
  readonly recordOf: readonly RecordOps[];
  readonly bySeq: (a: number, b: number) => number;
}

/**
 * The graph of orderOps's three rules (below), built once for ordering a push and for choosing
 * what must go with some ops when only those are sent (withPrerequisites).
 */
function opGraph(ops: readonly OrderableOp[], schema: Schema): OpGraph {
  const n = ops.length;
  const seqs = new Float64Array(n);
  const priority = new Float64Array(n);
  const records = new RecordIndex();
  const recordOf: RecordOps[] = [];
  // Looked up once per collection, not once per op.
  const collections = new Map<string, CollectionRules>();
  const rulesOf = (name: string): CollectionRules => {
    let rules = collections.get(name);
    if (!rules) {
      const def = schema.collection(name);
      // Unknown collections rank after every known priority, so they come last, in seq order.
      rules = def
        ? { references: Object.entries(def.references), priority: def.priority }
        : { references: [], priority: Infinity };
      collections.set(name, rules);
    }
    return rules;
  };
  for (let i = 0; i < n; i++) {
    const op = ops[i] as OrderableOp;
    seqs[i] = op.seq;
    priority[i] = rulesOf(op.collection).priority;
    const record = records.getOrAdd(op.collection, op.id);
    record.ops.push(i);
    recordOf.push(record);
  }

  const graph = new Graph(n);
  const bySeq = (a: number, b: number) => (seqs[a] as number) - (seqs[b] as number) || a - b;
  for (const record of records.records()) {
    const list = record.ops;
    sortIfNeeded(list, bySeq);
    for (let k = 0; k < list.length; k++) {
      const i = list[k] as number;
      if (k > 0) graph.add(list[k - 1] as number, i);
      const type = (ops[i] as OrderableOp).type;
      if (type === 'create') record.lastCreate = i;
      else if (type === 'delete' && record.firstDelete < 0) record.firstDelete = i;
    }
  }

  for (let i = 0; i < n; i++) {
    const op = ops[i] as OrderableOp;
    if (op.data === undefined) continue;
    for (const [field, target] of rulesOf(op.collection).references) {
      const value = op.data[field];
      if (typeof value !== 'string') continue;
      const parent = records.get(target, value);
      if (!parent || parent === recordOf[i]) continue;
      if (parent.lastCreate >= 0) graph.add(parent.lastCreate, i);
      if (parent.firstDelete >= 0) graph.add(i, parent.firstDelete);
    }
  }
  return { graph, seqs, priority, recordOf, bySeq };
}

/**
 * The ops in an order the server can apply them in, by Kahn's algorithm over three rules:
 * 1. ops on the same record keep their seq order;
 * 2. an op whose data references record R (a field listed in the collection's `references`)
 *    comes after every create of R in the list;
 * 3. a delete of R comes after every op whose data references R (children go before the parent's
 *    delete).
 * Rules 2 and 3 link different records; a record's own ops follow rule 1 alone, so a record that
 * names itself (a root folder as its own parent) needs no special case. Among ready ops the lower
 * collection priority goes first, then the lower seq. Ops on collections the schema does not know
 * keep their seq order and come last. Throws DependencyCycleError when the data makes ops wait on
 * each other in a loop, naming the ops in it and those that wait on it.
 */
export function orderOps<T extends OrderableOp>(ops: readonly T[], schema: Schema): T[] {
  const { graph, seqs, priority, bySeq } = opGraph(ops, schema);
  const { order, stuck } = graph.sort(rankByPriorityThenSeq(priority, bySeq));
  if (stuck.length > 0) {
    const cycle = graph.findCycle(stuck);
    throw opCycleError(ops, cycle, graph.after(cycle), seqs);
  }
  return order.map((i) => ops[i] as T);
}

/**
 * The ops that must go when only the `chosen` ones are to be sent (a sync of named collections),
 * in the order given: every op of each record a chosen op touches, and, down the chain, every op
 * of each record orderOps's rules put before them:
 * - a record they name whose create is still in the list (rule 2): sent later, its create would
 *   come after a change naming it, and the server refuses a reference to a record it lacks;
 * - a record in the list naming one whose delete goes now (rule 3): sent after that delete, it
 *   would name a deleted record, refused the same way.
 * A record goes whole, so none of its changes is left behind a later one. A loop in the data
 * needs no check here: orderOps meets it when the ops chosen are ordered.
 */
export function withPrerequisites<T extends OrderableOp>(
  ops: readonly T[],
  schema: Schema,
  chosen: (op: T) => boolean,
): T[] {
  const { graph, recordOf } = opGraph(ops, schema);
  const { start, targets } = graph.predecessors();
  const taken = new Uint8Array(ops.length);
  const queue: number[] = [];
  const take = (record: RecordOps) => {
    for (const i of record.ops) {
      if (taken[i]) continue;
      taken[i] = 1;
      queue.push(i);
    }
  };
  ops.forEach((op, i) => {
    if (chosen(op)) take(recordOf[i] as RecordOps);
  });
  for (let k = 0; k < queue.length; k++) {
    const u = queue[k] as number;
    for (let e = start[u] as number, end = start[u + 1] as number; e < end; e++) {
      const p = targets[e] as number;
      if (!taken[p]) take(recordOf[p] as RecordOps);
    }
  }
  return ops.filter((_, i) => taken[i] === 1);
}

/**
 * Every op, lower priority first, then lower seq. Bucketing by priority (a schema has a handful) keeps
 * this linear for an outbox already in seq order, where one sort by both keys would not be.
 */
function rankByPriorityThenSeq(priority: Float64Array, bySeq: (a: number, b: number) => number): number[] {
  const buckets = new Map<number, number[]>();
  for (let i = 0; i < priority.length; i++) {
    const p = priority[i] as number;
    let bucket = buckets.get(p);
    if (!bucket) {
      bucket = [];
      buckets.set(p, bucket);
    }
    bucket.push(i);
  }
  const byRank: number[] = [];
  for (const p of [...buckets.keys()].sort((a, b) => a - b)) {
    const bucket = buckets.get(p) as number[];
    sortIfNeeded(bucket, bySeq);
    for (const i of bucket) byRank.push(i);
  }
  return byRank;
}

/** Sorts in place unless already sorted: the usual outbox is, and the check is one linear pass. */
function sortIfNeeded(list: number[], compare: (a: number, b: number) => number): void {
  for (let k = 1; k < list.length; k++) {
    if (compare(list[k - 1] as number, list[k] as number) > 0) {
      list.sort(compare);
      return;
    }
  }
}

const compareText = (a: string | undefined, b: string | undefined) =>
  (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0;

function opCycleError(
  ops: readonly OrderableOp[],
  found: readonly number[],
  after: readonly number[],
  seqs: Float64Array,
) {
  // Each op in `found` waits on the next one; start at the lowest seq so the message is stable.
  const cycle = rotateToLowest(found, (i) => seqs[i] as number);
  const label = (i: number) => `${(ops[i] as OrderableOp).collection}/${(ops[i] as OrderableOp).id}`;
  // Two ops of one record in a row (a delete waiting on its own record's create) read as one step.
  const names: string[] = [];
  for (const i of cycle) if (names[names.length - 1] !== label(i)) names.push(label(i));
  if (names.length > 1 && names[names.length - 1] === names[0]) names.pop();
  names.push(names[0] as string);
  return new DependencyCycleError(
    `ops depend on each other in a cycle: ${names.join(' -> ')}`,
    names,
    cycle.map((i) => seqs[i] as number),
    after.map((i) => seqs[i] as number).sort((a, b) => a - b),
  );
}
