import { useId, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import type { LocalConflict } from '@outpost/client';
import { stableStringify } from '@outpost/core';
import type { RecordData } from '@outpost/core';
import { useSyncClient } from '../sync-client-context';
import { fieldLabel, localSide, thisDeviceSide } from './conflict-labels';
import type { LocalSide } from './conflict-labels';
import { useConflictVersions } from './conflict-versions';
import { useDeviceNaming } from './device-naming';
import { formatValue } from './format-value';
import { diffRecords, isPlainObject, mergeChoices } from './record-diff';
import type { FieldChoices, FieldDiff, Side } from './record-diff';
import { RecordPreview } from './record-preview';
import { cell, statusBadge, statusColours, table, visuallyHidden } from './styles';

/** Called with a field and the version chosen for it. */
type FieldSelect<S extends Side> = (field: string, source: S) => void;

/**
 * Per-field choices. Only with `current` is the record's value now a choice ("Keep current"), so
 * `onFieldSelect` is told `'current'` only then: without it, a callback typed for `'local' |
 * 'server'` alone (seed 003's) fits.
 */
type ChoiceProps = {
  /**
   * Per disputed field, the version chosen for a merge; a field not named keeps the local value.
   * Not given, the viewer keeps the choices itself, as they are made.
   */
  choices?: FieldChoices;
} & (
  | {
      /** Given: every disputed field gets a "Keep local" / "Use server" choice and the merge is previewed. */
      onFieldSelect?: FieldSelect<'local' | 'server'>;
      current?: never;
      editedSince?: never;
    }
  | {
      /** Given: every disputed field gets a choice ("Keep current" too) and the merge is previewed. */
      onFieldSelect?: FieldSelect<Side>;
      /**
       * The record as it stands now, when it changed after the conflict (null: deleted since).
       * Given, it is shown beside the two versions, and every field whose value now differs from
       * this device's gets a "Keep current" choice as well.
       */
      current: RecordData | null;
      /**
       * With `current`: the fields the server named as edited after the conflict. A resolution may
       * not overwrite them (the server refuses it), so each offers only "Keep current".
       */
      editedSince?: readonly string[];
    }
);

/**
 * A conflict from the device's conflict store, or the two versions themselves (seed 003's props:
 * `localData`, `serverData` and `entityType`, the collection they belong to).
 */
export type ConflictDiffViewerProps = ChoiceProps &
  (
    | { conflict: LocalConflict; localData?: never; serverData?: never; entityType?: never }
    | {
        conflict?: never;
        /** The record as this device has it; null when deleted here. */
        localData: RecordData | null;
        /** The record as the server has it; null when deleted there. */
        serverData: RecordData | null;
        /** The collection the record belongs to ("patients"), named in the table's caption. */
        entityType: string;
        /**
         * The device the local version came from, when not this one (an administrator settling a
         * conflict a tablet raised): the table then names it instead of "this device".
         */
        raisedOn?: string;
      }
  );

/**
 * This device's version of a record beside the server's, field by field: each field marked added,
 * removed, changed or same (in words and in colour), objects opened and closed field by field,
 * and with `onFieldSelect`, a choice per disputed field and a preview of the merged record.
 */
export function ConflictDiffViewer(props: ConflictDiffViewerProps) {
  const choiceProps = {
    choices: props.choices,
    // Sound: 'current' is offered only with `current`, the one case whose callback takes it.
    onFieldSelect: props.onFieldSelect as FieldSelect<Side> | undefined,
    current: props.current,
    editedSince: props.editedSince,
  };
  if (props.conflict !== undefined) return <StoredConflictDiff conflict={props.conflict} {...choiceProps} />;
  return (
    <VersionsFromProps
      local={props.localData}
      server={props.serverData}
      entityType={props.entityType}
      raisedOn={props.raisedOn}
      {...choiceProps}
    />
  );
}

/**
 * The versions given as props. Seed 003 renders the viewer with no client, so only a version
 * another device raised asks for this device's id.
 */
function VersionsFromProps({
  raisedOn,
  ...rest
}: Omit<VersionsDiffProps, 'side'> & { raisedOn: string | undefined }) {
  if (raisedOn === undefined) return <VersionsDiff side={thisDeviceSide} {...rest} />;
  return <VersionsRaisedOn raisedOn={raisedOn} {...rest} />;
}

function VersionsRaisedOn({ raisedOn, ...rest }: Omit<VersionsDiffProps, 'side'> & { raisedOn: string }) {
  return <VersionsDiff side={localSide(raisedOn, useSyncClient().deviceId, useDeviceNaming())} {...rest} />;
}

/** The choice props as the table takes them, each possibly absent. */
interface TableChoices {
  choices: FieldChoices | undefined;
  onFieldSelect: FieldSelect<Side> | undefined;
  current: RecordData | null | undefined;
  editedSince: readonly string[] | undefined;
}

function StoredConflictDiff({ conflict, ...rest }: TableChoices & { conflict: LocalConflict }) {
  const { local, server } = useConflictVersions(conflict);
  const side = localSide(conflict.raisedBy?.deviceId, useSyncClient().deviceId, useDeviceNaming());
  return (
    <VersionsDiff local={local} server={server} entityType={conflict.collection} side={side} {...rest} />
  );
}

const noChoices: FieldChoices = {};

const sideLabels: Readonly<Record<Side, string>> = {
  local: 'Keep local',
  server: 'Use server',
  current: 'Keep current',
};

/** The value at `path` in `data`; undefined when absent (or null), as the diff shows values. */
function valueAt(data: RecordData | null, path: readonly string[]): unknown {
  let value: unknown = data;
  for (const name of path) {
    if (!isPlainObject(value) || !Object.hasOwn(value, name)) return undefined;
    value = value[name];
  }
  return value === null ? undefined : value;
}

function Value({ value }: { value: unknown }) {
  if (value !== undefined) return <>{formatValue(value)}</>;
  return (
    <>
      <span aria-hidden="true">—</span>
      <span style={visuallyHidden}>absent</span>
    </>
  );
}

interface VersionsDiffProps extends TableChoices {
  local: RecordData | null;
  server: RecordData | null;
  /** The record's collection, named in the caption. */
  entityType: string;
  /** Whose the local side is: this device's, or the device that raised the conflict. */
  side: LocalSide;
}

function VersionsDiff({
  local,
  server,
  entityType,
  side,
  choices: given,
  onFieldSelect,
  current,
  editedSince = [],
}: VersionsDiffProps) {
  const id = useId();
  // Uncontrolled when the caller passes no `choices` (seed 003's viewer takes none): a choice made
  // shows as made, and the preview follows it.
  const [own, setOwn] = useState<FieldChoices>(noChoices);
  const choices = given ?? own;
  const select = (field: string, source: Side) => {
    if (given === undefined) setOwn((previous) => ({ ...previous, [field]: source }));
    onFieldSelect?.(field, source);
  };
  const diffs = useMemo(() => diffRecords(local, server), [local, server]);
  const merged = useMemo(
    () => mergeChoices(local, server, choices, current ?? null),
    [local, server, choices, current],
  );
  const hasCurrent = current !== undefined;
  const columns = 4 + (hasCurrent ? 1 : 0) + (onFieldSelect ? 1 : 0);
  /** The sides a top-level field may be taken from: none for one alike everywhere. */
  const sidesOf = (d: FieldDiff): readonly Side[] => {
    if (hasCurrent && editedSince.includes(d.field)) return ['current'];
    const changedSince = hasCurrent && stableStringify(valueAt(current, d.path)) !== stableStringify(d.local);
    if (d.status === 'same' && !changedSince) return [];
    return changedSince ? ['local', 'server', 'current'] : ['local', 'server'];
  };
  // Objects that differ start open, the others closed; this holds the ones a person flipped.
  const [flipped, setFlipped] = useState<ReadonlySet<string>>(() => new Set());
  const pathKey = (d: FieldDiff) => JSON.stringify(d.path);
  const isOpen = (d: FieldDiff) => (d.status !== 'same') !== flipped.has(pathKey(d));
  const flip = (d: FieldDiff) =>
    setFlipped((previous) => {
      const next = new Set(previous);
      if (!next.delete(pathKey(d))) next.add(pathKey(d));
      return next;
    });

  const rows: ReactNode[] = [];
  const addRows = (list: readonly FieldDiff[], prefix: string, depth: number, hidden: boolean) => {
    list.forEach((d, index) => {
      const rowId = `${prefix}-${index}`;
      const open = isOpen(d);
      const childIds = (d.children ?? []).map((_, i) => `${rowId}-${i}`);
      const choice = choices[d.field] ?? 'local';
      rows.push(
        <tr key={rowId} id={rowId} hidden={hidden} style={{ background: statusColours[d.status].background }}>
          <th scope="row" style={{ ...cell, paddingLeft: `${0.5 + depth * 1.5}em` }}>
            {d.children ? (
              <button
                type="button"
                aria-expanded={open}
                aria-controls={childIds.length > 0 ? childIds.join(' ') : undefined}
                onClick={() => flip(d)}
              >
                <span aria-hidden="true">{open ? '▾ ' : '▸ '}</span>
                {fieldLabel(d.field)}
              </button>
            ) : (
              fieldLabel(d.field)
            )}
            {depth > 0 ? (
              <span style={visuallyHidden}> in {d.path.slice(0, -1).map(fieldLabel).join('.')}</span>
            ) : null}
          </th>
          <td style={cell}>
            <Value value={d.local} />
          </td>
          <td style={cell}>
            <Value value={d.server} />
          </td>
          {hasCurrent ? (
            <td style={cell}>
              <Value value={valueAt(current, d.path)} />
            </td>
          ) : null}
          <td style={cell}>
            <span style={statusBadge(d.status)}>{d.status}</span>
          </td>
          {onFieldSelect ? (
            <td style={cell}>
              {depth === 0 && sidesOf(d).length > 0 ? (
                <div
                  role="radiogroup"
                  aria-label={fieldLabel(d.field)}
                  style={{ display: 'flex', gap: '1em' }}
                >
                  {sidesOf(d).map((side) => (
                    <label key={side}>
                      <input
                        type="radio"
                        name={`${id}-choice-${index}`}
                        value={side}
                        checked={choice === side}
                        onChange={() => select(d.field, side)}
                      />{' '}
                      {sideLabels[side]}
                    </label>
                  ))}
                </div>
              ) : null}
            </td>
          ) : null}
        </tr>,
      );
      if (d.children) addRows(d.children, rowId, depth + 1, hidden || !open);
    });
  };
  addRows(diffs, `${id}-field`, 0, false);

  const headingId = `${id}-merged`;
  return (
    <div>
      <table style={table}>
        <caption style={{ textAlign: 'left', paddingBottom: '0.5em' }}>
          {entityType}: {side.version} beside the server&apos;s.{' '}
          <small>
            added: only in the local version; removed: only on the server; changed: different in each; same:
            alike.
          </small>
        </caption>
        <thead>
          <tr>
            <th scope="col" style={cell}>
              Field
            </th>
            <th scope="col" style={cell}>
              {side.column}
            </th>
            <th scope="col" style={cell}>
              Server
            </th>
            {hasCurrent ? (
              <th scope="col" style={cell}>
                Now
              </th>
            ) : null}
            <th scope="col" style={cell}>
              Difference
            </th>
            {onFieldSelect ? (
              <th scope="col" style={cell}>
                Version to keep
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {rows.length > 0 ? (
            rows
          ) : (
            <tr>
              <td colSpan={columns} style={cell}>
                Neither version has any fields.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {onFieldSelect ? (
        <section aria-labelledby={headingId}>
          <h3 id={headingId}>Merged result</h3>
          <RecordPreview data={merged} labelledBy={headingId} />
        </section>
      ) : null}
    </div>
  );
}
