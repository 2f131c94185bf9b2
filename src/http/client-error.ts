import { STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ApiError } from './errors.js';
import { envelopeFor, mintRequestId } from '@lavendly/framework';

/** The parts of Node's HTTP parser error this needs (`err.code` is `HPE_*` or `ERR_HTTP_*`). */
interface ParserError extends Error {
  code?: string;
}

/** What a client is told for each kind of HTTP it got wrong. */
function errorFor(err: ParserError): ApiError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError('headers_too_large', 'The request line and headers are larger than this server accepts.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('request_timeout', 'The request did not arrive in time; send it again.');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ApiError('payload_too_large', 'The chunk extensions of the request body are too large.');
    case 'HPE_INVALID_EOF_STATE':
      return new ApiError('malformed_request', 'The connection ended before the request did (a body shorter than its Content-Length?).');
    default:
      return new ApiError('malformed_request', `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}).`);
  }
}

/**
 * Node's `clientError` default answers a malformed request with a bare `400 Bad Request` and no
 * body. This answers in the error envelope every other response uses (with a request id, so the
 * log line can be found), then closes the connection: after a parse error nothing further on it
 * can be trusted. A socket that already sent a response, or can no longer be written to, is
 * simply closed.
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  // Node would answer an Expect other than 100-continue with a bare 417. RFC 9110 lets a server
  // ignore an expectation it does not know, so such a request is simply served.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => { server.emit('request', req, res); });
  server.on('clientError', (err: ParserError, socket: Duplex) => {
    const pending = (socket as { _httpMessage?: ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const requestId = mintRequestId();
    const apiError = errorFor(err);
    logger.info({ request_id: requestId, status: apiError.status, code: err.code }, 'malformed request');
    const body = JSON.stringify(envelopeFor(apiError, requestId));
    socket.end(
      `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\n`
      + 'Content-Type: application/json; charset=utf-8\r\n'
      + `Content-Length: ${Buffer.byteLength(body)}\r\n`
      + `X-Request-Id: ${requestId}\r\n`
      + 'Connection: close\r\n\r\n'
      + body,
    );
    // A peer that never reads must not hold the socket open.
    socket.once('finish', () => socket.destroy());
  });
}


/**
 * Node answers an HTTP/1.1 request without a Host header (RFC 9112 requires one) itself, with a
 * bare 400. The server is created with `requireHostHeader: false` (server-limits.ts), so such a
 * request reaches this wrapper instead, which answers it in the envelope.
 */
export function requireHost(handler: RequestListener, logger: Logger): RequestListener {
  return (req, res) => {
    if (req.headers.host !== undefined || req.httpVersion !== '1.1') return handler(req, res);
    const requestId = mintRequestId();
    const apiError = new ApiError('malformed_request', 'An HTTP/1.1 request must carry a Host header.');
    logger.info({ request_id: requestId, status: apiError.status, code: 'missing_host' }, 'malformed request');
    const body = JSON.stringify(envelopeFor(apiError, requestId));
    res.writeHead(apiError.status, {
      'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': requestId, Connection: 'close',
    });
    res.end(body);
  };
}
