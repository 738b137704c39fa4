import { Component } from 'react';
import type { ReactNode } from 'react';
import { Link } from './router';

interface Props {
  children: ReactNode;
}

/**
 * Around the page below the header: a page that fails to draw (a record it cannot show, a fault
 * in a screen) says so and offers a way back, while the header (sync state, "Sign out") stays.
 * Without it React unmounts the whole app and the person sees a blank screen. The shell keys it by
 * address, so moving to another page starts afresh.
 */
export class PageErrorBoundary extends Component<Props, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: Error } {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override render() {
    const { error } = this.state;
    if (error === null) return this.props.children;
    return (
      <section role="alert" aria-labelledby="page-error-heading">
        <h1 id="page-error-heading">This page could not be shown</h1>
        <p>
          Something on it could not be displayed. The records on this device and the changes waiting to be
          sent are not affected.
        </p>
        <details>
          <summary>Technical details</summary>
          <p>{error.message}</p>
        </details>
        <p>
          <Link href="/patients">All patients</Link>
        </p>
      </section>
    );
  }
}

/** An address the app cannot read. */
export function PageNotFound() {
  return (
    <section aria-labelledby="not-found-heading">
      <h1 id="not-found-heading">Page not found</h1>
      <p>
        This address is not a page of the app; the link may have been cut short.{' '}
        <Link href="/patients">All patients</Link>
      </p>
    </section>
  );
}
