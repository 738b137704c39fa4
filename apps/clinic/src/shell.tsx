import { OfflineIndicator, SyncEnginePanel } from '@outpost/react';
import { ConflictsPage } from './admin/conflicts-page';
import { StatisticsPage } from './admin/statistics-page';
import { PatientPage } from './patients/patient-page';
import { PatientsPage } from './patients/patients-page';
import { personKey } from './device-client';
import { LastSync } from './last-sync';
import { PageErrorBoundary, PageNotFound } from './page-error-boundary';
import { RefusedChanges } from './refused-changes';
import { SignInAgain } from './sign-in-again';
import { WaitingChanges } from './waiting-changes';
import { Link, useAddress, useRoute } from './router';
import type { Route } from './router';
import { isAdmin } from './session';
import { confirmLeaving } from './unsaved-typing';
import type { Session } from './session';

/** What the header's count of what waits calls attachments: the app's button says "Attach photo". */
const photoWords = { one: 'photo', many: 'photos' };

interface ShellProps {
  session: Session;
  /** The same person signed in again (their token had expired): the new session. */
  onSignedInAgain: (session: Session) => void;
  onSignOut: () => void;
}

/** Every page: the sync state and navigation on top, always visible, and the page below. */
export function Shell({ session, onSignedInAgain, onSignOut }: ShellProps) {
  const route = useRoute();
  // Keys the error boundary: a page that failed is tried afresh at the next address.
  const address = useAddress();
  const admin = isAdmin(session);
  const current = (page: Route['page']) =>
    route.page === page || (page === 'patients' && route.page === 'patient') ? 'page' : undefined;
  return (
    <>
      <header className="top">
        <div className="brand">
          <strong>Outpost Clinic</strong>
          <span className="who">
            {session.email} · {admin ? 'administrator' : 'clinician'} · {session.tenant}
          </span>
        </div>
        <nav aria-label="Main">
          <Link href="/patients" aria-current={current('patients')}>
            Patients
          </Link>
          <Link href="/conflicts" aria-current={current('conflicts')}>
            Conflicts
          </Link>
          {admin ? (
            <Link href="/statistics" aria-current={current('statistics')}>
              Statistics
            </Link>
          ) : null}
          <Link href="/sync" aria-current={current('sync')}>
            Sync details
          </Link>
          <button type="button" className="link-button" onClick={() => confirmLeaving() && onSignOut()}>
            Sign out
          </button>
        </nav>
        <div className="sync-state">
          <OfflineIndicator fileWords={photoWords} />
          <LastSync person={personKey(session)} />
        </div>
        <SignInAgain session={session} onSignedIn={onSignedInAgain} />
      </header>
      <main>
        <PageErrorBoundary key={address}>{page(route, session)}</PageErrorBoundary>
      </main>
    </>
  );
}

function page(route: Route, session: Session) {
  switch (route.page) {
    case 'patient':
      return <PatientPage id={route.id} session={session} />;
    case 'conflicts':
      return <ConflictsPage canResolve={isAdmin(session)} />;
    case 'statistics':
      return <StatisticsPage session={session} />;
    case 'sync':
      return (
        <section aria-labelledby="sync-heading">
          <h1 id="sync-heading">Sync details</h1>
          <SyncEnginePanel />
          <WaitingChanges />
          <RefusedChanges />
        </section>
      );
    case 'not-found':
      return <PageNotFound />;
    default:
      return <PatientsPage />;
  }
}
