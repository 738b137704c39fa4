import type { DeviceStats } from '@outpost/core';
import { deviceWords, useDeviceNames } from '../device-names';

const colours = { synced: '#2e7d32', conflicts: '#b26a00', failed: '#b3261e' } as const;
const rowHeight = 26;
const labelWidth = 220;
const barWidth = 360;

/**
 * One stacked bar per device: synced, conflicts and failed ops in proportion. The numbers are in
 * the table below it and in the chart's text alternative, so colour is never the only carrier.
 */
export function SyncChart({ devices }: { devices: readonly DeviceStats[] }) {
  const { names } = useDeviceNames();
  if (devices.length === 0) return <p className="muted">No device has synced yet.</p>;
  const most = Math.max(1, ...devices.map((d) => d.total));
  const summary = devices
    .map(
      (d) =>
        `${d.email ?? d.userId} on ${deviceWords(d.deviceId, names)}: ${d.synced} synced, ${d.conflicts} conflicts, ${d.failed} failed`,
    )
    .join('; ');
  return (
    <figure className="chart">
      <svg
        role="img"
        aria-label={`Ops per device. ${summary}`}
        width={labelWidth + barWidth + 60}
        height={devices.length * rowHeight + 8}
      >
        {devices.map((d, i) => {
          const y = i * rowHeight + 4;
          let x = labelWidth;
          const parts = (['synced', 'conflicts', 'failed'] as const).map((kind) => {
            const width = (d[kind] / most) * barWidth;
            const rect = (
              <rect key={kind} x={x} y={y} width={width} height={rowHeight - 8} fill={colours[kind]} />
            );
            x += width;
            return rect;
          });
          return (
            <g key={`${d.userId}/${d.deviceId}`}>
              <text x={0} y={y + rowHeight / 2} fontSize="12">
                {(d.email ?? d.userId).slice(0, 24)} · {deviceWords(d.deviceId, names).slice(0, 14)}
              </text>
              {parts}
              <text x={x + 6} y={y + rowHeight / 2} fontSize="12">
                {d.total}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span style={{ color: colours.synced }}>■</span> synced{' '}
        <span style={{ color: colours.conflicts }}>■</span> conflicts{' '}
        <span style={{ color: colours.failed }}>■</span> failed
      </figcaption>
    </figure>
  );
}
