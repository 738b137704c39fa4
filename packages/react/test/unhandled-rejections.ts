// Collects the promise rejections nobody handled during each test: a button's promise left to
// reject is an error in the page (the console's "Uncaught (in promise)"), not a message.
import { afterEach, beforeEach } from 'vitest';

export function recordUnhandledRejections(): { readonly reasons: unknown[]; settle(): Promise<void> } {
  const reasons: unknown[] = [];
  const record = (reason: unknown) => reasons.push(reason);
  beforeEach(() => {
    reasons.length = 0;
    process.on('unhandledRejection', record);
  });
  afterEach(() => {
    process.off('unhandledRejection', record);
  });
  return {
    reasons,
    // Node reports a rejection as unhandled once the microtasks after it have run.
    settle: () => new Promise((resolve) => setTimeout(resolve, 20)),
  };
}
