export { createHttpTransport } from './http-transport';
export type { HttpTransport, HttpTransportOptions, PullRequest } from './http-transport';
