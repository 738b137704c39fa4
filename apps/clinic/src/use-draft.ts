import { useCallback, useState } from 'react';

/** A form's fields as text, by field name. */
export type FormValues<F extends string> = Readonly<Record<F, string>>;

export interface Draft<F extends string> {
  /** The record's values, as the form last received them. */
  readonly base: FormValues<F>;
  /** What the form shows: the record's values, with what the person typed over them. */
  readonly values: FormValues<F>;
  set(field: F, value: string): void;
  /**
   * Fields the person is editing that the record changed under meanwhile (a colleague's change
   * arrived): saving keeps what they typed, so the form says so.
   */
  readonly changedMeanwhile: readonly F[];
}

interface State<F extends string> {
  /** The record's values the form last showed. */
  base: FormValues<F>;
  values: FormValues<F>;
  /** Per field being edited, the record's value when the person started on it. */
  startedFrom: Partial<FormValues<F>>;
}

/** The same fields with the same text. */
export function sameValues<F extends string>(a: FormValues<F>, b: FormValues<F>): boolean {
  const fields = Object.keys(a) as F[];
  return fields.length === Object.keys(b).length && fields.every((f) => a[f] === b[f]);
}

/**
 * A form's text over a record that may change while a person types: their own earlier save
 * confirmed by the server, a colleague's change brought by a sync. Remounting the form on such a
 * change would throw away what is being typed; instead a field the person has not touched follows
 * the record, and a field they edited keeps their text until they save it.
 */
export function useDraft<F extends string>(saved: FormValues<F>): Draft<F> {
  const [state, setState] = useState<State<F>>(() => ({ base: saved, values: saved, startedFrom: {} }));
  let current = state;
  if (!sameValues(state.base, saved)) {
    // The record changed: adopt it where the form still showed the old value (React's documented
    // way to adjust state to a prop, during render).
    const values: Record<F, string> = { ...state.values };
    const startedFrom = { ...state.startedFrom };
    for (const field of Object.keys(saved) as F[]) {
      if (values[field] === state.base[field]) values[field] = saved[field];
      // What was typed is now what the record holds (saved, or the same change made elsewhere).
      if (values[field] === saved[field]) delete startedFrom[field];
    }
    current = { base: saved, values, startedFrom };
    setState(current);
  }
  const set = useCallback((field: F, value: string) => {
    setState((s) => ({
      ...s,
      values: { ...s.values, [field]: value },
      startedFrom: field in s.startedFrom ? s.startedFrom : { ...s.startedFrom, [field]: s.base[field] },
    }));
  }, []);
  const changedMeanwhile = (Object.keys(current.startedFrom) as F[]).filter(
    (f) => current.startedFrom[f] !== current.base[f] && current.values[f] !== current.base[f],
  );
  return { base: current.base, values: current.values, set, changedMeanwhile };
}
