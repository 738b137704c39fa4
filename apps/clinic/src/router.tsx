import { useSyncExternalStore } from 'react';
import type { AnchorHTMLAttributes, MouseEvent } from 'react';
import { confirmLeaving } from './unsaved-typing';

/**
 * The app's pages, from the address bar. Unknown addresses show the patient list; an address that
 * cannot be read at all (broken %-encoding, e.g. a link cut short in a message) is not found.
 */
export type Route =
  | { page: 'patients' }
  | { page: 'patient'; id: string }
  | { page: 'conflicts' }
  | { page: 'statistics' }
  | { page: 'audit' }
  | { page: 'sync' }
  | { page: 'not-found' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean);
  if (parts[0] === 'patients' && parts[1] !== undefined) {
    const id = decodeOrNull(parts[1]);
    return id === null ? { page: 'not-found' } : { page: 'patient', id };
  }
  if (parts[0] === 'conflicts') return { page: 'conflicts' };
  if (parts[0] === 'statistics') return { page: 'statistics' };
  if (parts[0] === 'audit') return { page: 'audit' };
  if (parts[0] === 'sync') return { page: 'sync' };
  return { page: 'patients' };
}

/** decodeURIComponent, or null where it would throw (URIError): parsing runs during render. */
function decodeOrNull(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

const listeners = new Set<() => void>();
function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The address the screen shows: the browser's may have moved already (back, forward). */
let shown = location.pathname;
function show(): void {
  shown = location.pathname;
  for (const listener of listeners) listener();
}

// Back and forward have already moved the address when this runs; a person who chooses to stay
// with what they typed gets the page's address back (the forward history goes with it).
window.addEventListener('popstate', () => {
  if (location.pathname !== shown && !confirmLeaving()) history.pushState(null, '', shown);
  else show();
});

/** Moves to another page of the app, unless the person chooses to stay with unsaved typing. */
export function navigate(path: string): void {
  if (path === location.pathname || !confirmLeaving()) return;
  history.pushState(null, '', path);
  show();
  window.scrollTo(0, 0);
}

/** The address bar's path, as it is. */
export function useAddress(): string {
  return useSyncExternalStore(subscribe, () => shown);
}

export function useRoute(): Route {
  return parseRoute(useAddress());
}

/** A real link (open in a new tab works) that moves within the app without reloading it. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
      return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={follow} {...rest} />;
}
