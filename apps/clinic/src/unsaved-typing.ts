import { useCallback, useLayoutEffect, useState } from 'react';
import type { FormEvent } from 'react';

/**
 * Typing a form holds that is not saved on this device yet. Leaving the page would drop it with no
 * trace, so while any form holds some the browser asks before a reload or closing the tab
 * (`beforeunload`), and the app asks before moving to another of its pages or signing out.
 */
interface Holder {
  unsaved: boolean;
}

const holders = new Set<Holder>();

function holdsUnsavedTyping(): boolean {
  return [...holders].some((h) => h.unsaved);
}

function onBeforeUnload(event: BeforeUnloadEvent): void {
  event.preventDefault();
  // Older Chromium asks only when returnValue is set.
  event.returnValue = '';
}

// Listened to only while needed: a page with a beforeunload listener is kept from some browsers'
// back-forward cache.
let listening = false;
function refresh(): void {
  const wanted = holdsUnsavedTyping();
  if (wanted === listening) return;
  listening = wanted;
  if (wanted) window.addEventListener('beforeunload', onBeforeUnload);
  else window.removeEventListener('beforeunload', onBeforeUnload);
}

/**
 * Says whether the calling form holds unsaved typing. Returns `saved`, for a form that saved and
 * moves on in the same event (a new patient's page opens): it no longer counts, though it is still
 * on screen until it unmounts.
 */
export function useUnsavedTyping(unsaved: boolean): () => void {
  const [holder] = useState<Holder>(() => ({ unsaved: false }));
  // Layout effects: done before the browser delivers another event, so a click that leaves sees
  // what the screen shows.
  useLayoutEffect(() => {
    holder.unsaved = unsaved;
    refresh();
  }, [holder, unsaved]);
  useLayoutEffect(() => {
    holders.add(holder);
    refresh();
    return () => {
      holders.delete(holder);
      refresh();
    };
  }, [holder]);
  return useCallback(() => {
    holder.unsaved = false;
    refresh();
  }, [holder]);
}

/** True when nothing typed would be lost, or the person chose to leave it. */
export function confirmLeaving(): boolean {
  return (
    !holdsUnsavedTyping() ||
    window.confirm('What you typed on this page is not saved. Leave anyway? It will be lost.')
  );
}

/** For a form of uncontrolled fields: whether a text field differs from what it started with. */
function typedIn(form: HTMLFormElement): boolean {
  return Array.from(form.elements).some(
    (field) =>
      (field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement) &&
      field.value !== field.defaultValue,
  );
}

/**
 * useUnsavedTyping for a form of uncontrolled fields (a new note, encounter or prescription, which
 * goes away once saved): its text fields hold unsaved typing while one differs from what it started
 * with. Returns the form's `onInput`.
 */
export function useUnsavedFormTyping(): (event: FormEvent<HTMLFormElement>) => void {
  const [typed, setTyped] = useState(false);
  useUnsavedTyping(typed);
  return useCallback((event: FormEvent<HTMLFormElement>) => setTyped(typedIn(event.currentTarget)), []);
}
