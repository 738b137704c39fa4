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
  | { page: 'people' }
  | { page: 'sync' }
  | { page: 'password' }
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
  if (parts[0] === 'people') return { page: 'people' };
  if (parts[0] === 'sync') return { page: 'sync' };
  if (parts[0] === 'password') return { page: 'password' };
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

/** The path and query the browser's address bar holds (`/audit?collection=patients&record=…`). */
const addressBar = () => location.pathname + location.search;

/** The address the screen shows: the browser's may have moved already (back, forward). */
let shown = addressBar();
function show(): void {
  shown = addressBar();
  for (const listener of listeners) listener();
}

// Back and forward have already moved the address when this runs; a person who chooses to stay
// with what they typed gets the page's address back (the forward history goes with it). Another
// query of the same page (the audit log's filters) is no leaving.
window.addEventListener('popstate', () => {
  const leaving = location.pathname !== pathOf(shown);
  if (leaving && !confirmLeaving()) history.pushState(null, '', shown);
  else show();
});

/**
 * Moves to another page of the app (a path, with a query if the page reads one), unless the person
 * chooses to stay with unsaved typing. The same page with another query stays where it is scrolled.
 */
export function navigate(path: string): void {
  if (path === addressBar()) return;
  const samePage = pathOf(path) === location.pathname;
  if (!samePage && !confirmLeaving()) return;
  history.pushState(null, '', path);
  show();
  if (!samePage) window.scrollTo(0, 0);
}

function pathOf(address: string): string {
  const query = address.indexOf('?');
  return query < 0 ? address : address.slice(0, query);
}

/** The address bar's path, as it is, without the query. */
export function useAddress(): string {
  return useSyncExternalStore(subscribe, () => pathOf(shown));
}

/** The address bar's query, as URLSearchParams read it (`?record=…`, or '' for none). */
export function useQuery(): string {
  return useSyncExternalStore(subscribe, () => shown.slice(pathOf(shown).length));
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
