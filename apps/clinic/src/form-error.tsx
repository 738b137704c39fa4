/** Why a form's last action was refused, announced to screen readers; nothing when it was not. */
export function FormError({ error }: { error: string | null }) {
  if (error === null) return null;
  return (
    <p role="alert" className="error">
      {error}
    </p>
  );
}
