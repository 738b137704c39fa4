import type { CSSProperties } from 'react';
import type { QueueHealth } from '@outpost/core';
import { alert } from './styles';

const caution: CSSProperties = { color: '#664d00', fontWeight: 600 };

/**
 * Seed 004's queue size rule in a clinician's words: what the level means for them and what to do
 * (connect, press "Sync now", sync more often), rather than a number to interpret. Null when the
 * queue is fine.
 */
export function queueHealthMessage(health: QueueHealth, isOnline: boolean): string | null {
  if (health === 'ok') return null;
  const act = isOnline ? 'press “Sync now”' : 'connect to the network and sync';
  if (health === 'warning') return `Many changes are waiting to be sent, which slows syncing: ${act} soon.`;
  return (
    `Too many changes are waiting to be sent: ${act} as soon as you can, and sync more often. ` +
    'Until they are sent they are only on this device.'
  );
}

/**
 * The warning as a polite live region, mounted while empty so that a screen reader announces the
 * warning when it appears. It holds no count, so a write that adds one more change to a long queue
 * is not announced again; only a change of level (or of the advice, on going offline) is.
 */
export function QueueHealthWarning({
  health,
  isOnline,
  style,
}: {
  health: QueueHealth;
  isOnline: boolean;
  /** Merged over the warning's look while it shows. */
  style?: CSSProperties;
}) {
  const message = queueHealthMessage(health, isOnline);
  const look = health === 'critical' ? alert : caution;
  return (
    <span role="status" style={message === null ? undefined : { ...look, ...style }}>
      {message}
    </span>
  );
}
