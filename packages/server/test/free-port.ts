import { createServer } from 'node:net';

/**
 * Asks the OS for a free loopback port, for a process a test starts (a server, PostgreSQL). Another
 * process may still take it before that one binds it.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe server'));
      });
    });
  });
}
