import { useMemo, useSyncExternalStore } from 'react';
import type { DependencyList } from 'react';

/** Where a hook's value comes from: something the client can read now and tell us about when it changes. */
export interface ValueSource<T> {
  /** Reads the value from the client now. */
  read(): T;
  /** Starts listening; calls `changed` after anything that may change the value. Returns the stop function. */
  listen(changed: () => void): () => void;
  /** Reads that are equal keep the earlier one's reference, so React sees no change. Default `Object.is`. */
  equal?(a: T, b: T): boolean;
}

export interface ExternalValue<T> {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): T;
}

/**
 * The store `useSyncExternalStore` needs: `getSnapshot` returns the same reference until the source
 * says something changed and a fresh read differs, so React neither loops nor re-renders for nothing.
 * While nobody listens, every call reads afresh (there is no one to say when it goes stale).
 */
export function externalValue<T>(source: ValueSource<T>): ExternalValue<T> {
  const equal = source.equal ?? Object.is;
  let snapshot: { value: T } | null = null;
  let stale = true;
  let listening = 0;
  return {
    subscribe(onChange) {
      listening += 1;
      // Whatever changed between the render and now is caught by React's read right after this.
      stale = true;
      const stop = source.listen(() => {
        stale = true;
        onChange();
      });
      return () => {
        listening -= 1;
        stop();
      };
    },
    getSnapshot() {
      if (snapshot === null || stale || listening === 0) {
        const next = source.read();
        if (snapshot === null || !equal(snapshot.value, next)) snapshot = { value: next };
        stale = false;
      }
      return snapshot.value;
    },
  };
}

/** One value from the client, live. `makeSource` runs again only when `deps` change. */
export function useExternalValue<T>(makeSource: () => ValueSource<T>, deps: DependencyList): T {
  const store = useMemo(() => externalValue(makeSource()), deps);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
