import type { CSSProperties } from 'react';
import type { FieldStatus } from './record-diff';

/** Read by screen readers, not shown: context that the layout gives sighted users. */
export const visuallyHidden: CSSProperties = {
  position: 'absolute',
  width: 1,
  height: 1,
  padding: 0,
  margin: -1,
  overflow: 'hidden',
  clip: 'rect(0, 0, 0, 0)',
  whiteSpace: 'nowrap',
  border: 0,
};

/** Colours of the diff; every status is also written out, so colour is never the only signal. */
export const statusColours: Readonly<Record<FieldStatus, { background: string; color: string }>> = {
  added: { background: '#e6f4ea', color: '#0b5d2a' },
  removed: { background: '#fdecea', color: '#8c1d18' },
  changed: { background: '#fff4ce', color: '#664d00' },
  same: { background: 'transparent', color: '#444444' },
};

export const badge: CSSProperties = {
  display: 'inline-block',
  padding: '0 0.5em',
  borderRadius: '0.75em',
  fontSize: '0.85em',
  fontWeight: 600,
  border: '1px solid currentColor',
};

export function statusBadge(status: FieldStatus): CSSProperties {
  return { ...badge, ...statusColours[status] };
}

export const openBadge: CSSProperties = { ...badge, background: '#fff4ce', color: '#664d00' };
export const resolvedBadge: CSSProperties = { ...badge, background: '#e6f4ea', color: '#0b5d2a' };

export const table: CSSProperties = { borderCollapse: 'collapse', width: '100%' };
export const cell: CSSProperties = {
  borderBottom: '1px solid #d0d0d0',
  padding: '0.25em 0.5em',
  textAlign: 'left',
  verticalAlign: 'top',
};

export const buttonRow: CSSProperties = {
  display: 'flex',
  flexWrap: 'wrap',
  gap: '0.5em',
  margin: '0.75em 0',
};

export const overlay: CSSProperties = {
  position: 'fixed',
  inset: 0,
  background: 'rgba(0, 0, 0, 0.4)',
  display: 'flex',
  alignItems: 'center',
  justifyContent: 'center',
  zIndex: 1000,
};

export const dialog: CSSProperties = {
  background: '#ffffff',
  color: '#1a1a1a',
  borderRadius: 8,
  padding: '1em 1.5em',
  maxWidth: 'min(960px, 95vw)',
  maxHeight: '90vh',
  overflow: 'auto',
  boxShadow: '0 8px 32px rgba(0, 0, 0, 0.3)',
};

export const alert: CSSProperties = { color: '#8c1d18', fontWeight: 600 };
