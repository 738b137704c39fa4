import { OfflineIndicator, SyncEnginePanel } from '@outpost/react';
import type { TokenSession } from '@outpost/client';
import { ConflictsPage } from './admin/conflicts-page';
import { StatisticsPage } from './admin/statistics-page';
import { BackupsFailingNotice } from './admin/server-backups';
import { AuditPage } from './admin/audit-page';
import { PeoplePage } from './admin/people-page';
import { PasswordPage } from './choose-password';
import { PatientPage } from './patients/patient-page';
import { PatientsPage } from './patients/patients-page';
import { AutoSyncOff, AutoSyncSwitch } from './auto-sync-switch';
import { personKey } from './device-client';
import { DeviceStorage } from './device-storage';
import { LastSync, OldestWaiting } from './last-sync';
import { PageErrorBoundary, PageNotFound } from './page-error-boundary';
import { RefusedChanges } from './refused-changes';
import { RestoredNotice } from './restored-notice';
import { SignInAgain } from './sign-in-again';
import { WaitingChanges } from './waiting-changes';
import { Link, useAddress, useRoute } from './router';
import type { Route } from './router';
import { isAdmin } from './session';
import { SupportDetails } from './support-details';
import { DeviceNamesProvider } from './device-names';
import { ThisDevice } from './device-name-form';
import { SignOutEverywhere } from './sign-out-everywhere';
import { confirmLeaving } from './unsaved-typing';
import type { Session } from './session';

/** What the header's count of what waits calls attachments: the app's button says "Attach photo". */
const photoWords = { one: 'photo', many: 'photos' };

interface ShellProps {
  session: Session;
  /** The person's tokens, for the server calls a page makes itself (Statistics). */
  tokens: TokenSession;
  /**
   * The same person signed in again (their session could not be renewed), or chose a new password:
   * who is signed in now.
   */
  onSignedInAgain: (session: Session) => void;
  onSignOut: () => void;
}

/** Every page: the sync state and navigation on top, always visible, and the page below. */
export function Shell({ session, tokens, onSignedInAgain, onSignOut }: ShellProps) {
  const route = useRoute();
  // Keys the error boundary: a page that failed is tried afresh at the next address.
  const address = useAddress();
  const admin = isAdmin(session);
  const current = (page: Route['page']) =>
    route.page === page || (page === 'patients' && route.page === 'patient') ? 'page' : undefined;
  return (
    <DeviceNamesProvider tokens={tokens}>
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
          {admin ? (
            <Link href="/audit" aria-current={current('audit')}>
              Audit log
            </Link>
          ) : null}
          {admin ? (
            <Link href="/people" aria-current={current('people')}>
              People
            </Link>
          ) : null}
          <Link href="/sync" aria-current={current('sync')}>
            Sync details
          </Link>
          <Link href="/password" aria-current={current('password')}>
            Password
          </Link>
          <button type="button" className="link-button" onClick={() => confirmLeaving() && onSignOut()}>
            Sign out
          </button>
        </nav>
        <div className="sync-state">
          <OfflineIndicator fileWords={photoWords} />
          <OldestWaiting />
          <LastSync person={personKey(session)} />
          <AutoSyncOff />
        </div>
        <SignInAgain session={session} onSignedIn={onSignedInAgain} />
        <RestoredNotice />
        {admin ? <BackupsFailingNotice tokens={tokens} /> : null}
      </header>
      <main>
        <PageErrorBoundary key={address}>
          {page(route, session, tokens, onSignOut, onSignedInAgain)}
        </PageErrorBoundary>
      </main>
    </DeviceNamesProvider>
  );
}

function page(
  route: Route,
  session: Session,
  tokens: TokenSession,
  onSignOut: () => void,
  onSignedInAgain: (session: Session) => void,
) {
  switch (route.page) {
    case 'password':
      return <PasswordPage session={session} onChanged={onSignedInAgain} />;
    case 'patient':
      return <PatientPage id={route.id} session={session} />;
    case 'conflicts':
      return <ConflictsPage canResolve={isAdmin(session)} />;
    case 'statistics':
      return <StatisticsPage tokens={tokens} canChange={isAdmin(session)} />;
    case 'audit':
      return <AuditPage tokens={tokens} clinic={session.tenant} />;
    case 'people':
      return <PeoplePage tokens={tokens} canManage={isAdmin(session)} clinic={session.tenant} />;
    case 'sync':
      return (
        <section aria-labelledby="sync-heading">
          <h1 id="sync-heading">Sync details</h1>
          <SyncEnginePanel />
          {/* Whether the tablet syncs by itself or only on "Sync now" above (decision 0034). */}
          <AutoSyncSwitch person={session} />
          <WaitingChanges />
          {/* Beside what waits: whether the browser keeps it, as it is only on this tablet. */}
          <DeviceStorage />
          <RefusedChanges />
          <ThisDevice />
          <SupportDetails />
          <SignOutEverywhere session={session} tokens={tokens} onSignOut={onSignOut} />
        </section>
      );
    case 'not-found':
      return <PageNotFound />;
    default:
      return <PatientsPage />;
  }
}
