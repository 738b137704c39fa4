/**
 * Says which fields being edited a sync changed meanwhile (a colleague's change) and to what: the
 * form keeps what the person typed, and saving it replaces that change, so they should know.
 */
export function ChangedMeanwhile({ changes }: { changes: ReadonlyArray<{ label: string; now: string }> }) {
  if (changes.length === 0) return null;
  const list = changes.map((c) => `${c.label} (now “${c.now || 'blank'}”)`).join(', ');
  return (
    <p role="status" className="changed-meanwhile">
      Changed on another device while you were typing: {list}. What you typed is kept; saving it replaces that
      change.
    </p>
  );
}
