import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { outpostError } from '@outpost/core';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Answers what Node's HTTP parser refuses (not HTTP, headers too large) or gives up on (a request
 * not received in full within the request timeout). No route, hook or error handler sees these:
 * Node hands the raw socket to Fastify's clientErrorHandler, whose default answers in Fastify's
 * own shape. This one answers in PROTOCOL.md's, written by hand on the socket, then closes it.
 */
export function answerClientError(
  err: Error & { code?: string },
  socket: Socket,
  log: FastifyBaseLogger,
): void {
  // The code and message only: the error also carries the raw bytes, headers and token included.
  log.debug({ code: err.code, message: err.message }, 'client error');
  // A reset connection is gone: there is no one to answer. A response already under way on this
  // socket (a pipelined request broke behind it) must not get ours in its middle: Node's own guard.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const [status, error] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, outpostError('PAYLOAD_TOO_LARGE', 'the request headers are too large')]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? // INTERNAL, not VALIDATION_FAILED: a client retries the one and gives its ops up on the
            // other, and a push cut short by a slow link is worth sending again.
            [408, outpostError('INTERNAL', 'the request did not arrive in full in time: send it again')]
          : [400, outpostError('VALIDATION_FAILED', 'the request is not valid HTTP')];
    const body = JSON.stringify(error.toJSON());
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  }
  // The parser cannot go on after an error, so the connection cannot carry another request.
  socket.destroy();
}

/**
 * Answers a request whose `Expect` header asks for something other than `100-continue`, the only
 * expectation there is (RFC 9110): 417, in PROTOCOL.md's shape. Node calls this instead of any
 * route; without it, Node answers with an empty body. The connection closes after it, since the
 * client may be sending a body no one will read.
 */
export function answerUnmetExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const body = JSON.stringify(
    outpostError('VALIDATION_FAILED', 'the only Expect this server meets is 100-continue').toJSON(),
  );
  response.writeHead(417, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  response.end(body);
}
