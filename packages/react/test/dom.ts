// Finding and using controls the way a person does: by their visible text or accessible name.
import { act } from 'react';

/** The button whose text is `label` (or, with `within`, the one inside that element). */
export function button(within: ParentNode, label: string): HTMLButtonElement {
  const found = Array.from(within.querySelectorAll('button')).find((b) => b.textContent?.trim() === label);
  if (!found) throw new Error(`no button "${label}"`);
  return found;
}

export function queryButton(within: ParentNode, label: string): HTMLButtonElement | null {
  return Array.from(within.querySelectorAll('button')).find((b) => b.textContent?.trim() === label) ?? null;
}

/** Focuses then clicks, as pressing Enter on a focused button does, and lets React render. */
export async function press(target: HTMLElement): Promise<void> {
  await act(async () => {
    target.focus();
    target.click();
  });
}

/** The radio labelled `label` in the radio group named `group`. */
export function radio(within: ParentNode, group: string, label: string): HTMLInputElement {
  const radios = within.querySelector(`[role="radiogroup"][aria-label="${group}"]`);
  if (!radios) throw new Error(`no radio group "${group}"`);
  const found = Array.from(radios.querySelectorAll('label')).find((l) => l.textContent?.trim() === label);
  const input = found?.querySelector('input');
  if (!input) throw new Error(`no radio "${label}" in "${group}"`);
  return input;
}

/** The open dialog, or null. */
export function dialog(within: ParentNode = document): HTMLElement | null {
  return within.querySelector<HTMLElement>('[role="dialog"]');
}

/** Presses a key on whatever has the focus. */
export async function key(name: string, options: { shiftKey?: boolean } = {}): Promise<void> {
  await act(async () => {
    const target = document.activeElement ?? document.body;
    target.dispatchEvent(
      new KeyboardEvent('keydown', { key: name, bubbles: true, cancelable: true, ...options }),
    );
  });
}

/** Chooses an option of a <select> by its value. */
export async function selectOption(select: HTMLSelectElement, value: string): Promise<void> {
  await act(async () => {
    select.value = value;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  });
}

/** The select labelled `label`. */
export function labelledSelect(within: ParentNode, label: string): HTMLSelectElement {
  const found = Array.from(within.querySelectorAll('label')).find((l) => l.textContent?.trim() === label);
  const id = found?.getAttribute('for');
  const select = id ? within.querySelector<HTMLSelectElement>(`select[id="${id}"]`) : null;
  if (!select) throw new Error(`no select labelled "${label}"`);
  return select;
}

/** The diff table's row of a field (of `parent`, for a field of a nested object), and its cells' texts. */
export function diffRow(
  within: ParentNode,
  field: string,
  parent?: string,
): { local: string; server: string; now?: string; status: string; row: HTMLTableRowElement } {
  const name = parent === undefined ? field : `${field} in ${parent}`;
  const row = Array.from(within.querySelectorAll('tr')).find(
    (tr) => tr.querySelector('th[scope="row"]')?.textContent?.replace(/^[▸▾]\s*/, '') === name,
  );
  if (!row) throw new Error(`no diff row for "${name}"`);
  const cells = Array.from(row.querySelectorAll('td')).map((td) => td.textContent ?? '');
  // The cells by their columns' headings; the first after the field's is this device's version.
  const headings = Array.from(row.closest('table')?.querySelectorAll('thead th') ?? [])
    .slice(1)
    .map((th) => th.textContent ?? '');
  const cell = (heading: string) => {
    const index = headings.indexOf(heading);
    return index < 0 ? undefined : (cells[index] ?? '');
  };
  const now = cell('Now');
  return {
    local: cells[0] ?? '',
    server: cell('Server') ?? '',
    ...(now !== undefined ? { now } : {}),
    status: cell('Difference') ?? '',
    row,
  };
}
