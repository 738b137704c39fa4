/**
 * Everything a paged listing of the server's archives (conflicts, rejections) holds: pages are
 * read one after another, each from the cursor the last one gave, until none is left.
 */
export async function readAllPages<P extends { nextCursor: string | null }, T>(
  page: (cursor: string | undefined) => Promise<P>,
  items: (page: P) => readonly T[],
): Promise<T[]> {
  const found: T[] = [];
  let cursor: string | undefined;
  do {
    const read = await page(cursor);
    found.push(...items(read));
    cursor = read.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return found;
}
