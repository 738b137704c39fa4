// A real server on a loopback port and WatermelonDB devices signed in to it.
import { startTestServer } from '../../server-fixture';
import type { DialectName, TestEmail, TestServer } from '../../server-fixture';
import { openDevice } from './device';
import type { Device } from './device';

export interface DeviceServer {
  server: TestServer;
  baseUrl: string;
  device(
    email?: TestEmail,
    options?: Omit<Parameters<typeof openDevice>[0], 'baseUrl' | 'token'>,
  ): Promise<Device>;
  close(): Promise<void>;
}

export async function startDeviceServer(
  kind: DialectName,
  options: Parameters<typeof startTestServer>[1] = {},
): Promise<DeviceServer> {
  const server = await startTestServer(kind, options);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const address = server.app.server.address();
  if (!address || typeof address === 'string') throw new Error('the test server has no port');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  return {
    server,
    baseUrl,
    async device(email = 'nurse@clinic-a.test', deviceOptions = {}) {
      return openDevice({ baseUrl, token: await server.token(email), ...deviceOptions });
    },
    async close() {
      await server.close();
      await server.storage.destroy();
    },
  };
}

/** Lets the clock move on, so two edits made one after the other carry different times. */
export const nextMillisecond = () => new Promise((resolve) => setTimeout(resolve, 3));
