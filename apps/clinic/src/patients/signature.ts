/**
 * The signature a clinician puts on a note: SHA-256 over the body, the author and the moment of
 * signing. Once a note carries it, the schema's immutableWhen makes the note read-only everywhere.
 */
export async function signatureHash(body: string, authorId: string, signedAt: string): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify([body, authorId, signedAt]));
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
