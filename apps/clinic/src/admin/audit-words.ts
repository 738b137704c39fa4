// The audit log's events in words, as the Audit log page shows them and its CSV file writes them
// (decision 0035): who did what to which kind of record and what came of it, never what a record says.
import type { AuditLogEvent } from '@outpost/core';

/** What each collection is called on screen. */
export const kinds: Readonly<Record<string, string>> = {
  patients: 'patient',
  encounters: 'visit',
  clinicalNotes: 'clinical note',
  intakeForms: 'intake form',
  prescriptions: 'prescription',
};
export const kindOf = (collection: string | null) =>
  collection === null
    ? 'record'
    : Object.hasOwn(kinds, collection)
      ? (kinds[collection] ?? collection)
      : collection;

/** Why the server refused a change, by its code, in a clinician's words. */
function refusalWords(code: string, collection: string | null): string {
  switch (code) {
    case 'IMMUTABLE':
      return collection === 'clinicalNotes' ? 'signed note' : `signed ${kindOf(collection)}`;
    case 'LOCKED':
      return `locked ${kindOf(collection)}`;
    case 'FORBIDDEN':
      return 'not allowed for this role';
    case 'VALIDATION_FAILED':
      return 'not valid';
    case 'NOT_FOUND':
      return 'the record does not exist';
    case 'UNKNOWN_COLLECTION':
      return 'unknown kind of record';
    case 'UNRESOLVED_REFERENCE':
      return 'it names a record that does not exist';
    case 'DEPENDENCY_FAILED':
      return 'a change it depended on was refused';
    default:
      return code;
  }
}

const strategyWords: Readonly<Record<string, string>> = {
  'client-wins': 'my change wins',
  'server-wins': 'the server’s version wins',
  'last-write-wins': 'the later change wins',
  merge: 'merge',
  manual: 'a person decides',
};

const conflictOutcomeWords: Readonly<Record<string, string>> = {
  'server-won': 'kept the server’s version',
  'client-won': 'applied the device’s change',
  merged: 'merged both',
  open: 'reopened',
  rejected: 'refused',
};

const sessionRefusals: Readonly<Record<string, string>> = {
  expired: 'expired',
  revoked: 'signed out',
  reused: 'used twice, session ended',
  'user-unknown': 'the person was removed',
  'user-disabled': 'the person was disabled',
  unknown: 'unknown session',
  malformed: 'unknown session',
};

const requestRefusals: Readonly<Record<string, string>> = {
  'missing-token': 'not signed in',
  'invalid-token': 'not a valid sign-in',
  'expired-token': 'sign-in expired',
  'ended-session': 'signed out on every device',
  'signed-out': 'session signed out',
  forbidden: 'not allowed',
  'password-change-due': 'own password not chosen yet',
  'not-found': 'not found',
};

const fileOutcomes: Readonly<Record<string, string>> = {
  complete: 'File received',
  'checksum-mismatch': 'File refused: damaged on the way',
};
const fileDeletions: Readonly<Record<string, string>> = {
  abandoned: 'Unfinished file deleted',
  deleted: 'File deleted',
  'orphan-deleted': 'File of a record never saved deleted',
  purged: 'File removed with its deleted record',
};

/** A clinic's setting changed, by the setting (the event's recordId) and what it was set to. */
const settingChanges: Readonly<Record<string, string>> = {
  'alert-thresholds:custom': 'Alert thresholds changed',
  'alert-thresholds:defaults': 'Alert thresholds back to the defaults',
  'screen-lock:custom': 'Screen lock changed',
  'screen-lock:never': 'Screen lock turned off: tablets never lock',
  'screen-lock:defaults': 'Screen lock back to the default',
};

/** A device named, renamed or its name removed (decision 0056); the name itself is not in the trail. */
const deviceNamings: Readonly<Record<string, string>> = {
  named: 'Device named',
  renamed: 'Device renamed',
  unnamed: 'Device’s name removed',
};

const deviceUses: Readonly<Record<string, string>> = {
  'out-of-use': 'Device taken out of use',
  'in-use': 'Device in use again',
};

/** What a change of a person did (decision 0044), by the outcome's parts: `roles,password`. */
const personChanges: Readonly<Record<string, string>> = {
  roles: 'role changed',
  password: 'new password set',
  disabled: 'disabled',
  enabled: 'enabled',
};

/** A person added or changed by an administrator: "Person changed: role changed, new password set". */
function personChangeWords(e: AuditLogEvent): string {
  if (e.action === 'user-created') return 'Person added';
  const parts = e.outcome.split(',').map((part) => personChanges[part] ?? part);
  return `Person changed: ${parts.join(', ')}`;
}

/** What happened, in words: "Signed in", "Sign-in refused: wrong password", "Change refused: signed note". */
export function eventWords(e: AuditLogEvent): string {
  const [status = '', detail = ''] = e.outcome.split(':');
  switch (e.action) {
    case 'login':
      return 'Signed in';
    case 'login-failed':
      return e.outcome === 'wrong-password'
        ? 'Sign-in refused: wrong password'
        : e.outcome === 'disabled'
          ? 'Sign-in refused: the person is disabled'
          : `Sign-in refused: ${e.outcome}`;
    case 'refresh':
      return e.outcome === 'repeated' ? 'Session renewed (answer sent again)' : 'Session renewed';
    case 'refresh-failed':
      return `Session renewal refused: ${sessionRefusals[e.outcome] ?? e.outcome}`;
    case 'logout':
      return 'Signed out';
    case 'sessions-ended':
      return e.recordId === e.userId
        ? `Signed out on every device (${status.replace(' ended', '')} sessions)`
        : `Ended every session of another person, on every device (${status.replace(' ended', '')})`;
    case 'push-op':
      if (status === 'applied') {
        if (detail === 'merged') return 'Change applied, merged with another';
        if (detail === 'client-won') return 'Change applied over another (override)';
        return 'Change applied';
      }
      if (status === 'conflict') {
        if (detail === 'open') return 'Change waiting for review: conflict';
        if (detail === 'server-won') return 'Change not applied: the server’s version won';
        return 'Change in conflict';
      }
      if (status === 'rejected') return `Change refused: ${refusalWords(detail, e.collection)}`;
      return `Change ${e.outcome}`;
    case 'override-ignored':
      return `Override not allowed: asked “${strategyWords[e.outcome] ?? e.outcome}”, settled by the usual rule`;
    case 'resolve':
      return `Conflict settled: ${conflictOutcomeWords[e.outcome] ?? e.outcome}`;
    case 'undo':
      return 'Conflict resolution undone';
    case 'refused':
      return `Request refused: ${requestRefusals[e.outcome] ?? e.outcome}`;
    case 'file-upload':
      return fileOutcomes[e.outcome] ?? `File upload: ${e.outcome}`;
    case 'file-delete':
      return fileDeletions[e.outcome] ?? `File deleted: ${e.outcome}`;
    case 'user-created':
    case 'user-changed':
      return personChangeWords(e);
    case 'password-changed':
      return 'Changed their own password';
    case 'password-change-failed':
      return 'Password change refused: wrong current password';
    case 'device-named':
      return deviceNamings[e.outcome] ?? `Device named: ${e.outcome}`;
    case 'device-use':
      return deviceUses[e.outcome] ?? `Device use: ${e.outcome}`;
    case 'setting-changed':
      return settingChanges[`${e.recordId ?? ''}:${e.outcome}`] ?? `Setting ${e.recordId ?? ''} changed`;
    default:
      return `${e.action}: ${e.outcome}`;
  }
}

/** What the event was about: "New visit", "Edit of patient", a route refused. */
export function subjectWords(e: AuditLogEvent): string {
  if (e.route !== null) return e.route;
  // A person of the clinic: their email while the clinic holds them, else their id.
  if (e.action === 'user-created' || e.action === 'user-changed')
    return `Person ${e.recordEmail ?? e.recordId ?? ''}`;
  if (e.action === 'device-named' || e.action === 'device-use') return 'Device';
  if (e.collection === null) return '';
  const kind = kindOf(e.collection);
  if (e.action !== 'push-op') return kind.charAt(0).toUpperCase() + kind.slice(1);
  if (e.opType === 'create') return `New ${kind}`;
  if (e.opType === 'delete') return `Deletion of ${kind}`;
  return `Edit of ${kind}`;
}

/** Who: their email, else their user id; "the server" for what nobody did (a file purged with its record). */
export function personWords(e: AuditLogEvent): string {
  return e.email ?? e.userId ?? 'the server';
}
