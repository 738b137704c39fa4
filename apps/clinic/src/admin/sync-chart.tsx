import type { DeviceStats } from '@outpost/core';
import { deviceWords, useDeviceNames } from '../device-names';

const colours = { synced: '#2e7d32', conflicts: '#b26a00', failed: '#b3261e' } as const;
const rowHeight = 26;
const labelWidth = 260;
const barWidth = 360;
/** About as many characters of 12px text as fit in `labelWidth`, the gap to the bar left. */
const labelChars = 38;

/** `text`, or its start and an ellipsis when it is longer than `most` characters. */
function cut(text: string, most: number): string {
  return text.length <= most ? text : `${text.slice(0, most - 1)}…`;
}

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
          const label = `${d.email ?? d.userId} · ${deviceWords(d.deviceId, names)}`;
          return (
            <g key={`${d.userId}/${d.deviceId}`}>
              {/* A nested svg clips what the cut leaves too wide, so no label runs into its bar. */}
              <svg x={0} y={y} width={labelWidth - 8} height={rowHeight}>
                <text x={0} y={rowHeight / 2} fontSize="12">
                  <title>{label}</title>
                  {cut(label, labelChars)}
                </text>
              </svg>
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
