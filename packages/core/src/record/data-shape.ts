/**
 * How deep record data may nest: objects and arrays inside a field, counting the record's own
 * object as the first level. Clinical data is shallow (an intake form's answers nest two or three
 * levels); the limit is there because every layer that handles data (JSON.stringify, the conflict
 * engine's comparisons, IndexedDB's structured clone) walks it recursively, and a value a few
 * thousand levels deep overflows the stack. Refused up front, such a value is one refused op,
 * not a failed push that blocks the device's outbox behind it.
 */
export const maxDataDepth = 32;

/** Half of a UTF-16 pair without its other half: with the `u` flag, a whole pair is one code point. */
const loneSurrogate = /\p{Surrogate}/u;

/** Whether `text` is well-formed UTF-16, as every database stores it back unchanged. */
export function isWellFormedText(text: string): boolean {
  return !loneSurrogate.test(text);
}

/**
 * Why `data` cannot be a record's data, or null when it can:
 * - it nests deeper than maxDataDepth (plus `levelsAbove`, for data inside an envelope);
 * - some object in it has a key named `__proto__`. JSON.parse makes such a key an ordinary
 *   property, but code that copies objects by assignment turns it into a prototype. No schema field
 *   can have that name, so it is refused wherever it is rather than dropped unseen;
 * - some text in it (a key or a value) holds a lone UTF-16 surrogate, half of a character cut in
 *   two. The databases store such text as something else (U+FFFD), so it could not come back as sent.
 * Walks without recursion, so a value of any depth is answered, not a stack overflow.
 */
export function dataShapeProblem(data: unknown, levelsAbove = 0): string | null {
  // Only objects and arrays are stacked: a record of plain fields costs one pass over its keys.
  const values: unknown[] = [data];
  const depths: number[] = [1];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop() ?? 1;
    if (typeof value === 'string') {
      if (loneSurrogate.test(value)) return brokenText;
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxDataDepth + levelsAbove) return `data may nest at most ${maxDataDepth} levels deep`;
    const isArray = Array.isArray(value);
    const keys = isArray ? [] : Object.keys(value);
    for (const key of keys) {
      if (key === '__proto__') return 'data may not have a key named __proto__';
      if (loneSurrogate.test(key)) return brokenText;
    }
    const children: readonly unknown[] = isArray
      ? value
      : keys.map((k) => (value as Record<string, unknown>)[k]);
    for (const child of children) {
      if (typeof child === 'string') {
        if (loneSurrogate.test(child)) return brokenText;
      } else if (typeof child === 'object' && child !== null) {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return null;
}

const brokenText = 'data may not hold text with a lone UTF-16 surrogate (half of a character)';
