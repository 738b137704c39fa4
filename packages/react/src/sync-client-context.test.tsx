// @vitest-environment happy-dom
import { Component } from 'react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, openClient, render } from '../test/react-fixture';
import { useSyncClient, useSyncQueue } from './index';

afterEach(cleanup);

class ShowError extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    return this.state.error ? <p>{this.state.error.message}</p> : this.props.children;
  }
}

function PendingCount() {
  return <p>{useSyncQueue().stats.pending} pending</p>;
}

function DeviceName() {
  return <p>device {useSyncClient().deviceId}</p>;
}

describe('SyncClientProvider', () => {
  it('hands its client to the hooks below it', async () => {
    const client = await openClient({ deviceId: 'tablet-7' });
    const view = await render(client, <DeviceName />);
    expect(view.text()).toBe('device tablet-7');
  });

  it('says what is missing when a hook is used outside a provider', async () => {
    const view = await render(
      null,
      <ShowError>
        <PendingCount />
      </ShowError>,
    );
    expect(view.text()).toBe(
      'useSyncClient: no sync client here. Wrap the component in <SyncClientProvider client={client}>.',
    );
  });
});
