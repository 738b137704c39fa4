// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import type { AutoSyncOption } from '@outpost/client';
import { button, press } from '../test/dom';
import { acting, cleanup, openClient, render } from '../test/react-fixture';
import { useAutoSync } from './index';
import type { AutoSync } from './index';

afterEach(cleanup);

/** A settings screen's switch: what the device does by itself, and the nurse's two choices. */
function AutoSyncSwitch({ seen }: { seen: AutoSync[] }) {
  const state = useAutoSync();
  seen.push(state);
  const { autoSync, setAutoSync } = state;
  return (
    <div>
      <p>
        {autoSync === false
          ? 'Only when I press Sync now'
          : `Every ${autoSync.intervalMs / 60_000} min${autoSync.afterWrite ? ', after each change' : ''}${autoSync.live ? ', live' : ''}`}
      </p>
      <button onClick={() => setAutoSync(false)}>Sync only by hand</button>
      <button onClick={() => setAutoSync({ intervalMs: 60_000, afterWrite: true })}>Sync by itself</button>
    </div>
  );
}

describe('useAutoSync', () => {
  it('re-renders with the new setting, whether the switch or another screen changed it', async () => {
    const client = await openClient({ autoSync: { intervalMs: 300_000 } });
    const seen: AutoSync[] = [];
    const view = await render(client, <AutoSyncSwitch seen={seen} />);
    expect(view.text()).toMatch(/^Every 5 min/);

    await press(button(view.container, 'Sync only by hand'));
    expect(client.autoSync).toBe(false);
    expect(view.text()).toMatch(/^Only when I press Sync now/);

    await press(button(view.container, 'Sync by itself'));
    expect(view.text()).toMatch(/^Every 1 min, after each change/);

    // Another screen (or the app, on a change of data plan) changes the client directly.
    await acting(async () => client.setAutoSync({ intervalMs: 0, live: true, onReconnect: false }));
    expect(view.text()).toMatch(/^Every 0 min, live/);
    expect(seen.at(-1)?.autoSync).toBe(client.autoSync);
    // The function a component holds stays the same across renders.
    expect(new Set(seen.map((s) => s.setAutoSync)).size).toBe(1);
  });

  it('does not re-render for the setting in effect, and a refused one throws and leaves the view', async () => {
    const client = await openClient({ autoSync: false });
    const seen: AutoSync[] = [];
    const view = await render(client, <AutoSyncSwitch seen={seen} />);
    const renders = seen.length;
    await press(button(view.container, 'Sync only by hand'));
    expect(seen).toHaveLength(renders);

    const setAutoSync = seen.at(-1)?.setAutoSync as (settings: AutoSyncOption) => void;
    await acting(async () => {
      expect(() => setAutoSync({ intervalMs: -60_000 })).toThrow(RangeError);
    });
    expect(client.autoSync).toBe(false);
    expect(seen).toHaveLength(renders);
    expect(view.text()).toMatch(/^Only when I press Sync now/);
  });
});
