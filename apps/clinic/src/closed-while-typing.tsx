import type { ReactNode } from 'react';

/**
 * What a person was typing into a record that a colleague then signed or locked (the change came
 * by sync): the form can no longer take it, so it stays on screen, read-only but selectable for
 * copying, with why it was not saved and what can still be done with it (`children`: buttons).
 */
export function ClosedWhileTyping({
  what,
  typed,
  children,
}: {
  /** What happened, e.g. "This note was signed". */
  what: string;
  typed: ReadonlyArray<{ label: string; text: string }>;
  children: ReactNode;
}) {
  return (
    <div role="alert" className="closed-while-typing">
      <p>{what} on another device while you were typing. What you typed was not saved:</p>
      {typed.map((t) => (
        <label key={t.label}>
          {t.label}
          <textarea readOnly value={t.text} rows={Math.min(6, t.text.split('\n').length + 1)} />
        </label>
      ))}
      <div className="buttons">{children}</div>
    </div>
  );
}
