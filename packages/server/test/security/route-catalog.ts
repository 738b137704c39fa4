// Every route the server serves, with what the fuzzer starts from (valid requests a real client
// sends) and what the security matrix expects of each kind of caller. fuzz.test.ts and
// security-matrix.test.ts both fail when the running server serves a route this file does not name.
import { sha256Header } from '@outpost/core';
import { chunkCount, chunkOf, sha256Hex } from './world';
import type { World, WorldFile } from './world';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** A body that is not JSON: bytes under their own content type. */
export interface RawBody {
  bytes: Uint8Array;
  contentType: string;
  /** The header that carries the bytes' SHA-256 in lowercase hex, computed from them when sent. */
  sha256Header?: string;
}

/**
 * A request before it is sent: path parameters, query, a JSON body or a raw one (`raw` wins), and
 * headers the route reads besides authorization and content-type (a byte range, say).
 */
export interface Sendable {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  raw?: RawBody;
  headers?: Record<string, string>;
}

/** The headers a request carries for its raw body: its content type and, if asked for, its hash. */
export function rawHeaders(raw: RawBody, bytes: Uint8Array = raw.bytes): Record<string, string> {
  return {
    'content-type': raw.contentType,
    ...(raw.sha256Header !== undefined ? { [raw.sha256Header]: sha256Hex(bytes) } : {}),
  };
}

/** Who sends a route's valid requests in the fuzzer. */
export type Sender = 'nurse' | 'admin' | 'vetAdmin' | 'nobody';

/**
 * What a caller that may not do something gets, per route:
 * - forbidden: 403 FORBIDDEN;
 * - hidden: 404 NOT_FOUND, byte for byte the answer for an id that never existed;
 * - op-forbidden: the request is answered (200) and the operation inside it is refused with
 *   FORBIDDEN, as PROTOCOL.md says an op's own refusal comes back (and it is journaled in `ops`);
 * - own-only: answered 2xx, with only what is the caller's own (nothing of what the markers name).
 */
export type Expectation = 'forbidden' | 'hidden' | 'op-forbidden' | 'own-only';

export interface MatrixCase {
  /** The route's request, naming `target` where it names a stored thing. */
  request(world: World, target: string, nonce: string): Sendable;
  /** The stored thing of clinic-a the request names; absent when it names none. */
  target?: (world: World) => string;
  /**
   * Fields of a JSON answer that differ between two requests by construction (a creation time),
   * blanked before the answers for clinic-a's target and for an id that never existed are compared.
   */
  varies?: string[];
  /**
   * clinic-b's administrator: never clinic-a's data, nor a sign of whether clinic-a's target exists.
   * `forbidden` only for a route that names no target, so a 403 tells nothing of clinic-a.
   */
  otherTenant: Exclude<Expectation, 'op-forbidden'>;
  /**
   * A clinic-a caller without the permission: `clinician` (no resolve, not an administrator, raised
   * none of the nurse's conflicts nor queued her items) or `visitor` (a role the schema grants nothing).
   */
  lacking: {
    caller: 'clinician' | 'visitor';
    permission: string;
    expect: Expectation;
    /**
     * What the caller gets for an id that never existed, when not `expect`: for a route that learns
     * which permission it needs only from the thing the id names, and refuses with 403 what exists.
     * Files do not (a file in a collection the caller has no right on is `hidden`, 404, as one that
     * never was); a device's name does: an id nobody syncs on is a new tablet, which anyone may
     * name, while one only colleagues sync on is theirs (device ids are no secret within a clinic).
     */
    unknown?: Expectation;
  };
}

export interface RouteCase {
  method: Method;
  url: string;
  /** Why the route needs no token; absent on every other route. */
  publicBecause?: string;
  fuzz: { as: Sender; examples(world: World, n: number): Sendable[] };
  matrix?: MatrixCase;
}

/** Routes a served app may have that the sync server itself never registers. */
export const notServedBySyncServer = {
  'GET /*':
    'the clinic app (serveStaticApp): added by the start command only, never by createSyncServer; public',
  'HEAD /*': 'the HEAD twin of the clinic app route above',
} as const;

const today = () => new Date().toISOString();

const patientOp = (target: string, nonce: string) => ({
  opId: `matrix-${nonce}`,
  collection: 'patients',
  type: 'update',
  id: target,
  baseVersion: 1,
  data: { village: 'Taken' },
});

const seedOperation = (target: string, nonce: string) => ({
  id: `matrix-${nonce}`,
  operation: 'update',
  entityType: 'patients',
  entityId: target,
  data: { village: 'Taken' },
  version: 1,
  timestamp: Date.now(),
});

/** A chunk of a file as a device sends it: the bytes, and their hash in x-outpost-sha256. */
const chunkRequest = (file: WorldFile, index: number, id: string = file.id): Sendable => ({
  params: { id, index: String(index) },
  raw: { bytes: chunkOf(file, index), contentType: 'application/octet-stream', sha256Header },
});

/** The SHA-256 of no bytes: what an empty file declares. */
const emptySha256 = sha256Hex(new Uint8Array());

/** Empty files the fuzzer declares and reads back, so odd names it declared reach the download. */
const fuzzEmptyFile = (n: number) => `fuzz-empty-${n % 16}`;

export const routeCatalog: RouteCase[] = [
  {
    method: 'GET',
    url: '/v1/health',
    publicBecause: 'load balancers and devices probe it before anyone signs in; it names no data',
    fuzz: { as: 'nobody', examples: () => [{}] },
  },
  {
    method: 'POST',
    url: '/v1/auth/login',
    publicBecause: 'it is where a token comes from; wrong credentials are 401 and audited as login-failed',
    fuzz: {
      as: 'nobody',
      examples: () => [
        { body: { email: 'nurse@clinic-a.test', password: 'correct horse battery staple' } },
        { body: { email: 'admin@clinic-a.test', password: 'wrong' } },
      ],
    },
  },
  {
    method: 'POST',
    url: '/v1/auth/refresh',
    publicBecause:
      'a device whose access token expired offline gets the next one here, with its refresh token; refused tokens are 401 and audited as refresh-failed',
    fuzz: {
      as: 'nobody',
      // Tokens no login made (of the form one has, and not): 401 and nothing stored.
      examples: (_w, n) => [
        { body: { refreshToken: `fuzz${String(n).padStart(39, '0')}`, deviceId: 'fuzz-tablet' } },
        { body: { refreshToken: 'not-a-refresh-token' } },
      ],
    },
  },
  {
    method: 'POST',
    url: '/v1/auth/logout',
    publicBecause:
      'the refresh token is the session being ended; any token is answered 204, so it tells nothing of which exist',
    fuzz: {
      as: 'nobody',
      examples: (_w, n) => [
        { body: { refreshToken: `fuzz${String(n).padStart(39, '0')}`, deviceId: 'fuzz-tablet' } },
      ],
    },
  },
  {
    method: 'POST',
    url: '/v1/auth/end-sessions',
    fuzz: { as: 'admin', examples: (w) => [{ body: { userId: w.locumId } }] },
    matrix: {
      request: (_w, target) => ({ body: { userId: target } }),
      target: (w) => w.locumId,
      // Another clinic's administrator: no such user, as for one who never existed.
      otherTenant: 'hidden',
      lacking: {
        caller: 'clinician',
        permission: "an administrator role, to end another person's sessions",
        expect: 'forbidden',
      },
    },
  },
  {
    method: 'POST',
    url: '/v1/auth/password',
    fuzz: {
      as: 'nurse',
      // A current password that is not hers: a change that succeeded would end the sessions of the
      // nurse whose token the rest of the run uses. password-change.test.ts changes one for good.
      examples: (_w, n) => [
        { body: { currentPassword: 'not the nurse password', newPassword: `a new password ${n}` } },
        {
          body: {
            currentPassword: 'still not hers',
            newPassword: 'x'.repeat(12),
            deviceId: 'fuzz-tablet',
          },
        },
      ],
    },
    matrix: {
      request: () => ({
        body: { currentPassword: 'nobody has this one', newPassword: 'a long new password' },
      }),
      // The token's own account and nothing else: another clinic's administrator, signed in
      // through an identity provider here, has no password this server keeps.
      otherTenant: 'forbidden',
      lacking: {
        caller: 'visitor',
        permission: 'an account whose password this server keeps',
        expect: 'forbidden',
      },
    },
  },
  {
    method: 'POST',
    url: '/v1/sync/push',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => [
        {
          body: {
            clientId: 'fuzz-client',
            deviceId: 'fuzz-tablet',
            ops: [
              {
                opId: `fuzz-${n}-1`,
                collection: 'patients',
                type: 'create',
                id: `fuzz${n}`,
                data: { name: 'Fuzz', allergies: ['dust'], dateOfBirth: '2001-02-03', sex: 'female' },
                hlc: `${String(Date.now()).padStart(15, '0')}:0000:fuzz`,
              },
              {
                opId: `fuzz-${n}-2`,
                collection: 'patients',
                type: 'update',
                id: w.patientId,
                baseVersion: 2,
                data: { phone: '555-0100' },
              },
              {
                opId: `fuzz-${n}-3`,
                collection: 'encounters',
                type: 'create',
                id: `enc${n}`,
                data: { patientId: w.patientId, vitals: { pulse: 70, bp: '120/80' } },
              },
              {
                opId: `fuzz-${n}-4`,
                collection: 'encounters',
                type: 'delete',
                id: `enc${n}`,
                baseVersion: 1,
              },
            ],
          },
        },
      ],
    },
    matrix: {
      request: (_w, target, nonce) => ({
        body: { clientId: 'matrix', deviceId: 'matrix-tablet', ops: [patientOp(target, nonce)] },
      }),
      target: (w) => w.patientId,
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'update on patients', expect: 'op-forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/sync/pull',
    fuzz: {
      as: 'nurse',
      examples: (w): Sendable[] => [
        {
          query: {
            cursor: w.cursor,
            limit: '50',
            collections: 'patients,encounters',
            deviceId: 'fuzz-tablet',
          },
        },
        { query: {} },
      ],
    },
    matrix: {
      request: () => ({ query: { collections: 'patients' } }),
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'read on patients', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    // The fuzzer's and the matrix's servers end each stream right after `ready` (live.maxStreamMs
    // 0), so an answer through inject ends.
    url: '/v1/sync/events',
    fuzz: { as: 'nurse', examples: () => [{ query: {} }] },
    matrix: {
      request: () => ({ query: {} }),
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'read on any collection', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/schema',
    fuzz: { as: 'nurse', examples: () => [{}, { query: { unexpected: 'x' } }] },
    matrix: {
      request: () => ({}),
      otherTenant: 'own-only',
      // Every signed-in user may read their tenant's schema: it names no record.
      lacking: {
        caller: 'visitor',
        permission: "none: the answer names no record, and only the caller's own permissions",
        expect: 'own-only',
      },
    },
  },
  {
    method: 'GET',
    url: '/v1/sync/status',
    fuzz: { as: 'nurse', examples: () => [{ query: { deviceId: 'tablet-1' } }] },
    matrix: {
      request: () => ({ query: { deviceId: 'tablet-1' } }),
      otherTenant: 'own-only',
      // Every signed-in user may see their own queue health: the only thing there to lack is data.
      lacking: {
        caller: 'visitor',
        permission: 'none: the caller sees only their own ops',
        expect: 'own-only',
      },
    },
  },
  {
    method: 'GET',
    url: '/v1/sync/stats',
    fuzz: { as: 'admin', examples: (w) => [{ query: { userId: w.nurseId, deviceId: 'tablet-1' } }] },
    matrix: {
      request: () => ({ query: {} }),
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/sync/stats/devices',
    fuzz: { as: 'admin', examples: () => [{ query: {} }] },
    matrix: {
      request: () => ({}),
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/admin/backups',
    fuzz: { as: 'admin', examples: () => [{}] },
    matrix: {
      request: () => ({}),
      // The server's own backups, the same for every clinic's administrators: nothing of clinic-a's.
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/admin/alert-thresholds',
    fuzz: { as: 'admin', examples: () => [{}] },
    matrix: {
      request: () => ({}),
      // Another clinic's administrator reads its own thresholds, never clinic-a's.
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'PUT',
    url: '/v1/admin/alert-thresholds',
    fuzz: {
      as: 'admin',
      examples: () => [
        {
          body: {
            thresholds: {
              silentWarningAfterMs: 86_400_000,
              silentCriticalAfterMs: 172_800_000,
              failureRateAbove: 0.05,
              openConflictsAtLeast: 2,
              slowMedianAboveMs: 43_200_000,
            },
          },
        },
        { body: { thresholds: null } },
      ],
    },
    matrix: {
      request: () => ({
        body: {
          thresholds: {
            silentWarningAfterMs: 3_600_000,
            silentCriticalAfterMs: 7_200_000,
            failureRateAbove: 0,
            openConflictsAtLeast: 1,
            slowMedianAboveMs: 3_600_000,
          },
        },
      }),
      // Another clinic's administrator sets its own thresholds: clinic-a's stay as they were.
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/auth/records-key',
    fuzz: { as: 'nurse', examples: () => [{}, { query: { unexpected: 'x' } }] },
    // The route names nothing but the caller, whose own key it answers (records-key.test.ts). The
    // matrix's other callers are tokens of people the server keeps no account for, as the clinic's
    // identity provider signs in: no key is theirs here, 404.
    matrix: {
      request: () => ({}),
      otherTenant: 'hidden',
      lacking: { caller: 'visitor', permission: 'an account on this server', expect: 'hidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/clinic-settings',
    fuzz: { as: 'nurse', examples: () => [{}, { query: { unexpected: 'x' } }] },
    matrix: {
      request: () => ({}),
      // Another clinic's caller reads its own settings, never clinic-a's.
      otherTenant: 'own-only',
      // Every signed-in person of the clinic: each tablet must apply the screen lock.
      lacking: {
        caller: 'visitor',
        permission: 'none: the settings every device of the clinic applies, no record',
        expect: 'own-only',
      },
    },
  },
  {
    method: 'PUT',
    url: '/v1/admin/screen-lock',
    fuzz: {
      as: 'admin',
      examples: () => [
        { body: { screenLock: { afterMinutes: 2 } } },
        { body: { screenLock: { afterMinutes: null } } },
        { body: { screenLock: null } },
      ],
    },
    matrix: {
      request: () => ({ body: { screenLock: { afterMinutes: 1 } } }),
      // Another clinic's administrator sets its own screen lock: clinic-a's stays as it was.
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/device-names',
    fuzz: {
      as: 'nurse',
      examples: (world): Sendable[] => [
        {},
        { query: { deviceId: world.nurseDeviceId } },
        { query: { unexpected: 'x' } },
      ],
    },
    matrix: {
      request: () => ({}),
      // Another clinic's caller reads its own devices' names, never clinic-a's.
      otherTenant: 'own-only',
      // Anyone signed in reads the names of the devices they synced on: none, for the visitor.
      lacking: {
        caller: 'visitor',
        permission: 'an administrator role, for devices the caller never synced on',
        expect: 'own-only',
      },
    },
  },
  {
    method: 'PUT',
    url: '/v1/device-names',
    fuzz: {
      as: 'nurse',
      examples: (world, n) => [
        { body: { deviceId: world.nurseDeviceId, name: `Ward tablet ${n}` } },
        { body: { deviceId: world.nurseDeviceId, name: null } },
      ],
    },
    matrix: {
      request: (_world, target, nonce) => ({ body: { deviceId: target, name: `Tablet n${nonce}` } }),
      target: (world) => world.nurseDeviceId,
      // Another clinic's administrator: clinic-a's device is no device of theirs, as an id never seen.
      otherTenant: 'hidden',
      // A clinician names a device she syncs on, or a new one: not the nurse's, which the locum
      // never synced on. An id nobody syncs on is a new tablet's, hers to name (200).
      lacking: {
        unknown: 'own-only',
        caller: 'clinician',
        permission: 'having synced on the device, or an administrator role',
        expect: 'forbidden',
      },
    },
  },
  {
    method: 'PUT',
    url: '/v1/device-use',
    fuzz: {
      as: 'admin',
      examples: (world) => [
        { body: { deviceId: world.nurseDeviceId, inUse: false } },
        { body: { deviceId: world.nurseDeviceId, inUse: true } },
      ],
    },
    matrix: {
      request: (_world, target) => ({ body: { deviceId: target, inUse: false } }),
      target: (world) => world.nurseDeviceId,
      // Another clinic's administrator: clinic-a's device is no device of theirs, as an id never seen.
      otherTenant: 'hidden',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/admin/users',
    fuzz: { as: 'admin', examples: () => [{}] },
    matrix: {
      request: () => ({}),
      // Another clinic's administrator lists its own people, never clinic-a's.
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'POST',
    url: '/v1/admin/users',
    fuzz: {
      as: 'admin',
      examples: (_w, n) => [
        {
          body: {
            email: `fuzz-${n}@clinic-a.test`,
            password: 'a long fuzzed password',
            roles: ['clinician'],
          },
        },
        {
          body: {
            email: `Fuzz.Admin-${n}@Clinic-A.test `,
            password: 'x'.repeat(12),
            roles: ['admin', 'clinician'],
          },
        },
      ],
    },
    matrix: {
      request: (_w, _target, nonce) => ({
        body: {
          email: `matrix-${nonce}@clinic.test`,
          password: 'a long matrix password',
          roles: ['clinician'],
        },
      }),
      // Another clinic's administrator adds a person to its own clinic: clinic-a's people stay as they were.
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'PATCH',
    url: '/v1/admin/users/:id',
    fuzz: {
      as: 'admin',
      // The locum, never the nurse or the administrator whose tokens the rest of the run uses.
      examples: (w) => [
        { params: { id: w.locumId }, body: { roles: ['clinician'] } },
        { params: { id: w.locumId }, body: { disabled: false } },
        { params: { id: w.locumId }, body: { password: 'a long new password', disabled: true } },
      ],
    },
    matrix: {
      request: (_w, target) => ({ params: { id: target }, body: { disabled: true } }),
      target: (w) => w.locumId,
      // Another clinic's administrator: no such person, as for one who never existed.
      otherTenant: 'hidden',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/audit',
    fuzz: {
      as: 'admin',
      examples: (w): Sendable[] => [
        {
          query: {
            userId: w.nurseId,
            deviceId: 'tablet-1',
            action: 'push-op,login,override-ignored',
            collection: 'patients',
            recordId: w.patientId,
            from: '2020-01-01T00:00:00Z',
            to: '2999-01-01T00:00:00.000+02:00',
            limit: '10',
          },
        },
        { query: { email: 'nurse@clinic-a.test', limit: '2' } },
        // A patient's history with their visits and notes.
        { query: { collection: 'patients', recordId: w.patientId, related: 'true', limit: '5' } },
        { query: {} },
      ],
    },
    matrix: {
      // The device clinic-a's ops came from: another clinic's trail never shows them. (Its trail
      // unfiltered holds what its own probes sent, clinic-a's ids among them: its own doing.)
      request: () => ({ query: { deviceId: 'tablet-1' } }),
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/records/:collection/:id',
    fuzz: {
      as: 'nurse',
      examples: (w) => [
        { params: { collection: 'patients', id: w.patientId } },
        { params: { collection: 'encounters', id: w.encounterId } },
      ],
    },
    matrix: {
      request: (_w, target) => ({ params: { collection: 'patients', id: target } }),
      target: (w) => w.patientId,
      otherTenant: 'hidden',
      lacking: { caller: 'visitor', permission: 'read on patients', expect: 'forbidden' },
    },
  },
  {
    method: 'PUT',
    url: '/v1/files/:id',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => [
        // A new file on the patient; the nurse's file in progress declared again, as a device
        // resuming does; an empty file, complete at once; the largest file a clinic may send.
        {
          params: { id: `fuzz-file-${n}` },
          body: {
            ...w.file.declaration,
            name: 'fuzz.pdf',
            sha256: sha256Hex(Buffer.from(`fuzz ${n}`)),
            deviceId: 'fuzz-tablet',
          },
        },
        { params: { id: w.partialFile.id }, body: w.partialFile.declaration },
        {
          params: { id: fuzzEmptyFile(n) },
          body: {
            collection: 'encounters',
            recordId: w.encounterId,
            name: `empty ${n}.txt`,
            contentType: 'text/plain',
            size: 0,
            sha256: emptySha256,
            chunkSize: 1024,
          },
        },
        {
          params: { id: `fuzz-large-${n}` },
          body: {
            ...w.file.declaration,
            size: 100 * 1024 * 1024,
            sha256: sha256Hex(Buffer.from(`large ${n}`)),
            chunkSize: 4 * 1024 * 1024,
          },
        },
      ],
    },
    matrix: {
      // Another clinic's device declaring, word for word, clinic-a's file in progress under its
      // id: it makes its own file there, exactly as under an id that never existed, and clinic-a's
      // stays as it was (the matrix checks clinic-a's stored data for every other-clinic request).
      request: (w, target) => ({ params: { id: target }, body: w.partialFile.declaration }),
      target: (w) => w.partialFile.id,
      varies: ['createdAt'],
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'create or update on encounters', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/files',
    fuzz: {
      as: 'nurse',
      examples: (w) => [
        { query: { collection: 'patients', recordId: w.patientId } },
        { query: { collection: 'encounters', recordId: w.partialFile.declaration.recordId } },
        // Where the fuzzer's empty files go.
        { query: { collection: 'encounters', recordId: w.encounterId } },
      ],
    },
    matrix: {
      // The files of clinic-a's patient: another clinic lists its own record of that id, which has none.
      request: (_w, target) => ({ query: { collection: 'patients', recordId: target } }),
      target: (w) => w.patientId,
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'read on patients', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/files/:id',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => [
        { params: { id: w.file.id } },
        { params: { id: w.partialFile.id } },
        { params: { id: fuzzEmptyFile(n) } },
      ],
    },
    matrix: {
      request: (_w, target) => ({ params: { id: target } }),
      target: (w) => w.file.id,
      otherTenant: 'hidden',
      // A role with no right on the file's collection may not learn that the file exists.
      lacking: { caller: 'visitor', permission: 'read on patients', expect: 'hidden' },
    },
  },
  {
    method: 'PUT',
    url: '/v1/files/:id/chunks/:index',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => {
        const last = w.lastChunkFiles[n % w.lastChunkFiles.length];
        // A chunk the file in progress may still be missing, one the complete file holds, and
        // the last of a file missing only that one.
        return [
          chunkRequest(w.partialFile, n % chunkCount(w.partialFile)),
          chunkRequest(w.file, n % chunkCount(w.file)),
          ...(last ? [chunkRequest(last, 1)] : []),
        ];
      },
    },
    matrix: {
      // The chunk's very bytes and hash, aimed at clinic-a's complete file.
      request: (w, target) => chunkRequest(w.file, 0, target),
      target: (w) => w.file.id,
      otherTenant: 'hidden',
      lacking: { caller: 'visitor', permission: 'create or update on patients', expect: 'hidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/files/:id/content',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => [
        { params: { id: w.file.id } },
        { params: { id: w.file.id }, headers: { range: 'bytes=1000-2100' } },
        { params: { id: w.file.id }, headers: { range: 'bytes=-10' } },
        { params: { id: w.file.id }, headers: { range: `bytes=${n % 3000}-` } },
        { params: { id: w.partialFile.id } },
        { params: { id: fuzzEmptyFile(n) } },
      ],
    },
    matrix: {
      request: (_w, target) => ({ params: { id: target }, headers: { range: 'bytes=0-99' } }),
      target: (w) => w.file.id,
      otherTenant: 'hidden',
      lacking: { caller: 'visitor', permission: 'read on patients', expect: 'hidden' },
    },
  },
  {
    method: 'DELETE',
    url: '/v1/files/:id',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => {
        // Files the fuzzer's own requests made or completed, so the routes before this one had
        // them: an empty file (complete: the nurse may delete on encounters), a file a fuzzed
        // chunk may have completed, and a large one it declared; each gone after its first delete.
        const last = w.lastChunkFiles[n % w.lastChunkFiles.length];
        return [
          { params: { id: fuzzEmptyFile(n) } },
          { params: { id: fuzzEmptyFile(n) }, query: { deviceId: 'fuzz-tablet' } },
          ...(last ? [{ params: { id: last.id } }] : []),
          { params: { id: `fuzz-large-${n}` } },
        ];
      },
    },
    matrix: {
      request: (_w, target) => ({ params: { id: target } }),
      target: (w) => w.file.id,
      otherTenant: 'hidden',
      lacking: { caller: 'visitor', permission: 'delete on patients', expect: 'hidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/conflicts',
    fuzz: {
      as: 'admin',
      examples: (w) => [
        {
          query: {
            status: 'open',
            collection: 'patients',
            kind: 'version',
            recordId: w.patientId,
            limit: '10',
            cursor: w.conflictIds[0] ?? '',
          },
        },
      ],
    },
    matrix: {
      request: (_w, target) => ({ query: { recordId: target } }),
      target: (w) => w.patientId,
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'resolve on patients', expect: 'own-only' },
    },
  },
  {
    method: 'GET',
    url: '/v1/conflicts/:id',
    fuzz: { as: 'admin', examples: (w) => w.conflictIds.map((id) => ({ params: { id } })) },
    matrix: {
      request: (_w, target) => ({ params: { id: target } }),
      target: (w) => w.conflictIds[0] ?? '',
      otherTenant: 'hidden',
      lacking: { caller: 'clinician', permission: 'resolve on patients', expect: 'hidden' },
    },
  },
  {
    method: 'POST',
    url: '/v1/conflicts/:id/resolve',
    fuzz: {
      as: 'admin',
      examples: (w) =>
        w.conflictIds.flatMap((id) => [
          { params: { id }, body: { strategy: 'merge', mergedData: { village: 'Merged', phone: null } } },
          { params: { id }, body: { strategy: 'server-wins' } },
        ]),
    },
    matrix: {
      request: (_w, target) => ({ params: { id: target }, body: { strategy: 'client-wins' } }),
      target: (w) => w.conflictIds[0] ?? '',
      otherTenant: 'hidden',
      lacking: { caller: 'clinician', permission: 'resolve on patients', expect: 'hidden' },
    },
  },
  {
    method: 'POST',
    url: '/v1/conflicts/:id/undo',
    fuzz: { as: 'admin', examples: (w) => w.conflictIds.map((id) => ({ params: { id } })) },
    matrix: {
      request: (_w, target) => ({ params: { id: target } }),
      target: (w) => w.conflictIds[0] ?? '',
      otherTenant: 'hidden',
      lacking: { caller: 'clinician', permission: 'resolve on patients', expect: 'hidden' },
    },
  },
  {
    method: 'GET',
    url: '/v1/rejections',
    fuzz: {
      as: 'admin',
      examples: (w) => [
        {
          query: {
            collection: 'encounters',
            recordId: w.rejectedEncounterId,
            opId: 'fuzz-op',
            deviceId: 'tablet-1',
            limit: '10',
            cursor: w.rejectionId,
          },
        },
      ],
    },
    matrix: {
      request: (_w, target) => ({ query: { recordId: target } }),
      target: (w) => w.rejectedEncounterId,
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'resolve on encounters', expect: 'own-only' },
    },
  },
  {
    method: 'GET',
    url: '/v1/rejections/:id',
    fuzz: { as: 'admin', examples: (w) => [{ params: { id: w.rejectionId } }] },
    matrix: {
      request: (_w, target) => ({ params: { id: target } }),
      target: (w) => w.rejectionId,
      otherTenant: 'hidden',
      lacking: { caller: 'clinician', permission: 'resolve on encounters', expect: 'hidden' },
    },
  },
  {
    method: 'POST',
    url: '/v1/conflicts/bulk-resolve',
    fuzz: {
      as: 'admin',
      examples: (w) => [
        {
          body: {
            strategy: 'last-write-wins',
            collection: 'patients',
            kind: 'version',
            ids: w.conflictIds,
            limit: 2,
          },
        },
      ],
    },
    matrix: {
      request: (_w, target) => ({ body: { strategy: 'client-wins', ids: [target] } }),
      target: (w) => w.conflictIds[0] ?? '',
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'resolve on any collection', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/watermelon/sync/pull',
    fuzz: {
      as: 'nurse',
      examples: (): Sendable[] => [
        {
          query: {
            last_pulled_at: '1',
            schema_version: '1',
            migration: JSON.stringify({
              from: 1,
              tables: ['patients'],
              columns: [{ table: 'encounters', columns: ['notes'] }],
            }),
          },
        },
        { query: { last_pulled_at: 'null' } },
      ],
    },
    matrix: {
      request: () => ({ query: { last_pulled_at: 'null' } }),
      otherTenant: 'own-only',
      // WatermelonDB pulls every table the role reads; a role that reads none gets an empty change set.
      lacking: { caller: 'visitor', permission: 'read on any collection', expect: 'own-only' },
    },
  },
  {
    method: 'POST',
    url: '/watermelon/sync/push',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => [
        {
          query: { last_pulled_at: String(w.lastPulledAt) },
          body: {
            patients: {
              created: [
                {
                  id: `wm${n}`,
                  name: 'Watermelon',
                  allergies: '["pollen"]',
                  _status: 'created',
                  _changed: '',
                },
              ],
              updated: [{ id: w.patientId, phone: '555-0199', updated_at: Date.now() }],
              deleted: [],
            },
          },
        },
      ],
    },
    matrix: {
      // A deletion: another clinic's device naming clinic-a's id finds nothing of its own to delete,
      // exactly as for an id that never existed, and writes nothing. The first timestamp any clinic
      // answers: one above the caller's clinic's last position is refused before anything (410).
      request: (_w, target) => ({
        query: { last_pulled_at: '1' },
        body: { patients: { created: [], updated: [], deleted: [target] } },
      }),
      target: (w) => w.patientId,
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'delete on patients', expect: 'forbidden' },
    },
  },
  {
    method: 'POST',
    url: '/api/sync/push',
    fuzz: {
      as: 'vetAdmin',
      examples: (w, n) => [
        {
          body: {
            operations: [
              {
                id: `op${n}`,
                operation: 'create',
                entityType: 'pets',
                tempId: `temp_pet_f${n}`,
                data: { name: 'Fuzzy', species: 'cat', ownerId: w.vetOwnerId },
                timestamp: Date.now(),
                userId: 'user_123',
                practiceId: 1,
              },
              {
                operation: 'update',
                entityType: 'pets',
                entityId: w.vetPetId,
                data: { name: 'Rex II' },
                version: 1,
                timestamp: Date.now(),
              },
            ],
          },
        },
      ],
    },
    matrix: {
      request: (_w, target, nonce) => ({ body: { operations: [seedOperation(target, nonce)] } }),
      target: (w) => w.patientId,
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'update on patients', expect: 'op-forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/api/sync/pull',
    fuzz: {
      as: 'vetAdmin',
      examples: () => [
        { query: { lastSyncTimestamp: '0', practiceId: '1', entityTypes: 'pets,users', limit: '10' } },
      ],
    },
    matrix: {
      request: () => ({ query: { entityTypes: 'patients' } }),
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'read on patients', expect: 'forbidden' },
    },
  },
  {
    method: 'POST',
    url: '/api/sync/upload',
    fuzz: {
      as: 'vetAdmin',
      examples: (w, n) => [
        {
          body: {
            operations: [
              {
                operation: 'create',
                entityType: 'appointment',
                tempId: `temp_appt_${n}`,
                data: { title: 'Check-up', date: '2026-01-02T10:00:00.000Z', petId: w.vetPetId },
                timestamp: Date.now(),
              },
              { operation: 'delete', entityType: 'pets', entityId: `temp_pet_f${n}`, timestamp: Date.now() },
            ],
          },
        },
      ],
    },
    matrix: {
      request: (_w, target, nonce) => ({ body: { operations: [seedOperation(target, nonce)] } }),
      target: (w) => w.patientId,
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'update on patients', expect: 'op-forbidden' },
    },
  },
  {
    method: 'POST',
    url: '/api/sync/download',
    fuzz: {
      as: 'vetAdmin',
      examples: () => [{ body: { lastSync: 0, entityTypes: ['pets', 'users'], limit: 10 } }, { body: {} }],
    },
    matrix: {
      request: () => ({ body: { entityTypes: ['patients'] } }),
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'read on patients', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/api/sync/conflicts',
    fuzz: { as: 'admin', examples: () => [{ query: { status: 'all', entityType: 'patient', limit: '5' } }] },
    matrix: {
      request: () => ({ query: { status: 'all' } }),
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'resolve on patients', expect: 'own-only' },
    },
  },
  {
    method: 'POST',
    url: '/api/sync/resolve-conflict',
    fuzz: {
      as: 'admin',
      examples: (w) =>
        w.conflictIds.flatMap((conflictId) => [
          { body: { conflictId, resolution: { type: 'merge', mergedData: { village: 'Agreed' } } } },
          { body: { conflictId, resolution: 'last-write-wins' } },
        ]),
    },
    matrix: {
      request: (_w, target) => ({ body: { conflictId: target, resolution: 'client-wins' } }),
      target: (w) => w.conflictIds[0] ?? '',
      otherTenant: 'hidden',
      lacking: { caller: 'clinician', permission: 'resolve on patients', expect: 'hidden' },
    },
  },
  {
    method: 'POST',
    url: '/api/v1/sync/queue',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => [
        {
          body: {
            id: `q${n}`,
            userId: w.nurseId,
            deviceId: 'fuzz-tablet',
            operation: 'UPDATE',
            resourceType: 'patient',
            resourceId: w.patientId,
            data: { phone: '555-0142' },
            createdAtClient: today(),
            version: 2,
          },
        },
        {
          body: {
            deviceId: 'fuzz-tablet',
            operation: 'CREATE',
            resourceType: 'encounter',
            data: { patientId: w.patientId, diagnosis: 'Cold' },
            createdAtClient: today(),
          },
        },
      ],
    },
    matrix: {
      request: (_w, _target, nonce) => ({
        body: {
          id: `matrix-${nonce}`,
          deviceId: 'matrix-tablet',
          operation: 'CREATE',
          resourceType: 'patient',
          data: { name: 'Queued' },
          createdAtClient: today(),
        },
      }),
      otherTenant: 'own-only',
      lacking: { caller: 'visitor', permission: 'create on patients', expect: 'forbidden' },
    },
  },
  {
    method: 'GET',
    url: '/api/v1/sync/pending',
    fuzz: { as: 'nurse', examples: (w) => [{ query: { deviceId: 'tablet-9', userId: w.nurseId } }] },
    matrix: {
      request: () => ({ query: {} }),
      otherTenant: 'own-only',
      lacking: {
        caller: 'clinician',
        permission: 'none: the caller sees only their own items',
        expect: 'own-only',
      },
    },
  },
  {
    method: 'POST',
    url: '/api/v1/sync/process/:id',
    fuzz: {
      as: 'nurse',
      examples: (w, n) => [
        { params: { id: w.pendingItemId } },
        { params: { id: w.queueItemId } },
        { params: { id: `q${n}` } },
      ],
    },
    matrix: {
      request: (_w, target) => ({ params: { id: target } }),
      target: (w) => w.pendingItemId,
      otherTenant: 'hidden',
      lacking: { caller: 'clinician', permission: 'being the user who queued the item', expect: 'hidden' },
    },
  },
  {
    method: 'PATCH',
    url: '/api/v1/sync/resolve/:id',
    fuzz: {
      as: 'nurse',
      examples: (w) => [
        { params: { id: w.queueItemId }, query: { resolution: 'MANUAL' } },
        { params: { id: w.queueItemId }, query: { resolution: 'SERVER_WINS' } },
      ],
    },
    matrix: {
      request: (_w, target) => ({ params: { id: target }, query: { resolution: 'CLIENT_WINS' } }),
      target: (w) => w.queueItemId,
      otherTenant: 'hidden',
      lacking: {
        caller: 'clinician',
        permission: 'resolve on patients, or owning the item',
        expect: 'hidden',
      },
    },
  },
  {
    method: 'POST',
    url: '/api/v1/sync/retry',
    fuzz: { as: 'nurse', examples: (w) => [{ query: { deviceId: 'fuzz-tablet', userId: w.nurseId } }, {}] },
    matrix: {
      request: () => ({}),
      otherTenant: 'own-only',
      lacking: {
        caller: 'clinician',
        permission: 'none: the caller retries only their own items',
        expect: 'own-only',
      },
    },
  },
  {
    method: 'GET',
    url: '/api/v1/sync/stats',
    fuzz: { as: 'admin', examples: (w) => [{ query: { userId: w.nurseId, deviceId: 'tablet-9' } }] },
    matrix: {
      request: () => ({}),
      otherTenant: 'own-only',
      lacking: { caller: 'clinician', permission: 'an administrator role', expect: 'forbidden' },
    },
  },
];

/** The catalog entry a served route is covered by: GET's entry covers its HEAD twin. */
export function caseFor(method: string, url: string): RouteCase | undefined {
  const wanted = method === 'HEAD' ? 'GET' : method;
  return routeCatalog.find((c) => c.method === wanted && c.url === url);
}

/** A route pattern with its parameters filled in, each encoded unless `raw`. */
export function pathOf(url: string, params: Record<string, string> = {}, raw = false): string {
  return url.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name] ?? '';
    return raw ? value : encodeURIComponent(value);
  });
}

export function queryText(query: Record<string, string> = {}): string {
  const text = new URLSearchParams(query).toString();
  return text === '' ? '' : `?${text}`;
}
