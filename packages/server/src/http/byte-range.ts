/**
 * The one byte range of a `Range` header (RFC 9110 14.1.2) for a representation of `size` bytes:
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`. No header, another unit, several ranges or a header out of
 * shape give `null`: the whole file is sent, as the RFC lets a server do. A range that starts past
 * the end is `unsatisfiable` (416).
 */
export function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    // The last n bytes; a suffix longer than the file is the whole file.
    const n = Number(last);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
