import { useCallback, useEffect, useSyncExternalStore } from 'react';
import { answeredScreenLockSchema, clinicSettingsResponseSchema, screenLockBounds } from '@outpost/core';
import type { ClinicSettingsResponse } from '@outpost/core';
import type { SyncClient, TokenSession } from '@outpost/client';
import { fetchJson } from './server-json';

/**
 * The clinic's settings every device applies (`GET /v1/clinic-settings`; decision 0048): read from
 * the server when the app opens and after each sync that went well, and kept in localStorage per
 * clinic, so that a tablet offline, or reloaded offline, applies what its clinic chose. Until the
 * server has answered once, the defaults.
 */

const path = '/v1/clinic-settings';
const keyOf = (clinic: string) => `outpost.clinic-settings.${clinic}`;
/** Told to this tab's readers when it keeps new settings: `storage` events reach the other tabs only. */
const keptHere = 'outpost:clinic-settings-kept';

/** The minutes without use after which this device locks (null: never), as last heard from the server. */
export function keptScreenLockMinutes(clinic: string): number | null {
  const text = localStorage.getItem(keyOf(clinic));
  if (text === null) return screenLockBounds.defaultMinutes;
  try {
    const kept = (JSON.parse(text) as { screenLock?: unknown }).screenLock;
    const read = answeredScreenLockSchema.safeParse(kept);
    return read.success ? read.data.afterMinutes : screenLockBounds.defaultMinutes;
  } catch {
    return screenLockBounds.defaultMinutes;
  }
}

/** Keeps what the server answered for `clinic`: what the device applies, not who set it. */
export function keepClinicSettings(clinic: string, answer: ClinicSettingsResponse): void {
  const kept = JSON.stringify({ screenLock: { afterMinutes: answer.screenLock.afterMinutes } });
  if (localStorage.getItem(keyOf(clinic)) === kept) return;
  localStorage.setItem(keyOf(clinic), kept);
  window.dispatchEvent(new Event(keptHere));
}

/** The clinic's settings from the server, with the person's tokens. Throws as fetchJson does. */
export function readClinicSettings(
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>,
): Promise<ClinicSettingsResponse> {
  return fetchJson(path, tokens, (body) => clinicSettingsResponseSchema.parse(body));
}

/** The screen lock's minutes this device applies for `clinic` (null: never), following every change kept. */
export function useScreenLockMinutes(clinic: string): number | null {
  const subscribe = useCallback(
    (changed: () => void) => {
      const onStorage = (event: StorageEvent) => {
        if (event.key === keyOf(clinic) || event.key === null) changed();
      };
      window.addEventListener('storage', onStorage);
      window.addEventListener(keptHere, changed);
      return () => {
        window.removeEventListener('storage', onStorage);
        window.removeEventListener(keptHere, changed);
      };
    },
    [clinic],
  );
  return useSyncExternalStore(subscribe, () => keptScreenLockMinutes(clinic));
}

/**
 * Reads the clinic's settings when the calling screen opens and after each sync that went well,
 * and keeps them. Offline, or refused, it fails quietly: what is kept goes on applying.
 */
export function useClinicSettingsFollowed(
  clinic: string,
  tokens: Pick<TokenSession, 'getToken' | 'refreshNow'>,
  client: SyncClient,
): void {
  useEffect(() => {
    let stopped = false;
    // Only the latest answer is kept: one read late must not undo a newer one.
    let latest = 0;
    const read = () => {
      const asked = ++latest;
      readClinicSettings(tokens).then(
        (answer) => {
          if (!stopped && asked === latest) keepClinicSettings(clinic, answer);
        },
        () => {},
      );
    };
    read();
    const stopListening = client.on('sync', (result) => {
      if (result.success) read();
    });
    return () => {
      stopped = true;
      stopListening();
    };
  }, [clinic, tokens, client]);
}
