// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { useOfflinePermissions } from './index';

afterEach(cleanup);

/** A conflict row's controls: "Resolve" only for a role that may settle conflicts of patients. */
function ConflictControls() {
  const { roles, can } = useOfflinePermissions();
  return (
    <p>
      {roles === null ? 'roles unknown' : roles.join('+')}:{' '}
      {can('patients', 'resolve') ? 'Resolve' : 'view only'}
      {can('patients', 'create') ? ', Register' : ''}
    </p>
  );
}

describe('useOfflinePermissions', () => {
  it("shows what the person's roles allow, offline, and follows setRoles", async () => {
    const client = await openClient({ roles: ['clinician'] });
    const view = await render(client, <ConflictControls />);
    // The field clinic's clinicians register patients but do not settle conflicts.
    expect(view.text()).toBe('clinician: view only, Register');

    await acting(async () => client.setRoles(['admin']));
    expect(view.text()).toBe('admin: Resolve, Register');

    // Unknown roles hide nothing: the server decides.
    await acting(async () => client.setRoles(null));
    expect(view.text()).toBe('roles unknown: Resolve, Register');
  });
});
