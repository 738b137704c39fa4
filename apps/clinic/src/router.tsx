import { useSyncExternalStore } from 'react';
import type { AnchorHTMLAttributes, MouseEvent } from 'react';

/** The app's pages, from the address bar. Unknown addresses show the patient list. */
export type Route =
  | { page: 'patients' }
  | { page: 'patient'; id: string }
  | { page: 'conflicts' }
  | { page: 'statistics' }
  | { page: 'sync' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean);
  if (parts[0] === 'patients' && parts[1] !== undefined)
    return { page: 'patient', id: decodeURIComponent(parts[1]) };
  if (parts[0] === 'conflicts') return { page: 'conflicts' };
  if (parts[0] === 'statistics') return { page: 'statistics' };
  if (parts[0] === 'sync') return { page: 'sync' };
  return { page: 'patients' };
}

const listeners = new Set<() => void>();
function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, '', path);
  for (const listener of listeners) listener();
  window.scrollTo(0, 0);
}

export function useRoute(): Route {
  const pathname = useSyncExternalStore(subscribe, () => location.pathname);
  return parseRoute(pathname);
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
