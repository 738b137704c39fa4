import type { LocalConflict } from '@outpost/client';
import type { ConflictOutcome, ResolutionStrategy } from '@outpost/core';

const outcomeLabels: Readonly<Record<ConflictOutcome, string>> = {
  open: 'open',
  'server-won': 'server version kept',
  'client-won': 'local version kept',
  merged: 'merged',
  rejected: 'rejected',
};

/** What became of a conflict, in words. */
export function outcomeLabel(outcome: ConflictOutcome): string {
  return outcomeLabels[outcome];
}

const strategyLabels: Readonly<Record<ResolutionStrategy, string>> = {
  'client-wins': 'Keep local',
  'server-wins': 'Use server',
  'last-write-wins': 'Keep the latest change',
  merge: 'Merge',
};

export function strategyLabel(strategy: ResolutionStrategy): string {
  return strategyLabels[strategy];
}

/** A name a person recognises the record by: its `name` or `title` when it has one, else its id. */
export function recordLabel(conflict: LocalConflict): string {
  for (const data of [conflict.summary.client?.data, conflict.summary.server?.data]) {
    for (const field of ['name', 'title']) {
      const value = data?.[field];
      if (typeof value === 'string' && value.trim() !== '') return value;
    }
  }
  return conflict.recordId;
}

/** A time stamp in the reader's locale; the text itself when it is not a date. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Whose the "local" side of a conflict is, in words: a table's column and a sentence's subject. */
export interface LocalSide {
  column: string;
  version: string;
}

/** The local side when it is this device's own. */
export const thisDeviceSide: LocalSide = { column: 'Local (this device)', version: "This device's version" };

/**
 * Whose the "local" side of a conflict is: this device's, or (for a conflict an administrator
 * fetched from the server's archive) the device that sent the change, as `name` calls it (the
 * nearest DeviceNamingProvider's naming).
 */
export function localSide(
  device: string | undefined,
  thisDeviceId: string,
  name: (deviceId: string) => string,
): LocalSide {
  if (device === undefined || device === thisDeviceId) return thisDeviceSide;
  return { column: `Local (${name(device)})`, version: `The version from ${name(device)}` };
}

/**
 * What kind of conflict it is, in words: the protocol's kinds (`version`, `delete-update`, ...) name
 * how the server found it, not what happened.
 */
export function kindLabel(conflict: Pick<LocalConflict, 'summary' | 'opType'>): string {
  switch (conflict.summary.kind) {
    case 'version':
    case 'timestamp':
    case 'hash':
      return 'Edited locally and on the server';
    case 'delete-update':
      return conflict.opType === 'delete'
        ? 'Deleted locally, edited on the server'
        : 'Edited locally, deleted on the server';
    case 'immutable':
      return 'Edit of a record that may no longer change';
    case 'locked':
      return 'Edit of a locked record';
  }
}

/**
 * A field's key in words ("dateOfBirth": "date of birth", "blood_pressure": "blood pressure"):
 * schemas carry no labels of their own. A word in capitals keeps them ("patientID": "patient ID").
 */
export function fieldLabel(key: string): string {
  return key
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .trim()
    .split(/\s+/)
    .map((word) => (/[A-Z]/.test(word) && word === word.toUpperCase() ? word : word.toLowerCase()))
    .join(' ');
}

/** Words as a sentence lists them: "a", "a and b", "a, b and c". */
export function listInWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}
