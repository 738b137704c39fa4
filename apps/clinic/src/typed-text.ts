/**
 * What a change carried, in one line for a table cell: each field with the value typed. Shared by
 * the changes waiting to be sent and those the server refused, which show the same thing.
 */
export function typedText(data: Readonly<Record<string, unknown>> | null | undefined): string {
  if (data === null || data === undefined) return '—';
  return Object.entries(data)
    .map(([field, value]) => `${field}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('; ');
}
