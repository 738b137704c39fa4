// fast-check arbitraries for the fuzzer: odd values, mutations of a valid JSON body or of raw bytes
// (a file's chunk), odd query strings, path parameters and headers. Mutations are generated as data (which step, where) and
// applied to the route's valid example, so a counterexample reads as "this example, these steps".
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Text that has broken parsers, databases and id checks before. */
export const weirdStrings = [
  '',
  ' ',
  '..',
  '../../etc/passwd',
  '%',
  '%00',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e309',
  '9007199254740993',
  '-1',
  '0',
  '1.5',
  'null',
  'undefined',
  'true',
  "' OR '1'='1",
  '"; DROP TABLE records; --',
  '<script>alert(1)</script>',
  'temp_',
  'temp_1_a_patients',
  'temp_0_00_x',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ é',
  '\u202e\u200b',
  '\r\n',
  '{}',
  '[]',
  '0.0.AAAAAAAAAAAAAAAAAAAAAA',
  '99999999999999999999',
  '2026-13-45T99:99:99Z',
  '1970-01-01T00:00:00Z',
  'CLIENT_WINS',
  'merge',
];

const hugeString = fc
  .tuple(fc.constantFrom(1_000, 70_000, 300_000), fc.constantFrom('a', 'é', '\u0000', '🙂'))
  .map(([n, c]) => c.repeat(n));

export const oddString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...weirdStrings) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: hugeString },
);

export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1.5,
    -0,
    2 ** 31,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    1e300,
    -1e300,
    Number.MIN_VALUE,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** An object with an own key that names a prototype: what prototype-pollution payloads send. */
function withOwnKey(key: string, value: Json): { [key: string]: Json } {
  const obj: { [key: string]: Json } = {};
  Object.defineProperty(obj, key, { value, enumerable: true, configurable: true, writable: true });
  return obj;
}

const protoPayload = fc
  .constantFrom('__proto__', 'constructor', 'prototype')
  .map((key) =>
    withOwnKey(key, key === 'constructor' ? { prototype: { polluted: true } } : { polluted: true }),
  );

export const oddJson: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: oddString },
  { weight: 3, arbitrary: oddNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  // Made afresh each time: a constant object would be shared by every run that drew it.
  { weight: 1, arbitrary: fc.boolean().map((array): Json => (array ? [] : {})) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: protoPayload },
);

const mutationKinds = [
  'drop',
  'replace',
  'wrap-array',
  'wrap-object',
  'unwrap',
  'number-as-string',
  'string-as-number',
  'prototype-key',
  'oversize-array',
  'huge',
] as const;

export interface Mutation {
  kind: (typeof mutationKinds)[number];
  /** Which node of the value, counted in a depth-first walk (modulo the node count). */
  at: number;
  value: Json;
  count: number;
  key: string;
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom(...mutationKinds),
  at: fc.nat(),
  value: oddJson,
  count: fc.integer({ min: 2, max: 3000 }),
  key: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '', 'extra'),
});

type Path = Array<string | number>;

function nodes(value: Json, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => nodes(v, [...path, i], out));
  else if (value !== null && typeof value === 'object')
    for (const k of Object.keys(value)) nodes(value[k] as Json, [...path, k], out);
  return out;
}

function get(value: Json, path: Path): Json {
  let node: Json = value;
  for (const step of path) node = (node as Record<string | number, Json>)[step] as Json;
  return node;
}

/** Sets (or, with `undefined`, removes) the node at `path`; returns the new root. */
function set(root: Json, path: Path, next: Json | undefined): Json | undefined {
  if (path.length === 0) return next;
  const parent = get(root, path.slice(0, -1)) as Record<string | number, Json> | Json[];
  const last = path[path.length - 1] as string | number;
  if (Array.isArray(parent) && typeof last === 'number') {
    if (next === undefined) parent.splice(last, 1);
    else parent[last] = next;
  } else if (next === undefined) {
    delete (parent as Record<string, Json>)[last];
  } else {
    Object.defineProperty(parent, last, {
      value: next,
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return root;
}

/** Applies mutations to a deep copy of `value`; undefined when a step removed the whole body. */
export function mutate(value: Json, mutations: readonly Mutation[]): Json | undefined {
  let root: Json | undefined = structuredClone(value);
  for (const step of mutations) {
    if (root === undefined) return undefined;
    // The plan's own value is never put in the body: later steps change the body in place.
    const m = { ...step, value: structuredClone(step.value) };
    const all = nodes(root);
    const path = all[m.at % all.length] ?? [];
    const node = get(root, path);
    switch (m.kind) {
      case 'drop':
        root = set(root, path, undefined);
        break;
      case 'replace':
        root = set(root, path, m.value);
        break;
      case 'wrap-array':
        root = set(root, path, [node]);
        break;
      case 'wrap-object':
        root = set(root, path, { value: node });
        break;
      case 'unwrap':
        root = set(
          root,
          path,
          Array.isArray(node)
            ? (node[0] ?? null)
            : node !== null && typeof node === 'object'
              ? (Object.values(node)[0] ?? null)
              : node,
        );
        break;
      case 'number-as-string':
        root = set(root, path, typeof node === 'number' ? String(node) : JSON.stringify(node));
        break;
      case 'string-as-number':
        root = set(root, path, typeof node === 'string' && node.trim() !== '' ? Number(node) || -1 : m.count);
        break;
      case 'prototype-key':
        if (node !== null && typeof node === 'object' && !Array.isArray(node))
          set(root, [...path, m.key], m.value ?? { polluted: true });
        else root = set(root, path, withOwnKey(m.key, m.value));
        break;
      case 'oversize-array': {
        const item = Array.isArray(node) ? (node[0] ?? null) : node;
        // Past a few megabytes the test would only measure its own JSON.stringify.
        const count = Math.min(m.count, Math.floor(4_000_000 / (JSON.stringify(item)?.length ?? 1)));
        // Copies, not one shared object: a later step changing one must not change them all.
        root = set(
          root,
          path,
          Array.from({ length: Math.max(2, count) }, () => structuredClone(item)),
        );
        break;
      }
      case 'huge':
        root = set(root, path, 'x'.repeat(m.count * 100));
        break;
    }
  }
  return root;
}

/** Bodies that are not JSON, or only nearly. */
export const rawBodies = [
  '',
  '{',
  '{"a":',
  'NaN',
  '{"x": NaN}',
  '{"x": Infinity}',
  '[1,2,',
  '\uFEFF{}',
  'null',
  'true',
  '"text"',
  '{"__proto__": {"polluted": true}}',
  '{"constructor": {"prototype": {"polluted": true}}}',
  '{"a": 1, "a": 2}',
  '1e309',
  '{"ops": [{}]}',
  '{"operations": "all"}',
  'clientId=c&ops=1',
  '\u0000',
];

export type BodyPlan =
  | { kind: 'none' }
  | { kind: 'example' }
  | { kind: 'mutated'; mutations: Mutation[] }
  | { kind: 'json'; value: Json }
  | { kind: 'raw'; text: string }
  | { kind: 'truncated'; at: number };

export const bodyPlanArb: fc.Arbitrary<BodyPlan> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<BodyPlan>({ kind: 'none' }) },
  { weight: 2, arbitrary: fc.constant<BodyPlan>({ kind: 'example' }) },
  {
    weight: 8,
    arbitrary: fc
      .array(mutationArb, { minLength: 1, maxLength: 3 })
      .map((mutations): BodyPlan => ({ kind: 'mutated', mutations })),
  },
  { weight: 2, arbitrary: oddJson.map((value): BodyPlan => ({ kind: 'json', value })) },
  { weight: 1, arbitrary: fc.constantFrom(...rawBodies).map((text): BodyPlan => ({ kind: 'raw', text })) },
  { weight: 1, arbitrary: fc.nat().map((at): BodyPlan => ({ kind: 'truncated', at })) },
);

export function bodyText(example: unknown, plan: BodyPlan): string | undefined {
  const json = example === undefined ? undefined : JSON.stringify(example);
  switch (plan.kind) {
    case 'none':
      return undefined;
    case 'example':
      return json;
    case 'mutated': {
      const value = mutate((example ?? {}) as Json, plan.mutations);
      return value === undefined ? undefined : JSON.stringify(value);
    }
    case 'json':
      return JSON.stringify(plan.value);
    case 'raw':
      return plan.text;
    case 'truncated':
      return (json ?? '{}').slice(0, plan.at % Math.max(1, (json ?? '{}').length));
  }
}

export type QueryStep =
  | { kind: 'drop'; at: number }
  | { kind: 'odd'; at: number; value: string }
  | { kind: 'add'; key: string; value: string }
  | { kind: 'repeat'; at: number; value: string }
  | { kind: 'raw'; text: string };

const rawQueryTails = [
  '&',
  '&&&=&',
  '%',
  '%ZZ=1',
  'a=%E0%A4%A',
  '__proto__[polluted]=1',
  'constructor[prototype][polluted]=1',
  'a[b][c]=d',
  `${'x=1&'.repeat(500)}y=2`,
  'limit=1&limit=2',
  '=nothing',
  '%00=%00',
  `long=${'q'.repeat(9000)}`,
];

export const queryStepArb: fc.Arbitrary<QueryStep> = fc.oneof(
  fc.nat().map((at): QueryStep => ({ kind: 'drop', at })),
  fc.tuple(fc.nat(), oddString).map(([at, value]): QueryStep => ({ kind: 'odd', at, value })),
  fc
    .tuple(
      fc.constantFrom('__proto__', 'constructor', 'tenant', 'limit', 'cursor', 'deviceId', 'userId', ''),
      oddString,
    )
    .map(([key, value]): QueryStep => ({ kind: 'add', key, value })),
  fc.tuple(fc.nat(), oddString).map(([at, value]): QueryStep => ({ kind: 'repeat', at, value })),
  fc.constantFrom(...rawQueryTails).map((text): QueryStep => ({ kind: 'raw', text })),
);

/**
 * encodeURIComponent, except that text which is not well-formed UTF-16 (a lone surrogate) goes out as
 * the bytes such a surrogate would have in UTF-8 (ED A0 80): invalid UTF-8 a server must refuse cleanly.
 */
export function encodeOdd(text: string): string {
  const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
  return text
    .split(lone)
    .map((part) => encodeURIComponent(part))
    .join('%ED%A0%80');
}

/** The example's query with the steps applied, as the text after `?` (or ''). */
export function queryWith(example: Record<string, string> = {}, steps: readonly QueryStep[]): string {
  const entries: Array<[string, string]> = Object.entries(example);
  const raw: string[] = [];
  for (const step of steps) {
    const i = entries.length === 0 ? -1 : ('at' in step ? step.at : 0) % entries.length;
    const entry = i >= 0 ? entries[i] : undefined;
    if (step.kind === 'drop' && entry) entries.splice(i, 1);
    else if (step.kind === 'odd' && entry) entry[1] = step.value;
    else if (step.kind === 'add') entries.push([step.key, step.value]);
    else if (step.kind === 'repeat' && entry) entries.push([entry[0], step.value]);
    else if (step.kind === 'raw') raw.push(step.text);
  }
  const text = [...entries.map(([k, v]) => `${encodeOdd(k)}=${encodeOdd(v)}`), ...raw].join('&');
  return text === '' ? '' : `?${text}`;
}

/** A path parameter: the example's, an odd one encoded, or odd text put in the path as it is. */
export type ParamPlan =
  { kind: 'example' } | { kind: 'encoded'; value: string } | { kind: 'raw'; text: string };

export const paramPlanArb: fc.Arbitrary<ParamPlan> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<ParamPlan>({ kind: 'example' }) },
  { weight: 3, arbitrary: oddString.map((value): ParamPlan => ({ kind: 'encoded', value })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '..',
        '.',
        '%',
        '%2e%2e',
        '%2F',
        'a%2Fb',
        '%00',
        '%C0%AE',
        '%E0%A4%A',
        '',
        'x'.repeat(300),
        '~',
        '*',
        '%20',
        // Numbers a path may carry that are not plain decimal (a chunk's index), and ids just past
        // the 64 characters an id may have and just under the router's 200.
        '-1',
        '0x1',
        '1e309',
        '01',
        '+1',
        '1.0',
        '%201',
        '%EF%BC%91',
        '9'.repeat(25),
        'i'.repeat(65),
        'i'.repeat(199),
      )
      .map((text): ParamPlan => ({ kind: 'raw', text })),
  },
);

export type AuthPlan =
  | 'sender'
  | 'none'
  | 'empty-bearer'
  | 'lowercase-scheme'
  | 'basic'
  | 'duplicated'
  | 'comma-joined'
  | 'trailing-garbage'
  | 'other-tenant'
  | 'forged'
  | 'expired'
  | 'huge';

export const authPlanArb: fc.Arbitrary<AuthPlan> = fc.oneof(
  { weight: 17, arbitrary: fc.constant<AuthPlan>('sender') },
  {
    weight: 3,
    arbitrary: fc.constantFrom<AuthPlan>(
      'none',
      'empty-bearer',
      'lowercase-scheme',
      'basic',
      'duplicated',
      'comma-joined',
      'trailing-garbage',
      'other-tenant',
      'forged',
      'expired',
      'huge',
    ),
  },
);

export type EncodingPlan = 'none' | 'gzip' | 'gzip-lie' | 'deflate' | 'br' | 'gzip, gzip' | 'identity';

export interface HeaderPlan {
  auth: AuthPlan;
  contentType: string | null;
  encoding: EncodingPlan;
  acceptEncoding: string | null;
}

export const headerPlanArb: fc.Arbitrary<HeaderPlan> = fc.record({
  auth: authPlanArb,
  contentType: fc.oneof(
    { weight: 12, arbitrary: fc.constant('application/json') },
    {
      weight: 3,
      arbitrary: fc.constantFrom<string | null>(
        null,
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/json; charset=latin1',
        'text/plain',
        'text/plain; charset=utf-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/octet-stream',
        '',
        'application/json, text/plain',
      ),
    },
  ),
  encoding: fc.oneof(
    { weight: 12, arbitrary: fc.constant<EncodingPlan>('none') },
    {
      weight: 2,
      arbitrary: fc.constantFrom<EncodingPlan>('gzip', 'gzip-lie', 'deflate', 'br', 'gzip, gzip', 'identity'),
    },
  ),
  acceptEncoding: fc.constantFrom(null, null, 'gzip', 'br', 'deflate', '*', 'x;q=2'),
});

/** The body as sent under an encoding plan, and the content-encoding header that goes with it. */
export function encoded(
  body: string | Buffer | undefined,
  plan: EncodingPlan,
): { payload?: Buffer | string; header?: string } {
  if (body === undefined) return plan === 'none' ? {} : { header: plan === 'gzip-lie' ? 'gzip' : plan };
  switch (plan) {
    case 'none':
      return { payload: body };
    case 'gzip':
      return { payload: gzipSync(body), header: 'gzip' };
    case 'deflate':
      return { payload: deflateSync(body), header: 'deflate' };
    case 'gzip-lie':
      return { payload: body, header: 'gzip' };
    default:
      return { payload: body, header: plan };
  }
}

/** What becomes of a raw body's bytes: a chunk of a file, say. */
export type RawBytesPlan =
  | { kind: 'example' }
  | { kind: 'none' }
  | { kind: 'empty' }
  /** The last bytes cut off, or bytes added: a chunk of the wrong length. */
  | { kind: 'short'; by: number }
  | { kind: 'long'; by: number; fill: number }
  /** One bit flipped: a chunk damaged on the way. */
  | { kind: 'flip'; at: number; bit: number }
  /** One byte past the largest chunk the server takes (4 MiB). */
  | { kind: 'over-limit' }
  /** The text of the fuzzer's body plan (JSON, nearly JSON, odd values) instead of bytes. */
  | { kind: 'text' };

export interface RawPlan {
  bytes: RawBytesPlan;
  /**
   * The hash header computed for the bytes as sent, not the example's: the chunk then passes its
   * own check and meets the length, index, held-chunk and whole-file checks behind it.
   */
  rehash: boolean;
  /** The content type sent: the example's, or another (null: none). */
  contentType: { kind: 'example' } | { kind: 'odd'; value: string | null };
}

export const rawPlanArb: fc.Arbitrary<RawPlan> = fc.record({
  bytes: fc.oneof(
    { weight: 6, arbitrary: fc.constant<RawBytesPlan>({ kind: 'example' }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<RawBytesPlan>({ kind: 'none' }, { kind: 'empty' }, { kind: 'text' }),
    },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 1, max: 2048 }).map((by): RawBytesPlan => ({ kind: 'short', by })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(1, 2, 1023, 1024, 300_000), fc.nat({ max: 255 }))
        .map(([by, fill]): RawBytesPlan => ({ kind: 'long', by, fill })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.nat(), fc.nat({ max: 7 }))
        .map(([at, bit]): RawBytesPlan => ({ kind: 'flip', at, bit })),
    },
    { weight: 1, arbitrary: fc.constant<RawBytesPlan>({ kind: 'over-limit' }) },
  ),
  rehash: fc.boolean(),
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant({ kind: 'example' as const }) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom<string | null>(
          null,
          '',
          'application/json',
          'text/plain',
          'application/octet-stream; charset=binary',
          'APPLICATION/OCTET-STREAM',
          'application/octet-streams',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'image/jpeg',
          'application/octet-stream, text/plain',
        )
        .map((value) => ({ kind: 'odd' as const, value })),
    },
  ),
});

/** The largest chunk the server takes (core's maxFileChunkBytes). */
const maxChunkBytes = 4 * 1024 * 1024;

/** The bytes a raw plan sends in place of the example's; undefined for no body at all. */
export function rawBytes(
  example: Uint8Array,
  plan: RawBytesPlan,
  text: string | undefined,
): Buffer | undefined {
  const bytes = Buffer.from(example);
  switch (plan.kind) {
    case 'example':
      return bytes;
    case 'none':
      return undefined;
    case 'empty':
      return Buffer.alloc(0);
    case 'short':
      return bytes.subarray(0, Math.max(0, bytes.length - plan.by));
    case 'long':
      return Buffer.concat([bytes, Buffer.alloc(plan.by, plan.fill)]);
    case 'flip': {
      if (bytes.length === 0) return Buffer.from([1 << plan.bit]);
      const at = plan.at % bytes.length;
      bytes[at] = (bytes[at] ?? 0) ^ (1 << plan.bit);
      return bytes;
    }
    case 'over-limit':
      return Buffer.alloc(maxChunkBytes + 1, 7);
    case 'text':
      return text === undefined ? undefined : Buffer.from(text, 'utf8');
  }
}

/**
 * What becomes of a header the route reads besides authorization and content-type (a chunk's hash,
 * a byte range): kept, dropped, replaced by odd text or by a value that has a meaning close by,
 * upper-cased, or sent twice.
 */
export type HeaderStep =
  | { kind: 'example' }
  | { kind: 'drop' }
  | { kind: 'upper' }
  | { kind: 'twice' }
  | { kind: 'odd'; value: string };

/** Values near a SHA-256 in hex or a byte range. */
const nearHeaderValues = [
  '0'.repeat(64),
  'f'.repeat(65),
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  'bytes=0-',
  'bytes=-0',
  'bytes=5-2',
  'bytes=0-0,1-1',
  'bytes=99999999999999999999-',
  'bytes=0-99999999999999999999',
  'bytes=9007199254740993-',
  'bytes=1e309-',
  'bytes=--1',
  'bytes=-99999999999',
  'items=0-1',
  'bytes = 0-1',
];

/** Header values are latin-1 text without line breaks: odd text made into one, and not too long. */
function headerText(text: string): string {
  return text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?').slice(0, 9000);
}

export const headerStepArb: fc.Arbitrary<HeaderStep> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<HeaderStep>({ kind: 'example' }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<HeaderStep>({ kind: 'drop' }, { kind: 'upper' }, { kind: 'twice' }),
  },
  { weight: 2, arbitrary: oddString.map((value): HeaderStep => ({ kind: 'odd', value: headerText(value) })) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...nearHeaderValues).map((value): HeaderStep => ({ kind: 'odd', value })),
  },
);

/** The example's extra headers with one step each, in order; a header with no step is kept. */
export function headersWith(
  example: Record<string, string>,
  steps: readonly HeaderStep[],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  Object.entries(example).forEach(([name, value], i) => {
    const step = steps[i] ?? { kind: 'example' };
    if (step.kind === 'example') out[name] = value;
    else if (step.kind === 'upper') out[name] = value.toUpperCase();
    else if (step.kind === 'twice') out[name] = [value, value];
    else if (step.kind === 'odd') out[name] = step.value;
  });
  return out;
}
