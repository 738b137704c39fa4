import { FormError } from './form-error';

/**
 * The end of a form that adds a record: why the last save failed, if it did, then save (off while
 * saving, so one tap makes one record) and cancel.
 */
export function FormFooter({
  error,
  busy,
  save,
  onCancel,
}: {
  error: string | null;
  busy: boolean;
  save: string;
  onCancel: () => void;
}) {
  return (
    <>
      <FormError error={error} />
      <div className="buttons">
        <button type="submit" disabled={busy}>
          {save}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
