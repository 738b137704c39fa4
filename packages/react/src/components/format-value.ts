import { isPlainObject } from './record-diff';

/** A field's value as a person reads it in a table cell; undefined is an absent field. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'string') return value;
  if (Array.isArray(value))
    return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  if (isPlainObject(value)) {
    const count = Object.keys(value).length;
    return `${count} ${count === 1 ? 'field' : 'fields'}`;
  }
  return String(value);
}

/** A value in full, objects included, for previews of a whole record. */
export function formatFullValue(value: unknown): string {
  return isPlainObject(value) ? JSON.stringify(value) : formatValue(value);
}
