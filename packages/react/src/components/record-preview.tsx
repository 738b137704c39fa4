import type { RecordData } from '@outpost/core';
import { fieldLabel } from './conflict-labels';
import { formatFullValue } from './format-value';

export interface RecordPreviewProps {
  /** The record to show; null shows that the record will be deleted. */
  data: RecordData | null;
  /** The id of the heading that names the preview. */
  labelledBy?: string;
}

/** A whole record as a list of fields; a field set to null is shown as cleared. */
export function RecordPreview({ data, labelledBy }: RecordPreviewProps) {
  if (data === null) return <p>The record will be deleted.</p>;
  const fields = Object.entries(data);
  if (fields.length === 0) return <p>No fields.</p>;
  return (
    <dl aria-labelledby={labelledBy} style={{ margin: 0 }}>
      {fields.map(([field, value]) => (
        <div key={field} style={{ display: 'flex', gap: '1em' }}>
          <dt style={{ fontWeight: 600, minWidth: '8em' }}>{fieldLabel(field)}</dt>
          <dd style={{ margin: 0 }}>{value === null ? '(cleared)' : formatFullValue(value)}</dd>
        </div>
      ))}
    </dl>
  );
}
